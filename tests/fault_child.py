"""A session in a child process, for the fault tests to kill, interrupt or starve of disk.

Usage: python -m tests.fault_child JOURNAL CONFIG [--notes N] [--pause STAGE:N] [--fsize-after K]

Answers every question with "answer N" and, in the work phase, takes ``--notes`` notes "note N"
(five simulated seconds apart) before saying "start the debrief". Prints ``recorded turn SEQ
TEXT`` / ``recorded note TEXT`` once the journal has returned from writing it (so it must be on
disk), and ``finished STATUS`` at the end.

``--pause STAGE:N`` stops inside the N-th journal write that reaches STAGE, prints
``paused STAGE FILE`` and waits to be killed. Stages, in the order a write goes through them:
``fsync`` (the temporary file is written, not yet synced), ``link`` (the backup's staging link
exists), ``replace-bak`` (about to move it over the backup), ``replace`` (about to rename the
temporary file over the journal file), ``replaced`` (renamed, folder not yet synced).

``--fsize-after K`` sets RLIMIT_FSIZE just above the current journal files after K answers (with
SIGXFSZ ignored, as ``duet`` does, so writes fail with EFBIG), prints ``limited``, and lifts the
limit again after ``--fsize-for`` more answers, printing ``unlimited``.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
from pathlib import Path

from assistant.config import load_config
from assistant.journal import Journal, SessionRecorder
from assistant.session.clock import SimulatedClock
from assistant.session.events import Heard, ListenForAnswer, ListenForCommands
from assistant.session.runner import new_session, run


def _report_records() -> None:
    turn, note = SessionRecorder.record_turn, SessionRecorder.record_note

    def record_turn(self, t):
        turn(self, t)
        print(f"recorded turn {t.seq} {t.answer}", flush=True)

    def record_note(self, n):
        note(self, n)
        print(f"recorded note {n.text}", flush=True)

    SessionRecorder.record_turn, SessionRecorder.record_note = record_turn, record_note


def _pause_in_writes(stage: str, nth: int, folder: Path) -> None:
    count = 0

    def reached(name: str) -> None:
        nonlocal count
        count += 1
        if count == nth:
            print(f"paused {stage} {name}", flush=True)
            sys.stdin.read()  # wait here to be killed

    ours = str(folder)
    real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if stage == "fsync" and target.startswith(ours) and target.endswith(".tmp"):
            reached(target)
        return real_fsync(fd)

    def link(src, dst, **kw):
        real_link(src, dst, **kw)
        if stage == "link" and str(dst).startswith(ours):
            reached(str(dst))

    def replace(src, dst, **kw):
        src = str(src)
        mine = src.startswith(ours)
        if mine and stage == "replace-bak" and src.endswith(".bak.new"):
            reached(src)
        if mine and stage == "replace" and src.endswith(".tmp"):
            reached(str(dst))
        real_replace(src, dst, **kw)
        if mine and stage == "replaced" and src.endswith(".tmp"):
            reached(str(dst))

    os.fsync, os.link, os.replace = fsync, link, replace


class ChildPort:
    def __init__(self, clock: SimulatedClock, notes: int, on_answer) -> None:
        self.clock = clock
        self.notes = notes
        self.answers = 0
        self.noted = 0
        self.on_answer = on_answer

    def say(self, text: str) -> None:
        pass

    def listen_answer(self, action: ListenForAnswer):
        self.on_answer(self.answers)
        self.answers += 1
        self.clock.advance(3)
        return Heard(f"answer {self.answers - 1}")

    def listen_commands(self, action: ListenForCommands):
        self.clock.advance(5)
        if self.noted < self.notes:
            self.noted += 1
            return Heard(f"take a note note {self.noted - 1}")
        return Heard("start the debrief")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("journal", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--pause", default=None)
    parser.add_argument("--fsize-after", type=int, default=None)
    parser.add_argument("--fsize-for", type=int, default=2)
    args = parser.parse_args()
    _report_records()
    if args.pause:
        stage, _, nth = args.pause.partition(":")
        _pause_in_writes(stage, int(nth), args.journal.parent)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]

    def on_answer(n: int) -> None:
        if args.fsize_after is None:
            return
        if n == args.fsize_after:
            biggest = max(p.stat().st_size for p in args.journal.parent.rglob("*.json"))
            resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 64, hard))
            print("limited", flush=True)
        if n == args.fsize_after + args.fsize_for:
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
            print("unlimited", flush=True)

    clock = SimulatedClock()
    journal = Journal(args.journal, notify=lambda message: print(f"told {message}", flush=True))
    status = run(new_session(load_config(args.config), journal, clock), ChildPort(clock, args.notes, on_answer))
    journal.close()
    print(f"finished {status}", flush=True)


if __name__ == "__main__":
    main()
