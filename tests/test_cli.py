"""The duet command line, run as a user runs it (a subprocess)."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from tests.helpers import SCRIPT
from tests.rig import ROOT


def duet(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)


@pytest.fixture
def journal(tmp_path):
    return str(tmp_path / "journal.json")


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT)
    return str(path)


def test_rehearse_runs_a_whole_session_and_prints_what_duet_says(journal, script):
    result = duet("rehearse", script, "--journal", journal)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"\[12:0\d\] Duet: 33 minutes left\.", out)
    assert "Let's debrief" in out and "Your next step: paint the clouds." in out
    assert out.count("Duet: 33 minutes left.") == 1  # talk about the parking meter triggered nothing
    assert out.strip().endswith(f"saved in {journal}")


def test_rehearse_hears_a_line_at_once_while_paused(journal, tmp_path):
    """While paused an untimed line is said at once, also while "cancel that" is still awaited
    for the pause (the engine then listens until that window closes)."""
    path = tmp_path / "paused.yaml"
    path.write_text(SCRIPT.replace('- {at: "13:00"', '- {at: "12:30", say: "pause"}\n- say: "resume"\n- {at: "13:00"'))
    result = duet("rehearse", str(path), "--journal", journal)
    assert result.returncode == 0, result.stderr
    paused = re.search(r"\[(\d+:\d+)\] Duet: Paused\.", result.stdout)
    resumed = re.search(r"\[(\d+:\d+)\] Duet: Resuming\.", result.stdout)
    assert paused and resumed and paused.group(1) == resumed.group(1), result.stdout


def test_rehearse_a_dictated_note_keeps_the_timed_lines_after_it(journal, tmp_path):
    """A "take a note" whose next line is timed hears no note, and the work phase goes on to
    that line; the dictation once dropped every later timed line as "not reached"."""
    path = tmp_path / "note.yaml"
    path.write_text(SCRIPT.replace('- {at: "14:00", say: "take a note buy more cobalt blue"}',
                                   '- {at: "14:00", say: "take a note"}\n- {at: "15:00", say: "pause"}\n'
                                   '- say: "resume"'))
    result = duet("rehearse", str(path), "--journal", journal)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "I didn't catch a note." in out and "not reached" not in out + result.stderr
    assert re.search(r"\[\d+:\d+\] Duet: Paused\.", out) and "Let's debrief" in out, out


def test_rehearse_a_note_dictated_by_a_timed_line(journal, tmp_path):
    """The line after "take a note" is the note when it is timed too, within the answer timeout:
    a QA pass wrote "{at: '2:03', say: ...}" after "{at: '2:00', say: take a note}" and got "I
    didn't catch a note.", then the line heard as talk 20 s later."""
    path = tmp_path / "note.yaml"
    path.write_text(SCRIPT.replace('- {at: "14:00", say: "take a note buy more cobalt blue"}',
                                   '- {at: "14:00", say: "take a note"}\n- {at: "14:03", say: "buy more ochre"}'))
    result = duet("rehearse", str(path), "--journal", journal)
    assert result.returncode == 0, result.stderr
    assert "I didn't catch a note." not in result.stdout
    notes = json.loads(duet("show", "last", "--json", "--journal", journal).stdout)["notes"]
    assert [n["text"] for n in notes] == ["buy more ochre"]


def test_a_rehearsal_whose_output_is_closed_goes_on_and_is_saved(journal, script):
    """`duet rehearse ... | head -1`: found in a QA pass, the session died at the closed pipe,
    was left interrupted, and exited 1 with nothing said."""
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "rehearse", script, "--journal", journal],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().startswith(b"[00:00] Duet: Welcome")
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    sessions = json.loads(duet("sessions", "--json", "--journal", journal).stdout)
    assert [s["status"] for s in sessions] == ["done"]


def test_a_script_that_ends_while_paused_says_how_to_resume(journal, tmp_path):
    """Found in a QA pass: the session was left interrupted with no word on carrying on."""
    path = tmp_path / "paused.yaml"
    path.write_text('- say: ok\n- say: paint\n- say: fine\n- say: dig\n- {at: "1:00", say: pause}\n')
    result = duet("rehearse", str(path), "--work", "5", "--journal", journal, "--json")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    # a program reading --json learns which session to resume (a QA pass's got nothing)
    assert json.loads(result.stdout)["session"] == 1 and json.loads(result.stdout)["status"] == "interrupted"
    assert "add what is said after the pause to its end (no 'say: resume'" in result.stderr
    # with the journal it was given (a QA pass followed the hint onto the default journal)
    assert result.stderr.strip().endswith(f"Continue with: duet resume 1 --script {path} --journal {journal}")
    # as the hint says: the same script with its next lines added goes on after the lines heard
    # (a QA pass found the edited script replayed from its first line: check-in answers stored
    # as the debrief's)
    path.write_text(path.read_text() + '- {at: "2:00", say: start the debrief}\n'
                    + "".join(f"- say: debrief {k}\n" for k in range(7)))
    resumed = duet("resume", "1", "--script", str(path), "--journal", journal, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["transcript"][-1]["text"].startswith("That's our session.")
    turns = json.loads(duet("show", "1", "--json", "--journal", journal).stdout)["turns"]
    answers = [t["answer"] for t in turns]
    assert answers[:4] == ["ok", "paint", "fine", "dig"] and answers[4] == "debrief 0", answers


def test_show_says_what_the_work_phase_was(journal, tmp_path):
    """Planned length, time added (not what "cancel that" put back) and pauses: a QA pass found
    show leaving them out."""
    path = tmp_path / "work.yaml"
    path.write_text('- say: ok\n- say: paint\n- say: fine\n- say: dig\n'
                    '- {at: "1:00", say: add five minutes}\n- {at: "2:00", say: add two minutes}\n'
                    '- {at: "2:05", say: cancel that}\n- {at: "3:00", say: pause}\n- say: resume\n'
                    '- {at: "4:00", say: start the debrief}\n')
    assert duet("rehearse", str(path), "--work", "10", "--journal", journal).returncode == 0
    shown = duet("show", "last", "--journal", journal).stdout
    assert "Worked:    4 min of 10 min planned; 5 min added; paused once\n" in shown, shown
    # a pause at a question, and one put back there, are no pauses of the work (a QA pass)
    path.write_text('- say: pause\n- say: resume\n- say: pause\n- say: cancel that\n- say: ok\n- say: paint\n'
                    '- say: fine\n- say: dig\n- {at: "1:00", say: start the debrief}\n')
    assert duet("rehearse", str(path), "--work", "10", "--journal", journal).returncode == 0
    shown = duet("show", "last", "--journal", journal).stdout
    assert "Worked:    1 min of 10 min planned\n" in shown, shown


def test_show_last_json_gives_turns_with_status_and_times(journal, script):
    duet("rehearse", script, "--journal", journal)
    result = duet("show", "last", "--json", "--journal", journal)
    session = json.loads(result.stdout)
    assert session["status"] == "done" and session["leader"] == "Alex"
    turns = session["turns"]
    assert [t["status"] for t in turns] == ["answered"] * 3 + ["skipped"] + ["answered"] * 2 + [
        "no answer", "skipped"] + ["answered"] * 3
    assert turns[0] | {} == turns[0] and {"partner", "phase", "question", "answer", "asked_at", "answered_at"} <= set(turns[0])
    assert session["notes"][0]["text"] == "buy more cobalt blue"
    debrief = [e for e in session["events"] if e["kind"] == "debrief started"]
    assert debrief[0]["detail"]["by"] == "command"


def test_sessions_table_and_rotation_across_runs(journal, script):
    duet("rehearse", script, "--journal", journal)
    duet("rehearse", script, "--journal", journal, "--work", "1")
    table = duet("sessions", "--journal", journal).stdout.splitlines()
    assert table[0].split() == ["id", "date", "worked", "leader", "status"]
    assert table[1].split()[-2:] == ["Alex", "done"] and table[2].split()[-2:] == ["Sam", "done"]
    rows = json.loads(duet("sessions", "--json", "--journal", journal).stdout)
    assert [r["leader"] for r in rows] == ["Alex", "Sam"]
    assert rows[1]["planned_work"] == 60


def test_export_markdown_html_and_json_files_are_private(tmp_path, journal, script):
    duet("rehearse", script, "--journal", journal)
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"s.{fmt}"
        result = duet("export", "last", "--format", fmt, "-o", str(out), "--journal", journal)
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert "we shared the brushes well" in out.read_text()
    assert out.read_text().startswith("{") and json.loads(out.read_text())["next_step"] == "paint the clouds"
    assert "> calm and a bit tired" in (tmp_path / "s.md").read_text()
    assert "<blockquote>calm and a bit tired</blockquote>" in (tmp_path / "s.html").read_text()


@pytest.mark.parametrize(
    "args,expected",
    [
        (["show", "42"], "no session 42"),
        (["show", "abc"], "not a session id"),
        (["export", "last", "--format", "pdf"], "'pdf' is not one of"),
        (["sessions", "--bogus"], "No such option '--bogus'"),
        (["rehearse", "missing.yaml"], "rehearsal script missing.yaml not found"),
        (["rehearse", "SCRIPT", "--work", "-1"], "--work must be more than 0 minutes"),
        (["export", "last", "--force", "-o", "tests"], "tests is a folder: give a file name in it with -o"),
        (["insights", "--since", "2026-02-30"], "2026-02-30 is not a day in the calendar"),
        (["rehearse", "SCRIPT", "--date", "14.03.2026"], "'14.03.2026' is not a day: write it as YYYY-MM-DD"),
        # the help that answers it (a QA pass was sent to "duet shwo --help" and to the group's help)
        (["shwo"], "Did you mean 'show'? (see duet --help)"),
        (["schedule", "add"], "Missing argument 'WHEN...'. (see duet schedule add --help)"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(journal, script, args, expected):
    duet("rehearse", script, "--journal", journal)
    args = [script if a == "SCRIPT" else a for a in args]
    result = duet(*args, "--journal", journal)
    assert result.returncode == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_config_and_bad_script_entries_name_the_problem(tmp_path, journal):
    config = tmp_path / "c.yaml"
    config.write_text("work:\n  minutes: lots\n")
    result = duet("sessions", "--config", str(config), "--journal", journal)
    assert result.returncode == 2 and "'work.minutes'" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("- say: hi\n- {at: 'noon', say: pause}\n")
    result = duet("rehearse", str(bad), "--journal", journal)
    assert result.returncode == 2 and "entry 2" in result.stderr and "MM:SS" in result.stderr
    cases = {  # script -> what the one line says
        '- say: "hi\n- say: there\n': "fix the YAML syntax there",  # an unclosed quote
        "- {at: '1:00'}\n": "a timed line ('at') needs 'say: TEXT'",
        '- say: "a\\u0000b"\n': "'say' holds the control character U+0000: remove it",  # a QA pass's NUL
        "- {at: '1:00', at: '2:00', say: pause}\n": "line 1: 'at' is given twice (keep one)",  # PyYAML kept the last
        "- {at: '5:00', say: pause}\n- {at: '3:00', say: resume}\n":  # heard at 5:00, without a word
            "entry 2 (at): 3:00 comes before entry 1's 5:00: put the timed lines in time order",
        # found in a QA pass: pydantic's words, or a line taken otherwise than written
        "- {sya: pause}\n": "entry 1: unknown key 'sya' (did you mean 'say'?)",
        "- say: calm\n- silence: 'no'\n": "entry 2 (silence): write 'silence: true' for a question nobody answers",
        "- say: '  '\n": "entry 1 (say): 'say' is empty: write what is said, or 'silence: true' for no answer",
        "- say: [a, b]\n": "entry 1 (say): write the words said as text",
    }
    for text, expected in cases.items():
        bad.write_text(text)
        result = duet("rehearse", str(bad), "--journal", journal)
        assert result.returncode == 2 and expected in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    bad.write_bytes(b"- say: calm\n- say: caf\xe9\n")  # Latin-1
    result = duet("rehearse", str(bad), "--journal", journal)
    assert result.returncode == 2 and "is not UTF-8 text (line 2, byte 0xe9): save it as UTF-8" in result.stderr
    bad.write_text("- say: yes\n- say: on\n- say: 1:30\n- say: 1234567\n")  # to YAML 1.1: true, true, 90, 1.2e6
    shown = json.loads(duet("rehearse", str(bad), "--journal", journal, "--json").stdout)
    assert [line["text"] for line in shown["transcript"] if line["who"] != "Duet"][:4] == ["yes", "on", "1:30", "1234567"]
    missing = duet("rehearse", str(tmp_path / "missing.yaml"), "--journal", journal)
    assert missing.returncode == 2 and "pass a YAML list of lines" in missing.stderr
    folder = duet("rehearse", str(tmp_path), "--journal", journal)
    assert folder.returncode == 2 and "is a folder: pass a rehearsal script file" in folder.stderr, folder.stderr


def test_run_without_the_named_microphone_is_one_line_and_leaves_nothing_on_disk(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("listening:\n  input_device: no such microphone here\n")
    journal = tmp_path / "new" / "journal.json"
    result = duet("run", "--config", str(config), "--journal", str(journal))
    assert result.returncode == 2 and result.stderr.startswith("duet: no microphone"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout
    assert not journal.parent.exists()  # a QA pass found its folder and lock file made


def test_resume_on_a_mistyped_journal_says_so_and_makes_nothing(tmp_path, script):
    result = duet("resume", "--script", script, "--journal", str(tmp_path / "typo.json"))
    assert result.returncode == 2 and "no journal at" in result.stderr and "nothing to resume" in result.stderr
    assert list(tmp_path.glob("typo*")) == []  # a QA pass found typo.json.lock


def test_a_corrupt_journal_is_refused_and_untouched(tmp_path, script):
    path = tmp_path / "journal.json"
    path.write_text('{"_duet": {"1": {"app": "duet", "schema": 1}}, "sess')
    result = duet("rehearse", script, "--journal", str(path))
    assert result.returncode == 2 and "damaged" in result.stderr
    assert path.read_text().endswith('"sess')


def test_say_reads_the_date_and_time_as_they_are_said(monkeypatch):
    """Found in a QA pass: "Tuesday 01 December at 10:00" was read "zero one ... ten zero zero"."""
    import time as clock

    from assistant.cli.readback import spoken_lines

    monkeypatch.setenv("TZ", "Europe/Berlin")
    clock.tzset()
    try:
        session = {"id": 2, "started_at": "2026-12-01T09:00:00+00:00", "leader": "Alex", "logistics": "Sam"}
        assert spoken_lines(session)[0] == "Session 2, Tuesday 1 December at 10 a.m. Alex led the vision and " \
                                           "Sam handled logistics."
    finally:
        monkeypatch.undo()
        clock.tzset()


def test_a_long_recording_is_transcribed_in_pieces_whole_and_silence_says_so(tmp_path):
    """Found in a QA pass: the progress bar followed reading the file, not decoding it (100 % at
    once, then minutes with nothing shown), and an hour of silence printed an empty line. The
    file is now decoded in pieces of at most 30 s: every piece's words are there, in order."""
    from tests.helpers import LIBRIVOX
    from assistant.speech.wav import read_wav, write_wav

    recordings = b"".join(read_wav(p) for p in sorted(LIBRIVOX.glob("*.wav")))  # 24.7 s
    long = tmp_path / "long.wav"
    write_wav(long, recordings * 3)  # 74 s: three pieces
    done = duet("transcribe", str(long), "--json")
    assert done.returncode == 0, done.stderr
    text = json.loads(done.stdout)["text"].lower()
    assert text.count("dashwood") == 3 and text.index("amiable himself") < text.rindex("dashwood"), text
    silent = tmp_path / "silent.wav"
    write_wav(silent, bytes(16000 * 2 * 40))
    said = duet("transcribe", str(silent))
    assert said.returncode == 0 and said.stdout.strip().endswith(f"(no words heard in {silent})"), said.stdout
