"""Killed mid-session: SIGKILL at random moments and inside every step of a journal write.

After each kill the journal must parse, hold every answer and note the session had reported as
recorded, show the session as interrupted, and `duet resume` must continue it from the next
question, with nothing asked twice and no temporary file (which holds answers) left behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.journal import Journal
from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
PLAN = 7  # 2 check-in questions x 2 partners, 1 debrief question x 2, 1 together
CONFIG = {
    "partners": ["Ana", "Ben"],
    "checkin": {"questions": ["How are you?", "What do you intend?"]},
    "work": {"minutes": 10},
    "debrief": {"questions": ["What worked?"], "together": ["What is our next step?"]},
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(CONFIG))
    return path


def start(journal: Path, config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_child", str(journal), str(config), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV,
    )


def duet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=60)


class Reported:
    """What the child said it had recorded before it was killed."""

    def __init__(self) -> None:
        self.turns: dict[int, str] = {}
        self.notes: list[str] = []

    def take(self, line: str) -> None:
        kind, _, rest = line.removeprefix("recorded ").partition(" ")
        if not line.startswith("recorded "):
            return
        if kind == "turn":
            seq, _, text = rest.partition(" ")
            self.turns[int(seq)] = text
        else:
            self.notes.append(rest)


def journal_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def leftovers(folder: Path) -> list[Path]:
    return [p for p in journal_files(folder) if p.name.endswith((".tmp", ".bak.new"))]


def check_after_kill(journal: Path, reported: Reported) -> dict | None:
    """Everything on disk parses and holds what was reported; returns the session (None: none yet)."""
    for path in journal_files(journal.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path  # leftovers too: they hold answers
        if path.suffix in (".json", ".bak"):
            data = json.loads(path.read_text())  # always parses
            assert data["_duet"]["1"]["app"] == "duet"
    with Journal(journal) as j:
        sessions = j.list_sessions()
        if not sessions:
            assert not reported.turns and not reported.notes
            return None
        session = j.get("last")
    on_disk = {t["seq"]: t["answer"] for t in session["turns"]}
    assert reported.turns.items() <= on_disk.items(), (reported.turns, on_disk)
    assert set(reported.notes) <= {n["text"] for n in session["notes"]}
    assert session["status"] == ("done" if len(on_disk) == PLAN and session["ended_at"] else "interrupted")
    return session


def resume_and_check(journal: Path, config: Path, session: dict, tmp_path: Path) -> None:
    """`duet resume` asks the next question first, and the session ends with every question once."""
    before = {t["seq"]: t["answer"] for t in session["turns"]}
    listed = json.loads(duet("sessions", "--json", "--journal", str(journal)).stdout)
    assert listed[-1]["status"] == "interrupted"
    script = tmp_path / "rest.yaml"
    script.write_text("".join(f"- say: resumed answer {k}\n" for k in range(PLAN)))
    result = duet("resume", str(session["id"]), "--script", str(script), "--config", str(config),
                  "--journal", str(journal), "--json")
    assert result.returncode == 0, result.stderr
    with Journal(journal) as j:
        after = j.get(session["id"])
    assert after["status"] == "done"
    seqs = [t["seq"] for t in after["turns"]]
    assert seqs == list(range(PLAN)), seqs  # nothing asked twice, nothing skipped
    new = [t for t in after["turns"] if t["seq"] not in before]
    if len(before) < PLAN:  # else every question was answered: resuming goes straight to the recap
        assert new[0]["seq"] == max(before, default=-1) + 1
        assert new[0]["answer"] == "resumed answer 0"  # the first thing said after resuming
    assert {t["seq"]: t["answer"] for t in after["turns"] if t["seq"] in before} == before
    assert {n["text"] for n in session["notes"]} <= {n["text"] for n in after["notes"]}
    assert [e["kind"] for e in after["events"]].count("resumed") == 1
    assert leftovers(journal.parent) == []  # what the kill left behind is gone


def test_random_kills_never_corrupt_lose_or_block_resuming(tmp_path, config):
    rng = random.Random(20240611)
    outcomes = {"none yet": 0, "interrupted": 0, "done": 0}
    for attempt in range(10):
        journal = tmp_path / f"run{attempt}" / "journal.json"
        child = start(journal, config)
        reported = Reported()
        if attempt % 2:  # after a random number of recorded items
            for _ in range(rng.randint(1, 35)):
                line = child.stdout.readline()
                reported.take(line.strip())
        else:  # at a random moment, most likely inside a write (fsync dominates the run time)
            reported.take(child.stdout.readline().strip())
            time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        for line in rest.splitlines():  # printed before the kill landed: recorded too
            reported.take(line.strip())
        session = check_after_kill(journal, reported)
        if session is None:
            outcomes["none yet"] += 1
            continue
        outcomes[session["status"]] += 1
        if session["status"] == "interrupted":
            resume_and_check(journal, config, session, tmp_path)
    assert outcomes["interrupted"] >= 5, outcomes


STAGES = ["fsync", "link", "replace-bak", "replace", "replaced"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("nth", [3, 30])
def test_killed_inside_a_journal_write(tmp_path, config, stage, nth):
    """Inside the n-th write (3rd: an early answer; 30th: notes in the work phase), at each step."""
    journal = tmp_path / "j" / "journal.json"
    child = start(journal, config, "--pause", f"{stage}:{nth}")
    reported = Reported()
    while not (line := child.stdout.readline()).startswith("paused"):
        assert line, "the child ended without reaching the write"
        reported.take(line.strip())
    child.send_signal(signal.SIGKILL)
    child.wait()
    if stage in ("fsync", "replace"):  # the temporary file is there, private
        assert any(p.name.endswith(".tmp") for p in leftovers(journal.parent))
    session = check_after_kill(journal, reported)
    assert session is not None and session["status"] == "interrupted"
    resume_and_check(journal, config, session, tmp_path)


def test_a_killed_session_shows_as_interrupted_in_the_table(tmp_path, config):
    journal = tmp_path / "j" / "journal.json"
    child = start(journal, config, "--pause", "fsync:6")
    while not child.stdout.readline().startswith("paused"):
        pass
    child.send_signal(signal.SIGKILL)
    child.wait()
    table = duet("sessions", "--journal", str(journal)).stdout.splitlines()
    assert table[1].split()[-1] == "interrupted"
