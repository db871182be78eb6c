"""Durable, private JSON storage for TinyDB: where crash safety lives, and nowhere else.

TinyDB's own ``JSONStorage`` rewrites its file in place, so a crash mid-write can leave it
truncated. ``DurableJSONStorage`` instead writes the whole document to a temporary file in the
same folder, fsyncs it, keeps the previous good file as ``<name>.bak`` (a hard link, so no copy
is made) and atomically renames the new file over the old one: the journal on disk is always
either the old or the new version, both complete. Files are created 0600 (their folder 0700) and
never read by anyone but their owner. A file that is not ours, or not JSON, is never overwritten.

A full disk (``ENOSPC``, a quota, a file-size limit) does not lose what was being written: the
new version stays in memory (``unsaved``), every later write and ``flush()`` tries again, and
the watcher is told when saving stops and starts working again. What was on disk stays as it was.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
from tinydb.storages import Storage

from assistant.errors import DuetError

SCHEMA_VERSION = 1
META_TABLE = "_duet"
APP = "duet"

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""Write errors that mean "no room": kept in memory and retried, never fatal."""

Watcher = Callable[[Path, "OSError | None"], None]
"""Told ``(path, error)`` when a write could not be saved, ``(path, None)`` once it is."""


class JournalError(DuetError):
    """The journal cannot be used as it is; the message says how to recover."""


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


class DurableJSONStorage(Storage):
    """A TinyDB storage that survives crashes and full disks, and keeps the journal private."""

    def __init__(self, path: str | os.PathLike[str], watcher: Watcher | None = None) -> None:
        self.path = Path(path)
        self.watcher = watcher
        self.unsaved = False
        """True while the latest version is only in memory (the disk was full)."""
        self._cache: dict[str, Any] | None = None
        self._backup = True

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._cache is None:
            self._cache = _load(self.path)
        return _copy(self._cache) if self._cache is not None else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        data.setdefault(META_TABLE, {"1": {"app": APP, "schema": SCHEMA_VERSION}})
        self._cache = _copy(data)
        self._save()

    def flush(self) -> bool:
        """Try again to save what the disk had no room for; True when all is on disk."""
        if self.unsaved:
            self._save()
        return not self.unsaved

    def close(self) -> None:
        if not self.unsaved:
            self._cache = None

    def reload(self) -> None:
        """Read the file again at the next read: another process may have changed it.

        Called when the journal's lock is taken: from then on nobody else writes, so what is
        read is what will be written back. A version still waiting for room is kept.
        """
        if not self.unsaved:
            self._cache = None

    def discard(self) -> None:
        """Forget a version that could not be saved: the file on disk is the truth again."""
        self._cache = None
        self.unsaved = False

    @contextmanager
    def without_backup(self) -> Iterator[None]:
        """Writes that keep no ``.bak`` of the version they replace (``forget``: no copy left)."""
        self._backup = False
        try:
            yield
        finally:
            self._backup = True

    def _save(self) -> None:
        assert self._cache is not None
        try:
            text = orjson.dumps(self._cache)  # compact UTF-8, like the standard library's below
        except orjson.JSONEncodeError:
            text = json.dumps(self._cache, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            private_dir(self.path.parent)
            _atomic_write(self.path, text, backup=self._backup)
        except OSError as err:
            if err.errno not in FULL_ERRNOS:
                if err.filename is None:  # an fsync or a write: the line must still name the file
                    err.filename = str(self.path)
                raise  # one line for the user at the command line's error boundary
            if not self.unsaved and self.watcher is not None:
                self.watcher(self.path, err)
            self.unsaved = True
            return
        if self.unsaved:
            self.unsaved = False
            if self.watcher is not None:
                self.watcher(self.path, None)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data (TinyDB must not change the cache behind the storage's back), made
    with orjson: several times faster than the standard library, which this took most of an answer's
    and of ``duet insights``' CPU time with (a NaN edited in by hand comes back as null). What orjson
    cannot write (an integer past 64 bits) is copied the standard way."""
    try:
        return orjson.loads(orjson.dumps(data))
    except orjson.JSONEncodeError:
        return json.loads(json.dumps(data))


def _kind(path: Path) -> str:
    """What a journal file is called in a message: a QA pass found the schedule called a journal."""
    if path.name.endswith(".schedule.json"):
        return "schedule"
    return "session file" if path.parent.name.endswith(".sessions") else "journal"


def read_fast(path: Path) -> dict[str, Any] | None:
    """``_load`` for reading many files in a row (insights, the report): parsed with orjson, about
    twice as fast as the standard library; anything unusual goes the careful way (``_load``)."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return _load(path)  # missing, empty, damaged: it says why
    _check_ours(path, data)
    return data


def _load(path: Path) -> dict[str, Any] | None:
    """Read and check a journal file; None when there is none yet."""
    raw = _read(path)
    try:
        data = orjson.loads(raw)  # the fast way for a good file; anything else is told apart below
    except orjson.JSONDecodeError:
        pass
    else:
        _check_ours(path, data)
        return data
    if not raw.strip():
        if _has_good_backup(path):
            state = "empty" if path.exists() else "missing"
            raise JournalError(f"{_kind(path)} {path} is {state} but its backup is not, and was left untouched: "
                               f"{recovery_hint(path)}")
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise JournalError(
            f"{_kind(path)} {path} is damaged (not UTF-8 text) and was left untouched: {recovery_hint(path)}"
        ) from None
    except json.JSONDecodeError as err:
        raise JournalError(
            f"{_kind(path)} {path} is damaged (not valid JSON at line {err.lineno}) and was left untouched: "
            f"{recovery_hint(path)}"
        ) from None
    _check_ours(path, data)
    return data


def _read(path: Path) -> bytes:
    """The file's bytes (none when it does not exist); a folder, a FIFO or a device is refused
    without being opened for long (reading a FIFO would wait forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise JournalError(f"{_kind(path)} {path} is a folder, not a file: pass a file path with --journal")
        if not stat.S_ISREG(kind):
            raise JournalError(f"{_kind(path)} {path} is not a plain file (a FIFO or a device?): pass a file path with --journal")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def _has_good_backup(path: Path) -> bool:
    backup = backup_path(path)
    try:
        return backup.stat().st_size > 0
    except OSError:
        return False


def _check_ours(path: Path, data: Any) -> None:
    meta_table = data.get(META_TABLE) if isinstance(data, dict) else None
    meta = meta_table.get("1") if isinstance(meta_table, dict) else None
    if not isinstance(meta, dict) or meta.get("app") != APP:
        if _kind(path) != "journal":  # --journal cannot name another schedule or session file (a QA pass)
            raise JournalError(f"{_kind(path)} {path} is not Duet's (another program's JSON?) and was left "
                               f"untouched: {recovery_hint(path)}")
        raise JournalError(
            f"{path} is not a Duet journal (another program's JSON?) and was left untouched: "
            "pass another file with --journal"
        )
    schema = meta.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise JournalError(f"{_kind(path)} {path} has no valid schema version and was left untouched: "
                           f"{recovery_hint(path)}")
    if schema > SCHEMA_VERSION:
        raise JournalError(
            f"{_kind(path)} {path} was written by a newer Duet (schema {schema}; this one reads {SCHEMA_VERSION}) "
            "and was left untouched: upgrade Duet to read it"
        )
    for name, table in data.items():
        if not isinstance(table, dict) or not all(
            isinstance(key, str) and key.isdigit() and isinstance(doc, dict) for key, doc in table.items()
        ):
            raise JournalError(
                f"{_kind(path)} {path} has a malformed table {name!r} (edited by hand?) and was left untouched: "
                f"{recovery_hint(path)}"
            )


def recovery_hint(path: Path) -> str:
    """What to do about a damaged file. The backup is the copy before the last write, so the
    last thing saved may be missing from it (a QA pass recovered a session without its next
    step, and nothing had said so)."""
    if _has_good_backup(path):
        return (f"the last good copy is {backup_path(path)}, made before the last write (which it may lack); "
                f"to recover, run: cp '{backup_path(path)}' '{path}'")
    then = {"schedule": "to start a new schedule", "session file": "to set that session aside",
            "journal": "to start a new journal"}[_kind(path)]
    return f"move it away (mv '{path}' '{path}.damaged') {then}"


def _atomic_write(path: Path, text: bytes, backup: bool = True) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and path.exists():
            link_backup(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def link_backup(path: Path) -> None:
    """Keep the current (good) file as .bak without copying it."""
    backup = backup_path(path)
    staging = backup.with_name(backup.name + ".new")
    staging.unlink(missing_ok=True)
    os.link(path, staging)
    os.replace(staging, backup)


def leftovers(folder: Path, name: str | None = None) -> list[Path]:
    """Files a killed write can leave behind (temporary files, backup staging links).

    They hold journal text, so they are removed by the next process that takes the journal's
    lock, and by ``duet forget``. ``name`` limits the search to one journal file's leftovers.
    """
    if not folder.is_dir():
        return []
    stem = re.escape(name) if name else r"[^/]+"
    pattern = re.compile(rf"^(\.{stem}\.[^./]+\.tmp|{stem}\.bak\.new)$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def remove_files(paths: list[Path]) -> None:
    """Delete files (missing ones are fine) and make the deletion durable."""
    folders = set()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        folders.add(path.parent)
    for folder in folders:
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(folder: Path) -> None:
    """Create the journal's folder, and every folder above it that is missing, 0700 whatever
    the umask (folders that exist are left as the user set them)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(path, 0o700)
