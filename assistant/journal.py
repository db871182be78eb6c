"""The journal: every session, answer, note and event, in one private TinyDB file.

Tables: ``sessions`` (one document per session: who, when, roles, status, progress),
``turns`` (each question and its answer), ``notes`` and ``events``, all keyed by the session's
id. Durability is the storage's job (``storage.DurableJSONStorage``): each record is on disk when
its method returns.

A running session holds an exclusive lock on ``<journal>.lock``; a session still marked
"in progress" whose lock nobody holds was interrupted (a crash, a kill, a power cut) and can be
resumed.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import platformdirs
from tinydb import Query, TinyDB

from assistant.engine import ResumePoint, Roles
from assistant.errors import DuetError
from assistant.records import Note, SessionEvent, SessionStatus, Turn
from assistant.storage import DurableJSONStorage, JournalError

log = logging.getLogger(__name__)

__all__ = ["Journal", "JournalError", "SessionRecorder", "default_journal_path"]


def default_journal_path() -> Path:
    return Path(platformdirs.user_data_dir("duet", appauthor=False)) / "journal.json"


class Journal:
    """Read and write sessions in one journal file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self.db = TinyDB(self.path, storage=DurableJSONStorage)
        self.db.storage.read()  # fail now, with a clear line, if the file is not a good journal
        self.sessions = self.db.table("sessions")
        self.turns = self.db.table("turns")
        self.notes = self.db.table("notes")
        self.events = self.db.table("events")
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
        return [self._summary(doc, running) for doc in sorted(self.sessions.all(), key=lambda d: d.doc_id)]

    def get(self, ref: str | int) -> dict[str, Any]:
        """A whole session (turns, notes, events) by id or ``last``."""
        doc = self._find(ref)
        session = self._summary(doc, self._someone_running())
        sid = doc.doc_id
        q = Query().session == sid
        session["turns"] = sorted((dict(t) for t in self.turns.search(q)), key=lambda t: t["seq"])
        session["notes"] = [dict(n) for n in self.notes.search(q)]
        session["events"] = [dict(e) for e in self.events.search(q)]
        for part in (session["turns"], session["notes"], session["events"]):
            for item in part:
                item.pop("session", None)
        return session

    def last_leader(self) -> str | None:
        """Who led the most recent session (rotation starts from them)."""
        docs = self.sessions.all()
        return max(docs, key=lambda d: d.doc_id)["leader"] if docs else None

    def last_next_step(self) -> str | None:
        """The next step planned in the most recent session that planned one."""
        for doc in sorted(self.sessions.all(), key=lambda d: -d.doc_id):
            step = doc.get("next_step")
            if step:
                return step
        return None

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
                "progress": {"phase": "checkin", "next_seq": 0},
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
        progress = doc.get("progress") or {}
        recorded = self.turns.search(Query().session == doc.doc_id)
        next_seq = max((t["seq"] for t in recorded), default=-1) + 1
        point = ResumePoint(
            phase=progress.get("phase", "checkin"),
            next_seq=max(next_seq, int(progress.get("next_seq", 0))),
            work=progress.get("work", {}),
            notes=len(self.notes.search(Query().session == doc.doc_id)),
        )
        recorder = SessionRecorder(self, doc.doc_id)
        recorder.record_event(SessionEvent(kind="resumed", time=_now_iso(), detail={"phase": point.phase}))
        return dict(doc) | {"id": doc.doc_id}, point, recorder

    def latest_interrupted(self) -> int | None:
        for summary in reversed(self.list_sessions()):
            if summary["status"] == SessionStatus.INTERRUPTED.value:
                return summary["id"]
        return None

    # ---- internals

    def _find(self, ref: str | int):
        if str(ref).lower() == "last":
            docs = self.sessions.all()
            if not docs:
                raise DuetError(f"the journal {self.path} has no sessions yet: run `duet run` or `duet rehearse` first")
            return max(docs, key=lambda d: d.doc_id)
        try:
            sid = int(ref)
        except ValueError:
            raise DuetError(f"'{ref}' is not a session id: use a number from `duet sessions`, or 'last'") from None
        doc = self.sessions.get(doc_id=sid)
        if doc is None:
            raise DuetError(f"no session {sid} in {self.path}: `duet sessions` lists the ids")
        return doc

    def _summary(self, doc: Any, running: bool) -> dict[str, Any]:
        data = dict(doc)
        data.pop("progress", None)
        if data["status"] == SessionStatus.IN_PROGRESS.value and not running:
            data["status"] = SessionStatus.INTERRUPTED.value
        return {"id": doc.doc_id, **data}

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

    def record_turn(self, turn: Turn) -> None:
        self.journal.turns.insert({"session": self.session_id, **turn.to_json()})

    def record_note(self, note: Note) -> None:
        self.journal.notes.insert({"session": self.session_id, **asdict(note)})

    def record_event(self, event: SessionEvent) -> None:
        self.journal.events.insert({"session": self.session_id, **asdict(event)})

    def save_progress(self, progress: dict[str, Any]) -> None:
        worked = progress.get("work", {}).get("elapsed", 0.0)
        self.journal.sessions.update({"progress": progress, "worked": round(worked, 3)}, doc_ids=[self.session_id])

    def close(self, status: str, summary: dict[str, Any]) -> None:
        self.journal.sessions.update({"status": status, "ended_at": _now_iso()} | summary, doc_ids=[self.session_id])
        self.journal._release()


def _now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat()
