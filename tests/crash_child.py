"""A session in a child process that the crash tests kill with SIGKILL.

Usage: python -m tests.crash_child JOURNAL STOP_AFTER
Answers questions with "answer N" and, in the work phase, takes notes "note N"; prints
"recorded TEXT" once the previous one has been handed to the journal (so it must be on disk).
After STOP_AFTER answers it prints "ready" and waits to be killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.config import Config
from assistant.journal import Journal
from assistant.session.clock import SimulatedClock
from assistant.session.events import Heard, ListenForAnswer, ListenForCommands
from assistant.session.runner import new_session, run


class KillablePort:
    def __init__(self, clock: SimulatedClock, stop_after: int) -> None:
        self.clock = clock
        self.count = 0
        self.stop_after = stop_after
        self.last = ""

    def say(self, text: str) -> None:
        pass

    def listen_answer(self, action: ListenForAnswer):
        self._report()
        if self.count == self.stop_after:
            print("ready", flush=True)
            sys.stdin.read()  # wait here to be killed
        return self._say(f"answer {self.count}")

    def listen_commands(self, action: ListenForCommands):
        self._report()
        return self._say(f"take a note note {self.count}")

    def _report(self) -> None:
        if self.last:
            print(f"recorded {self.last}", flush=True)

    def _say(self, text: str) -> Heard:
        self.count += 1
        self.clock.advance(1)
        self.last = text.removeprefix("take a note ")
        return Heard(text)


def main() -> None:
    journal = Journal(Path(sys.argv[1]))
    clock = SimulatedClock()
    config = Config(partners=["Ana", "Ben"])
    run(new_session(config, journal, clock), KillablePort(clock, int(sys.argv[2])))


if __name__ == "__main__":
    main()
