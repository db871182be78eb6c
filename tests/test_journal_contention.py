"""The journal under contention: take the lock, then read, then write.

Writers (sessions starting and ending) race each other and `forget`, in threads of one process
(each with its own journal object and lock descriptor, so the real flock decides, exactly as
between processes), many times at random offsets. Each writer opens its journal (reading the
index) a random while before it starts its session, as `duet run` does while its models load:
the window in which a stale index used to be written back.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from assistant.errors import DuetError
from assistant.journal import Journal
from assistant.session.clock import SimulatedClock
from assistant.session.rehearsal import ScriptedPort, ScriptLine
from assistant.session.runner import new_session, resume_session, run
from tests.helpers import config

CONFIG = config(checkin={"questions": ["How are you?"]}, work={"minutes": 1},
                debrief={"questions": ["What worked?"], "together": ["Next step?"]})


def session_script(word: str) -> list[ScriptLine]:
    """Five answers, each holding the session's own word, and a next step naming it."""
    lines = [ScriptLine(say=f"{word} feeling"), ScriptLine(say=f"{word} too"),
             ScriptLine(at=10, say="start the debrief"), ScriptLine(say=f"{word} worked"),
             ScriptLine(say=f"{word} also"), ScriptLine(say=f"next {word}")]
    return lines


def run_session(path: Path, word: str, delay: float = 0.0) -> int:
    """A whole rehearsed session; the journal is opened (index read) ``delay`` before it starts."""
    journal = Journal(path)
    try:
        time.sleep(delay)
        clock = SimulatedClock()
        engine = new_session(CONFIG, journal, clock)
        assert run(engine, ScriptedPort(session_script(word), clock)) == "done"
        return engine.log.session_id
    finally:
        journal.close()


def every_byte(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def listed(path: Path) -> list[dict]:
    with Journal(path) as journal:
        return journal.list_sessions()


def test_a_session_opened_before_a_forget_does_not_bring_the_forgotten_back(tmp_path):
    path = tmp_path / "journal.json"
    run_session(path, "alpha")
    run_session(path, "bravo")
    starting = Journal(path)  # has read the index: alpha and bravo
    with Journal(path) as other:
        assert other.forget(1) == [1]
    clock = SimulatedClock()
    engine = new_session(CONFIG, starting, clock)
    assert engine.previous_next_step == "next bravo"
    run(engine, ScriptedPort(session_script("charlie"), clock))
    starting.close()
    assert [s["id"] for s in listed(path)] == [2, 3]
    assert b"alpha" not in every_byte(tmp_path)


def test_a_session_opened_before_another_ends_keeps_it_listed(tmp_path):
    path = tmp_path / "journal.json"
    starting = Journal(path)  # the index is empty now
    run_session(path, "alpha")  # a whole session ends meanwhile
    clock = SimulatedClock()
    engine = new_session(CONFIG, starting, clock)
    assert engine.previous_next_step == "next alpha" and engine.roles.leader == "Ben"  # rotation saw it
    run(engine, ScriptedPort(session_script("bravo"), clock))
    starting.close()
    assert [(s["id"], s["status"]) for s in listed(path)] == [(1, "done"), (2, "done")]


def interrupt(path: Path, sid: int) -> None:
    """Mark a finished session as one whose process died (as a kill leaves it)."""
    with Journal(path) as journal:
        journal.lock()
        journal.sessions.update({"status": "in progress", "ended_at": None}, doc_ids=[sid])


def test_writers_resumes_and_forgets_racing_keep_every_finished_session_and_no_forgotten_one(tmp_path):
    rng = random.Random(12)
    totals = {"finished": 0, "resumed": 0, "forgotten": 0}
    for round_ in range(10):
        path = tmp_path / f"r{round_}" / "journal.json"
        seeded = {run_session(path, f"seed{round_}x{n}"): f"seed{round_}x{n}" for n in range(4)}
        interrupted = max(seeded)
        interrupt(path, interrupted)
        finished: dict[int, str] = {}
        forgotten: set[int] = set()
        resumed: list[int] = []
        busy: list[str] = []
        lock = threading.Lock()

        def resumer(sid: int, delay: float) -> None:
            journal = Journal(path)  # reads the index now, resumes a while later
            try:
                time.sleep(delay)
                clock = SimulatedClock()
                engine = resume_session(CONFIG, journal, clock, sid)
                assert run(engine, ScriptedPort(session_script("resumed"), clock)) == "done"
            except DuetError as err:  # busy, or forgotten first
                assert "another Duet session is running" in str(err) or f"no session {sid}" in str(err), err
                return
            finally:
                journal.close()
            with lock:
                resumed.append(sid)

        def writer(word: str, delay: float) -> None:
            try:
                sid = run_session(path, word, delay)
            except DuetError as err:  # the journal was busy past the wait: refused, nothing written
                assert "another Duet session is running" in str(err)
                with lock:
                    busy.append(word)
                return
            with lock:
                finished[sid] = word

        def forgetter(sid: int, delay: float) -> None:
            journal = Journal(path)
            try:
                time.sleep(delay)
                done = journal.forget(sid)
            except DuetError as err:
                assert "another Duet session is running" in str(err)
                return
            finally:
                journal.close()
            with lock:
                forgotten.update(done)

        threads = [threading.Thread(target=writer, args=(f"new{round_}x{n}", rng.uniform(0, 0.08))) for n in range(3)]
        threads.append(threading.Thread(target=resumer, args=(interrupted, rng.uniform(0, 0.08))))
        threads += [threading.Thread(target=forgetter, args=(sid, rng.uniform(0, 0.08)))
                    for sid in rng.sample(sorted(seeded), 2)]
        rng.shuffle(threads)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        sessions = listed(path)
        ids = [s["id"] for s in sessions]
        assert len(ids) == len(set(ids)), ids  # nothing duplicated
        expected = {**seeded, **finished}
        assert set(ids) == set(expected) - forgotten, (round_, ids, finished, forgotten, busy)
        status = {s["id"]: s["status"] for s in sessions}
        assert all(status[sid] == "done" for sid in status if sid != interrupted)
        if interrupted in status:
            assert status[interrupted] == ("done" if resumed else "interrupted")
        data = every_byte(path.parent)
        for sid in forgotten:  # gone from every file, backups included
            assert expected[sid].encode() not in data, (round_, sid)
        folder = path.parent / "journal.sessions"
        on_disk = sorted(int(p.name.split(".")[0]) for p in folder.iterdir() if p.name.endswith(".json"))
        assert on_disk == sorted(ids)  # no session file listed nowhere
        with Journal(path) as journal:
            for sid in ids:
                answers = [t["answer"] for t in journal.get(sid)["turns"]]
                words = (expected[sid], "resumed") if sid == interrupted else (expected[sid],)
                assert all(any(w in a for w in words) for a in answers if a), (sid, answers)
                assert len(answers) == len({t["seq"] for t in journal.get(sid)["turns"]})  # none twice
        assert len(finished) + len(busy) == 3
        totals["finished"] += len(finished)
        totals["resumed"] += len(resumed)
        totals["forgotten"] += len(forgotten)
    assert all(count >= 6 for count in totals.values()), totals  # the races did happen, both ways


@pytest.mark.parametrize("ref", ["1", "all"])
def test_forget_creates_nothing_on_a_mistyped_path(tmp_path, ref):
    path = tmp_path / "not" / "there" / "journal.json"
    journal = Journal(path)
    if ref == "all":
        assert journal.forget(ref, confirm=lambda sessions: True) == []
    else:
        with pytest.raises(DuetError, match="no session 1 in"):
            journal.forget(ref)
    journal.close()
    assert list(tmp_path.iterdir()) == []
