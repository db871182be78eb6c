"""Vosk (Kaldi): the primary engine when the user has downloaded a model into ``models/``.

A model is loaded once per process and shared by the answer and command recognizers; every
utterance gets a fresh ``KaldiRecognizer``, because recognizers kept alive for hours grow in
memory (vosk-api #209, #526) and a new one costs well under a millisecond. With a grammar, vosk
only hears the given phrases plus ``[unk]`` for anything else (when the model has ``[unk]``: the
Korean test model does not, so there everything becomes some grammar phrase); ``[unk]`` never
reaches the transcript.

Traps handled here: grammar JSON must be written with ``ensure_ascii=False`` (vosk does not
decode ``\\uXXXX`` escapes, so non-ASCII words were silently "missing from the vocabulary");
vosk ignores single unknown words inside a phrase, which would turn "add 5 minutes" into "add
minutes", so a phrase with any unknown word is dropped whole, with a warning; models with a
static graph (no ``graph/HCLr.fst``) cannot do grammars and are run free-form, with a warning.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import vosk

from assistant.speech.asr import SAMPLE_RATE, Transcript, Word
from assistant.speech.models import (
    ModelError,
    check_vosk_model,
    download_command,
    vosk_label,
)

log = logging.getLogger(__name__)

UNKNOWN = "[unk]"
_NOT_WORDS = {UNKNOWN, "<unk>"}


class VoskRecognizer:
    """A loaded vosk model; free-form, or limited to grammar phrases."""

    def __init__(self, model_dir: Path, grammar: list[str] | None = None) -> None:
        vosk.SetLogLevel(-1)
        path = check_vosk_model(Path(model_dir))
        self.name = vosk_label(path)
        self.model = _load(path)
        self.phrases: tuple[str, ...] = ()
        self.dropped_phrases: tuple[str, ...] = ()
        self._grammar_json: str | None = None
        if grammar is not None:
            self._use_grammar(path, grammar)

    def stream(self) -> VoskStream:
        """A fresh KaldiRecognizer for one utterance (cheap; the model stays loaded)."""
        if self._grammar_json is None:
            recognizer = vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        else:
            recognizer = vosk.KaldiRecognizer(self.model, SAMPLE_RATE, self._grammar_json)
        recognizer.SetWords(True)
        return VoskStream(recognizer, self.name)

    def knows(self, word: str) -> bool:
        """Whether the word is in the model's vocabulary (so a grammar can use it)."""
        return self.model.vosk_model_find_word(word) >= 0

    def _use_grammar(self, path: Path, grammar: list[str]) -> None:
        if not (path / "graph" / "HCLr.fst").is_file():
            log.warning("vosk model %s has a static graph and cannot limit itself to the command "
                        "phrases; recognizing free-form instead", path.name)
            return
        phrases = list(dict.fromkeys(" ".join(p.lower().split()) for p in grammar if p.strip()))
        kept = [p for p in phrases if all(self.knows(w) for w in p.split())]
        self.dropped_phrases = tuple(p for p in phrases if p not in kept)
        for phrase in self.dropped_phrases:
            unknown = [w for w in phrase.split() if not self.knows(w)]
            log.warning("command phrase %r dropped: %s lacks %s", phrase, self.name,
                        ", ".join(unknown))
        if not kept:
            raise ValueError(f"none of the command phrases {grammar!r} can be recognized by "
                             f"{self.name}: their words are not in its vocabulary")
        self.phrases = tuple(kept)
        extra = [UNKNOWN] if self.knows(UNKNOWN) else []
        self._grammar_json = json.dumps(kept + extra, ensure_ascii=False)


class VoskStream:
    """One utterance: partial text while audio arrives, every result joined at the end."""

    def __init__(self, recognizer: vosk.KaldiRecognizer, engine: str) -> None:
        self._recognizer = recognizer
        self._engine = engine
        self._results: list[dict] = []
        self._finished: Transcript | None = None

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; return the text so far (earlier endpointed parts and the live partial)."""
        if self._recognizer.AcceptWaveform(pcm):
            self._results.append(json.loads(self._recognizer.Result()))
            partial = ""
        else:
            partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        done = [_clean(r.get("text", "")) for r in self._results]
        return " ".join(t for t in [*done, _clean(partial)] if t)

    def finish(self) -> Transcript:
        """Flush the recognizer and combine mid-stream results with the final one."""
        if self._finished is None:
            self._results.append(json.loads(self._recognizer.FinalResult()))
            self._finished = _transcript(self._results, self._engine)
        return self._finished


_loaded: dict[Path, vosk.Model] = {}
_loading = threading.Lock()


def _load(path: Path) -> vosk.Model:
    """Load a model once per process: answers and commands share it (a model is hundreds of MB
    in memory, and vosk allows many recognizers on one model)."""
    key = path.resolve()
    with _loading:
        if key not in _loaded:
            _loaded[key] = _new_model(path)
        return _loaded[key]


def _new_model(path: Path) -> vosk.Model:
    try:
        return vosk.Model(str(path))
    except Exception as err:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"vosk could not load the model in {path} ({err}; damaged or for "
                         f"another vosk version?); delete it and download again: "
                         f"{download_command(path)}") from None


def _transcript(results: list[dict], engine: str) -> Transcript:
    words = tuple(Word(w["word"], float(w["start"]), float(w["end"]), float(w["conf"]))
                  for r in results for w in r.get("result", ()) if w["word"] not in _NOT_WORDS)
    if words:
        text = " ".join(w.text for w in words)
        confidence = sum(w.confidence for w in words) / len(words)
        return Transcript(text, confidence, words, engine)
    text = " ".join(t for t in (_clean(r.get("text", "")) for r in results) if t)
    return Transcript(text, None, (), engine)


def _clean(text: str) -> str:
    return " ".join(w for w in text.split() if w not in _NOT_WORDS)
