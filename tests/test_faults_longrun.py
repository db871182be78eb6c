"""A long run: a rehearsed 3-hour session, heard through the real recognizers, on a simulated clock.

The session runs in a child process so its memory is measured alone (resident set size from
/proc/self/statm). Everything the couple says is audio, recognized as in a live session (a fresh
recognizer stream per utterance): answers and notes are recordings of real people transcribed by
Whisper tiny.en; commands are espeak-ng speech spotted by pocketsphinx with the command grammar.
Once a minute of the 3-hour work phase someone says a harmless command ("resume", "repeat that"),
every half hour a note is dictated, every hour the session is paused for two minutes.
The memory after the first half hour must stay flat to the end, and every answer and note must
be in the journal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import rss_mb
from tests.rig import ROOT

pytestmark = [pytest.mark.slow]

DATA = Path("/usr/share/pocketsphinx/test/data")
HOURS = 3
SLOT = 60.0  # seconds of work between two things said
RESUMES = ("resume", "resume the session", "continue")
"""What the scripted partner says, in turn, until a paused session carries on."""


def child(journal: str, workdir: str) -> None:
    """The session; prints one JSON line: what was said and recognized, and the memory samples."""
    import subprocess as sp

    from assistant.config import Config
    from assistant.journal import Journal
    from assistant.session.clock import SimulatedClock
    from assistant.session.commands import CommandParser
    from assistant.session.events import (
        Heard,
        ListenForAnswer,
        ListenForCommands,
        Silence,
        Tick,
    )
    from assistant.session.runner import new_session, run
    from assistant.speech.engines import open_recognizer
    from assistant.speech.wav import read_wav

    config = Config(partners=["Ana", "Ben"]).with_work_minutes(HOURS * 60)
    answers_engine = open_recognizer("whisper", threads=2)
    commands_engine = open_recognizer(
        "pocketsphinx", grammar=CommandParser(config.commands, None).grammar_phrases())

    def spoken(text: str, voice: str = "en-us+f3") -> bytes:
        path = Path(workdir) / f"{text.replace(' ', '_')}.wav"
        sp.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        return read_wav(path)

    commands = {text: spoken(text) for text in ("take a note", "pause", *RESUMES, "repeat that")}
    recordings = [read_wav(p) for p in sorted((DATA / "librivox").glob("*.wav"))]
    recordings += [read_wav(p) for p in sorted((DATA / "cards").glob("*.wav"))]

    def recognize(engine, pcm: bytes):
        stream = engine.stream()
        for start in range(0, len(pcm), 3200):
            stream.accept(pcm[start:start + 3200])
        return stream.finish()

    class AudioPort:
        def __init__(self, clock: SimulatedClock) -> None:
            self.clock = clock
            self.work_started: float | None = None
            self.slot = 0
            self.next_recording = 0
            self.answers: list[str] = []
            self.notes: list[str] = []
            self.commands_heard: list[str] = []
            self.rss: list[tuple[float, float]] = []
            self.dictating = False
            self.resume_tries = 0

        def say(self, text: str) -> None:
            self.clock.advance(len(text.split()) / 2.5)

        def _hear(self, engine, pcm: bytes):
            self.clock.advance(len(pcm) / 32000)
            return recognize(engine, pcm)

        def listen_answer(self, action: ListenForAnswer):
            pcm = recordings[self.next_recording % len(recordings)]
            self.next_recording += 1
            transcript = self._hear(answers_engine, pcm)
            if not transcript.text:
                return Silence()
            (self.notes if action.phase == "note" else self.answers).append(transcript.text)
            return Heard(transcript.text, transcript.confidence)

        def listen_commands(self, action: ListenForCommands):
            if self.work_started is None:
                self.work_started = self.clock.now()
            if action.phase == "paused":
                # as a person would: when "resume" is not heard, say it another way
                self.clock.advance(120)
                self.resume_tries += 1
                return self._command(RESUMES[(self.resume_tries - 1) % len(RESUMES)])
            target = self.work_started + (self.slot + 0.5) * SLOT
            if action.until is not None and action.until < target:
                self.clock.advance_to(action.until)
                return Tick()
            self.clock.advance_to(target)
            self.slot += 1
            self.rss.append((round((self.clock.now() - self.work_started) / 60, 1), round(rss_mb(), 1)))
            if self.slot % 30 == 0:
                return self._command("take a note")
            if self.slot % 60 == 45:
                return self._command("pause")
            return self._command("resume" if self.slot % 2 else "repeat that")

        def _command(self, text: str):
            transcript = self._hear(commands_engine, commands[text])
            self.commands_heard.append(transcript.text)
            return Heard(transcript.text, transcript.confidence)

    clock = SimulatedClock()
    port = AudioPort(clock)
    with Journal(Path(journal)) as j:
        status = run(new_session(config, j, clock), port)
    print(json.dumps({"status": status, "answers": port.answers, "notes": port.notes, "rss": port.rss,
                      "commands": port.commands_heard}))


def test_a_three_hour_session_keeps_memory_flat_and_every_answer(tmp_path):
    if not (DATA / "librivox").is_dir():
        pytest.skip("Debian's pocketsphinx-testdata is not installed (scripts/setup.sh --test)")
    journal = tmp_path / "j" / "journal.json"
    code = f"from tests.test_faults_longrun import child; child({str(journal)!r}, {str(tmp_path)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert said["status"] == "done"

    from assistant.journal import Journal

    with Journal(journal) as j:
        session = j.get(1)
    # every answer and note, as the recognizer heard it
    assert [t["answer"] for t in session["turns"]] == said["answers"] and len(said["answers"]) == 11
    assert all(t["status"] == "answered" for t in session["turns"])
    assert [n["text"] for n in session["notes"]] == said["notes"]
    assert len(said["notes"]) >= 5
    kinds = [e["kind"] for e in session["events"]]
    assert kinds.count("pause") == HOURS and kinds.count("resume") == HOURS
    debrief = next(e for e in session["events"] if e["kind"] == "debrief started")
    assert debrief["detail"]["by"] == "timer" and abs(debrief["detail"]["worked"] - HOURS * 3600) < 5
    assert said["commands"].count("take a note") == len(said["notes"])  # the commands were recognized

    # flat memory: after the first half hour (buffers warmed up), the resident set stays put
    samples = [mb for minute, mb in said["rss"] if minute >= 30]
    assert len(samples) > 100
    settled = samples[0]
    assert max(samples) - settled < 12, said["rss"][::10]  # measured here: within 2 MB
    assert samples[-1] - settled < 6, said["rss"][::10]
