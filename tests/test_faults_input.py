"""Bad input: every broken config, WAV, journal or model folder gets one line naming the problem
and the fix, exit code 2, and no file is modified (bytes, mode and mtime of everything around)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from assistant.journal import Journal
from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SCRIPT = "- say: calm\n- say: the sky\n- {at: '1:00', say: stop the session}\n- {at: '1:05', say: 'yes'}\n"


def duet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=120)


def state(folder: Path) -> dict[str, tuple]:
    """Everything under a folder: each entry's bytes (files), mode and modification time."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        found[str(path.relative_to(folder))] = (
            path.read_bytes() if path.is_file() else None, info.st_mode, info.st_mtime_ns)
    return found


def refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2 and exactly one line, holding every expected piece; returns the line."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("duet: "), result.stderr
    for piece in expected:
        assert piece in lines[0], (piece, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    (folder / "script.yaml").write_text(SCRIPT)
    assert duet("rehearse", str(folder / "script.yaml"), "--journal", str(folder / "j" / "journal.json")).returncode == 0
    return folder


@pytest.fixture
def home(tmp_path: Path, template: Path) -> Path:
    """A folder with a journal holding one finished session, and a rehearsal script."""
    home = tmp_path / "home"
    shutil.copytree(template, home)  # copies modes and times too
    return home


# ---- config

CONFIGS = {
    "wrong type": ("work: {minutes: lots}", ["'work.minutes'", "valid number", "'lots'"]),
    "list expected": ("partners: Alex and Sam", ["'partners'", "valid list"]),
    "unknown key": ("work: {minuts: 30}", ["unknown setting 'work.minuts'", "did you mean 'minutes'?"]),
    "unknown section": ("partner: [Ana, Ben]", ["unknown setting 'partner'", "did you mean 'partners'?"]),
    "negative minutes": ("work: {minutes: -5}", ["'work.minutes'", "greater than 0", "-5"]),
    "negative timeout": ("listening: {answer_timeout: -1}", ["'listening.answer_timeout'", "greater than or equal to 1"]),
    "zero silence": ("listening: {trailing_silence: 0}", ["'listening.trailing_silence'", "greater than 0"]),
    "negative milestone": ("work: {announce_remaining: [-2]}", ["'work.announce_remaining.0'", "greater than 0"]),
    "no check-in questions": ("checkin: {questions: []}", ["'checkin.questions'", "at least 1 item"]),
    "no debrief questions": ("debrief: {questions: []}", ["'debrief.questions'", "at least 1 item"]),
    "no partners": ("partners: []", ["'partners'", "at least 2 items"]),
    "one partner": ("partners: [Ana]", ["'partners'", "at least 2 items"]),
    "empty name": ("partners: [Ana, '']", ["'partners.1'", "is blank: write something to say"]),
    "long name": ("partners: [Ana, " + "B" * 41 + "]", ["'partners.1'", "is 41 characters long: a name may have at most 40"]),
    "names not a list": ("partners: Ana", ["'partners'", "valid list"]),  # left empty: the default names
    "same names": ("partners: [Ana, ana]", ["different names"]),
    "not YAML": ("work: [45", ["line 2", "fix the YAML syntax"]),
    "not a mapping": ("- a list", ["top level must be a mapping"]),
}


@pytest.mark.parametrize("case", CONFIGS)
def test_a_bad_config_is_one_line_and_changes_nothing(home, case):
    text, expected = CONFIGS[case]
    config = home / "config.yaml"
    config.write_text(text + "\n")
    before = state(home)
    result = duet("rehearse", str(home / "script.yaml"), "--config", str(config), "--journal", str(home / "j" / "journal.json"))
    refused(result, str(config), *expected)
    assert state(home) == before


def test_a_negative_work_length_on_the_command_line(home):
    before = state(home)
    refused(duet("rehearse", str(home / "script.yaml"), "--work", "-1", "--journal", str(home / "j" / "journal.json")),
            "--work must be more than 0 minutes")
    assert state(home) == before


def test_a_missing_config_file_says_to_pass_an_existing_one(home):
    before = state(home)
    refused(duet("sessions", "--config", str(home / "absent.yaml"), "--journal", str(home / "j" / "journal.json")),
            "not found", "--config")
    assert state(home) == before


# ---- WAV files


def write_wav(path: Path, width: int, frames: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(16000)
        out.writeframes(b"\x80" * width * frames)
    return path


WAVS = {
    "not a WAV": (lambda p: p.write_text("ID3 this is an mp3, honest"), ["not a WAV file"]),
    "empty file": (lambda p: p.write_bytes(b""), ["not a WAV file", "empty"]),
    "8-bit": (lambda p: write_wav(p, 1), ["8-bit samples are not supported", "sox in.wav -b 16"]),
    "no frames": (lambda p: write_wav(p, 2, frames=0), ["holds no audio", "record or export it again"]),
    "a folder": (lambda p: p.mkdir(), ["is a folder"]),
    "missing": (lambda p: None, ["no such file"]),
}


@pytest.mark.parametrize("case", WAVS)
def test_a_bad_wav_is_one_line_and_changes_nothing(tmp_path, case):
    make, expected = WAVS[case]
    wav = tmp_path / "answer.wav"
    make(wav)
    before = state(tmp_path)
    refused(duet("transcribe", str(wav), "--engine", "pocketsphinx"), str(wav), *expected)
    assert state(tmp_path) == before


# ---- journals

GOOD_META = {"_duet": {"1": {"app": "duet", "schema": 1}}}
JOURNALS = {
    "truncated": (lambda text: text[: len(text) // 2], ["damaged", "not valid JSON", "cp '"]),
    "truncated to nothing": (lambda text: "", ["is empty but its backup is not", "cp '"]),
    "not JSON": (lambda text: "journal of our garden, day 1: planted the beans", ["not valid JSON", "cp '"]),
    "binary": (lambda text: "\udcff\udcfe", ["not UTF-8", "cp '"]),
    "another program's JSON": (lambda text: json.dumps({"users": [1, 2, 3]}), ["not a Duet journal", "--journal"]),
    "a JSON list": (lambda text: "[1, 2]", ["not a Duet journal", "--journal"]),
    "a bad marker": (lambda text: json.dumps({"_duet": "yes"}), ["not a Duet journal"]),
    "a bad table": (lambda text: json.dumps({**GOOD_META, "sessions": [1, 2]}), ["malformed table 'sessions'", "cp '"]),
    "a session without its leader": (
        lambda text: json.dumps({**GOOD_META, "sessions": {"1": {"started_at": "x", "status": "done",
                                                                 "partners": ["A", "B"], "logistics": "B"}}}),
        ["session 1 has no valid 'leader'", "cp '"]),
    "newer schema": (lambda text: json.dumps({"_duet": {"1": {"app": "duet", "schema": 99}}}),
                     ["newer Duet (schema 99", "upgrade Duet"]),
}
COMMANDS = {
    "sessions": lambda home: ["sessions"],
    "show": lambda home: ["show", "last"],
    "export": lambda home: ["export", "last", "-o", str(home / "out.md")],
    "rehearse": lambda home: ["rehearse", str(home / "script.yaml")],
    "resume": lambda home: ["resume", "1", "--script", str(home / "script.yaml")],
    "forget": lambda home: ["forget", "all", "--yes"],
}


def damage_and_run(home: Path, case: str, command: str) -> None:
    damage, expected = JOURNALS[case]
    path = home / "j" / "journal.json"
    text = damage(path.read_text())
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    before = state(home)
    refused(duet(*COMMANDS[command](home), "--journal", str(path)), str(path), "left untouched", *expected)
    assert state(home) == before


@pytest.mark.parametrize("command", ["sessions", "rehearse"])  # a reader, and a writer
@pytest.mark.parametrize("case", JOURNALS)
def test_a_bad_journal_is_refused_and_left_untouched(home, case, command):
    damage_and_run(home, case, command)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("sessions", "rehearse")])
@pytest.mark.parametrize("case", ["truncated", "newer schema"])
def test_every_command_refuses_a_bad_journal(home, case, command):
    damage_and_run(home, case, command)


@pytest.mark.parametrize("command", ["show", "resume", "export", "sessions"])
def test_a_truncated_session_file_is_refused_and_left_untouched(home, command):
    path = home / "j" / "journal.json"
    with Journal(path) as journal:  # make it an interrupted session, so that resuming reads its file
        journal.sessions.update({"status": "in progress"}, doc_ids=[1])
    detail = home / "j" / "journal.sessions" / "1.json"
    detail.write_text(detail.read_text()[:-30])
    args = {"show": ["show", "1"], "resume": ["resume", "1", "--script", str(home / "script.yaml")],
            "export": ["export", "1", "-o", str(home / "out.md")], "sessions": ["sessions"]}[command]
    before = state(home)
    refused(duet(*args, "--journal", str(path)), str(detail), "damaged", f"cp '{detail}.bak' '{detail}'")
    assert state(home) == before


def test_the_backup_named_by_the_message_does_recover_the_journal(home):
    path = home / "j" / "journal.json"
    path.write_text("")
    line = refused(duet("sessions", "--journal", str(path)), "cp '")
    command = line[line.index("cp '"):]
    subprocess.run(command, shell=True, check=True)
    listed = json.loads(duet("sessions", "--json", "--journal", str(path)).stdout)
    # the backup is the index as it was before its last write: the session is back, with its answers
    assert [s["id"] for s in listed] == [1]
    assert [t["answer"] for t in json.loads(duet("show", "1", "--json", "--journal", str(path)).stdout)["turns"]] == \
        ["calm", "the sky", "", ""]  # Sam was not answered: the script moved on


def test_a_journal_path_that_is_a_folder(tmp_path):
    (tmp_path / "journal.json").mkdir()
    before = state(tmp_path)
    refused(duet("sessions", "--journal", str(tmp_path / "journal.json")), "is a folder", "--journal")
    assert state(tmp_path) == before


def test_reading_commands_create_nothing_where_there_is_no_journal(tmp_path):
    path = tmp_path / "not" / "yet" / "journal.json"
    assert duet("sessions", "--journal", str(path)).returncode == 0
    refused(duet("show", "last", "--journal", str(path)), "no sessions yet")
    assert list(tmp_path.iterdir()) == []


# ---- speech models


@pytest.mark.parametrize("case", ["empty", "half-downloaded"])
def test_a_broken_model_folder_is_one_line_naming_the_download_command(tmp_path, case):
    model = tmp_path / "vosk-model-small-en-us-0.15"
    model.mkdir()
    if case == "half-downloaded":
        (model / "conf").mkdir()
        (model / "conf" / "model.conf").write_text("--endpoint.rule2.min-trailing-silence=0.5\n")
        (model / "am").mkdir()
    wav = write_wav(tmp_path / "answer.wav", 2)
    config = tmp_path / "config.yaml"
    config.write_text(f"speech: {{answers: vosk, vosk_model: '{model}'}}\n")
    before = state(tmp_path)
    expected = {"empty": "is empty", "half-downloaded": "is incomplete"}[case]
    refused(duet("transcribe", str(wav), "--config", str(config)), str(model), expected,
            f"{sys.executable} {ROOT / 'scripts' / 'download_model.py'} vosk-model-small-en-us-0.15")
    assert state(tmp_path) == before
