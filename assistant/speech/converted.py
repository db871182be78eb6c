"""Models rewritten once for this machine and kept in the user's cache folder.

Both built-in engines ship weights in a form that costs memory or time on every load (Whisper
as float16, Moonshine as ORT graphs that dequantize on every step); whisper_int8.py and
moonshine_onnx.py each rewrite them once. What they share lives here: where the copies are kept,
and running the conversion in a child process, so that its peak memory (float32 weights) is
never part of a session and a crash in it leaves Duet running the shipped files.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """Where converted models are kept (``$XDG_CACHE_HOME/duet`` or ``~/.cache/duet``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "duet"


def convert_once(module: str, source: Path, dest: Path, complete: Callable[[Path], bool],
                 what: str, timeout: float) -> bool:
    """Make ``dest`` from ``source`` by running ``python -m module SOURCE DEST``, unless it is
    ``complete`` already. True when ``dest`` can be used: made now, earlier, or by another
    process at the same time; False (with a warning) when the shipped files must do.

    Args:
        module: the converter, run as the child (it writes ``dest`` atomically).
        complete: whether a folder holds a whole converted model.
        what: the model, for the log ("the Whisper model to int8").
        timeout: seconds the child may take.
    """
    if complete(dest):
        return True
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
