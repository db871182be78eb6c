"""The journal file: private, durable, and never overwritten when it is not a good journal."""

import json
import os
import stat
from datetime import datetime, timezone

import pytest

from assistant.journal import Journal, JournalError
from assistant.journal.storage import SCHEMA_VERSION
from assistant.session.events import Heard
from tests.helpers import Harness


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def session_file(tmp_path, sid=1):
    return tmp_path / "journal.sessions" / f"{sid}.json"


def test_journal_and_its_folders_are_private(tmp_path):
    path = tmp_path / "private" / "journal.json"
    h = Harness(tmp_path, journal=Journal(path))
    h.send(Heard("calm"))
    h.send(Heard("the sky"))
    h.send(Heard("stop the session"))
    h.send(Heard("yes"))
    detail = session_file(path.parent)
    for file in (path, path.with_name("journal.json.bak"), detail, detail.with_name("1.json.bak")):
        assert mode(file) == 0o600, file
    assert mode(path.parent) == 0o700 and mode(detail.parent) == 0o700


def test_file_carries_its_schema_version(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm"))
    for path in (tmp_path / "journal.json", session_file(tmp_path)):
        assert json.loads(path.read_text())["_duet"]["1"] == {"app": "duet", "schema": SCHEMA_VERSION}


def test_the_backup_is_the_previous_good_version(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("first answer"))
    h.send(Heard("second answer"))
    backup = json.loads(session_file(tmp_path).with_name("1.json.bak").read_text())
    answers = [t["answer"] for t in backup["turns"].values()]
    assert answers == ["first answer"]


@pytest.mark.parametrize(
    "content,expected",
    [
        ('{"_duet": {"1": {"app": "duet", "schema": 1}}, "sessions": {"1": {"star', "not valid JSON"),
        ("this is not json", "not valid JSON"),
        ('{"users": [1, 2, 3]}', "not a Duet journal"),
        ('[1, 2]', "not a Duet journal"),
        ('{"_duet": {"1": {"app": "duet", "schema": 99}}}', "newer Duet"),
    ],
)
def test_a_bad_file_is_refused_with_one_line_and_left_untouched(tmp_path, content, expected):
    path = tmp_path / "journal.json"
    path.write_text(content)
    before = path.read_bytes()
    with pytest.raises(JournalError) as err:
        Journal(path)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert path.read_bytes() == before


def test_a_damaged_journal_points_to_its_backup(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("keep me"))
    h.send(Heard("stop the session"))  # the index is written at the start and the end
    h.send(Heard("yes"))
    path = tmp_path / "journal.json"
    path.write_text(path.read_text()[:40])  # truncated by something outside Duet
    with pytest.raises(JournalError, match=r"cp '.*journal\.json\.bak'"):
        Journal(path)


def test_a_damaged_session_file_is_named_and_left_untouched(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("keep me"))
    h.send(Heard("stop the session"))
    h.send(Heard("yes"))
    detail = session_file(tmp_path)
    detail.write_text("{")
    with pytest.raises(JournalError, match=r"1\.json is damaged.*cp '.*1\.json\.bak'"):
        Journal(tmp_path / "journal.json").get(1)
    assert detail.read_text() == "{"


def test_an_unfinished_session_is_interrupted_once_its_process_lets_go(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm"))
    other = Journal(tmp_path / "journal.json")
    assert other.list_sessions()[0]["status"] == "in progress"  # the lock is held
    h.journal.close()
    assert other.list_sessions()[0]["status"] == "interrupted"


def test_while_a_session_runs_only_it_is_in_progress(tmp_path):
    """A QA pass saw 16 sessions interrupted years before shown "in progress", with no minutes,
    for as long as a live session held the lock: the lock now names the session it runs."""
    from assistant.session.records import Roles

    path = tmp_path / "journal.json"
    old = Journal(path)
    old.begin(["Alex", "Sam"], Roles(leader="Alex", logistics="Sam"), "2024-03-02T18:00:00+00:00", 600)
    old.close()  # left unfinished: interrupted
    running = Journal(path)
    running.lock()
    reader = Journal(path)
    assert [s["status"] for s in reader.list_sessions()] == ["interrupted"]  # a forget's lock: none runs
    running.begin(["Alex", "Sam"], Roles(leader="Sam", logistics="Alex"), "2026-12-07T18:00:00+00:00", 600)
    reader = Journal(path)  # as `duet sessions` reads it, while the session runs
    assert [(s["id"], s["status"]) for s in reader.list_sessions()] == [(1, "interrupted"), (2, "in progress")]
    assert [(s["id"], s["status"]) for s in reader.summaries()] == [(1, "interrupted"), (2, "in progress")]
    running.close()
    assert [s["status"] for s in Journal(path).list_sessions()] == ["interrupted", "interrupted"]


def test_only_one_session_runs_on_a_journal(tmp_path):
    Harness(tmp_path)
    with pytest.raises(Exception, match="another Duet session is running"):
        Harness(tmp_path, journal=Journal(tmp_path / "journal.json"))


def test_unknown_ids_get_a_clear_error(tmp_path):
    journal = Journal(tmp_path / "journal.json")
    with pytest.raises(Exception, match="no sessions yet"):
        journal.get("last")
    Harness(tmp_path, journal=journal)
    with pytest.raises(Exception, match="no session 7"):
        journal.get(7)
    with pytest.raises(Exception, match="not a session id"):
        journal.get("seven")


def test_last_time_is_the_latest_session_by_date_not_by_id(tmp_path):
    """A session recorded later under an earlier date (``rehearse --date``) is not "last time":
    the rotation and the next step read back follow the dates, as the celebration does."""
    from assistant.session.records import Roles

    journal = Journal(tmp_path / "journal.json")
    for started, leader, step in [("2026-11-02T18:00:00+00:00", "Alex", "fix the fence gate"),
                                  ("2026-10-20T18:00:00+00:00", "Sam", "buy seeds")]:
        recorder = journal.begin(["Alex", "Sam"], Roles(leader=leader, logistics="Sam" if leader == "Alex" else "Alex"),
                                 started, 600)
        recorder.close("done", {"next_step": step})
        journal.close()
    assert journal.last_leader() == "Alex"
    assert journal.last_next_step() == "fix the fence gate"
    # a session held before both reads only its own past (found in a QA pass: it read a later plan)
    early = datetime(2026, 10, 1, 10, tzinfo=timezone.utc)
    assert journal.last_leader(early) is None and journal.last_next_step(early) is None
    between = datetime(2026, 10, 25, 10, tzinfo=timezone.utc)
    assert journal.last_leader(between) == "Sam" and journal.last_next_step(between) == "buy seeds"


def test_a_session_stopped_in_its_check_in_does_not_take_a_turn_to_lead(tmp_path):
    from assistant.session.records import Roles

    journal = Journal(tmp_path / "journal.json")
    for day, leader, status, worked in [(2, "Alex", "done", 600.0), (3, "Sam", "aborted", 0.0)]:
        recorder = journal.begin(["Alex", "Sam"], Roles(leader=leader, logistics="Sam" if leader == "Alex" else "Alex"),
                                 f"2026-11-0{day}T18:00:00+00:00", 600)
        recorder.close(status, {"worked": worked})
        journal.close()
    assert journal.last_leader() == "Alex"  # so Sam leads next, as Sam was to
    recorder = journal.begin(["Alex", "Sam"], Roles(leader="Sam", logistics="Alex"), "2026-11-04T18:00:00+00:00", 600)
    recorder.close("aborted", {"worked": 120.0})  # stopped in the debrief: it was held
    journal.close()
    assert journal.last_leader() == "Sam"


def test_the_recovery_hint_says_what_it_recovers(tmp_path):
    """Found in a QA pass: a damaged schedule was to be moved away "to start a new journal", and
    the backup's missing last write went unsaid."""
    from assistant.journal.storage import backup_path, recovery_hint

    schedule = tmp_path / "j.schedule.json"
    session = tmp_path / "j.sessions" / "1.json"
    assert recovery_hint(schedule).endswith("to start a new schedule")
    assert recovery_hint(session).endswith("to set that session aside")
    assert recovery_hint(tmp_path / "j.json").endswith("to start a new journal")
    backup_path(schedule).write_text("{}")
    assert "made before the last write (which it may lack); to recover, run: cp '" in recovery_hint(schedule)


def test_a_lock_file_deleted_while_a_session_runs_is_made_again_at_its_next_write(tmp_path):
    """A QA pass deleted the lock file mid-session: a second Duet then took a new one and wrote
    alongside, and a forgotten session came back. The running session now makes it again."""
    from assistant.session.engine import Heard
    from tests.helpers import Harness

    h = Harness(tmp_path)
    lock = tmp_path / "journal.json.lock"
    lock.unlink()
    h.send(Heard("calm"))  # the next write
    assert lock.exists() and oct(lock.stat().st_mode & 0o777) == "0o600"
    other = Journal(tmp_path / "journal.json")
    assert other._acquire(wait=False) is False  # a second Duet is refused again
    assert [t["answer"] for t in h.session()["turns"]] == ["calm"]


def test_a_resumed_rehearsal_hears_again_only_the_line_it_was_interrupted_in():
    """The interrupted event counts one line less than it carries: that line's answer may never
    have been recorded. The lines before it were talk (a QA pass's resumed rehearsal began with
    1,212 of them heard again, as far back as the last answer recorded)."""
    from tinydb import TinyDB
    from tinydb.storages import MemoryStorage

    from assistant.journal.journal import _script_lines

    db = TinyDB(storage=MemoryStorage)
    db.table("turns").insert({"seq": 3, "script": {"sha": "abc", "line": 4}})
    db.table("events").insert({"kind": "note", "script": {"sha": "abc", "line": 6}})
    assert _script_lines(db) == {"abc": 6}
    db.table("events").insert({"kind": "interrupted", "script": {"sha": "abc", "line": 1216}})
    assert _script_lines(db) == {"abc": 1215}
    db.table("events").insert({"kind": "interrupted", "script": {"sha": "def", "line": 1}})
    assert _script_lines(db)["def"] == 0
