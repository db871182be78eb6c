"""Which speech engine Duet uses for answers and for commands, and what to tell the user.

Engines, best first: vosk with an English model the user downloads into ``models/`` (fast,
streaming, grammar mode for commands); otherwise the built-in ones that install from PyPI:
Moonshine base for free-form answers (and, through the spotter, for commands), Whisper tiny.en
beside it, and pocketsphinx with a grammar.

Why Moonshine by default: on the same machine and recordings (BENCHMARKS.md sections 1-3 and
8) it makes fewer word errors on LibriVox, takes a fraction of Whisper's time on short answers
(Whisper always encodes 30 s), and as the spotter's engine it took no talk for a command in 67
minutes, where Whisper's two readings fired 4.5 times an hour; it recognizes fewer synthesized
commands in noise (section 3 has both).

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
    download_command,
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
    one for the job (moonshine for free-form speech, pocketsphinx for a grammar)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if find_vosk_model(vosk_model, models_dir, env) is not None:
        return "vosk"
    return "pocketsphinx" if grammar else "moonshine"


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
            chosen = "pocketsphinx" if grammar is not None else "moonshine"
    if chosen in ("whisper", "moonshine") and grammar is not None:
        raise ValueError(f"{chosen} has no grammar mode; use vosk or pocketsphinx for commands")
    if chosen == "whisper":
        from assistant.speech.asr_whisper import WhisperRecognizer
        return WhisperRecognizer(threads=threads)
    if chosen == "moonshine":
        from assistant.speech.asr_moonshine import MoonshineRecognizer
        return MoonshineRecognizer(threads=threads)
    from assistant.speech.asr_pocketsphinx import PocketsphinxRecognizer
    return PocketsphinxRecognizer(grammar)


def _open_vosk(grammar: list[str] | None, vosk_model: str | None, models_dir: Path,
               env: Mapping[str, str]) -> Recognizer:
    path = find_vosk_model(vosk_model, models_dir, env)
    if path is None:
        raise ModelError(f"no vosk model in {models_dir}; download one: "
                         f"{download_command(vosk_model or DEFAULT_VOSK_MODEL)}")
    from assistant.speech.asr_vosk import VoskRecognizer
    return VoskRecognizer(path, grammar)


def describe_engines(answers: str = "auto", commands: str = "auto",
                     vosk_model: str | None = None, models_dir: Path = MODELS_DIR,
                     env: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """For ``duet doctor``: ``[("answers", line), ("commands", line)]``, each line naming the
    engine in use and, when a better one is possible, how to get it.

    Loads no model, so it is instant; a broken vosk folder is described, not raised. The
    built-in answer engines are not "upgraded": they are more accurate than the small vosk
    model, vosk is faster. The spotter runs on Whisper only when answers do (it shares the model).
    """
    path = find_vosk_model(vosk_model, models_dir, env)
    problem = None
    if path is not None:
        try:
            path = check_vosk_model(path)
        except ModelError as err:
            problem = str(err)
    fix = download_command(vosk_model or DEFAULT_VOSK_MODEL)
    spotter = "whisper:tiny.en" if answers == "whisper" else "moonshine:base-en"
    return [(role, _describe(role, engine, path, problem, fix, spotter))
            for role, engine in (("answers", answers), ("commands", commands))]


def _describe(role: str, engine: str, path: Path | None, problem: str | None, fix: str,
              spotter: str = "moonshine:base-en") -> str:
    """One engine's line (``open_recognizer``'s choice, without loading anything)."""
    built_in = "pocketsphinx" if role == "commands" else "moonshine"
    if engine not in ENGINES and engine != "spotter":
        raise ValueError(f"unknown speech engine {engine!r}; use one of {', '.join(ENGINES)}")
    if role == "commands" and engine in ("auto", "spotter"):
        line = f"spotter: {spotter} transcripts matched to the phrases by sound (built in)"
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
