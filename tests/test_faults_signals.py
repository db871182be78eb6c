"""Ctrl-C and SIGTERM in every phase: saved as interrupted, exit 130/143, one line to resume.

`duet rehearse` runs in a child process whose script port stops (sleeps) at a chosen point of a
chosen phase; the test then sends the signal, as a terminal or a service manager would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.journal import Journal
from tests.rig import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

# Runs `duet ARGS` with the rehearsal port stopping at DUET_BLOCK: "PHASE:N" (before the N-th
# listen of that phase), "work:@S" (once S simulated seconds of work have passed), or
# "write:NAME#K" (inside the K-th write of journal file NAME, after its temporary file is written).
WRAPPER = textwrap.dedent("""
    import os, sys, time
    from assistant.session import rehearsal
    where, _, arg = os.environ["DUET_BLOCK"].partition(":")
    count = {}

    def stop_here():
        print("BLOCKED", flush=True)
        time.sleep(3600)

    def maybe_block(port, action):
        if where == "work" and arg.startswith("@"):
            if action.phase == "work" and port.work_started is not None and \\
                    port.clock.now() - port.work_started >= float(arg[1:]):
                stop_here()
        elif action.phase == where:
            n = count.setdefault(where, 0)
            count[where] = n + 1
            if n == int(arg):
                stop_here()

    answer, commands = rehearsal.ScriptedPort.listen_answer, rehearsal.ScriptedPort.listen_commands
    def listen_answer(self, action):
        maybe_block(self, action)
        return answer(self, action)
    def listen_commands(self, action):
        maybe_block(self, action)
        return commands(self, action)
    rehearsal.ScriptedPort.listen_answer, rehearsal.ScriptedPort.listen_commands = listen_answer, commands and listen_commands

    if where == "write":
        real_fsync = os.fsync
        name, _, nth = arg.partition("#")
        def fsync(fd):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if f".{name}." in target and target.endswith(".tmp"):
                count["write"] = count.get("write", 0) + 1
                if count["write"] == int(nth or 1):
                    stop_here()
            return real_fsync(fd)
        os.fsync = fsync

    from assistant.cli import main
    sys.argv = ["duet", *sys.argv[1:]]
    main()
""")

SCRIPT = textwrap.dedent("""\
    - say: "calm and a bit tired"
    - say: "finish the sky"
    - say: "excited"
    - say: "the clouds"
    - {at: "5:00", say: "how much time is left"}
    - {at: "6:00", say: "pause"}
    - say: "resume"
    - {at: "8:00", say: "start the debrief"}
    - say: "we shared the brushes well"
    - say: "the light changed"
""")
ANSWERS = ["calm and a bit tired", "finish the sky", "excited", "the clouds",
           "we shared the brushes well", "the light changed"]


def start(tmp_path: Path, block: str, ignore_sigint: bool = False) -> tuple[subprocess.Popen, Path]:
    journal = tmp_path / "j" / "journal.json"
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "rehearse", str(script), "--work", "20", "--journal", str(journal)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**ENV, "DUET_BLOCK": block},
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
    )
    shown = []
    while (line := proc.stdout.readline()) and line.strip() != "BLOCKED":
        shown.append(line)
    assert line, "".join(shown) + proc.stderr.read()
    return proc, journal


def stop(proc: subprocess.Popen, signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def duet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=60)


CASES = {
    # phase: (where to stop, answers recorded by then, phase saved)
    "checkin": ("checkin:2", 2, "checkin"),
    "work": ("work:@302", 4, "work"),
    "paused": ("paused:0", 4, "work"),
    "debrief": ("debrief:2", 5, "debrief"),  # the breath before the first question listens too
}
SIGNALS = {"SIGINT": (signal.SIGINT, 130), "SIGTERM": (signal.SIGTERM, 143)}


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize("phase", CASES)
def test_a_signal_saves_the_session_as_interrupted_with_one_line(tmp_path, phase, signame):
    block, answered, saved_phase = CASES[phase]
    signum, code = SIGNALS[signame]
    proc, journal = start(tmp_path, block)
    returncode, err = stop(proc, signum)

    assert returncode == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "session 1 is saved as interrupted" in lines[0]
    # the script it ran, not a placeholder (a QA pass)
    assert lines[0].endswith(f"Continue with: duet resume 1 --script {tmp_path / 'script.yaml'} --journal {journal}")

    with Journal(journal) as j:
        session = j.get(1)
    assert session["status"] == "interrupted"
    assert [t["answer"] for t in session["turns"]] == ANSWERS[:answered]
    last = session["events"][-1]
    assert last["kind"] == "interrupted" and last["detail"] == {"by": signame, "phase": saved_phase}
    if phase in ("work", "paused"):  # the work done so far is kept to the second, not the last checkpoint
        worked = json.loads(duet("sessions", "--json", "--journal", str(journal)).stdout)[0]["worked"]
        assert worked >= (302 if phase == "work" else 360)


@pytest.mark.parametrize("phase", ["checkin", "work", "debrief"])
def test_an_interrupted_session_resumes_from_the_next_question(tmp_path, phase):
    proc, journal = start(tmp_path, CASES[phase][0])
    stop(proc, signal.SIGTERM)
    answered = CASES[phase][1]
    rest = tmp_path / "rest.yaml"
    rest.write_text("".join(f"- say: later answer {k}\n" for k in range(8)))
    result = duet("resume", "1", "--script", str(rest), "--journal", str(journal), "--json")
    assert result.returncode == 0, result.stderr
    with Journal(journal) as j:
        session = j.get(1)
    assert session["status"] == "done"
    turns = session["turns"]
    assert [t["seq"] for t in turns] == list(range(len(turns)))
    assert [t["answer"] for t in turns[:answered]] == ANSWERS[:answered]
    assert turns[answered]["answer"] == "later answer 0"


def test_ctrl_c_works_even_when_started_with_sigint_ignored(tmp_path):
    proc, journal = start(tmp_path, "checkin:1", ignore_sigint=True)
    returncode, err = stop(proc, signal.SIGINT)
    assert returncode == 130 and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("signame", SIGNALS)
def test_a_signal_inside_a_journal_write_leaves_the_journal_whole(tmp_path, signame):
    signum, code = SIGNALS[signame]
    # the session file's second write: the first answer (the first keeps the session's questions)
    proc, journal = start(tmp_path, "write:1.json#2")
    returncode, err = stop(proc, signum)
    assert returncode == code and len(err.strip().splitlines()) == 1, err
    folder = journal.parent
    assert not [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".bak.new"))]
    for path in folder.rglob("*.json"):
        json.loads(path.read_text())
    with Journal(journal) as j:
        session = j.get(1)
    assert session["status"] == "interrupted"
    # the answer being written when the signal came is not lost: it is saved whole on the way out,
    # with the interruption
    assert [t["answer"] for t in session["turns"]] == ANSWERS[:1]
    assert session["events"][-1]["detail"]["by"] == signame


def test_ctrl_c_at_the_forget_question_prints_one_line_and_deletes_nothing(tmp_path):
    journal = tmp_path / "j" / "journal.json"
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    assert duet("rehearse", str(script), "--journal", str(journal)).returncode == 0
    before = {p: p.read_bytes() for p in journal.parent.rglob("*") if p.is_file()}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "forget", "1", "--journal", str(journal)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=ENV)
    asked = ""
    while not asked.endswith("[y/N]: "):
        char = proc.stderr.read(1)
        assert char, asked
        asked += char
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert [line for line in err.splitlines() if line.strip()] == ["duet: interrupted"]
    assert {p: p.read_bytes() for p in journal.parent.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("signame", SIGNALS)
def test_a_signal_while_duet_loads_is_one_line(tmp_path, signame):
    """A QA pass's Ctrl-C in the first 0.2 s of a command printed a traceback: the command line
    was still being imported. The signal comes here exactly then."""
    signum, code = SIGNALS[signame]
    loading = textwrap.dedent(f"""
        import builtins, os, sys
        import assistant.cli as cli
        real = builtins.__import__
        def importing(name, *args, **kwargs):
            if name == "assistant.cli.main":
                os.kill(os.getpid(), {int(signum)})
            return real(name, *args, **kwargs)
        builtins.__import__ = importing
        sys.argv = ["duet", "sessions", "--journal", {str(tmp_path / "journal.json")!r}]
        cli.main()
    """)
    done = subprocess.run([sys.executable, "-c", loading], capture_output=True, text=True, cwd=ROOT, env=ENV,
                          timeout=60)
    assert done.returncode == code and done.stderr.startswith("duet: "), done.stderr
    assert len(done.stderr.splitlines()) == 1 and not done.stdout
