"""Which speech engine Duet uses for answers and for commands, and what to tell the user.

Engines, best first: vosk with an English model the user downloads into ``models/`` (fast,
streaming, grammar mode for commands); otherwise the built-in ones that install from PyPI:
Whisper tiny.en for free-form answers and pocketsphinx with a grammar for commands.

Engine modules are imported only when opened: each pulls in a large native library, and
``duet doctor`` should answer without loading any of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from assistant.speech.asr import Recognizer
from assistant.speech.models import (
    DEFAULT_VOSK_MODEL,
    MODELS_DIR,
    ModelError,
    check_vosk_model,
    find_vosk_model,
    vosk_label,
)

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "whisper", "moonshine", "pocketsphinx")
"""Recognizers. Commands also have ``spotter`` (spotter.py, opened by live.open_engines), the
default for ``auto``: it is built on a free-form engine, not a grammar."""


def resolve_engine(engine: str, *, grammar: bool, vosk_model: str | None = None,
                   models_dir: Path = MODELS_DIR,
                   env: Mapping[str, str] = os.environ) -> str:
    """The concrete engine ``auto`` stands for: vosk when a model is found, else the built-in
    one for the job (whisper for free-form speech, pocketsphinx for a grammar)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if find_vosk_model(vosk_model, models_dir, env) is not None:
        return "vosk"
    return "pocketsphinx" if grammar else "whisper"


def open_recognizer(engine: str, *, grammar: list[str] | None = None,
                    vosk_model: str | None = None, threads: int = 2,
                    models_dir: Path = MODELS_DIR,
                    env: Mapping[str, str] = os.environ) -> Recognizer:
    """Load the engine asked for (``auto``, ``vosk``, ``whisper``, ``moonshine`` or ``pocketsphinx``).

    ``auto`` falls back to the built-in engine, with a logged warning, when the vosk model it
    found cannot be loaded; asking for ``vosk`` by name raises ``ModelError`` instead.
    """
    chosen = resolve_engine(engine, grammar=grammar is not None, vosk_model=vosk_model,
                            models_dir=models_dir, env=env)
    if chosen == "vosk":
        try:
            return _open_vosk(grammar, vosk_model, models_dir, env)
        except ModelError as err:
            if engine != "auto":
                raise
            log.warning("%s; using the built-in engine instead", err)
            chosen = "pocketsphinx" if grammar is not None else "whisper"
    if chosen in ("whisper", "moonshine") and grammar is not None:
        raise ValueError(f"{chosen} has no grammar mode; use vosk or pocketsphinx for commands")
    if chosen == "whisper":
        from assistant.speech.asr_whisper import WhisperRecognizer
        return WhisperRecognizer(threads=threads)
    if chosen == "moonshine":
        from assistant.speech.asr_moonshine import MoonshineRecognizer
        return MoonshineRecognizer()
    from assistant.speech.asr_pocketsphinx import PocketsphinxRecognizer
    return PocketsphinxRecognizer(grammar)


def _open_vosk(grammar: list[str] | None, vosk_model: str | None, models_dir: Path,
               env: Mapping[str, str]) -> Recognizer:
    path = find_vosk_model(vosk_model, models_dir, env)
    if path is None:
        raise ModelError(f"no vosk model in {models_dir}; download one: python "
                         f"scripts/download_model.py {vosk_model or DEFAULT_VOSK_MODEL}")
    from assistant.speech.asr_vosk import VoskRecognizer
    return VoskRecognizer(path, grammar)


def describe_engines(answers: str = "auto", commands: str = "auto",
                     vosk_model: str | None = None, models_dir: Path = MODELS_DIR,
                     env: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """For ``duet doctor``: ``[("answers", line), ("commands", line)]``, each line naming the
    engine in use and, when a better one is possible, how to get it.

    Loads no model, so it is instant; a broken vosk folder is described, not raised. Whisper is
    not "upgraded" for answers: it is more accurate than the small vosk model, vosk is faster.
    """
    path = find_vosk_model(vosk_model, models_dir, env)
    problem = None
    if path is not None:
        try:
            path = check_vosk_model(path)
        except ModelError as err:
            problem = str(err)
    fix = f"python scripts/download_model.py {vosk_model or DEFAULT_VOSK_MODEL}"
    return [(role, _describe(role, engine, path, problem, fix))
            for role, engine in (("answers", answers), ("commands", commands))]


def _describe(role: str, engine: str, path: Path | None, problem: str | None, fix: str) -> str:
    """One engine's line (``open_recognizer``'s choice, without loading anything)."""
    built_in = "pocketsphinx" if role == "commands" else "whisper"
    if engine not in ENGINES and engine != "spotter":
        raise ValueError(f"unknown speech engine {engine!r}; use one of {', '.join(ENGINES)}")
    if role == "commands" and engine in ("auto", "spotter"):
        line = "spotter: whisper:tiny.en transcripts matched to the phrases by sound (built in)"
        return f"{line}; {problem}" if problem else line
    if engine == "spotter":
        raise ValueError("the spotter listens for commands only")
    if engine == "vosk" or (engine == "auto" and path is not None and problem is None):
        line = vosk_label(path) if path else f"vosk, but no model was found; download one: {fix}"
        return f"{line}; {problem}" if problem else line
    chosen = built_in if engine == "auto" else engine
    line = f"{_BUILT_IN[chosen]} (built in)"
    if problem:
        return f"{line}; {problem}"
    if chosen != "pocketsphinx":
        return line
    if role == "commands":
        return f"{line}; the built-in spotter tells talk from commands: set speech.commands: auto"
    if path is not None:
        return f"{line}; {vosk_label(path)} is there too: set speech.{role}: auto to use it"
    return f"{line}; for more accurate commands download a vosk model: {fix}"


_BUILT_IN = {"whisper": "whisper:tiny.en", "moonshine": "moonshine:base-en", "pocketsphinx": "pocketsphinx:en-us"}
