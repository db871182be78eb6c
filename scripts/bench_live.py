"""Section 4 of the benchmarks: latency through the real audio path.

A private PulseAudio daemon (``scripts/virtual_audio.sh``) gives a virtual microphone and
speaker. In a child process pointed at it, a real session runs through ``runner.run`` with the
real ``LivePort``: ``Microphone`` (sounddevice -> PortAudio -> ALSA -> PulseAudio), ``Listener``
with the configured engines, ``Voice`` (pyttsx3/espeak-ng) and ``Speaker``. A partner thread
plays prepared speech into the microphone with ``paplay`` whenever Duet listens, and a helper
process records the speaker.

Both devices are recorded by helper processes (``Recorder``) timed by their sample clocks; the
end of a command is the end of its last loud 10 ms as the microphone captured it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section, Table, fmt, median, verdict  # noqa: E402

LOUD = 300.0
"""RMS (int16) of a 10 ms window that counts as sound."""
QUIET_BEFORE_SPEAKING = 0.6
"""The partner waits this long after Duet stops speaking."""

LAST_MIC_SILENCE: dict[str, Any] = {}
"""The real-microphone silence measurement made in section 4's child, for section 5."""


# ---- the private PulseAudio daemon -----------------------------------------------------------------


class PrivateAudio:
    """A PulseAudio daemon of our own (its own runtime folder), stopped by its pid."""

    def __init__(self) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
            raise RuntimeError("PulseAudio is not installed (scripts/setup.sh --test installs it)")
        self.dir = Path(tempfile.mkdtemp(prefix="duet-bench-pulse-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        self.env.update(PULSE_RUNTIME_PATH=str(self.dir), PULSE_SERVER=f"unix:{self.dir}/native")
        subprocess.run(["bash", str(bc.SCRIPTS / "virtual_audio.sh"), "start", str(self.dir)], check=True,
                       capture_output=True, env=self.env, timeout=30)

    def stop(self) -> None:
        subprocess.run(["bash", str(bc.SCRIPTS / "virtual_audio.sh"), "stop", str(self.dir)], check=False,
                       capture_output=True, env=self.env, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def _window_rms(pcm: bytes) -> np.ndarray:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = len(x) // 160
    return np.sqrt(np.mean(np.square(x[: n * 160].reshape(n, 160)), axis=1)) if n else np.zeros(0)


class Recorder:
    """Records one PulseAudio source in a helper process, timed by its sample clock.

    The helper (``--record``, ``PULSE_SOURCE`` set) counts samples and notes when each 10 ms block
    arrived. Sample n was captured at ``offset + n / 16000``, where ``offset`` is the smallest
    (arrival - samples so far / 16000) over all blocks: a block can arrive late (buffering,
    scheduling), never early, so the least delayed block fixes the clock. PortAudio's own
    capture timestamps are not used: through the ALSA pulse plugin they were measured here to jump
    by hundreds of milliseconds.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.levels: list[float] = []  # rms of each 10 ms, in order
        self._offset = float("inf")
        env = dict(os.environ, PULSE_SOURCE=source)
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--record"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, env=env)
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"could not record {source}")
        self._thread = threading.Thread(target=self._read, daemon=True, name=f"record-{source}")
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            arrival, *levels = line.split()
            self.levels += [float(x) for x in levels]
            self._offset = min(self._offset, float(arrival) - len(self.levels) * 0.01)

    def windows(self) -> list[tuple[float, float]]:
        """(capture time of the end of each 10 ms, rms)."""
        return [(self._offset + (i + 1) * 0.01, level) for i, level in enumerate(list(self.levels))]

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._thread.join(timeout=5)


def _record_main() -> None:
    import queue

    import sounddevice as sd

    blocks: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        blocks.put((time.monotonic(), bytes(indata)))

    with sd.RawInputStream(samplerate=16000, channels=1, dtype="int16", blocksize=160, callback=callback):
        print("ready", flush=True)
        while True:
            arrival, pcm = blocks.get()
            levels = _window_rms(pcm)
            sys.stdout.write(f"{arrival:.5f} " + " ".join(f"{x:.0f}" for x in levels) + "\n")
            sys.stdout.flush()


class TapMic:
    """The real Microphone, noting when Duet mutes it (and until when)."""

    def __init__(self, mic: Any) -> None:
        self.mic = mic
        self.mutes: list[tuple[float, float]] = []  # (when asked, until)

    def read(self, timeout: float) -> Any:
        return self.mic.read(timeout)

    def mute_until(self, t: float) -> None:
        self.mutes.append((time.monotonic(), t))
        self.mic.mute_until(t)

    def reopen(self) -> None:
        self.mic.reopen()

    def close(self) -> None:
        self.mic.close()


# ---- the child: a live session with a partner -------------------------------------------------------


def _wav(folder: Path, name: str, text: str, voice: str) -> Path:
    speech = bc.scale_to(bc.espeak(text, voice, 165))
    return bc.write_wav(folder / f"{name}.wav", np.concatenate([np.zeros(1600), speech, np.zeros(800)]))


def live_session(quick: bool) -> dict[str, Any]:
    """Child (pointed at the private daemon): a session with a partner; every timestamp."""
    with tempfile.TemporaryDirectory(prefix="duet-bench-live-") as tmp:  # its WAVs and journal
        return _live_session(quick, Path(tmp))


def _live_session(quick: bool, tmp: Path) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.journal import Journal
    from assistant.session.clock import MonotonicClock
    from assistant.session.engine import SessionEngine, rotate_roles
    from assistant.session.records import ResumePoint
    from assistant.session.runner import new_session, run
    from assistant.speech.listener import Listener
    from assistant.speech.live import LivePort, open_engines
    from assistant.speech.mic import Microphone
    from assistant.speech.voice import Speaker, Voice

    base = load_config()
    checkin = ["How are you feeling?"] if quick else list(base.checkin.questions)
    config = base.model_copy(update={
        "partners": ["Alex", "Sam"],
        "checkin": base.checkin.model_copy(update={"questions": checkin}),
        "debrief": base.debrief.model_copy(update={"questions": ["What worked well?"],
                                                  "together": [] if quick else ["What is our next step?"]}),
        "work": base.work.model_copy(update={"minutes": 30}),
        "listening": base.listening.model_copy(update={"answer_timeout": 10}),
        # --quick: Duet talks faster so the run stays short; no latency below depends on it
        "voice": base.voice.model_copy(update={"rate": 300 if quick else base.voice.rate}),
    })
    answers = [_wav(tmp, "a0", "calm and ready to paint", "en-us+f3"), _wav(tmp, "a1", "skip", "en-us+m3"),
               _wav(tmp, "a2", "a bit tired but happy", "en-us+f3"), _wav(tmp, "a3", "pass", "en-us+m3")]
    say = {"time": "how much time is left", "pause": "pause", "resume": "resume",
           "debrief": "start the debrief", "stop": "stop the session", "yes": "yes"}
    # "stop the session" asks first; the "yes" that confirms it is timed like any command. A
    # session's few commands make a noisy median: the full run times eight
    order = ["time", "stop", "yes"] if quick else \
        ["time", "pause", "resume", "time", "pause", "resume", "time", "debrief"]

    def voiced(name: str, key: str) -> tuple[str, str, list[Path]]:
        """A command as (key, text, its WAV in each voice, tried in turn until Duet acts)."""
        return key, say[key], [_wav(tmp, f"{name}{v}", say[key], voice)
                               for v, voice in enumerate(("en-us+f3", "en+f2", "en-us+m3"))]

    commands = [voiced(f"c{i}", key) for i, key in enumerate(order)]
    debrief_answers = [_wav(tmp, "d0", "skip", "en-us+m3"), _wav(tmp, "d1", "pass", "en-us+f3"),
                       _wav(tmp, "d2", "skip", "en+f2")]
    noise_wav = bc.write_wav(tmp / "room.wav", bc.room_sound(16000 * 40, np.random.default_rng(2)))

    t0 = time.perf_counter()
    engines = open_engines(config)
    load_s = time.perf_counter() - t0
    mic = Microphone(None)
    mic.open()
    tap = TapMic(mic)
    listening = config.listening
    listener = Listener.from_config(tap, engines.answers, engines.commands, listening)

    # the cost of listening to a quiet room through the real microphone, in real time (before
    # the recorders start: their reader threads live in this process)
    seconds = 4.0 if quick else 30.0  # the row sits near its bound: a longer look is steadier
    room = subprocess.Popen(["paplay", "-d", "micsink", str(noise_wav)])
    time.sleep(0.3)
    # steady state: first hear out the blocks queued since the microphone opened
    listener.next_command(time.monotonic() + 0.5)
    cpu0, wall0 = time.process_time(), time.monotonic()
    listener.next_command(time.monotonic() + seconds)
    silence = {"cpu_share": (time.process_time() - cpu0) / (time.monotonic() - wall0), "seconds": seconds,
               "rss_mb": bc.rss_mb(), "peak_mb": bc.peak_rss_mb(), "load_s": load_s,
               "label": f"{engines.answers.name} + {engines.commands.name}"}
    room.terminate()
    room.wait()
    speaker_rec, mic_rec = Recorder("speaker.monitor"), Recorder("mic")

    log: list[dict[str, Any]] = []
    state = {"listening": None, "since": 0.0, "done": False}
    lock = threading.Lock()

    class TimedPort(LivePort):
        def say(self, text: str) -> None:
            t = time.monotonic()
            super().say(text)
            with lock:
                log.append({"what": "say", "text": text, "t": t, "done": time.monotonic()})
                state["listening"] = None

        def _listen(self, kind: str, call: Any, action: Any) -> Any:
            with lock:
                state["listening"], state["since"] = kind, time.monotonic()
            enter = time.monotonic()
            event = call(action)
            with lock:
                state["listening"] = None
                log.append({"what": kind, "t": enter, "return": time.monotonic(), "event": type(event).__name__,
                            "text": getattr(event, "text", "")})
            return event

        def listen_answer(self, action: Any) -> Any:
            return self._listen("answer", super().listen_answer, action)

        def listen_commands(self, action: Any) -> Any:
            return self._listen("commands", super().listen_commands, action)

    port = TimedPort(Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume),
                     Speaker(None), tap, listener, mute_tail=listening.mute_tail, show=lambda line: None)
    played: list[dict[str, Any]] = []

    quiet = 0.4 if quick else QUIET_BEFORE_SPEAKING

    # when a command goes unheard in every voice (a missed "resume" leaves the session paused),
    # the partner ends the session as a person would, so the run does not wait out the work phase
    rescue = [voiced("r0", "stop"), voiced("r1", "yes")]

    def partner() -> None:
        pending_answers = answers[1:2] if quick else answers[: 2 * len(checkin)]
        pending_debrief = list(debrief_answers)
        pending_commands = list(commands)
        missed = False  # a command went unheard in every voice
        deadline = time.monotonic() + (120 if quick else 400)
        while time.monotonic() < deadline and not state["done"]:
            time.sleep(0.02)
            with lock:
                kind, since = state["listening"], state["since"]
                last_said = max((e["done"] for e in log if e["what"] == "say"), default=0.0)
            if kind is None or time.monotonic() - max(since, last_said) < quiet:
                continue
            if kind == "answer":
                queue = pending_answers if pending_answers else pending_debrief
                if not queue:
                    continue
                wav, key, text, tries = queue.pop(0), "answer", "", [None]
                tries = [wav]
            else:
                if not pending_commands and missed and rescue:
                    pending_commands += rescue
                    rescue.clear()
                if not pending_commands:
                    continue
                key, text, tries = pending_commands.pop(0)
            for attempt, wav in enumerate(tries):
                heard_before = sum(1 for e in log if e["what"] == kind and e["event"] == "Heard")
                start = time.monotonic()
                subprocess.run(["paplay", "-d", "micsink", str(wav)], check=True, timeout=30)
                end = time.monotonic()
                played.append({"kind": kind, "key": key, "text": text, "start": start, "end": end,
                               "attempt": attempt, "wav": wav.name})
                wait_until = time.monotonic() + (8.0 if kind == "answer" else 2.5)
                while time.monotonic() < wait_until:
                    if sum(1 for e in log if e["what"] == kind and e["event"] == "Heard") > heard_before:
                        break
                    time.sleep(0.02)
                else:
                    missed = missed or (kind == "commands" and attempt == len(tries) - 1)
                    continue  # not acted on: try the next voice
                break

    thread = threading.Thread(target=partner, daemon=True, name="partner")
    journal = Journal(tmp / "journal.json")
    if quick:  # start at the second check-in question: one question, fewer words before the work
        roles = rotate_roles(config.partners, None)
        recorder = journal.begin(config.partners, roles, MonotonicClock().wall().isoformat(), 1800.0)
        engine = SessionEngine(config, recorder, MonotonicClock(), roles,
                               resume=ResumePoint(phase="checkin", next_seq=1))
    else:
        engine = new_session(config, journal, MonotonicClock())
    thread.start()
    try:
        status = run(engine, port)
    finally:
        stop_rig(state, journal, mic, thread, speaker_rec, mic_rec)
    return {"status": status, "silence": silence,
            "results": _measure(played, log, tap, speaker_rec.windows(), mic_rec.windows()),
            "load_s": load_s, "engines": silence["label"], "peak_mb": bc.peak_rss_mb()}


def stop_rig(state: dict[str, Any], journal: Any, mic: Any, partner: threading.Thread,
             *recorders: Recorder) -> None:
    """End a measured live session: tell the partner thread, close the journal, let the last
    sound reach the recorders, stop them and the microphone, and wait for the partner."""
    state["done"] = True
    journal.close()
    time.sleep(0.3)
    for recorder in recorders:
        recorder.stop()
    mic.close()
    partner.join(timeout=5)


def _measure(played: list[dict[str, Any]], log: list[dict[str, Any]], tap: TapMic,
             speaker: list[tuple[float, float]], heard: list[tuple[float, float]]) -> dict[str, Any]:
    """Latencies from the timestamps: command and answer ends to acting, speaking; questions to listening."""
    def first_loud_after(windows: list[tuple[float, float]], t: float) -> float | None:
        return next((end - 0.01 for end, level in windows if end > t and level > LOUD), None)

    def last_loud_between(windows: list[tuple[float, float]], t0: float, t1: float) -> float | None:
        found = None
        for end, level in windows:
            if end > t1:
                break
            if end > t0 and level > LOUD:
                found = end
        return found

    out: dict[str, Any] = {"commands": [], "answers": [], "questions": [], "missed": 0}
    for k, p in enumerate(played):
        until = played[k + 1]["start"] if k + 1 < len(played) else p["end"] + 10
        acted = next((e for e in log if e["what"] == p["kind"] and e["event"] == "Heard"
                      and p["start"] < e["return"] < until), None)
        if acted is None:
            out["missed"] += 1
            continue
        speech_end = last_loud_between(heard, p["start"], min(acted["return"], p["end"] + 1.0))
        if speech_end is None:
            out["missed"] += 1
            continue
        said = next((e for e in log if e["what"] == "say" and e["t"] >= acted["return"]), None)
        reply = first_loud_after(speaker, said["t"]) if said else None
        out["commands" if p["kind"] == "commands" else "answers"].append({
            "key": p["key"], "heard": acted["text"], "act_ms": (acted["return"] - speech_end) * 1000,
            "say_ms": (said["t"] - speech_end) * 1000 if said else None,
            "reply_ms": (reply - speech_end) * 1000 if reply else None,
            "paplay_end_ms": (p["end"] - speech_end) * 1000, "attempt": p["attempt"]})
    for i, e in enumerate(log):
        if e["what"] != "say" or not e["text"].rstrip().endswith("?"):
            continue
        nxt = next((x for x in log[i + 1:] if x["what"] in ("answer", "commands")), None)
        if nxt is None or nxt["what"] != "answer":
            continue
        end = last_loud_between(speaker, e["t"], e["done"] + 0.2)
        mute = next((u for asked, u in tap.mutes if asked >= e["t"]), None)
        if end is None or mute is None:
            continue
        listening_at = max(mute, nxt["t"])
        out["questions"].append({"question": e["text"], "listen_ms": (listening_at - end) * 1000,
                                 "play_returned_ms": (e["done"] - end) * 1000})
    return out


def mic_silence_cost(seconds: float) -> dict[str, Any]:
    """Section 5's real-microphone figure: from section 4's run, else measured now."""
    if LAST_MIC_SILENCE:
        return LAST_MIC_SILENCE
    audio = PrivateAudio()
    try:
        data = bc.run_child("bench_live", "live_session", {"quick": True}, timeout=180, env=audio.env)
    finally:
        audio.stop()
    LAST_MIC_SILENCE.update(data["silence"])
    return LAST_MIC_SILENCE


def section_4(quick: bool) -> Section:
    from assistant.speech.listener import SPECULATE_AFTER

    s = Section(4, "Latency through the real audio path")
    audio = PrivateAudio()
    try:
        data = bc.run_child("bench_live", "live_session", {"quick": quick}, timeout=240 if quick else 600,
                            env=audio.env)
    finally:
        audio.stop()
    LAST_MIC_SILENCE.update(data["silence"])
    r = data["results"]
    s.method = [
        "A private PulseAudio daemon (`scripts/virtual_audio.sh`) with a virtual microphone and speaker; "
        "a real session runs through `runner.run` and the real `LivePort` (`Microphone` -> sounddevice -> "
        f"PortAudio -> ALSA -> PulseAudio; `Listener` with {data['engines']}; `Voice` (pyttsx3/espeak-ng) "
        "and `Speaker`). A partner thread waits until Duet listens and has been quiet for "
        f"{0.4 if quick else QUIET_BEFORE_SPEAKING} s, then plays espeak-ng speech (-26 dBFS) into the microphone with "
        "`paplay`: answers to the check-in questions, then commands, then answers in the debrief.",
        "Both virtual devices are recorded by helper processes timed by their sample clocks (see "
        "`Recorder` in scripts/bench_live.py). End of speech = end of the last loud 10 ms (RMS > 300) "
        "of the utterance as the microphone captured it. Acts = the port hands the engine `Heard` (the runner calls the engine at once). "
        "Say = the runner hands the engine's `Say` to the port. First reply sample = first loud 10 ms "
        "captured on speaker.monitor. Question to listening = end "
        "of the question on speaker.monitor to the later of the microphone's unmute time (playback "
        "end + `mute_tail`) and the moment `capture_answer` starts.",
    ]
    cmds, answers, questions = r["commands"], r["answers"], r["questions"]

    def stat(rows: list[dict[str, Any]], key: str) -> tuple[float, float, int]:
        vals = [x[key] for x in rows if x.get(key) is not None]
        return median(vals), max(vals) if vals else float("nan"), len(vals)

    act = stat(cmds, "act_ms")
    # issue 10's bound (section 3 holds its 95th percentile on many clips; a session has a few)
    s.row("Command end -> Duet acts (median)", "<= 350 ms (issue 10)",
          f"{act[0]:.0f} ms (max {act[1]:.0f}, n={act[2]})", verdict(act[0] <= 350 if act[2] else None))
    say = stat(cmds, "say_ms")
    s.row("Command end -> engine emits Say (median)", "(info)", f"{say[0]:.0f} ms (max {say[1]:.0f})", "info")
    reply = stat(cmds, "reply_ms")
    s.row("Command end -> first sample of the spoken reply (median)", "(info)",
          f"{reply[0]:.0f} ms (max {reply[1]:.0f})", "info")
    q = stat(questions, "listen_ms")
    s.row("Question end -> listening (median)", "(info)", f"{q[0]:.0f} ms (max {q[1]:.0f}, n={q[2]})", "info")
    a = stat(answers, "act_ms")
    s.row("Answer end -> Duet acts (median)", "(info)", f"{a[0]:.0f} ms (max {a[1]:.0f}, n={a[2]})", "info")
    s.row("Peak resident memory over the live session (default engines, microphone, voice, journal)",
          "<= 250 MB (issue 11)", f"{data['peak_mb']:.0f} MB", verdict(data["peak_mb"] <= 250))
    table = Table("Each command and answer (ms after the end of the speech)",
                  ["said", "heard as", "acts", "Say", "first reply sample", "paplay returned"])
    for x in cmds + answers:
        table.rows.append([x["key"], x["heard"], fmt(x["act_ms"], 0), fmt(x["say_ms"], 0), fmt(x["reply_ms"], 0),
                           fmt(x["paplay_end_ms"], 0)])
    s.tables.append(table)
    qt = Table("Each question (ms after its last sample on the speaker)",
               ["question", "listening", "playback call returned"])
    for x in questions:
        qt.rows.append([x["question"], fmt(x["listen_ms"], 0), fmt(x["play_returned_ms"], 0)])
    s.tables.append(qt)
    s.notes.append(f"Session ended '{data['status']}'; {r['missed']} utterance(s) played were not acted on "
                   "(a command the grammar recognizer missed is played again in another voice).")
    s.notes.append("Where the time goes: the built-in spotter decides a command once a pause reaches 0.25 s "
                   f"(`Listener`'s `quick_silence`; its decoding starts after {SPECULATE_AFTER:g} s of the pause), so 'acts' "
                   "cannot be below 0.25 s plus what is left of the decoding (other engines wait for "
                   "`listening.command_silence`, 0.5 s in config.yaml, then recognize); an answer ends "
                   "after `trailing_silence` (0.5 s) when it sounds finished, up to `max_pause` (3.5 s) when "
                   "not (turns.py; section 8), and is transcribed during the pause. The reply "
                   "is rendered by a pyttsx3 child process before it plays.")
    return s


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"live_session": live_session})
elif __name__ == "__main__" and "--record" in sys.argv:
    _record_main()
