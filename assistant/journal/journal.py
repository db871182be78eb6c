"""The journal: every session, answer, note and event, in private TinyDB files.

Layout, for a journal at ``journal.json``:

- ``journal.json``: the index, one small document per session (who, when, roles, status).
- ``journal.sessions/<id>.json``: that session's ``turns``, ``notes``, ``events`` and
  ``progress`` (where to resume).

TinyDB rewrites a whole file on every write, so recording an answer costs time in proportion to
the file it lands in. Keeping each session in its own file makes an answer cost the same with
5 sessions or 5,000 (see ``BENCHMARKS.md``); the index changes only when a session begins or ends.
Durability and privacy are the storage's job (``storage.DurableJSONStorage``): each record is on
disk when its method returns, or, when the disk is full, kept in memory and saved by the next
write that finds room (the user is told once, through ``notify``).

A running session holds an exclusive lock on ``journal.json.lock``; a session still marked
"in progress" whose lock nobody holds was interrupted (a crash, a kill, a power cut) and can be
resumed. Whoever takes the lock first removes what a killed write may have left behind
(temporary files), and ``forget`` deletes a session with every copy of it, backups included.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import platformdirs
from tinydb import TinyDB
from tinydb.table import Document

from assistant.errors import DuetError
from assistant.journal.storage import (
    DurableJSONStorage,
    JournalError,
    Watcher,
    backup_path,
    leftovers,
    link_backup,
    private_dir,
    read_fast,
    recovery_hint,
    remove_files,
)
from assistant.session.records import (
    Cheer,
    Note,
    ResumePoint,
    Roles,
    SessionEvent,
    SessionStatus,
    Turn,
)

log = logging.getLogger(__name__)

__all__ = ["Journal", "JournalError", "SessionRecorder", "default_journal_path"]

SESSION_FILE = re.compile(r"^(\d+)\.json(\.bak|\.bak\.new)?$")
INDEX_FIELDS: dict[str, type | tuple[type, ...]] = {
    "started_at": str, "status": str, "partners": list, "leader": str, "logistics": str,
}
"""What every session document of the index must have (anything else is not ours)."""


def default_journal_path() -> Path:
    return Path(platformdirs.user_data_dir("duet", appauthor=False)) / "journal.json"


def _open_db(path: Path, watcher: Watcher | None = None) -> TinyDB:
    db = TinyDB(path, storage=DurableJSONStorage, watcher=watcher)
    db.storage.read()  # fail now, with a clear line, if the file is not a good journal
    return db


class Journal:
    """Read and write the sessions of one journal."""

    def __init__(self, path: Path, notify: Callable[[str], None] | None = None) -> None:
        self.path = Path(path).expanduser()
        self.folder = self.path.with_name(self.path.stem + ".sessions")
        self.notify = notify or (lambda message: log.warning("%s", message))
        """How the user is told that saving stopped (full disk) and started again."""
        self._unsaved: set[Path] = set()
        self._loss_reported = False
        self.db = _open_db(self.path, self._watch)
        self.sessions = self.db.table("sessions")
        self._lock_fd: int | None = None
        self._check_index()

    def close(self) -> None:
        if not self.db.storage.flush() and not self._loss_reported:
            log.error("the journal index %s could not be saved: the disk is full", self.path)
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

    def history(self) -> list[dict[str, Any]]:
        """Every session whole (as ``get`` gives it), oldest first, read in one pass: for insights,
        search and the report. A damaged session file is skipped with a warning (``get`` says why)."""
        running = self._someone_running()
        out = []
        for doc in self._docs():
            try:
                tables = read_fast(self.session_file(doc.doc_id)) or {}
            except JournalError as err:
                log.warning("session %d left out: %s", doc.doc_id, err)
                continue
            session = {"id": doc.doc_id, **doc}
            if session["status"] == SessionStatus.IN_PROGRESS.value and not running:
                session["status"] = SessionStatus.INTERRUPTED.value
                progress = tables.get("progress", {}).get("1", {})
                session["worked"] = progress.get("work", {}).get("elapsed", session["worked"])
            session["turns"] = sorted(tables.get("turns", {}).values(), key=lambda t: t["seq"])
            session["notes"] = list(tables.get("notes", {}).values())
            session["events"] = list(tables.get("events", {}).values())
            out.append(session)
        return out

    def cheer(self, session_id: int, started: datetime) -> Cheer:
        """What session ``session_id`` can celebrate, from the sessions before it (``celebrate``)."""
        from assistant.journal.celebrate import NEEDS_WHOLE, cheer

        try:
            past = sorted((s for s in self.list_sessions() if s["id"] < session_id),
                          key=lambda s: (s["started_at"], s["id"]))
            whole = {s["id"] for s in past[-NEEDS_WHOLE:]}  # the index says the rest: no need to read every file
            return cheer([self._whole(s) if s["id"] in whole else s | {"turns": [], "notes": [], "events": []}
                          for s in past], session_id, started)
        except Exception as err:  # noqa: BLE001 - a celebration is never worth a session
            log.warning("nothing celebrated this time: %s", err)
            return Cheer()

    def _whole(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A session with its answers, or its summary alone if its file cannot be read."""
        try:
            return self.get(summary["id"])
        except JournalError as err:
            log.warning("session %d left out of the celebration: %s", summary["id"], err)
            return summary | {"turns": [], "notes": [], "events": []}

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
        return _open_db(self.session_file(session_id), self._watch)

    def session_file(self, session_id: int) -> Path:
        return self.folder / f"{session_id}.json"

    def session_files(self, session_id: int) -> list[Path]:
        """Every file that holds (or may hold, after a kill) one session's words."""
        path = self.session_file(session_id)
        backup = backup_path(path)
        return [path, backup, backup.with_name(backup.name + ".new"), *leftovers(self.folder, path.name)]

    # ---- writing

    def begin(self, partners: list[str], roles: Roles, started_at: str, planned_work: float) -> "SessionRecorder":
        """Open a new session (locks the journal for this process)."""
        self._acquire()
        sid = self.sessions.insert(
            Document(
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
                },
                doc_id=self._free_id(),
            )
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

    def forget(self, ref: str | int, confirm: Callable[[list[dict[str, Any]]], bool] | None = None) -> list[int]:
        """Delete one session (an id or ``last``) or ``all``, with every copy: backups too.

        Refused while a session runs. ``confirm`` is asked, with the lock held (so nothing can
        start meanwhile), about the sessions that would go; False keeps them. The session's files
        go first, then its index entry; the index's backup is then replaced by the new index, so
        nothing of the session is left. Returns the ids forgotten.
        """
        self._acquire()
        try:
            everything = str(ref).lower() == "all"
            docs = self._docs() if everything else [self._find(ref)]
            if confirm is not None and not confirm([self._summary(d, running=False) for d in docs]):
                return []
            if everything:
                self._forget_everything()
                return [doc.doc_id for doc in docs]
            sid = docs[0].doc_id
            remove_files(self.session_files(sid))
            self.sessions.remove(doc_ids=[sid])
            if not self.db.storage.flush():
                raise JournalError(f"cannot forget session {sid}: the disk holding {self.path} is full; "
                                   "free some space and run the command again")
            if self.path.exists():
                link_backup(self.path)  # the previous index (with this session in it) is gone too
                remove_files(leftovers(self.path.parent, self.path.name))
            return [sid]
        finally:
            self._release()

    # ---- internals

    def _forget_everything(self) -> None:
        if self.folder.is_dir():
            remove_files([p for p in self.folder.iterdir() if SESSION_FILE.match(p.name)])
            remove_files(leftovers(self.folder))
            try:
                self.folder.rmdir()
            except OSError:
                log.warning("%s holds files that are not Duet's; they were left there", self.folder)
        self.db.close()
        remove_files([self.path, backup_path(self.path), backup_path(self.path).with_name(self.path.name + ".bak.new"),
                      *leftovers(self.path.parent, self.path.name)])
        self.db = _open_db(self.path, self._watch)
        self.sessions = self.db.table("sessions")

    def _watch(self, path: Path, err: OSError | None) -> None:
        """Tell the user once when saving stops (full disk), and once when all is saved again."""
        if err is not None:
            if not self._unsaved:
                self.notify(
                    f"cannot save to {path.parent} ({err.strerror or err}): answers are kept in memory and "
                    "saved as soon as there is room; free some disk space"
                )
            self._unsaved.add(path)
        else:
            self._unsaved.discard(path)
            if not self._unsaved:
                self.notify("the journal is saved again: the answers that were waiting are on disk")

    def _check_index(self) -> None:
        for doc in self.sessions.all():
            for key, kind in INDEX_FIELDS.items():
                if not isinstance(doc.get(key), kind):
                    raise JournalError(
                        f"journal {self.path}: session {doc.doc_id} has no valid '{key}' (edited by hand, or "
                        f"another program's file?) and was left untouched: {recovery_hint(self.path)}"
                    )

    def _free_id(self) -> int:
        """The next session id: after every id in the index and every session file on disk."""
        used = [doc.doc_id for doc in self.sessions.all()]
        if self.folder.is_dir():
            used += [int(m.group(1)) for p in self.folder.iterdir() if (m := SESSION_FILE.match(p.name))]
        return max(used, default=0) + 1

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
        """Take the journal's lock, then clear what killed writes left behind."""
        if self._lock_fd is not None:
            return
        private_dir(self.path.parent)
        fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DuetError(f"another Duet session is running on {self.path}: finish it first") from None
        self._lock_fd = fd
        remove_files(leftovers(self.path.parent, self.path.name) + leftovers(self.folder))

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
    """One session's writes: what the engine's ``SessionLog`` needs, each durable on return.

    When the disk is full a record stays in memory (``unsaved`` counts them) and goes to disk
    with the next write that finds room; ``close`` tries once more and, if the disk is still
    full, raises ``JournalError`` saying how to get the session back.
    """

    def __init__(self, journal: Journal, session_id: int) -> None:
        self.journal = journal
        self.session_id = session_id
        self.db = journal.detail(session_id)
        self.unsaved = 0
        """Records kept in memory because the disk had no room."""

    def record_turn(self, turn: Turn) -> None:
        self._write(lambda: self.db.table("turns").insert(turn.to_json()))
        log.debug("recorded turn %d (%s): %r", turn.seq, turn.status.value, turn.answer)

    def record_note(self, note: Note) -> None:
        self._write(lambda: self.db.table("notes").insert(asdict(note)))

    def record_event(self, event: SessionEvent) -> None:
        self._write(lambda: self.db.table("events").insert(asdict(event)))

    def save_progress(self, progress: dict[str, Any]) -> None:
        self._write(lambda: self.db.table("progress").upsert(Document(progress, doc_id=1)))

    def flush(self) -> bool:
        """Try again to save what is waiting; True when everything is on disk."""
        saved = self.journal.db.storage.flush() and self.db.storage.flush()
        if saved:
            self.unsaved = 0
        return saved

    def close(self, status: str, summary: dict[str, Any]) -> None:
        if not self.flush():
            where = self.journal.path.parent
            self.journal._loss_reported = True
            if self.journal.db.storage.unsaved:
                raise JournalError(f"the disk holding {where} is still full: session {self.session_id} could not be "
                                   "saved at all (the journal on disk is as it was); free some space and run it again")
            raise JournalError(
                f"the disk holding {where} is still full: the last {self.unsaved} record(s) of session "
                f"{self.session_id} could not be saved; free some space, then `duet resume {self.session_id}` "
                "asks again from the first unsaved question"
            )
        summary = summary | self._tone()
        self.journal.sessions.update({"status": status, "ended_at": _now_iso()} | summary, doc_ids=[self.session_id])
        if not self.journal.db.storage.flush():
            raise JournalError(
                f"the disk holding {self.journal.path.parent} is full: every answer of session {self.session_id} "
                f"is saved, but it could not be marked {status}; free some space and run `duet sessions`"
            )
        self.db.close()
        self.journal._release()

    def _tone(self) -> dict[str, Any]:
        """The session's tone, scored once here and kept in the index, so that insights over a
        thousand sessions need not score every answer again (``insights.session_tone``)."""
        try:
            from assistant.journal.insights import session_tone

            return {"tone": session_tone({"turns": self.db.table("turns").all()})}
        except Exception as err:  # noqa: BLE001 - a missing tone must never cost the session
            log.warning("the session's tone was not scored (%s); insights will score it when read", err)
            return {}

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

    def _write(self, write: Callable[[], object]) -> None:
        self.journal.db.storage.flush()  # the index entry of this session first, if it is waiting
        write()
        if self.db.storage.unsaved:
            self.unsaved += 1
        else:
            self.unsaved = 0


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()
