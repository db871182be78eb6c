"""Small builders shared by the engine, journal and CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.session.clock import SimulatedClock
from assistant.config import Config
from assistant.session.events import Action, Say
from assistant.journal import Journal
from assistant.session.runner import new_session


def config(**overrides: Any) -> Config:
    """The default configuration with some sections replaced (dicts are validated)."""
    return Config.model_validate({"partners": ["Ana", "Ben"], **overrides})


def said(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


class Harness:
    """An engine on a simulated clock, writing to a real journal file."""

    def __init__(self, tmp_path: Path, cfg: Config | None = None, journal: Journal | None = None) -> None:
        self.config = cfg or config()
        self.journal = journal or Journal(tmp_path / "journal.json")
        self.clock = SimulatedClock()
        self.engine = new_session(self.config, self.journal, self.clock)
        self.first = self.engine.start()

    @property
    def state(self) -> str:
        return self.engine.state

    def send(self, event: Any) -> list[Action]:
        return self.engine.handle(event)

    def session(self) -> dict[str, Any]:
        return self.journal.get(self.engine.log.session_id)
