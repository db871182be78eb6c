"""Durable, private JSON storage for TinyDB: where crash safety lives, and nowhere else.

TinyDB's own ``JSONStorage`` rewrites its file in place, so a crash mid-write can leave it
truncated. ``DurableJSONStorage`` instead writes the whole document to a temporary file in the
same folder, fsyncs it, keeps the previous good file as ``<name>.bak`` (a hard link, so no copy
is made) and atomically renames the new file over the old one: the journal on disk is always
either the old or the new version, both complete. Files are created 0600 and never read by
anyone but their owner. A file that is not ours, or not JSON, is never overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from assistant.errors import DuetError

SCHEMA_VERSION = 1
META_TABLE = "_duet"
APP = "duet"


class JournalError(DuetError):
    """The journal cannot be used as it is; the message says how to recover."""


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


class DurableJSONStorage(Storage):
    """A TinyDB storage that survives crashes and keeps the journal private."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _private_dir(self.path.parent)
        self._cache: dict[str, Any] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._cache is None:
            self._cache = _load(self.path)
        return json.loads(json.dumps(self._cache)) if self._cache is not None else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        data.setdefault(META_TABLE, {"1": {"app": APP, "schema": SCHEMA_VERSION}})
        _atomic_write(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        self._cache = json.loads(json.dumps(data))

    def close(self) -> None:
        self._cache = None


def _load(path: Path) -> dict[str, Any] | None:
    """Read and check a journal file; None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise JournalError(f"cannot read journal {path}: {err}") from None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise JournalError(
            f"journal {path} is damaged (not valid JSON at line {err.lineno}) and was left untouched: "
            f"{_recovery_hint(path)}"
        ) from None
    _check_ours(path, data)
    return data


def _check_ours(path: Path, data: Any) -> None:
    meta = data.get(META_TABLE, {}).get("1") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get("app") != APP:
        raise JournalError(
            f"{path} is not a Duet journal (another program's JSON?) and was left untouched: "
            "pass another file with --journal"
        )
    schema = meta.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} was written by a newer Duet (schema {schema}; this one reads {SCHEMA_VERSION}): "
            "upgrade Duet to read it"
        )


def _recovery_hint(path: Path) -> str:
    backup = backup_path(path)
    if backup.exists():
        return f"the last good copy is {backup}; to recover, run: cp '{backup}' '{path}'"
    return f"move it away (mv '{path}' '{path}.damaged') to start a new journal"


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            _link_backup(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _link_backup(path: Path) -> None:
    """Keep the current (good) file as .bak without copying it."""
    backup = backup_path(path)
    staging = backup.with_name(backup.name + ".new")
    staging.unlink(missing_ok=True)
    os.link(path, staging)
    os.replace(staging, backup)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_dir(folder: Path) -> None:
    """Create the journal's folder 0700 (an existing folder is left as the user set it)."""
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
