"""The journal file: private, durable, and never overwritten when it is not a good journal."""

import json
import os
import stat

import pytest

from assistant.events import Heard
from assistant.journal import Journal, JournalError
from assistant.storage import SCHEMA_VERSION
from tests.helpers import Harness


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_journal_and_its_folder_are_private(tmp_path):
    path = tmp_path / "private" / "journal.json"
    h = Harness(tmp_path, journal=Journal(path))
    h.send(Heard("calm"))
    assert mode(path) == 0o600
    assert mode(path.with_name("journal.json.bak")) == 0o600
    assert mode(path.parent) == 0o700


def test_file_carries_its_schema_version(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm"))
    data = json.loads((tmp_path / "journal.json").read_text())
    assert data["_duet"]["1"] == {"app": "duet", "schema": SCHEMA_VERSION}


def test_the_backup_is_the_previous_good_version(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("first answer"))
    h.send(Heard("second answer"))
    backup = json.loads((tmp_path / "journal.json.bak").read_text())
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
    h.journal.close()
    path = tmp_path / "journal.json"
    path.write_text(path.read_text()[:40])  # truncated by something outside Duet
    with pytest.raises(JournalError, match=r"cp '.*journal\.json\.bak'"):
        Journal(path)


def test_an_unfinished_session_is_interrupted_once_its_process_lets_go(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm"))
    other = Journal(tmp_path / "journal.json")
    assert other.list_sessions()[0]["status"] == "in progress"  # the lock is held
    h.journal.close()
    assert other.list_sessions()[0]["status"] == "interrupted"


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
