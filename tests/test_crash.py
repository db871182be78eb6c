"""Crash safety: a session killed with SIGKILL loses nothing it had recorded, and resumes."""

import json
import os
import random
import signal
import subprocess
import sys

from assistant.journal import Journal
from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def start_child(journal, stop_after):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_child", str(journal), str(stop_after)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV,
    )


def duet(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, input=stdin, timeout=60)


def test_killed_mid_checkin_keeps_every_answer_and_resumes_from_the_next_question(tmp_path):
    journal = tmp_path / "journal.json"
    child = start_child(journal, stop_after=3)
    assert [child.stdout.readline().strip() for _ in range(3)] == [f"recorded answer {n}" for n in range(3)]
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()

    session = Journal(journal).get("last")
    assert session["status"] == "interrupted"
    assert [t["answer"] for t in session["turns"]] == ["answer 0", "answer 1", "answer 2"]

    script = tmp_path / "rest.yaml"
    script.write_text("- say: the fourth answer\n- {at: '1:00', say: start the debrief}\n")
    result = duet("resume", "--script", str(script), "--journal", str(journal), "--json")
    assert result.returncode == 0, result.stderr
    resumed = Journal(journal).get("last")
    assert resumed["id"] == session["id"] and resumed["status"] == "done"
    fourth = resumed["turns"][3]
    assert (fourth["seq"], fourth["partner"], fourth["answer"]) == (3, "Ben", "the fourth answer")
    assert "resumed" in [e["kind"] for e in resumed["events"]]


def test_random_kills_never_corrupt_the_journal_or_lose_a_recorded_answer(tmp_path):
    rng = random.Random(7)
    for attempt in range(6):
        journal = tmp_path / f"j{attempt}.json"
        child = start_child(journal, stop_after=10**9)  # never waits: answers as fast as it can
        recorded = []
        for _ in range(rng.randint(2, 60)):
            line = child.stdout.readline()
            if line.startswith("recorded"):
                recorded.append(line.split(" ", 1)[1].strip())
        child.send_signal(signal.SIGKILL)
        child.wait()
        json.loads(journal.read_text())  # always parses
        session = Journal(journal).get("last")
        kept = {t["answer"] for t in session["turns"]} | {n["text"] for n in session["notes"]}
        assert set(recorded) <= kept
