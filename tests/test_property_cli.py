"""Property: whatever the config, the script or a hand-damaged journal holds, every command ends
with exit code 0 or 2, at most one line on stderr, no traceback, and changes no byte of the
journal it was not meant to change (Hypothesis generates the input; the CLI runs in process).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from assistant.cli.main import cli

PHRASES = ["calm", "the sky", "pause", "resume", "skip", "stop the session", "start the debrief",
           "add five minutes", "take a note blue", "how much time is left", "repeat the question", ""]
WEIRD_NUMBERS = st.one_of(st.floats(), st.integers(-10, 10**13), st.booleans(), st.text(max_size=6), st.none())
SMALL_MINUTES = st.sampled_from([0.2, 0.5, 1, 2])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-2**70, 2**70) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
TEXT = st.one_of(st.sampled_from(PHRASES), st.text(max_size=12),
                 st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Lo"]), max_size=4))


def _config() -> st.SearchStrategy[dict]:
    work = st.fixed_dictionaries({}, optional={
        "minutes": st.one_of(SMALL_MINUTES, WEIRD_NUMBERS),
        "announce_remaining": st.lists(st.one_of(SMALL_MINUTES, WEIRD_NUMBERS), max_size=3),
    })
    listening = st.fixed_dictionaries({}, optional={
        "answer_timeout": st.one_of(st.just(5), WEIRD_NUMBERS),
        "trailing_silence": WEIRD_NUMBERS,
    })
    known = st.fixed_dictionaries({"work": st.one_of(st.just({"minutes": 1}), work)}, optional={
        "partners": st.one_of(st.just(["Ana", "Ben"]), st.lists(TEXT, max_size=3), TEXT),
        "listening": listening,
        "checkin": st.fixed_dictionaries({"questions": st.lists(TEXT, max_size=2)}),
    })
    unknown = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=1)
    return st.builds(lambda extra, good: {**extra, **good}, unknown, known)


LINE = st.one_of(
    st.builds(lambda say: {"say": say}, TEXT),
    st.builds(lambda at, say: {"at": at, "say": say},
              st.one_of(st.sampled_from(["0:10", "0:40", "99:99", "-1:00", "nan", "1:00:00"]), WEIRD_NUMBERS),
              st.sampled_from(PHRASES)),
    st.builds(lambda s: {"silence": s}, st.one_of(st.just(True), JSON_VALUES)),
    JSON_VALUES,
)
GOOD_LINE = st.one_of(
    st.builds(lambda say: {"say": say}, st.sampled_from(PHRASES)),
    st.builds(lambda at, say: {"at": at, "say": say}, st.sampled_from(["0:10", "0:40", "1:30", 50]),
              st.sampled_from(PHRASES)),
    st.just({"silence": True}),
)
GOOD_CONFIG = {"partners": ["Ana", "Ben"], "work": {"minutes": 1}}
SCRIPT = st.one_of(st.lists(GOOD_LINE, max_size=10), st.lists(GOOD_LINE, max_size=10), st.lists(LINE, max_size=8),
                   JSON_VALUES,
                   st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 5000)),
                   st.binary(max_size=20))

INDEX_FIELDS = ["started_at", "ended_at", "status", "partners", "leader", "logistics", "worked", "planned_work",
                "next_step"]
DETAIL_FIELDS = {"turns": ["seq", "phase", "partner", "question", "answer", "status", "asked_at"],
                 "notes": ["text", "at"], "progress": ["phase", "next_seq", "work"], "events": ["kind", "detail"]}
DAMAGE = st.one_of(
    st.none(), st.none(),
    st.tuples(st.just("index"), st.sampled_from([1, 2]), st.sampled_from(INDEX_FIELDS),
              st.one_of(st.just("<delete>"), JSON_VALUES)),
    st.tuples(st.just("detail"), st.sampled_from([1, 2]),
              st.sampled_from([(t, f) for t, fields in DETAIL_FIELDS.items() for f in fields]),
              st.one_of(st.just("<delete>"), JSON_VALUES)),
    st.tuples(st.just("truncate"), st.sampled_from(["journal.json", "journal.sessions/1.json"]), st.integers(0, 400)),
)
COMMANDS = st.sampled_from([  # the first is drawn most often: a writer
    ["rehearse", "SCRIPT"], ["sessions"], ["sessions", "--json"], ["show", "1"], ["show", "last", "--json"], ["show", "2"],
    ["export", "1", "--format", "md"], ["export", "2", "--format", "html"], ["export", "last", "--format", "json"],
    ["rehearse", "SCRIPT"], ["rehearse", "SCRIPT"], ["rehearse", "SCRIPT", "--work", "WORK"],
    ["resume", "2", "--script", "SCRIPT"], ["resume", "2", "--script", "SCRIPT"],
    ["resume", "last", "--script", "SCRIPT", "--json"], ["forget", "1", "--yes"], ["forget", "all", "--yes"],
])
READERS = {"sessions", "show", "export"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A journal with one finished session (1) and one interrupted one (2)."""
    folder = tmp_path_factory.mktemp("template")
    script = folder / "s.yaml"
    script.write_text("- say: calm\n- say: the sky\n- {at: '0:30', say: take a note blue}\n- {at: '0:40', say: start the debrief}\n"
                      "- say: it worked\n")
    (folder / "c.yaml").write_text(json.dumps({"partners": ["Ana", "Ben"], "work": {"minutes": 1}}))
    journal = folder / "j" / "journal.json"
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["rehearse", str(script), "--config", str(folder / "c.yaml"), "--journal", str(journal)])
        assert result.exit_code == 0, result.output
    index = json.loads(journal.read_text())
    index["sessions"]["2"]["status"] = "in progress"
    journal.write_text(json.dumps(index))
    return folder / "j"


def damage(folder: Path, how) -> None:
    if how is None:
        return
    if how[0] == "truncate":
        path = folder / how[1]
        path.write_bytes(path.read_bytes()[: how[2]])
        return
    kind, sid, field, value = how
    path = folder / ("journal.json" if kind == "index" else f"journal.sessions/{sid}.json")
    data = json.loads(path.read_text())
    if kind == "index":
        record = data["sessions"][str(sid)]
    else:
        table, field = field
        records = data.get(table) or {}
        if not records:
            return
        record = records[sorted(records)[0]]
    if value == "<delete>":
        record.pop(field, None)
    else:
        record[field] = value
    path.write_text(json.dumps(data))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def may_change(command: list[str], code: int, name: str, before: dict[str, bytes]) -> bool:
    """Which files a command was meant to change (with this outcome)."""
    verb = command[0]
    if verb in READERS:
        return False
    if verb == "forget":
        return code == 0
    index = name.startswith("journal.json")
    if verb == "rehearse":  # a new session: the index and the new session's own files
        return index or name not in before
    return index or name.startswith("journal.sessions/2.")  # resume 2 (last is 2 as well)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(config=st.one_of(st.just(GOOD_CONFIG), st.just(GOOD_CONFIG), _config()), script=SCRIPT, broken=DAMAGE, command=COMMANDS,
       work=st.one_of(SMALL_MINUTES.map(str), st.sampled_from(["nan", "inf", "-1", "0", "1e9", "abc", ""])))
def test_any_input_ends_in_one_line_and_touches_only_what_it_should(template, config, script, broken, command, work):
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        folder = home / "j"
        shutil.copytree(template, folder)
        damage(folder, broken)
        config_path, script_path = home / "c.yaml", home / "s.yaml"
        config_path.write_text(json.dumps(config))
        if isinstance(script, bytes):
            script_path.write_bytes(script)
        else:
            script_path.write_text(script if isinstance(script, str) else json.dumps(script))
        args = [str(script_path) if a == "SCRIPT" else work if a == "WORK" else a for a in command]
        before = snapshot(folder)
        result = CliRunner().invoke(cli, [*args, "--config", str(config_path), "--journal", str(folder / "journal.json")])
        after = snapshot(folder)

    event(f"{command[0]} exit {result.exit_code}")
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 1, result.stderr
    if result.exit_code == 2:
        assert lines and lines[0].startswith("duet: "), result.stderr
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    unexpected = {name for name in changed if not may_change(command, result.exit_code, name, before)}
    assert not unexpected, (command, result.exit_code, result.stderr, unexpected)
    if command[0] in ("rehearse", "resume") and result.exit_code == 0:
        old, new = json.loads(before["journal.json"]), json.loads(after["journal.json"])
        kept = {k: v for k, v in old.get("sessions", {}).items() if k != "2" or command[0] == "rehearse"}
        assert {k: new["sessions"].get(k) for k in kept} == kept  # other sessions' entries untouched
