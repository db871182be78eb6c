"""A full disk: the answer stays in memory and is retried, the user is told, nothing is damaged.

Two real ways to run out of room: a 64 KiB tmpfs that a filler file fills up (needs root to
mount; skipped with the reason otherwise), and a file-size limit (RLIMIT_FSIZE), which needs no
privilege: writes past it fail with EFBIG once SIGXFSZ is ignored, as `duet` does.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.journal import Journal, JournalError
from assistant.session.clock import SimulatedClock
from assistant.session.events import Heard
from assistant.session.runner import new_session, resume_session
from tests.helpers import config
from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
CONFIG = {"partners": ["Ana", "Ben"], "checkin": {"questions": ["How are you?", "What do you intend?", "What do you need?"]},
          "work": {"minutes": 10}, "debrief": {"questions": ["What worked?"], "together": ["Next step?"]}}


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or 'not root'}); "
                    "the RLIMIT_FSIZE tests cover a full disk without privileges")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as err:
                assert err.errno == errno.ENOSPC
    return filler


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes; the lock's only as there (it names the session running, if any)."""
    return {str(p.relative_to(folder)): b"" if p.name.endswith(".lock") else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "filler"}


class Session:
    def __init__(self, path: Path) -> None:
        self.told: list[str] = []
        self.journal = Journal(path, notify=self.told.append)
        self.clock = SimulatedClock()
        self.engine = new_session(config(**CONFIG), self.journal, self.clock)
        self.engine.start()

    def answer(self, text: str) -> None:
        self.clock.advance(2)
        self.engine.handle(Heard(text))


def on_disk(path: Path, sid: int = 1) -> list[str]:
    with Journal(path) as journal:
        return [t["answer"] for t in journal.get(sid)["turns"]]


def test_a_full_tmpfs_keeps_answers_in_memory_and_saves_them_when_there_is_room(small_disk):
    path = small_disk / "journal.json"
    s = Session(path)
    s.answer("first answer")
    s.answer("second answer")
    before = snapshot(small_disk)
    filler = fill(small_disk)

    s.answer("third answer, said while the disk is full")
    s.answer("fourth answer, still full")
    assert len(s.told) == 1 and "kept in memory" in s.told[0] and "free some disk space" in s.told[0]
    assert s.engine.log.unsaved >= 2
    assert snapshot(small_disk) == before  # nothing on disk was touched, no temporary file is left
    assert on_disk(path) == ["first answer", "second answer"]

    filler.unlink()
    s.answer("fifth answer, the disk has room again")
    assert s.told[1].startswith("the journal is saved again") and len(s.told) == 2
    assert on_disk(path) == ["first answer", "second answer", "third answer, said while the disk is full",
                             "fourth answer, still full", "fifth answer, the disk has room again"]
    s.engine.handle(Heard("stop the session"))
    s.engine.handle(Heard("yes"))
    s.journal.close()
    with Journal(path) as journal:
        assert journal.get(1)["status"] == "aborted"


def test_still_full_at_the_end_the_session_says_how_to_get_it_back(small_disk):
    path = small_disk / "journal.json"
    s = Session(path)
    s.answer("kept on disk")
    before = snapshot(small_disk)
    filler = fill(small_disk)
    s.answer("only in memory")
    s.engine.handle(Heard("stop the session"))
    with pytest.raises(JournalError) as err:
        s.engine.handle(Heard("yes"))
    message = str(err.value)
    assert "still full" in message and "duet resume 1" in message and "\n" not in message
    s.journal.close()
    assert snapshot(small_disk) == before

    filler.unlink()  # room again: the session is interrupted, and continues at the unsaved question
    with Journal(path) as journal:
        assert journal.list_sessions()[0]["status"] == "interrupted"
        engine = resume_session(config(**CONFIG), journal, SimulatedClock(), 1)
        engine.start()
        assert engine.plan[engine.seq].text == "What do you intend?" and engine.plan[engine.seq].partner == "Ana"
        engine.handle(Heard("said again"))
    assert on_disk(path) == ["kept on disk", "said again"]


def test_a_full_disk_from_the_start_leaves_the_old_journal_intact(small_disk, tmp_path):
    path = small_disk / "journal.json"
    script = tmp_path / "script.yaml"
    script.write_text("- say: an old answer\n- say: stop the session\n- say: 'yes'\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps(CONFIG))
    args = ["--config", str(cfg), "--journal", str(path)]
    assert duet("rehearse", str(script), *args).returncode == 0
    before = snapshot(small_disk)
    fill(small_disk)
    script.write_text("- say: a new answer\n- say: stop the session\n- say: 'yes'\n")
    result = duet("rehearse", str(script), *args)
    assert result.returncode == 2
    assert "kept in memory" in result.stderr and "could not be saved at all" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(small_disk) == before


def duet(*args: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=60, **popen)


def test_a_file_size_limit_mid_session_loses_nothing(tmp_path):
    """RLIMIT_FSIZE set after two answers and lifted two answers later (tests/fault_child.py)."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps(CONFIG))
    journal = tmp_path / "j" / "journal.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.fault_child", str(journal), str(cfg), "--notes", "3",
         "--fsize-after", "2", "--fsize-for", "3"],
        capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=60)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[-1] == "finished done", result.stdout + result.stderr
    told = [line for line in lines if line.startswith("told")]
    assert len(told) == 2, told
    assert "File too large" in told[0] and "kept in memory" in told[0]
    assert "saved again" in told[1]
    # the user was told at the first write that failed, right after the limit was set
    assert lines.index(told[0]) > lines.index("limited") and lines.index(told[1]) > lines.index("unlimited")
    with Journal(journal) as j:
        session = j.get(1)
    assert [t["answer"] for t in session["turns"]] == [f"answer {n}" for n in range(9)]
    assert [n["text"] for n in session["notes"]] == ["note 0", "note 1", "note 2"]
    assert session["status"] == "done"


def test_duet_under_a_file_size_limit_is_told_not_killed(tmp_path):
    """`duet` ignores SIGXFSZ, so a limit is a full disk (exit 2, one clear line), not a crash."""
    journal = tmp_path / "j" / "journal.json"
    script = tmp_path / "script.yaml"
    script.write_text(textwrap.dedent("""\
        - say: a first answer that is long enough to make the session file grow past the limit
        - say: a second answer that is long enough to make the session file grow past the limit
        - say: a third answer that is long enough to make the session file grow past the limit
        - say: a fourth answer that is long enough to make the session file grow past the limit
        - {at: "1:00", say: stop the session}
        - {at: "1:05", say: "yes"}
    """))
    assert duet("rehearse", str(script), "--journal", str(journal)).returncode == 0
    before = snapshot(journal.parent)
    limit = len(before["journal.json"]) * 3  # room for the index, not for a session's answers
    assert limit < len(before["journal.sessions/1.json"])

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    result = duet("rehearse", str(script), "--journal", str(journal), preexec_fn=limited)
    assert result.returncode == 2, (result.returncode, result.stderr)  # not -SIGXFSZ
    told = result.stderr.strip().splitlines()
    assert len(told) == 2 and "Traceback" not in result.stderr, result.stderr
    assert "File too large" in told[0] and "kept in memory" in told[0]  # told when it happened
    assert told[1].startswith("duet: ") and "still full" in told[1] and "duet resume 2" in told[1]
    assert "with every answer so far" not in told[1]  # a QA pass read that after "could not be saved"
    assert f"`duet resume 2 --script {script} --journal {journal}`" in told[1]  # as it ran (a re-check)
    after = snapshot(journal.parent)
    assert {k: after[k] for k in before if k.startswith("journal.sessions/1.")} == \
        {k: v for k, v in before.items() if k.startswith("journal.sessions/1.")}  # the old session: untouched
    for name, data in after.items():
        if name.endswith((".json", ".bak")):
            json.loads(data)
    with Journal(journal) as j:  # the new session is there, interrupted, with what fitted
        assert [s["status"] for s in j.list_sessions()] == ["aborted", "interrupted"]


def test_digests_of_an_older_journal_wait_for_room_without_a_word(small_disk):
    """Insights on a full disk make the digests the index lacks, use them, and store them only
    once there is room: nothing is said (nothing was lost), nothing on disk changes meanwhile."""
    from assistant.journal.insights import unpack

    path = small_disk / "journal.json"
    s = Session(path)
    s.answer("calm and happy")
    s.engine.handle(Heard("stop the session"))
    s.engine.handle(Heard("yes"))
    s.journal.close()
    index = json.loads(path.read_text())
    digest = unpack(index["sessions"]["1"].pop("digest"))
    path.write_text(json.dumps(index))  # as a Duet before digests wrote it
    before = snapshot(small_disk)
    filler = fill(small_disk)
    told: list[str] = []
    with Journal(path, notify=told.append) as journal:
        assert [s["digest"] for s in journal.summaries()] == [digest]
    assert told == [] and snapshot(small_disk) == before
    filler.unlink()
    with Journal(path, notify=told.append) as journal:
        journal.summaries()
    assert told == [] and unpack(json.loads(path.read_text())["sessions"]["1"]["digest"]) == digest
