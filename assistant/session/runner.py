"""Runs a session: connects the engine to a port (real audio, or a rehearsal script).

A ``Port`` is everything the engine needs from the world: a mouth and two kinds of ears. The
loop is the same for a rehearsal and a live session, so what is rehearsed is what runs.

If the loop is stopped from outside (Ctrl-C, SIGTERM, an error), the session's progress and an
``interrupted`` event are saved on the way out, and ``ACTIVE`` keeps the session's id so the
command line can say how to resume it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from pydantic import ValidationError

from assistant.config import Config
from assistant.errors import DuetError
from assistant.session.clock import Clock
from assistant.session.commands import CommandParser
from assistant.session.engine import Question, SessionEngine, SessionLog, question_plan, rotate_roles
from assistant.session.events import (
    Event,
    Finished,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    Say,
)
from assistant.session.records import Cheer, ResumePoint, Rhythm, Roles, SessionEvent
from assistant.session.rehearsal import ScriptedPort

log = logging.getLogger(__name__)


class Port(Protocol):
    """The engine's senses."""

    def say(self, text: str) -> None:
        """Speak (returns when done, so listening does not hear Duet itself)."""

    def listen_answer(self, action: ListenForAnswer) -> Event:
        """Capture one answer: ``Heard``, or ``Silence`` after the timeout."""

    def listen_commands(self, action: ListenForCommands) -> Event:
        """Wait for a command: ``Heard``, or ``Tick`` at ``action.until``."""


class Recorder(SessionLog, Protocol):
    """One session of the journal, as the loop sees it."""

    session_id: int


class Store(Protocol):
    """What starting or resuming a session needs from the journal (``journal.Journal``)."""

    def lock(self) -> None:
        """Take the journal for this session: everything read after it is current."""
    def last_leader(self, before: datetime | None = None) -> str | None: ...
    def last_next_step(self, before: datetime | None = None) -> str | None: ...
    def begin(self, partners: list[str], roles: Roles, started_at: str,
              planned_work: float, questions: dict[str, list[str]] | None = None) -> Recorder: ...
    def resume(self, ref: str | int, check: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None,
               ) -> tuple[dict[str, Any], ResumePoint, Recorder]: ...
    def cheer(self, session_id: int, started: datetime,
              is_command: Callable[[str], bool] | None = None) -> Cheer: ...


@dataclass
class Active:
    """The session this process is running (for the command line's resume hint)."""

    session_id: int | None = None
    rehearsal: bool = False


ACTIVE = Active()


def new_session(config: Config, journal: Store, clock: Clock, rhythm: Rhythm | None = None) -> SessionEngine:
    """A fresh session with rotated roles, last time's next step and (unless ``celebrate`` is
    off) what the journal gives it to celebrate, opened in the journal; ``rhythm`` carries what
    the schedule says about it (phrased by the caller).

    The journal is locked first, so what is read (last leader, next step) is what is current.
    """
    journal.lock()
    started = clock.wall()  # what came before it, by date (a rehearsal may be dated earlier)
    roles = rotate_roles(config.partners, journal.last_leader(started))
    previous_step = journal.last_next_step(started)
    recorder = journal.begin(config.partners, roles, started.isoformat(), config.work.minutes * 60,
                             questions={"checkin": config.checkin.questions, "debrief": config.debrief.questions,
                                        "together": config.debrief.together})
    ACTIVE.session_id = recorder.session_id
    commands = CommandParser(config.commands, config.listening.wake_word)
    cheer = journal.cheer(recorder.session_id, started, commands.is_command) if config.celebrate else None
    return SessionEngine(config, recorder, clock, roles, previous_next_step=previous_step,
                         rhythm=rhythm, cheer=cheer)


def resume_session(config: Config, journal: Store, clock: Clock, ref: str | int) -> SessionEngine:
    """An interrupted session, continued from the question where it stopped, with the partners,
    questions and work length it began with (``resumed_config``): refused in one line when the
    questions it would ask contradict the answers it holds."""
    chosen: dict[str, Any] = {}

    def check(doc: dict[str, Any], turns: list[dict[str, Any]]) -> None:
        chosen["config"] = resumed_config(config, doc)
        chosen["roles"] = Roles(leader=doc["leader"], logistics=doc["logistics"])
        differs = asked_otherwise(question_plan(chosen["config"], chosen["roles"]), turns)
        if differs:
            raise DuetError(f"session {doc['id']} cannot be resumed with these questions: {differs}; resume it "
                            "with the config it began with (--config FILE), so no answer it holds is replaced")

    doc, point, recorder = journal.resume(ref, check)
    ACTIVE.session_id = recorder.session_id
    return SessionEngine(chosen["config"], recorder, clock, chosen["roles"], resume=point)


def resumed_config(config: Config, doc: dict[str, Any]) -> Config:
    """``config`` with the session's own partners, questions and planned work length. Sessions
    begun before the questions were kept have only their length: the config's questions are
    checked against their answers instead (``asked_otherwise``). A QA pass resumed a session
    begun with another config: its debrief answers replaced seven check-in answers, and the work
    phase ran the config's 45 minutes, not the 60 planned."""
    update: dict[str, Any] = {"partners": doc["partners"]}
    try:
        if isinstance(doc.get("questions"), dict):
            asked = doc["questions"]
            update["checkin"] = type(config.checkin)(**{**config.checkin.model_dump(), "questions": asked["checkin"]})
            update["debrief"] = type(config.debrief)(**{**config.debrief.model_dump(), "questions": asked["debrief"],
                                                        "together": asked["together"]})
        if doc.get("planned_work") is not None:
            update["work"] = type(config.work)(**{**config.work.model_dump(), "minutes": doc["planned_work"] / 60})
    except (ValidationError, KeyError, TypeError):
        raise DuetError(f"session {doc['id']} cannot be resumed: the questions or work length stored with it "
                        "make no sense (edited by hand?); it can still be shown, exported or forgotten") from None
    return config.model_copy(update=update)


def asked_otherwise(plan: list[Question], turns: list[dict[str, Any]]) -> str | None:
    """How the first stored answer disagrees with ``plan`` (a question asked of someone else, or
    another question at its place), or None when every one was asked as the plan asks it."""
    for turn in sorted(turns, key=lambda t: t.get("seq") if isinstance(t.get("seq"), int) else -1):
        seq = turn.get("seq")
        planned = plan[seq] if isinstance(seq, int) and 0 <= seq < len(plan) else None
        if planned is None or (planned.partner, planned.text) != (turn.get("partner"), turn.get("question")):
            now = f"'{planned.text}' of {planned.partner}" if planned else "no question"
            return f"its question {seq + 1 if isinstance(seq, int) else '?'} was '{turn.get('question')}' " \
                   f"of {turn.get('partner')}, the config has {now} there"
    return None


def run(engine: SessionEngine, port: Port) -> str:
    """Drive the engine until the session is done or aborted; returns the final status."""
    ACTIVE.rehearsal = isinstance(port, ScriptedPort)
    try:
        status = _loop(engine, port)
    except BaseException as exc:
        _save_interrupted(engine, exc)
        raise
    ACTIVE.session_id = None
    return status


def _loop(engine: SessionEngine, port: Port) -> str:
    actions = engine.start()
    while True:
        for action in actions:
            if isinstance(action, Say):
                port.say(action.text)
        awaiting = engine.awaiting
        if isinstance(awaiting, Finished):
            return awaiting.status
        if isinstance(awaiting, ListenForAnswer):
            event = port.listen_answer(awaiting)
        elif isinstance(awaiting, ListenForCommands):
            event = port.listen_commands(awaiting)
        else:  # pragma: no cover - the engine always says what it waits for
            raise RuntimeError(f"engine in {engine.state} is not waiting for anything")
        if isinstance(event, Heard):
            log.debug("heard in %s: %r", engine.state, event.text)  # transcripts only at debug level
        actions = engine.handle(event)


def _save_interrupted(engine: SessionEngine, exc: BaseException) -> None:
    """Best effort on the way out: where the session stood, and why it stopped."""
    if engine.finished:
        return
    by = getattr(exc, "signal_name", None) or ("SIGINT" if isinstance(exc, KeyboardInterrupt) else type(exc).__name__)
    try:
        engine.log.save_progress(engine.progress())
        engine.log.record_event(
            SessionEvent(kind="interrupted", time=engine.clock.wall().isoformat(),
                         detail={"by": by, "phase": engine.progress()["phase"]})
        )
    except Exception as err:  # noqa: BLE001 - the original exception matters more
        log.debug("could not save the interruption: %s", err)
    unsaved = getattr(engine.log, "unsaved", 0)
    if unsaved:
        log.error("%d record(s) of this session could not be saved: the disk is full", unsaved)
