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

One rule keeps concurrent commands from undoing each other: **take the lock, then read, then
write**. Everything that writes (a session starting, resuming or ending, ``forget``) first takes
the exclusive lock on ``journal.json.lock`` (``lock()``), then reads the index afresh from disk,
and only then writes it; it never writes back a copy read before the lock. A running session holds
the lock to its end. Commands that only read take no lock and create nothing, so they work on
read-only media; they only peek at the lock (a shared, non-blocking probe) to tell a running
session from an interrupted one: a session still marked "in progress" whose lock nobody holds was
interrupted (a crash, a kill, a power cut) and can be resumed. The holder writes the id of the
session it runs into the lock file (nothing in a forget), so while it runs, older interrupted
sessions are still shown interrupted. Whoever takes the lock first
removes what a killed write may have left behind (temporary files).

Each finished session's *digest* (``insights.digest``: what insights need of its answers) is
written into its index entry when it closes, so ``summaries()`` answers ``duet insights`` from the
index alone. A session without one (a journal from before digests) is read and digested when
insights, search or the report read it, and the digest stored: the one write a reading command
makes, and only with the lock taken at once (never waiting for it, never while a session runs;
on read-only media it is simply made again next time).

``forget`` removes the session's index entry first, in one atomic write that keeps no backup of
the old index, and only then its files: a failure leaves either the whole session or nothing of
it in the index, and the one-line error says which.

A journal path that is a symbolic link is followed: the index, its backups, the lock and the
session files all live beside the link's target (a journal kept in a synced folder stays whole
there), and the link itself stays a link.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import logging
import math
import os
import re
import stat
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import platformdirs
from tinydb import TinyDB, where
from tinydb.table import Document

from assistant.errors import DuetError, os_error
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
    TurnStatus,
    clean_note,
    clean_summary,
    clean_turn,
    mark_cancelled,
    was_held,
)

log = logging.getLogger(__name__)

__all__ = ["Journal", "JournalError", "SessionRecorder", "default_journal_path"]

LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
"""How the lock file is opened, taken or made again: never through a link, and no wait on a FIFO."""
RUNS_UNKNOWN = -1
"""``Journal._someone_running``: another process holds the lock, and which session it runs
cannot be told (every unfinished session is then taken for running)."""

SESSION_FILE = re.compile(r"^(\d+)\.json(\.bak|\.bak\.new)?$")
INDEX_FIELDS: dict[str, type | tuple[type, ...]] = {
    "started_at": str, "status": str, "partners": list, "leader": str, "logistics": str,
}
"""What every session document of the index must have (anything else is not ours)."""
IDS_TABLE = "ids"
"""The index's record of the highest id ever given (``forget`` keeps it)."""
LOCK_WAIT = 2.0
"""Seconds a writer waits for the lock: a reader's probe or a ``forget`` holds it for moments, a
session for its whole length."""


def default_journal_path() -> Path:
    return Path(platformdirs.user_data_dir("duet", appauthor=False)) / "journal.json"


def _open_db(path: Path, watcher: Watcher | None = None) -> TinyDB:
    db = TinyDB(path, storage=DurableJSONStorage, watcher=watcher)
    db.storage.read()  # fail now, with a clear line, if the file is not a good journal
    return db


class Journal:
    """Read and write the sessions of one journal."""

    def __init__(self, path: Path, notify: Callable[[str], None] | None = None) -> None:
        self.path = journal_file(path)
        self.folder = self.path.with_name(self.path.stem + ".sessions")
        self.notify = notify or (lambda message: log.warning("%s", message))
        """How the user is told that saving stopped (full disk) and started again."""
        self._unsaved: set[Path] = set()
        self._loss_reported = False
        self.db = _open_db(self.path, self._watch)
        self.sessions = self.db.table("sessions")
        self._lock_fd: int | None = None
        self._lock_lost_told = False
        """The lock file was deleted and another Duet holds the new one: said once (``keep_lock``)."""
        self._current: int | None = None
        """The session this process runs (while it holds the lock)."""
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
        running = self._running()
        return [self._summary(doc, running(doc.doc_id)) for doc in self._docs()]

    def get(self, ref: str | int) -> dict[str, Any]:
        """A whole session (turns, notes, events) by id or ``last``.

        Records edited by hand are shown as well as they can be (see ``records.clean_*``), never
        refused: a session must stay readable and forgettable whatever was done to its file.
        """
        doc = self._find(ref)
        session = self._summary(doc, self._running()(doc.doc_id))
        self._warn_if_lost(session)
        detail = self.detail(doc.doc_id)
        session["turns"] = sorted((clean_turn(t) for t in detail.table("turns").all()), key=_turn_order)
        session["events"] = [dict(e) for e in detail.table("events").all()]
        session["notes"] = mark_cancelled([clean_note(n) for n in detail.table("notes").all()], session["events"])
        detail.close()
        return session

    def lost(self, session: dict[str, Any]) -> bool:
        """Whether a closed session's file is gone, backup and all (deleted by hand): its answers,
        notes and events are no longer in the journal. A session that is still open may not have
        written its file yet."""
        closed = session["status"] in (SessionStatus.DONE.value, SessionStatus.ABORTED.value)
        path = self.session_file(session["id"])
        return closed and not path.exists() and not backup_path(path).exists()

    def lost_sessions(self) -> list[int]:
        """The ids of the sessions whose file is gone (``lost``), for ``duet doctor``."""
        return [s["id"] for s in self.list_sessions() if self.lost(s)]

    def _warn_if_lost(self, session: dict[str, Any]) -> None:
        """Say that a session shown without answers lost them: a QA pass found one shown empty,
        with nothing to say why."""
        if self.lost(session):
            log.warning("session %d's file %s is missing: its answers, notes and events are not in the "
                        "journal (put back a copy of that file if you have one)", session["id"],
                        self.session_file(session["id"]))

    def history(self) -> list[dict[str, Any]]:
        """Every session whole (as ``get`` gives it, with its ``digest``), oldest first, read in one
        pass: for search and the report. A damaged session file is skipped with a warning (``get``
        says why)."""
        return self._read_all(whole=True)

    def summaries(self) -> list[dict[str, Any]]:
        """Every session's index entry with its ``digest`` (see ``insights``), oldest first: all that
        ``duet insights`` needs, without reading the sessions' answers. Only a session whose index
        entry has no valid digest (an older Duet's journal, an interrupted session) is read, and
        digested; a finished one's digest is then stored (``_store_digests``), so it is read once."""
        return self._read_all(whole=False)

    def _read_all(self, whole: bool) -> list[dict[str, Any]]:
        running = self._running()
        out, made = [], {}
        with _gc_paused():
            self._read_each(whole, running, out, made)
        self._store_digests(made)
        return out

    def _read_each(self, whole: bool, running: Callable[[int], bool], out: list[dict[str, Any]],
                   made: dict[int, tuple[dict[str, Any], str]]) -> None:
        """``_read_all``'s loop: each session into ``out``, each digest made for storing into ``made``."""
        from assistant.journal.insights import digest, pack, unpack

        for doc in self._docs():
            session = clean_summary({"id": doc.doc_id, **doc})
            if not _a_time(session["started_at"]):
                log.warning("session %d left out: its start '%s' is not a time (`duet show %d` shows it)",
                            doc.doc_id, session["started_at"], doc.doc_id)
                continue
            unfinished = session["status"] == SessionStatus.IN_PROGRESS.value
            session["digest"] = unpack(doc.get("digest"))
            stored = session["digest"] is not None
            if whole or unfinished or not stored:
                if whole:
                    self._warn_if_lost(session)
                try:
                    tables = read_fast(self.session_file(doc.doc_id)) or {}
                except JournalError as err:
                    log.warning("session %d left out: %s", doc.doc_id, err)
                    continue
                if unfinished and not running(doc.doc_id):
                    session["status"] = SessionStatus.INTERRUPTED.value
                    progress = tables.get("progress", {}).get("1", {})
                    session["worked"] = progress.get("work", {}).get("elapsed", session["worked"])
                session["turns"] = sorted((clean_turn(t) for t in tables.get("turns", {}).values()), key=_turn_order)
                session["events"] = list(tables.get("events", {}).values())
                session["notes"] = mark_cancelled([clean_note(n) for n in tables.get("notes", {}).values()],
                                                  session["events"])
                if not stored:
                    session["digest"] = _digest_or_none(digest, session)
                    if session["digest"] is not None and not unfinished:
                        made[doc.doc_id] = (dict(doc), pack(session["digest"]))
                if not whole:
                    for key in ("turns", "notes", "events"):
                        del session[key]
            out.append(session)

    def _store_digests(self, made: dict[int, tuple[dict[str, Any], str]]) -> None:
        """Keep the digests just made for finished sessions in the index (one write), when the lock
        can be had at once: not while a session runs (here or elsewhere), nor on read-only media or
        a full disk (then they are made again next time, and nobody is told: nothing was lost).
        Only entries unchanged since they were read get one."""
        if not made or self._lock_fd is not None:
            return
        try:
            if not self._acquire(wait=False):
                return
        except (OSError, DuetError) as err:
            log.info("the sessions' digests were not stored (%s): they are made again when read", err)
            return
        storage = self.db.storage
        watcher, storage.watcher = storage.watcher, None  # a full disk here is no news for the user
        try:
            fresh = {d.doc_id: d for d in self.sessions.all()}
            todo = [(sid, d) for sid, (seen, d) in made.items() if sid in fresh and dict(fresh[sid]) == seen]
            pending = iter([d for _, d in todo])

            def add(doc: dict[str, Any]) -> None:  # called for the ids in order (all are present)
                doc["digest"] = next(pending)

            self.sessions.update(add, doc_ids=[sid for sid, _ in todo])
            if storage.unsaved:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            log.info("stored the digests of %d session(s) in %s", len(todo), self.path)
        except OSError as err:
            storage.discard()  # the file on disk is the truth again; the digests are made next time
            log.info("the sessions' digests were not stored (%s): they are made again when read", os_error(err))
        finally:
            storage.watcher = watcher
            self._release()

    def cheer(self, session_id: int, started: datetime, is_command: Callable[[str], bool] | None = None) -> Cheer:
        """What session ``session_id`` can celebrate, from the sessions held before it
        (``celebrate``; false starts left out); ``is_command``: an answer that was a command."""
        from assistant.journal.celebrate import NEEDS_WHOLE, cheer

        try:
            past = sorted((s for s in self.list_sessions()
                           if s["id"] < session_id and _held_before(s, started) and was_held(s)),
                          key=lambda s: (s["started_at"], s["id"]))
            whole = {s["id"] for s in past[-NEEDS_WHOLE:]}  # the index says the rest: no need to read every file
            return cheer([self._whole(s) if s["id"] in whole else s | {"turns": [], "notes": [], "events": []}
                          for s in past], session_id, started, is_command)
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

    def last_leader(self, before: datetime | None = None) -> str | None:
        """Who led the most recent session (held ``before``, if given) that took its turn to lead
        (``was_held``): rotation starts from them."""
        held = [d for d in self._by_date(before) if was_held(d)]
        return held[-1]["leader"] if held else None

    def last_next_step(self, before: datetime | None = None) -> str | None:
        """The next step planned in the most recent session (held ``before``) that planned one."""
        return next((doc["next_step"] for doc in reversed(self._by_date(before))
                     if isinstance(doc.get("next_step"), str) and doc["next_step"]), None)

    def _by_date(self, before: datetime | None = None) -> list[Document]:
        """The sessions in the order they were held, as ``cheer`` reads them: a session
        recorded later with an earlier ``--date`` is not "last time" for the greeting. With
        ``before``, only those held before it: a session recorded with an earlier ``--date``
        reads its own past, not later plans (found in a QA pass)."""
        docs = [d for d in self.sessions.all() if before is None or _held_before(d, before)]
        return sorted(docs, key=lambda d: (str(d.get("started_at", "")), d.doc_id))

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

    def lock(self) -> None:
        """Take the journal's lock for this process, then read the index afresh.

        Every command that writes calls this before it reads anything it will write back (a
        starting session reads the last leader and next step only after it), so a ``forget`` or
        a session that ended meanwhile is never undone by a stale copy. Held until ``close``.
        """
        self._acquire()

    def begin(self, partners: list[str], roles: Roles, started_at: str, planned_work: float,
              questions: dict[str, list[str]] | None = None) -> "SessionRecorder":
        """Open a new session (locks the journal for this process). ``questions``: the session's
        questions by section (``checkin``, ``debrief``, ``together``), kept in its file so that a
        resume asks the rest of them, whatever the config says by then."""
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
        self._current = sid
        self._mark_running()
        recorder = SessionRecorder(self, sid)
        if questions:
            recorder.keep_questions(questions)
        return recorder

    def resumable(self, ref: str | int) -> int:
        """The id of an interrupted session that ``resume`` would take (takes the lock first);
        says in one line why not. Checked before a live resume loads its models."""
        self._acquire()
        doc = self._find(ref)
        status = self._summary(doc, running=doc.doc_id == self._current)["status"]
        if status != SessionStatus.INTERRUPTED.value:
            raise DuetError(f"session {doc.doc_id} is {status}, not interrupted: only an interrupted session can be resumed")
        return doc.doc_id

    def resume(self, ref: str | int, check: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None,
               ) -> tuple[dict[str, Any], ResumePoint, "SessionRecorder"]:
        """Pick up an interrupted session: its record, where it stopped, and a recorder for it.
        ``check(record, turns)`` may refuse it (a DuetError) before anything is written."""
        try:
            doc = self.sessions.get(doc_id=self.resumable(ref))
        except DuetError:
            self._release()
            raise
        assert doc is not None
        partners = doc["partners"]
        if not (len(partners) == 2 and all(isinstance(p, str) and p.strip() for p in partners)
                and partners[0] != partners[1] and {doc["leader"], doc["logistics"]} == set(partners)):
            self._release()
            raise JournalError(f"session {doc.doc_id} cannot be resumed: its partners, leader or logistics in "
                               f"{self.path} were changed by hand; it can still be shown, exported or forgotten")
        recorder = SessionRecorder(self, doc.doc_id)
        try:
            point = recorder.resume_point()
            if check is not None:
                check(dict(doc) | {"id": doc.doc_id, "questions": recorder.questions()}, recorder.db.table("turns").all())
        except DuetError:
            recorder.db.close()
            self._release()
            raise
        self._current = doc.doc_id
        self._mark_running()
        recorder.record_event(SessionEvent(kind="resumed", time=_now_iso(), detail={"phase": point.phase}))
        return dict(doc) | {"id": doc.doc_id}, point, recorder

    def forget(self, ref: str | int, confirm: Callable[[list[dict[str, Any]]], bool] | None = None) -> list[int]:
        """Delete one session (an id or ``last``) or ``all``, with every copy: backups too.

        Refused while a session runs. ``confirm`` is asked, with the lock held (so nothing can
        start meanwhile), about the sessions that would go; False keeps them. The index entry goes
        first (one atomic write that keeps no backup of the old index), then the session's files:
        a failure before the index is written leaves everything, a failure after it leaves the
        session out of the index and names the files still to delete. Where there is no journal
        at all, nothing is created. Returns the ids forgotten.
        """
        everything = str(ref).lower() == "all"
        if not self.path.exists() and not self.folder.exists():  # a mistyped path: create nothing
            if not everything:
                self._find(ref)  # says there is no such session
            if confirm is not None:
                confirm([])
            return []
        try:
            self._acquire()
        except OSError as err:
            raise JournalError(f"nothing was forgotten: {os_error(err)}") from None
        try:
            docs = self._docs() if everything else [self._find(ref)]
            if confirm is not None and not confirm([self._summary(d, running=False, damaged_ok=True) for d in docs]):
                return []
            self._check_deletable()
            if everything:
                self._forget_everything()
                return [doc.doc_id for doc in docs]
            sid = docs[0].doc_id
            self._forget_entries([sid], f"session {sid}")
            self._delete(self.session_files(sid), f"session {sid}")
            return [sid]
        finally:
            self._release()

    # ---- internals

    def _check_deletable(self) -> None:
        """Refuse before anything is deleted when a folder of the journal cannot be changed."""
        for folder in (self.path.parent, self.folder):
            if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                code = errno.EROFS if _read_only(folder) else errno.EACCES
                raise JournalError("nothing was forgotten: " + str(os_error(OSError(code, os.strerror(code), str(folder)))))

    def _forget_entries(self, ids: list[int], what: str) -> None:
        """Take sessions out of the index: its backup (which holds them) goes, then one atomic write."""
        try:
            remove_files([backup_path(self.path), backup_path(self.path).with_name(self.path.name + ".bak.new")])
            with self.db.storage.without_backup():
                # ids are never given again: a new session is not mistaken for a forgotten one
                self.db.table(IDS_TABLE).upsert(Document({"last": self._free_id() - 1}, doc_id=1))
                self.sessions.remove(doc_ids=ids)
            if not self.db.storage.flush():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        except OSError as err:
            self.db.storage.discard()
            raise JournalError(f"nothing was forgotten, {what} is still whole: {os_error(err)}") from None
        if self.path.exists():
            link_backup(self.path)  # the backup is the new index: no copy of the entry is left
        remove_files(leftovers(self.path.parent, self.path.name))

    def _delete(self, files: list[Path], what: str) -> None:
        """Delete a forgotten session's files (its index entry is already gone)."""
        try:
            remove_files(files)
        except OSError as err:
            left = [str(p) for p in files if p.exists() or p.is_symlink()]
            raise JournalError(
                f"{what} is out of the index of {self.path}, but {len(left)} of its files could not be deleted "
                f"({err.strerror or err}): delete them by hand: rm -f " + " ".join(f"'{p}'" for p in left)
            ) from None

    def _forget_everything(self) -> None:
        """Index first (its backup, then the file itself: one atomic unlink), then every session file."""
        try:
            remove_files([backup_path(self.path), backup_path(self.path).with_name(self.path.name + ".bak.new")])
            remove_files([self.path])
        except OSError as err:
            raise JournalError(f"nothing was forgotten: {os_error(err)}") from None
        self.db.close()
        self.db = _open_db(self.path, self._watch)
        self.sessions = self.db.table("sessions")
        files = leftovers(self.path.parent, self.path.name)
        if self.folder.is_dir():
            files += [p for p in self.folder.iterdir() if SESSION_FILE.match(p.name)] + leftovers(self.folder)
        self._delete(files, "every session")
        if self.folder.is_dir():
            try:
                self.folder.rmdir()
            except OSError:
                log.warning("%s holds files that are not Duet's; they were left there", self.folder)

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
        """The next session id: after every id in the index, every session file on disk, and
        every id forgotten."""
        used = [doc.doc_id for doc in self.sessions.all()]
        last = (self.db.table(IDS_TABLE).get(doc_id=1) or {}).get("last")
        if isinstance(last, int) and not isinstance(last, bool):
            used.append(last)
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

    def _summary(self, doc: Document, running: bool, damaged_ok: bool = False) -> dict[str, Any]:
        data = clean_summary({"id": doc.doc_id, **doc})
        if data["status"] == SessionStatus.IN_PROGRESS.value and not running:
            data["status"] = SessionStatus.INTERRUPTED.value
            work = self._progress(doc.doc_id, damaged_ok).get("work")
            elapsed = work.get("elapsed") if isinstance(work, dict) else None
            if _finite(elapsed):
                data["worked"] = elapsed
        return data

    def _progress(self, session_id: int, damaged_ok: bool = False) -> dict[str, Any]:
        """A session's saved progress; a damaged file is refused with its recovery line, except
        when the session is being forgotten (``damaged_ok``): then it gives nothing."""
        if not self.session_file(session_id).exists():
            return {}
        try:
            detail = self.detail(session_id)
        except JournalError:
            if damaged_ok:
                return {}
            raise
        progress = detail.table("progress").get(doc_id=1) or {}
        detail.close()
        return dict(progress)

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _acquire(self, wait: bool = True) -> bool:
        """Take the journal's lock, read the index afresh, then clear what killed writes left.
        With ``wait`` False, give up at once (False) when someone holds it."""
        if self._lock_fd is not None:
            return True
        private_dir(self.path.parent)
        lock = self._lock_path()
        odd = f"the journal's lock {lock} is not a plain file: remove it (rm -r '{lock}') when no Duet is running; " \
              "Duet makes a new one"
        try:
            fd = os.open(lock, LOCK_FLAGS, 0o600)
        except OSError as err:
            if err.errno in (errno.EISDIR, errno.ELOOP, errno.ENXIO):  # a folder, a link, a socket
                raise JournalError(odd) from None
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalError(odd)
            if not self._flock(fd, wait):
                os.close(fd)
                return False
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        try:
            self.db.storage.reload()  # whatever was read before the lock may be stale: read again
            self._check_index()  # (reads it, and refuses it if it was damaged meanwhile)
        except BaseException:
            self._release()
            raise
        remove_files(leftovers(self.path.parent, self.path.name) + leftovers(self.folder))
        return True

    def _flock(self, fd: int, wait: bool = True) -> bool:
        """Wait a moment for the lock (a reader's probe, a forget), not for a whole session."""
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not wait:
                    return False
                if time.monotonic() >= deadline:
                    raise DuetError(f"another Duet session is running on {self.path} (or a forget): "
                                    "finish it first") from None
                time.sleep(0.02)

    def keep_lock(self) -> None:
        """Before a session's write: when the lock file this process holds was deleted (a tidy-up
        of stray files), make it again and hold it, so a second Duet started later is refused
        rather than writing alongside (a QA pass saw a forgotten session come back that way).
        A second Duet that came in between holds the new file: that is logged, not fixed."""
        if self._lock_fd is None:
            return
        lock = self._lock_path()
        try:
            if os.path.samestat(os.stat(lock, follow_symlinks=False), os.fstat(self._lock_fd)):
                return
        except FileNotFoundError:
            pass
        except OSError:
            return  # cannot tell: keep what is held
        try:
            fd = os.open(lock, LOCK_FLAGS, 0o600)
        except OSError as err:
            log.warning("the journal's lock %s was deleted and could not be made again: %s", lock, err)
            return
        if not self._flock(fd, wait=False):
            os.close(fd)
            if not self._lock_lost_told:
                self._lock_lost_told = True
                log.error("the journal's lock %s was deleted while this session ran, and another Duet holds "
                          "the new one: do not delete it while Duet runs", lock)
            return
        os.close(self._lock_fd)
        self._lock_fd = fd
        self._mark_running()
        log.warning("the journal's lock %s was deleted while this session ran: made again", lock)

    def _running(self) -> Callable[[int], bool]:
        """Which sessions are running now: with the lock held, only this process's own one;
        held by another, the one its lock file names (``_mark_running``)."""
        if self._lock_fd is not None:
            current = self._current
            return lambda sid: sid == current
        other = self._someone_running()
        if other is None:
            return lambda sid: False
        if other == RUNS_UNKNOWN:
            return lambda sid: True
        return lambda sid: sid == other

    def _mark_running(self) -> None:
        """Write the id of the session this process runs (nothing: none) into the lock file it
        holds, so a reader calls only that one running: with every unfinished session taken for
        running while anyone held the lock, a QA pass saw 16 sessions interrupted years before
        shown "in progress" with no minutes, for as long as a live session lasted."""
        if self._lock_fd is None:
            return
        try:
            os.ftruncate(self._lock_fd, 0)
            if self._current is not None:
                os.pwrite(self._lock_fd, f"{self._current}\n".encode(), 0)
        except OSError as err:  # readers then take every unfinished session for running
            log.debug("the running session's id was not written to the lock: %s", err)

    def _release(self) -> None:
        marked, self._current = self._current, None
        if self._lock_fd is not None:
            if marked is not None:
                self._mark_running()  # cleared: the next holder may run none (a forget)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _someone_running(self) -> int | None:
        """While another process holds the journal's lock, the id of the session it runs (``0``:
        none, as in a forget or before its session begins; ``RUNS_UNKNOWN``: it cannot be told);
        None while nobody holds it.

        A shared probe on a read-only descriptor: it works on read-only media, and two readers
        probing at once do not see each other as a session.
        """
        try:
            fd = os.open(self._lock_path(), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError:
            return RUNS_UNKNOWN  # cannot tell: do not call a session interrupted that may be running
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:  # held (BlockingIOError), or cannot tell
                said = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                return int(said) if said.isdigit() else 0 if not said else RUNS_UNKNOWN
            return None
        except OSError:
            return RUNS_UNKNOWN
        finally:
            os.close(fd)


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
        self.script: dict[str, Any] | None = None
        """In a rehearsal, ``{"sha": script digest, "line": lines heard so far}``: written into
        every record, in the same atomic write, so a resume with the same script knows exactly
        which lines were already heard."""

    def record_turn(self, turn: Turn) -> None:
        """Write ``turn``; recorded again (the partner went on with the answer), it replaces the
        one of the same ``seq``."""
        turns, record = self.db.table("turns"), self._marked(turn.to_json())
        before = turns.get(where("seq") == turn.seq)  # one write either way: TinyDB's upsert makes two
        if isinstance(before, Document):
            self._write(lambda: turns.update(record, doc_ids=[before.doc_id]))
        else:
            self._write(lambda: turns.insert(record))
        log.debug("recorded turn %d (%s): %r", turn.seq, turn.status.value, turn.answer)

    def record_note(self, note: Note) -> None:
        self._write(lambda: self.db.table("notes").insert(self._marked(asdict(note))))

    def record_event(self, event: SessionEvent) -> None:
        self._write(lambda: self.db.table("events").insert(self._marked(asdict(event))))

    def _marked(self, record: dict[str, Any]) -> dict[str, Any]:
        return record if self.script is None else record | {"script": dict(self.script)}

    def keep_questions(self, questions: dict[str, list[str]]) -> None:
        """The session's questions by section, in its own file (not the index, read by every
        command): a resume asks the rest of them, whatever the config says by then."""
        self._write(lambda: self.db.table("questions").insert({k: list(v) for k, v in questions.items()}))

    def questions(self) -> dict[str, Any] | None:
        """The questions kept by ``keep_questions``; None for a session begun before they were."""
        kept = self.db.table("questions").get(doc_id=1)
        return dict(kept) if kept is not None else None

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
        summary = summary | self._digest()
        self.journal.sessions.update({"status": status, "ended_at": _now_iso()} | summary, doc_ids=[self.session_id])
        if not self.journal.db.storage.flush():
            raise JournalError(
                f"the disk holding {self.journal.path.parent} is full: every answer of session {self.session_id} "
                f"is saved, but it could not be marked {status}; free some space and run `duet sessions`"
            )
        self.db.close()
        self.journal._release()

    def _digest(self) -> dict[str, Any]:
        """The session's tone and digest (``insights.digest``), made once here and kept in the
        index, so that insights over a thousand sessions read the index, not every answer."""
        try:
            from assistant.journal.insights import digest, pack

            events = self.db.table("events").all()
            d = digest({"turns": sorted(self.db.table("turns").all(), key=_turn_order),
                        "notes": mark_cancelled(self.db.table("notes").all(), events), "events": events})
            return {"tone": d["tone"], "digest": pack(d)}
        except Exception as err:  # noqa: BLE001 - a missing digest must never cost the session
            log.warning("the session's digest was not made (%s); insights will make it when read", err)
            return {}

    def resume_point(self) -> ResumePoint:
        """Where the session stopped: after the last recorded answer, with the timer as last saved.

        What was edited by hand is checked here, at the edge: a value that makes no sense
        refuses the resume with one line naming the file, rather than resuming somewhere wrong.
        """
        progress = dict(self.db.table("progress").get(doc_id=1) or {})
        seqs = [t.get("seq") for t in self.db.table("turns").all()]
        path = self.journal.session_file(self.session_id)
        try:
            return ResumePoint.from_records(progress, seqs, len(self.db.table("notes")),
                                            script_lines=_script_lines(self.db), next_step=self._next_step())
        except ValueError as err:
            raise JournalError(f"session {self.session_id} cannot be resumed: {path} has {err} (edited by hand?); "
                               f"it can still be shown, exported or forgotten") from None

    def _next_step(self) -> str | None:
        """The answer recorded to the first question to both partners (the next step), if any."""
        both = [t for t in sorted(self.db.table("turns").all(), key=_turn_order) if t.get("partner") == "both"]
        answer = both[0].get("answer") if both and both[0].get("status") == TurnStatus.ANSWERED.value else None
        return answer if isinstance(answer, str) and answer.strip() else None

    def _write(self, write: Callable[[], object]) -> None:
        self.journal.keep_lock()
        self.journal.db.storage.flush()  # the index entry of this session first, if it is waiting
        write()
        if self.db.storage.unsaved:
            self.unsaved += 1
        else:
            self.unsaved = 0


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def journal_file(path: str | os.PathLike[str]) -> Path:
    """The journal's real file: ``~`` expanded, a symbolic link followed to its target."""
    if not str(path).strip():
        raise DuetError("the journal path is empty: pass a file path with --journal (or journal: in the config)")
    path = Path(path).expanduser()
    return Path(os.path.realpath(path)) if path.is_symlink() else path  # a loop is left for open() to name


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _held_before(doc: dict[str, Any], when: datetime) -> bool:
    """Whether a session started before ``when`` (one whose start is no time counts as before:
    it was recorded earlier, as far as the journal can tell)."""
    try:
        return datetime.fromisoformat(str(doc.get("started_at"))) < when
    except (ValueError, TypeError):
        return True


def _a_time(text: str) -> bool:
    """Whether ``text`` is a start time insights can place in a week (a hand-edited index may
    hold "last saturday", or a year the calendar cannot count weeks to)."""
    try:
        start = datetime.fromisoformat(text)
        start.astimezone()
    except (ValueError, OverflowError):
        return False
    return start.year < date.max.year  # insights count weeks past it


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Reading a thousand sessions makes some 300,000 dicts and lists, none of them in a cycle: the
    cyclic garbage collector's passes over them took a third of the read. Paused for it, then on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _digest_or_none(digest: Callable[[dict[str, Any]], dict[str, Any]], session: dict[str, Any]) -> dict[str, Any] | None:
    """A session's digest, or None (with a warning) when its records were edited out of shape."""
    try:
        return digest(session)
    except (KeyError, TypeError, AttributeError) as err:
        log.warning("session %d: its answers could not be digested for insights (%r)", session["id"], err)
        return None


def _turn_order(turn: dict[str, Any]) -> tuple[int, int]:
    """By ``seq``; a turn whose ``seq`` was lost (edited by hand) goes last."""
    seq = turn.get("seq")
    return (0, seq) if isinstance(seq, int) and not isinstance(seq, bool) else (1, 0)


def _script_lines(db: TinyDB) -> dict[str, int]:
    """How many lines of each rehearsal script (by digest) the recorded turns, notes and events
    had consumed when they were written (each record carries it, in the same atomic write).

    The ``interrupted`` event, written on the way out, counts one line less: that line may have
    been heard with its answer never recorded, and must be heard again. Only it: a port takes
    one line at a time and the engine records what it leads to before taking the next, so the
    lines before it were talk or questions of time, which changed nothing (without the event's
    count, a QA pass's resumed rehearsal began with 1,212 lines of talk heard again)."""
    found: dict[str, int] = {}
    for name in ("turns", "notes", "events"):
        for record in db.table(name).all():
            mark = record.get("script")
            if isinstance(mark, dict) and isinstance(mark.get("sha"), str) and _finite(mark.get("line")):
                line = int(mark["line"]) - (name == "events" and record.get("kind") == "interrupted")
                found[mark["sha"]] = max(found.get(mark["sha"], 0), line)
    return found
