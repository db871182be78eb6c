"""Section 7 of the benchmarks: is each milestone announced when it is due?

Two sessions run through the real runner, engine, timer and journal:

* a real work phase on the monotonic clock, with a port that answers at once and listens for
  commands with the real ``Listener`` on a quiet microphone delivering frames in real time; it
  runs in a child process alongside the other sections, since it mostly waits;
* a simulated 60-minute work phase (the rehearsal port on the simulated clock) with a pause,
  a resume and five minutes added, so the schedule moves as it does in real sessions.

A milestone's error is when the engine announced it minus when it was due by the schedule,
computed independently from the work phase's start, its length and its pauses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section, Table, verdict  # noqa: E402


class TimingLog:
    """The engine's session log, passed through to the journal, noting when milestones come."""

    def __init__(self, inner: Any, clock: Any) -> None:
        self.inner = inner
        self.clock = clock
        self.engine: Any = None
        self.milestones: list[dict[str, Any]] = []

    def record_event(self, event: Any) -> None:
        if event.kind == "milestone":
            timer = self.engine.timer
            now = self.clock.now()
            mark = next(m for m in timer._milestones() if m.key == event.detail["key"])
            self.milestones.append({"key": event.detail["key"], "at": now, "elapsed": timer.elapsed(now),
                                    "length": timer.length, "started_at": timer.started_at,
                                    "remaining": mark.remaining})
        self.inner.record_event(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _config(work_seconds: float) -> Any:
    from assistant.config import load_config

    config = load_config()
    return config.model_copy(update={"work": config.work.model_copy(update={
        "minutes": work_seconds / 60,
        "announce_remaining": [work_seconds / 3 / 60, work_seconds / 6 / 60],
    })})


def _due(mark: dict[str, Any], length: float) -> float:
    """Seconds of work at which a milestone is due, for a phase of ``length`` seconds."""
    if mark["key"] == "halfway":
        return length / 2
    return length - mark["remaining"]


class RealTimeMic:
    """A microphone that delivers a quiet room's 30 ms frames at the pace of real time."""

    def __init__(self) -> None:
        import numpy as np

        from assistant.speech.vad import FRAME_SAMPLES

        rng = np.random.default_rng(3)
        self._pcm = bc.to_int16(rng.standard_normal(FRAME_SAMPLES) * bc.dbfs_to_rms(-60)).tobytes()
        self._next = time.monotonic() + 0.03

    def read(self, timeout: float) -> Any:
        from assistant.speech.mic import Frame

        now = time.monotonic()
        if self._next - now > timeout:
            time.sleep(timeout)
            return None
        time.sleep(max(0.0, self._next - now))
        frame = Frame(self._pcm, self._next)
        self._next += 0.03
        return frame


class ListeningPort:
    """Answers every question at once; waits for commands in the real ``Listener`` on a quiet
    real-time microphone, as the live port does, so deadlines are checked between frames."""

    def __init__(self, clock: Any) -> None:
        from assistant.speech.asr_pocketsphinx import PocketsphinxRecognizer
        from assistant.speech.listener import Listener

        self.clock = clock
        self.said: list[tuple[float, str]] = []
        recognizer = PocketsphinxRecognizer(["start the debrief"])
        self.listener = Listener(RealTimeMic(), recognizer, recognizer)

    def say(self, text: str) -> None:
        self.said.append((self.clock.now(), text))

    def listen_answer(self, action: Any) -> Any:
        from assistant.session.events import Heard

        return Heard(text="calm and ready", confidence=0.9)

    def listen_commands(self, action: Any) -> Any:
        from assistant.session.events import Tick
        from assistant.speech.live import LONG_WAIT

        until = action.until if action.until is not None else time.monotonic() + LONG_WAIT
        self.listener.next_command(until)
        return Tick()


def real_phase(seconds: float) -> dict[str, Any]:
    """Child: one session with a real ``seconds``-long work phase on the monotonic clock."""
    from assistant.journal import Journal
    from assistant.session.clock import MonotonicClock
    from assistant.session.runner import new_session, run

    config = _config(seconds)
    clock = MonotonicClock()
    with tempfile.TemporaryDirectory(prefix="duet-bench-time-") as tmp:
        journal = Journal(Path(tmp) / "journal.json")
        engine = new_session(config, journal, clock)
        log = TimingLog(engine.log, clock)
        log.engine = engine
        engine.log = log
        port = ListeningPort(clock)
        status = run(engine, port)
        journal.close()
    rows = []
    for m in log.milestones:
        due_at = m["started_at"] + _due(m, m["length"])
        said_at = next((t for t, text in port.said if t >= m["at"]), m["at"])
        rows.append({"key": m["key"], "due_s": _due(m, m["length"]), "error_ms": (m["at"] - due_at) * 1000,
                     "said_ms": (said_at - due_at) * 1000})
    return {"status": status, "seconds": seconds, "milestones": rows}


def simulated_phase(minutes: float = 60.0) -> dict[str, Any]:
    """A ``minutes``-long work phase rehearsed on the simulated clock, with pause and extension."""
    from assistant.journal import Journal
    from assistant.session.clock import SimulatedClock
    from assistant.session.rehearsal import ScriptedPort, ScriptLine
    from assistant.session.runner import new_session, run

    config = _config(minutes * 60)
    config = config.model_copy(update={"work": config.work.model_copy(update={"announce_remaining": [10, 2]})})
    lines = [ScriptLine(say="calm and ready") for _ in range(len(config.checkin.questions) * 2)]
    pause_at, resume_at, extend_at = minutes * 60 / 4, minutes * 60 / 4 + 120, minutes * 60 / 4 + 420
    lines += [ScriptLine(at=pause_at, say="pause"), ScriptLine(at=resume_at, say="resume"),
              ScriptLine(at=extend_at, say="add five minutes")]
    clock = SimulatedClock()
    with tempfile.TemporaryDirectory(prefix="duet-bench-sim-") as tmp:
        journal = Journal(Path(tmp) / "journal.json")
        engine = new_session(config, journal, clock)
        log = TimingLog(engine.log, clock)
        log.engine = engine
        engine.log = log
        status = run(engine, ScriptedPort(lines, clock))
        journal.close()
    final_length = minutes * 60 + 300  # five minutes added, before the halfway point
    rows = [{"key": m["key"], "due_s": _due(m, final_length),
             "error_ms": (m["elapsed"] - _due(m, final_length)) * 1000} for m in log.milestones]
    return {"status": status, "minutes": minutes, "milestones": rows,
            "script": f"pause at {pause_at / 60:g} min, resume at {resume_at / 60:g} min, "
                      f"'add five minutes' at {extend_at / 60:g} min of clock time into the work phase"}


class RealPhaseJob:
    """The real work phase, running in a child process while other sections run."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._tmp = tempfile.TemporaryDirectory(prefix="duet-bench-clock-")
        self._out = Path(self._tmp.name) / "result.json"
        request = json.dumps({"func": "real_phase", "args": {"seconds": seconds}, "out": str(self._out)})
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--child"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=bc.ROOT)
        assert self._proc.stdin is not None
        self._proc.stdin.write(request)
        self._proc.stdin.close()

    def result(self, timeout: float) -> dict[str, Any]:
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            raise RuntimeError(f"the real {self.seconds:g} s work phase did not finish") from None
        stderr = self._proc.stderr.read() if self._proc.stderr else ""
        if self._proc.returncode != 0 or not self._out.exists():
            raise RuntimeError(f"the real work phase failed: {stderr.strip().splitlines()[-1:]}")
        data = json.loads(self._out.read_text())
        self._tmp.cleanup()
        return data


def start_real_phase(quick: bool) -> RealPhaseJob:
    return RealPhaseJob(10.0 if quick else 60.0)


def section_7(quick: bool, job: RealPhaseJob | None) -> Section:
    s = Section(7, "Timekeeping")
    job = job or start_real_phase(quick)
    sim = simulated_phase(60.0)
    real = job.result(timeout=job.seconds + 120)
    s.method = [
        f"Real: a whole session through `runner.run` with a real {real['seconds']:g} s work phase on "
        "the monotonic clock (milestones: halfway, a third and a sixth of the phase left, time up), "
        "the journal written as in a live session; the port answers at once and listens for commands "
        "with the real `Listener` on a quiet microphone that delivers 30 ms frames in real time, so "
        "the engine's `until` is checked between frames as in a live session. It ran in a child process alongside the "
        "other sections, so on a busy machine.",
        f"Simulated: a 60-minute work phase rehearsed on the simulated clock (halfway, 10 and 2 "
        f"minutes left, time up), with {sim['script']}.",
        "Error = when the engine announced the milestone (its journal event) minus when it was due "
        "by the schedule (work start + length - time left, pauses excluded, extensions included).",
    ]
    real_err = [m["error_ms"] for m in real["milestones"]]
    sim_err = [m["error_ms"] for m in sim["milestones"]]
    worst_real = max((abs(e) for e in real_err), default=float("nan"))
    worst_sim = max((abs(e) for e in sim_err), default=float("nan"))
    s.row(f"Largest milestone error, real {real['seconds']:g} s work phase ({len(real_err)} milestones)",
          "within 100 ms", f"{worst_real:.1f} ms", verdict(worst_real <= 100 and len(real_err) == 4))
    s.row(f"Largest milestone error, simulated 60-minute work phase ({len(sim_err)} milestones)",
          "within 100 ms", f"{worst_sim:.1f} ms", verdict(worst_sim <= 100 and len(sim_err) == 4))
    table = Table("Each milestone", ["session", "milestone", "due (s of work)", "error (ms)",
                                     "spoken (ms after due)"])
    for m in real["milestones"]:
        table.rows.append([f"real {real['seconds']:g} s", m["key"], f"{m['due_s']:.1f}", f"{m['error_ms']:+.1f}",
                           f"{m['said_ms']:+.1f}"])
    for m in sim["milestones"]:
        table.rows.append(["simulated 60 min", m["key"], f"{m['due_s']:.1f}", f"{m['error_ms']:+.3f}", ""])
    s.tables.append(table)
    s.notes.append("'Spoken' is when the runner handed the announcement to the port; a live session "
                   "then renders and plays it (section 4 measures that part).")
    return s


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"real_phase": real_phase})
