"""The journal: every session, answer, note and event, in private TinyDB files.

Layout, for a journal at ``journal.json``:

- ``journal.json``: the index, one small document per session (who, when, roles, status).
- ``journal.sessions/<id>.json``: that session's ``turns``, ``notes``, ``events`` and
  ``progress`` (where to resume).

TinyDB rewrites a whole file on every write, so recording an answer costs time in proportion to
the file it lands in. Keeping each session in its own file makes an answer cost the same with
5 sessions or 5,000 (see ``BENCHMARKS.md``); the index changes only when a session begins or ends.
Durability and privacy are the storage's job (``storage.DurableJSONStorage``): each record is on
disk when its method returns.

A running session holds an exclusive lock on ``journal.json.lock``; a session still marked
"in progress" whose lock nobody holds was interrupted (a crash, a kill, a power cut) and can be
resumed.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs
from tinydb import TinyDB
from tinydb.table import Document

from assistant.engine import ResumePoint, Roles
from assistant.errors import DuetError
from assistant.records import Note, SessionEvent, SessionStatus, Turn
from assistant.storage import DurableJSONStorage, JournalError, backup_path

log = logging.getLogger(__name__)

__all__ = ["Journal", "JournalError", "SessionRecorder", "default_journal_path"]


def default_journal_path() -> Path:
    return Path(platformdirs.user_data_dir("duet", appauthor=False)) / "journal.json"


def _open_db(path: Path) -> TinyDB:
    db = TinyDB(path, storage=DurableJSONStorage)
    db.storage.read()  # fail now, with a clear line, if the file is not a good journal
    return db


class Journal:
    """Read and write the sessions of one journal."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self.folder = self.path.with_name(self.path.stem + ".sessions")
        self.db = _open_db(self.path)
        self.sessions = self.db.table("sessions")
        self._lock_fd: int | None = None

    def close(self) -> None:
        self._release()
        self.db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading

    def list_sessions(self) -> list[dict[str, Any]]:
        """All sessions, oldest first, with their status as it stands now."""
        running = self._someone_running()
        return [self._summary(doc, running) for doc in self._docs()]

    def get(self, ref: str | int) -> dict[str, Any]:
        """A whole session (turns, notes, events) by id or ``last``."""
        doc = self._find(ref)
        session = self._summary(doc, self._someone_running())
        detail = self.detail(doc.doc_id)
        session["turns"] = sorted((dict(t) for t in detail.table("turns").all()), key=lambda t: t["seq"])
        session["notes"] = [dict(n) for n in detail.table("notes").all()]
        session["events"] = [dict(e) for e in detail.table("events").all()]
        detail.close()
        return session

    def last_leader(self) -> str | None:
        """Who led the most recent session (rotation starts from them)."""
        docs = self._docs()
        return docs[-1]["leader"] if docs else None

    def last_next_step(self) -> str | None:
        """The next step planned in the most recent session that planned one."""
        return next((doc["next_step"] for doc in reversed(self._docs()) if doc.get("next_step")), None)

    def latest_interrupted(self) -> int | None:
        interrupted = [s["id"] for s in self.list_sessions() if s["status"] == SessionStatus.INTERRUPTED.value]
        return interrupted[-1] if interrupted else None

    def detail(self, session_id: int) -> TinyDB:
        """The file holding one session's turns, notes, events and progress."""
        return _open_db(self.session_file(session_id))

    def session_file(self, session_id: int) -> Path:
        return self.folder / f"{session_id}.json"

    # ---- writing

    def begin(self, partners: list[str], roles: Roles, started_at: str, planned_work: float) -> "SessionRecorder":
        """Open a new session (locks the journal for this process)."""
        self._acquire()
        sid = self.sessions.insert(
            {
                "started_at": started_at,
                "ended_at": None,
                "status": SessionStatus.IN_PROGRESS.value,
                "partners": list(partners),
                "leader": roles.leader,
                "logistics": roles.logistics,
                "planned_work": planned_work,
                "worked": 0.0,
                "next_step": None,
            }
        )
        return SessionRecorder(self, sid)

    def resume(self, ref: str | int) -> tuple[dict[str, Any], ResumePoint, "SessionRecorder"]:
        """Pick up an interrupted session: its record, where it stopped, and a recorder for it."""
        self._acquire()
        doc = self._find(ref)
        status = self._summary(doc, running=False)["status"]
        if status != SessionStatus.INTERRUPTED.value:
            self._release()
            raise DuetError(f"session {doc.doc_id} is {status}, not interrupted: only an interrupted session can be resumed")
        recorder = SessionRecorder(self, doc.doc_id)
        point = recorder.resume_point()
        recorder.record_event(SessionEvent(kind="resumed", time=_now_iso(), detail={"phase": point.phase}))
        return dict(doc) | {"id": doc.doc_id}, point, recorder

    # ---- internals

    def _docs(self) -> list[Document]:
        return sorted(self.sessions.all(), key=lambda d: d.doc_id)

    def _find(self, ref: str | int) -> Document:
        if str(ref).lower() == "last":
            docs = self._docs()
            if not docs:
                raise DuetError(f"the journal {self.path} has no sessions yet: run `duet run` or `duet rehearse` first")
            return docs[-1]
        try:
            sid = int(ref)
        except ValueError:
            raise DuetError(f"'{ref}' is not a session id: use a number from `duet sessions`, or 'last'") from None
        doc = self.sessions.get(doc_id=sid)
        if doc is None:
            raise DuetError(f"no session {sid} in {self.path}: `duet sessions` lists the ids")
        return doc

    def _summary(self, doc: Document, running: bool) -> dict[str, Any]:
        data = {"id": doc.doc_id, **doc}
        if data["status"] == SessionStatus.IN_PROGRESS.value and not running:
            data["status"] = SessionStatus.INTERRUPTED.value
            data["worked"] = self._progress(doc.doc_id).get("work", {}).get("elapsed", data["worked"])
        return data

    def _progress(self, session_id: int) -> dict[str, Any]:
        if not self.session_file(session_id).exists():
            return {}
        detail = self.detail(session_id)
        progress = detail.table("progress").get(doc_id=1) or {}
        detail.close()
        return dict(progress)

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _acquire(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DuetError(f"another Duet session is running on {self.path}: finish it first") from None
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _someone_running(self) -> bool:
        """True while a session (in this process or another) holds the journal's lock."""
        if self._lock_fd is not None:
            return True
        try:
            fd = os.open(self._lock_path(), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


class SessionRecorder:
    """One session's writes: what the engine's ``SessionLog`` needs, each durable on return."""

    def __init__(self, journal: Journal, session_id: int) -> None:
        self.journal = journal
        self.session_id = session_id
        self.db = journal.detail(session_id)

    def record_turn(self, turn: Turn) -> None:
        self.db.table("turns").insert(turn.to_json())

    def record_note(self, note: Note) -> None:
        self.db.table("notes").insert(asdict(note))

    def record_event(self, event: SessionEvent) -> None:
        self.db.table("events").insert(asdict(event))

    def save_progress(self, progress: dict[str, Any]) -> None:
        self.db.table("progress").upsert(Document(progress, doc_id=1))

    def close(self, status: str, summary: dict[str, Any]) -> None:
        self.journal.sessions.update({"status": status, "ended_at": _now_iso()} | summary, doc_ids=[self.session_id])
        self.db.close()
        self.journal._release()

    def resume_point(self) -> ResumePoint:
        """Where the session stopped: after the last recorded answer, with the timer as last saved."""
        progress = dict(self.db.table("progress").get(doc_id=1) or {})
        next_seq = max((t["seq"] for t in self.db.table("turns").all()), default=-1) + 1
        return ResumePoint(
            phase=progress.get("phase", "checkin"),
            next_seq=max(next_seq, int(progress.get("next_seq", 0))),
            work=progress.get("work", {}),
            notes=len(self.db.table("notes")),
        )


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def files_of(journal: Journal, session_id: int) -> list[Path]:
    """Every file that holds a session's words (for forgetting it)."""
    path = journal.session_file(session_id)
    return [path, backup_path(path)]
