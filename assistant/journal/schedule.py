"""The schedule: the couple's planned sessions, in a private file beside the journal.

For a journal at ``journal.json`` the schedule is ``journal.schedule.json`` (like the
``journal.sessions/`` folder): written through ``storage.DurableJSONStorage``, so it is 0600,
crash-safe and refused with one line when damaged. It holds two tables: ``plans`` (what
``duet schedule add`` planned; a removed plan keeps its past for planned-against-held) and
``reminded`` (occurrences ``duet remind`` has announced, so none is announced twice).

Every change is a read-modify-write under ``<file>.lock`` (a timer's ``duet remind`` may run
while the user adds a plan). Reading never creates a file.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfoNotFoundError

from tinydb import TinyDB
from tinydb.table import Document

from assistant.errors import DuetError
from assistant.journal.rhythm import Occurrence, Plan, occurrences
from assistant.journal.storage import (
    DurableJSONStorage,
    JournalError,
    leftovers,
    private_dir,
    recovery_hint,
    remove_files,
)

REMEMBER_REMINDERS = timedelta(days=2)
"""Announced reminders older than this are forgotten (the file stays small)."""


def schedule_path(journal_path: Path) -> Path:
    """``journal.json`` -> ``journal.schedule.json``, in the journal's folder."""
    return journal_path.with_name(journal_path.stem + ".schedule.json")


class Schedule:
    """The planned sessions of one journal."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()

    # ---- reading

    def plans(self, include_removed: bool = False) -> list[Plan]:
        """The plans, oldest first (removed ones too when asked: their past still counts)."""
        with self._db() as db:
            plans = [self._plan(doc) for doc in db.table("plans").all()]
        return sorted((p for p in plans if include_removed or p.removed_at is None), key=lambda p: p.id)

    def was_reminded(self, occurrence: Occurrence) -> bool:
        with self._db() as db:
            return any(doc.get("key") == _key(occurrence) for doc in db.table("reminded").all())

    # ---- writing

    def add(self, start: datetime, every: str | None, minutes: float, on_weekday: bool = False) -> Plan:
        """Plan a session; the same time and recurrence twice is refused, and so is one that
        overlaps a planned session (a QA pass planned 10:00 and 10:30 and got two reminders).
        ``on_weekday``: a monthly plan keeps the weekday of the month (``Plan.on_weekday``)."""
        with self._locked() as db:
            table = db.table("plans")
            new_id = max((doc.doc_id for doc in table.all()), default=0) + 1
            new = Plan(id=new_id, start=start, every=every, minutes=minutes, uid=f"{uuid.uuid4()}@duet",
                       on_weekday=on_weekday and every == "month")
            for doc in table.all():
                plan = self._plan(doc)
                if plan.removed_at is None and plan.start == start and (plan.every, plan.on_weekday) == (
                        every, new.on_weekday):
                    raise DuetError(f"that session is already planned (id {plan.id}): `duet schedule` lists the plan")
                if plan.removed_at is None and (clash := _overlap(new, plan)) is not None:
                    raise DuetError(f"that overlaps planned session {plan.id} on {clash:%a %Y-%m-%d %H:%M}: pick "
                                    f"another time, or remove that one first (duet schedule remove {plan.id})")
            table.insert(Document(new.to_json(), doc_id=new_id))
        return new

    def remove(self, plan_id: int, now: datetime) -> Plan:
        """End a plan: no session after ``now``; the ones before still count as planned."""
        with self._locked() as db:
            table = db.table("plans")
            doc = table.get(doc_id=plan_id)
            if doc is None:
                raise DuetError(f"no planned session {plan_id} in {self.path}: `duet schedule` lists the ids")
            if doc.get("removed_at"):
                raise DuetError(f"planned session {plan_id} was removed already: `duet schedule` lists the plan")
            # kept, removed: its id is never given to another plan, and a calendar exported again
            # cancels its event on the phones (``ics``), where one left out would stay (QA passes)
            table.update({"removed_at": now.isoformat()}, doc_ids=[plan_id])
            return replace(self._plan(doc), removed_at=now)

    def mark_reminded(self, occurrence: Occurrence, now: datetime) -> bool:
        """Record an announced reminder; False if another process announced it first."""
        with self._locked() as db:
            table = db.table("reminded")
            if any(doc.get("key") == _key(occurrence) for doc in table.all()):
                return False
            old = [doc.doc_id for doc in table.all() if _older(doc, now - REMEMBER_REMINDERS)]
            if old:
                table.remove(doc_ids=old)
            table.insert({"key": _key(occurrence), "at": now.isoformat()})
        return True

    # ---- internals

    @contextmanager
    def _db(self) -> Iterator[TinyDB]:
        db = TinyDB(self.path, storage=DurableJSONStorage)
        try:
            db.storage.read()  # a damaged file: one line, and the file is left alone
            yield db
        finally:
            db.close()

    @contextmanager
    def _locked(self) -> Iterator[TinyDB]:
        private_dir(self.path.parent)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            remove_files(leftovers(self.path.parent, self.path.name))
            with self._db() as db:
                yield db
                if not db.storage.flush():
                    raise JournalError(f"cannot save the schedule {self.path}: the disk is full; free some space "
                                       "and run the command again")
        finally:
            os.close(fd)

    def _plan(self, doc: Document) -> Plan:
        try:
            return Plan.from_json({**doc, "id": doc.doc_id})
        except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError) as err:
            what = f"its {err} is missing" if isinstance(err, KeyError) else str(err)  # not "('timezone')" (a QA pass)
            raise JournalError(f"schedule {self.path}: planned session {doc.doc_id} is damaged ({what}) and was left "
                               f"untouched: {recovery_hint(self.path)}") from None


def _key(occurrence: Occurrence) -> str:
    return f"{occurrence.plan.uid or occurrence.plan.id}/{occurrence.start.isoformat()}"


def _older(doc: dict[str, Any], limit: datetime) -> bool:
    try:
        return datetime.fromisoformat(doc["at"]) < limit
    except (KeyError, TypeError, ValueError):
        return True


OVERLAP_HORIZON = timedelta(days=366)
"""How far ahead two plans are compared for sessions at the same time (a year holds every
combination of weekly, fortnightly and monthly)."""


def _overlap(new: Plan, old: Plan) -> datetime | None:
    """The start of a session of ``old`` that overlaps ``new``'s first, or the first of ``old``
    (from ``new``'s start) that one of ``new``'s overlaps: a clash from the start, such as two
    weekly plans half an hour apart. Sessions that meet now and then later (a monthly plan on a
    day a fortnightly one falls on) are the couple's to move."""
    until = new.start + OVERLAP_HORIZON
    mine, theirs = list(occurrences(new, new.start, until)), list(occurrences(old, new.start - old.length, until))
    pairs = [(mine[0], other) for other in theirs] if mine else []
    pairs += [(one, theirs[0]) for one in mine] if theirs else []
    return next((other.start for one, other in pairs if other.start < one.end and one.start < other.end), None)
