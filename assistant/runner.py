"""Runs a session: connects the engine to a port (real audio, or a rehearsal script).

A ``Port`` is everything the engine needs from the world: a mouth and two kinds of ears. The
loop is the same for a rehearsal and a live session, so what is rehearsed is what runs.
"""

from __future__ import annotations

import logging
from typing import Protocol

from assistant.clock import Clock
from assistant.config import Config
from assistant.engine import Roles, SessionEngine, rotate_roles
from assistant.events import Event, Finished, ListenForAnswer, ListenForCommands, Say
from assistant.journal import Journal

log = logging.getLogger(__name__)


class Port(Protocol):
    """The engine's senses."""

    def say(self, text: str) -> None:
        """Speak (returns when done, so listening does not hear Duet itself)."""

    def listen_answer(self, action: ListenForAnswer) -> Event:
        """Capture one answer: ``Heard``, or ``Silence`` after the timeout."""

    def listen_commands(self, action: ListenForCommands) -> Event:
        """Wait for a command: ``Heard``, or ``Tick`` at ``action.until``."""


def new_session(config: Config, journal: Journal, clock: Clock) -> SessionEngine:
    """A fresh session with rotated roles and last time's next step, opened in the journal."""
    roles = rotate_roles(config.partners, journal.last_leader())
    previous_step = journal.last_next_step()
    recorder = journal.begin(config.partners, roles, clock.wall().isoformat(), config.work.minutes * 60)
    return SessionEngine(config, recorder, clock, roles, previous_next_step=previous_step)


def resume_session(config: Config, journal: Journal, clock: Clock, ref: str | int) -> SessionEngine:
    """An interrupted session, continued from the question where it stopped."""

    doc, point, recorder = journal.resume(ref)
    config = config.model_copy(update={"partners": doc["partners"]})
    roles = Roles(leader=doc["leader"], logistics=doc["logistics"])
    return SessionEngine(config, recorder, clock, roles, resume=point)


def run(engine: SessionEngine, port: Port) -> str:
    """Drive the engine until the session is done or aborted; returns the final status."""
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
        actions = engine.handle(event)
