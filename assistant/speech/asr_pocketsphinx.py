"""Pocketsphinx: the English recognizer that needs no download (model bundled in the PyPI wheel).

Its free-form accuracy is poor (about 28 % word error on LibriVox, 0.4 x real time), so its job
in Duet is spoken commands with a JSGF grammar of whole phrases. Measured here: real people (the
Debian test recordings: cards, "go forward ten meters") 6 of 6 exact; espeak-ng voices are much
harder for it: 24 of 48 exact (12 Duet commands x 4 voices; "start the debrief", "pause" and
"skip this one" in every voice, "how much time is left" and "time check" in none), and 8 of 64
chatter sentences came out as a command (e.g. "can you pass me the pen" -> "pass"); with the
full 204-phrase grammar from config.yaml, 22 of 48 and 7 of 64, about 60 ms per utterance. Options
tried that did not help: silence/filler/insertion penalties, wider beams, keyword spotting
(worse), a phone-loop or common-word garbage model in the grammar (it swallows the commands, or
makes the search 100x slower), and disabling fillers (35 of 48 exact, but 56 of 64 false).

Decisions, and why:

* **One batch decode per utterance.** A stream buffers its audio and ``finish()`` decodes it in a
  single ``process_raw(full_utt=True)`` call; ``accept()`` returns no partial text. Decoding live,
  chunk by chunk, leaves cepstral-mean and noise estimates in the decoder that carry into the
  next utterance: measured here, the same espeak "start the debrief" decoded as the command and,
  a few utterances later, as nothing. Batch decoding gave the same answer for the same audio in
  any order, so every stream is independent (the cepstral mean is also reset before each
  decode). Decoding a 2 s command takes 30-60 ms.
* **Grammar mode returns whole phrases or nothing.** Pocketsphinx reports the best partial path
  when no grammar phrase fits (chatter came back as "resume the", "what was"); anything that is
  not exactly one of the phrases becomes an empty transcript.
* **Words missing from the dictionary**: a phrase containing one is dropped with a logged
  warning (listed in ``dropped_phrases``), like vosk, which ignores unknown grammar words; if no
  phrase is left, ``ValueError``. Write numbers as words ("add five minutes").
* **Confidence**: word posteriors from the lattice (``seg().prob``); the utterance confidence is
  their mean, the same meaning as vosk's, so one threshold fits both engines.
"""

from __future__ import annotations

import logging
import re
import threading

from pocketsphinx import Decoder

from assistant.speech.asr import SAMPLE_RATE, BufferedStream, Transcript, Word

log = logging.getLogger(__name__)

NAME = "pocketsphinx:en-us"
FRAME_SECONDS = 0.01
"""Pocketsphinx reports segment times in 10 ms frames."""

_SEARCH = "duet_commands"
_ALT_PRONUNCIATION = re.compile(r"\(\d+\)$")


class PocketsphinxRecognizer:
    """Pocketsphinx with its bundled US English model; free-form, or whole phrases of a grammar."""

    name = NAME
    text_judges_turns = False
    """Its free-form text is too rough to tell a finished answer from a pause between phrases
    (``listener.UNJUDGED_END_PAUSE``)."""

    def __init__(self, grammar: list[str] | None = None) -> None:
        self._decoder = _new_decoder(free_form=grammar is None)
        self._initial_cmn = self._decoder.get_cmn()
        self._lock = threading.Lock()
        self.phrases: tuple[str, ...] = ()
        self.dropped_phrases: tuple[str, ...] = ()
        if grammar is not None:
            self._use_grammar(grammar)

    def stream(self) -> BufferedStream:
        """A new utterance; decoding happens in ``finish()`` (see the module docstring)."""
        return BufferedStream(self.decode)

    def decode(self, pcm: bytes) -> Transcript:
        """Recognize one whole utterance of 16 kHz mono int16 PCM."""
        if not pcm:
            return Transcript("", engine=self.name)
        with self._lock:
            self._decoder.set_cmn(self._initial_cmn)
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, False, True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            segments = list(self._decoder.seg() or []) if hyp is not None else []
        return self._transcript(hyp.hypstr if hyp is not None else "", segments)

    def _use_grammar(self, phrases: list[str]) -> None:
        kept, dropped = self._split_known(phrases)
        if not kept:
            raise ValueError(f"none of the command phrases {phrases!r} can be recognized by "
                             f"pocketsphinx: their words are not in its English dictionary")
        self.phrases, self.dropped_phrases = tuple(kept), tuple(dropped)
        self._decoder.add_jsgf_string(_SEARCH, jsgf(kept))
        self._decoder.activate_search(_SEARCH)

    def _split_known(self, phrases: list[str]) -> tuple[list[str], list[str]]:
        """Phrases whose words are all in the dictionary, and the others (with a warning)."""
        kept: list[str] = []
        dropped: list[str] = []
        for phrase in dict.fromkeys(filter(None, map(normalize_phrase, phrases))):
            unknown = [w for w in phrase.split() if self._decoder.lookup_word(w) is None]
            if unknown:
                log.warning("command phrase %r dropped: pocketsphinx's dictionary lacks %s",
                            phrase, ", ".join(unknown))
                dropped.append(phrase)
            else:
                kept.append(phrase)
        return kept, dropped

    def _transcript(self, text: str, segments: list) -> Transcript:
        words = tuple(_words(segments))
        text = " ".join(w.text for w in words) if words else _clean_text(text)
        if self.phrases and text not in self.phrases:
            if text:
                log.debug("not a whole command phrase, ignored: %r", text)
            return Transcript("", engine=self.name)
        confs = [w.confidence for w in words if w.confidence is not None]
        confidence = sum(confs) / len(confs) if confs else None
        return Transcript(text, confidence, words, self.name)


def jsgf(phrases: list[str]) -> str:
    """A JSGF grammar whose one public rule is any one of the (normalized) phrases.

    Phrases are written as a prefix tree ("add ( five ( minute | minutes ) | six ...)"), not as
    a flat list: with Duet's 204 phrases (most are "add N minutes") that decoded 7x faster.
    """
    tree: dict = {}
    for phrase in phrases:
        node = tree
        for word in phrase.split():
            node = node.setdefault(word, {})
        node[_END] = {}
    return f"#JSGF V1.0;\ngrammar duet;\npublic <command> = {_expression(tree)};\n"


_END = ""
"""Marks, inside the prefix tree, that a phrase may end here."""


def _expression(node: dict) -> str:
    """JSGF for the phrases below one prefix-tree node (which must not be only an end)."""
    alternatives = []
    for word, child in node.items():
        if word == _END:
            continue
        rest = {k: v for k, v in child.items() if k != _END}
        if not rest:
            alternatives.append(word)
        elif _END in child:
            alternatives.append(f"{word} [ {_expression(rest)} ]")
        else:
            alternatives.append(f"{word} {_expression(rest)}")
    return alternatives[0] if len(alternatives) == 1 else f"( {' | '.join(alternatives)} )"


def normalize_phrase(phrase: str) -> str:
    """Lowercase, keep letters, digits and apostrophes, single spaces (the dictionary's form)."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", phrase.lower()).split())


def _new_decoder(free_form: bool) -> Decoder:
    """A decoder on the bundled model, logging only fatal errors. No LM for grammar mode."""
    options = {"loglevel": "FATAL", "samprate": SAMPLE_RATE}
    if not free_form:
        options["lm"] = None
    return Decoder(**options)


def _words(segments: list) -> list[Word]:
    """Real words from pocketsphinx segments: no <s>, </s>, <sil>, [NOISE], "(2)" suffixes."""
    words = []
    for seg in segments:
        if seg.word.startswith(("<", "[", "+")):
            continue
        words.append(Word(_ALT_PRONUNCIATION.sub("", seg.word),
                          round(seg.start_frame * FRAME_SECONDS, 2),
                          round((seg.end_frame + 1) * FRAME_SECONDS, 2),
                          _probability(seg.prob)))
    return words


def _probability(value: float) -> float | None:
    """The bindings give posteriors already as probabilities; clamp rounding past 1."""
    if value is None or value != value:
        return None
    return min(max(float(value), 0.0), 1.0)


def _clean_text(text: str) -> str:
    return " ".join(_ALT_PRONUNCIATION.sub("", w) for w in text.split()
                    if not w.startswith(("<", "[", "+")))
