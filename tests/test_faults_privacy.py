"""Privacy: private files and folders, no transcript in the logs, and `duet forget` that leaves
no copy anywhere in the journal's folder (backups and killed writes' leftovers included)."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def script(*answers: str, next_step: str) -> str:
    """Four check-in answers, a work phase ended by command, a note, and the debrief."""
    lines = [f"- say: {a}" for a in answers[:4]]
    lines += ["- {at: '2:00', say: take a note " + answers[4] + "}", "- {at: '3:00', say: start the debrief}"]
    lines += [f"- say: {a}" for a in answers[5:]]
    lines += ["- silence: true"] * (6 - len(answers[5:])) + [f"- say: {next_step}"]
    return "\n".join(lines) + "\n"


FIRST = ["violet harmonium", "quiet zeppelin", "marmalade lantern", "tangerine glacier", "copper walrus",
         "velvet octopus", "saffron kettle"]
FIRST_STEP = "plant the moonflower seeds"
SECOND = ["granite pelican", "amber trombone", "cobalt meadow", "juniper anvil", "lilac compass",
          "maple sextant", "indigo ferry"]
SECOND_STEP = "repaint the north wall"


def duet(*args: str, stdin: str | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=ROOT,
                          env=ENV, timeout=60, input=stdin, **kw)


@pytest.fixture
def two_sessions(tmp_path: Path) -> Path:
    journal = tmp_path / "j" / "journal.json"
    for n, (answers, step) in enumerate(((FIRST, FIRST_STEP), (SECOND, SECOND_STEP))):
        path = tmp_path / f"s{n}.yaml"
        path.write_text(script(*answers, next_step=step))
        result = duet("rehearse", str(path), "--journal", str(journal))
        assert result.returncode == 0, result.stderr
    return journal


def on_disk(folder: Path) -> bytes:
    """Every byte of every file under the journal's folder."""
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def state(folder: Path) -> dict[str, tuple]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- files and folders


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_journal_backups_and_folders_are_private_whatever_the_umask(tmp_path, umask):
    journal = tmp_path / "data" / "duet" / "journal.json"
    path = tmp_path / "s.yaml"
    path.write_text(script(*FIRST, next_step=FIRST_STEP))
    for _ in range(2):
        result = duet("rehearse", str(path), "--journal", str(journal), preexec_fn=lambda: os.umask(umask))
        assert result.returncode == 0, result.stderr
    files = sorted(p for p in journal.parent.rglob("*") if p.is_file())
    names = {str(p.relative_to(journal.parent)) for p in files}
    assert {"journal.json", "journal.json.bak", "journal.json.lock", "journal.sessions/1.json",
            "journal.sessions/1.json.bak", "journal.sessions/2.json", "journal.sessions/2.json.bak"} <= names
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(journal.parent) == 0o700 and mode(journal.parent / "journal.sessions") == 0o700


# ---- logs


def test_logs_hold_no_transcript_unless_debug_is_asked_for(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(script(*FIRST, next_step=FIRST_STEP))
    journal = str(tmp_path / "j" / "journal.json")
    words = [*FIRST, FIRST_STEP]

    info = duet("rehearse", str(path), "--journal", journal, "-v")
    assert info.returncode == 0
    assert "INFO" in info.stderr or info.stderr == ""  # -v is INFO level
    assert [w for w in words if w in info.stderr] == []
    assert all(w in info.stdout for w in FIRST[:4])  # the rehearsal shows them on screen, as asked

    debug = duet("rehearse", str(path), "--journal", journal, "-vv")
    assert debug.returncode == 0 and "DEBUG" in debug.stderr
    assert FIRST[0] in debug.stderr  # debug logging, asked for, may show what was said

    quiet = duet("show", "last", "--journal", journal, "-v")
    assert quiet.returncode == 0 and [w for w in words if w in quiet.stderr] == []


# ---- duet forget


def test_forget_one_session_leaves_no_copy_anywhere(two_sessions):
    folder = two_sessions.parent
    assert FIRST[0].encode() in on_disk(folder) and FIRST_STEP.encode() in on_disk(folder)
    result = duet("forget", "1", "--yes", "--journal", str(two_sessions))
    assert result.returncode == 0, result.stderr
    data = on_disk(folder)
    assert [w for w in [*FIRST, FIRST_STEP] if w.encode() in data] == []  # not in a backup either
    assert all(w.encode() in data for w in [*SECOND, SECOND_STEP])  # the other session is whole
    assert sorted(p.name for p in (folder / "journal.sessions").iterdir()) == ["2.json", "2.json.bak"]
    listed = duet("sessions", "--journal", str(two_sessions)).stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["2"]


def test_forget_removes_what_a_killed_write_left_behind(two_sessions):
    sessions = two_sessions.parent / "journal.sessions"
    stale = [sessions / ".1.json.k1ll3d0.tmp", sessions / "1.json.bak.new", two_sessions.parent / ".journal.json.x9.tmp"]
    for path in stale:
        path.write_text(f'{{"turns": {{"1": {{"answer": "{FIRST[0]}"}}}}}}')
    assert duet("forget", "1", "--yes", "--journal", str(two_sessions)).returncode == 0
    assert not any(p.exists() for p in stale)
    assert FIRST[0].encode() not in on_disk(two_sessions.parent)


def test_forget_all_deletes_everything_and_the_journal_starts_afresh(two_sessions, tmp_path):
    result = duet("forget", "all", "--yes", "--journal", str(two_sessions))
    assert result.returncode == 0, result.stderr
    assert "Forgot every session (2)" in result.stdout
    left = sorted(str(p.relative_to(two_sessions.parent)) for p in two_sessions.parent.rglob("*"))
    assert left == ["journal.json.lock"] and (two_sessions.parent / "journal.json.lock").stat().st_size == 0
    assert "No sessions yet" in duet("sessions", "--journal", str(two_sessions)).stdout
    again = duet("rehearse", str(tmp_path / "s0.yaml"), "--journal", str(two_sessions))
    assert again.returncode == 0 and "Session 1 done" in again.stdout
    assert SECOND_STEP not in again.stdout  # a forgotten next step is not read back either


def test_forgetting_the_last_session_forgets_its_next_step(two_sessions, tmp_path):
    assert duet("forget", "last", "--yes", "--journal", str(two_sessions)).returncode == 0
    again = duet("rehearse", str(tmp_path / "s1.yaml"), "--journal", str(two_sessions))
    assert again.returncode == 0
    greeting = again.stdout.splitlines()[0]
    assert FIRST_STEP in greeting and SECOND_STEP not in greeting  # read back from session 1, the one kept


@pytest.mark.parametrize("reply,code", [("n\n", 1), ("\n", 1), (None, 2)])
def test_forget_asks_first_and_no_means_nothing_changes(two_sessions, reply, code):
    before = state(two_sessions.parent)
    result = duet("forget", "1", "--journal", str(two_sessions), stdin=reply or "")
    assert result.returncode == code
    assert "Forget session 1 (" in result.stderr and "backups included? This cannot be undone. [y/N]" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "nothing was forgotten" in last and ("--yes" in last) == (reply is None)
    assert state(two_sessions.parent) == before


def test_forget_yes_at_the_prompt(two_sessions):
    result = duet("forget", "2", "--journal", str(two_sessions), stdin="y\n")
    assert result.returncode == 0 and "Forgot session 2" in result.stdout
    assert SECOND[0].encode() not in on_disk(two_sessions.parent)


def test_forget_is_refused_while_a_session_runs(two_sessions):
    before = state(two_sessions.parent)
    fd = os.open(two_sessions.with_name("journal.json.lock"), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = duet("forget", "all", "--yes", "--journal", str(two_sessions))
    finally:
        os.close(fd)
    assert result.returncode == 2 and "another Duet session is running" in result.stderr
    assert state(two_sessions.parent) == before


def test_forget_an_unknown_session(two_sessions):
    result = duet("forget", "7", "--yes", "--journal", str(two_sessions))
    assert result.returncode == 2 and result.stderr.strip() == \
        f"duet: no session 7 in {two_sessions}: `duet sessions` lists the ids"


def test_a_session_with_a_damaged_file_can_still_be_forgotten(two_sessions):
    detail = two_sessions.parent / "journal.sessions" / "1.json"
    detail.write_text(detail.read_text()[:-40])
    result = duet("forget", "1", "--journal", str(two_sessions), stdin="y\n")
    assert result.returncode == 0 and "its file is damaged" in result.stderr, result.stderr
    assert FIRST[0].encode() not in on_disk(two_sessions.parent)
