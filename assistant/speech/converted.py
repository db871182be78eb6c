"""Models rewritten once for this machine and kept in the user's cache folder.

Both built-in engines ship weights in a form that costs memory or time on every load (Whisper
as float16, Moonshine as ORT graphs that dequantize on every step); whisper_int8.py and
moonshine_onnx.py each rewrite them once. What they share lives here: where the copies are kept,
running the conversion in a child process, so that its peak memory (float32 weights) is never
part of a session and a crash in it leaves Duet running the shipped files, and removing the copies
no install will use again.

A copy is named after what it was made from (``{kind}-{key}``, the key hashing the shipped files'
path, size and time), so an upgrade of Duet or of an engine, or a new virtual environment, makes
a new one: about 124 MB for both engines each time. Each copy records the shipped model it was
made from (``MADE_FROM``); once that model is gone or changed, the copy is deleted the next time
Duet opens that engine.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

MADE_FROM = "made-from"
"""A file in each copy: the path of the shipped model folder it was made from."""
UNRECORDED_AGE = 3600.0
"""Seconds after which a copy that records no source (made before ``MADE_FROM``, or a conversion
left half done by a crash) is taken as stale. Younger ones may be another process's, finishing."""

Namer = Callable[[Path, Path], Path]
"""(shipped model folder, cache root) -> the folder its copy goes in: ``{kind}-{12 hex digits}``."""


def cache_root() -> Path:
    """Where converted models are kept (``$XDG_CACHE_HOME/duet`` or ``~/.cache/duet``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "duet"


def convert_once(module: str, source: Path, name: Namer, complete: Callable[[Path], bool],
                 what: str, timeout: float, root: Path | None = None) -> Path | None:
    """The copy of ``source`` in the cache, made by running ``python -m module SOURCE DEST``
    unless it is ``complete`` already (made earlier, or by another process at the same time);
    None (with a warning) when the shipped files must do. Copies of the same kind that no
    install will use again are removed.

    Args:
        module: the converter, run as the child (it writes DEST atomically).
        name: where a shipped model's copy goes.
        complete: whether a folder holds a whole converted model.
        what: the model, for the log ("the Whisper model to int8").
        timeout: seconds the child may take.
        root: the cache folder (default ``cache_root()``).
    """
    dest = name(source, root or cache_root())
    if not (complete(dest) or _convert(module, source, dest, complete, what, timeout)):
        return None
    try:
        if not (dest / MADE_FROM).is_file():
            (dest / MADE_FROM).write_text(str(source.resolve()) + "\n")
        prune(dest, name)
    except OSError as err:  # a read-only or full cache: the copy still works
        log.warning("could not tidy the model cache %s (%s)", dest.parent, err)
    return dest


def prune(keep: Path, name: Namer, now: float | None = None) -> list[Path]:
    """Delete the copies of ``keep``'s kind beside it that nothing will use again: their
    recorded source is gone or now names another copy (it was reinstalled or upgraded), or
    they record none and are older than ``UNRECORDED_AGE``. Returns what was deleted.

    A copy another install still uses names itself from its source and is kept; one deleted
    while a running Duet has it open goes on working (Linux keeps an open file until it is
    closed)."""
    kind = keep.name.rsplit("-", 1)[0]
    pattern = re.compile(re.escape(kind) + r"-[0-9a-f]{12}(\..+)?")  # .suffix: a conversion's temp folder
    now = time.time() if now is None else now
    gone = []
    for other in keep.parent.iterdir():
        if other == keep or not other.is_dir() or not pattern.fullmatch(other.name):
            continue
        if not _stale(other, keep.parent, name, now):
            continue
        shutil.rmtree(other, ignore_errors=True)
        log.info("removed %s: no install uses it any more", other)
        gone.append(other)
    return gone


def _stale(copy: Path, root: Path, name: Namer, now: float) -> bool:
    try:
        source = Path((copy / MADE_FROM).read_text().strip())
    except OSError:  # records nothing
        return now - copy.stat().st_mtime > UNRECORDED_AGE
    try:
        return name(source, root) != copy
    except OSError:  # the source's files are gone
        return True


def _convert(module: str, source: Path, dest: Path, complete: Callable[[Path], bool],
             what: str, timeout: float) -> bool:
    log.info("converting %s once (%s)", what, dest)
    try:
        done = subprocess.run([sys.executable, "-m", module, str(source), str(dest)],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("could not convert %s (%s); using the shipped files", what, err)
        return False
    if complete(dest):
        return True
    lines = done.stderr.strip().splitlines()
    log.warning("could not convert %s (%s); using the shipped files", what,
                lines[-1] if lines else done.returncode)
    return False
