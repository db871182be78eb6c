#!/usr/bin/env python3
"""Duet on a family of voices no threshold was chosen on: flite's (Debian ``flite``).

    python scripts/heldout_voices.py [--quick] [--only commands talk answers] [--json FILE]

Every threshold of the command spotter and of the turn policy was chosen on espeak-ng voices and
the real recordings here. flite (CMU's synthesizer; its slt, rms and awb voices are statistical,
kal16 is a diphone voice) makes speech another way, so it tells how far those choices carry to
voices they were not chosen on. Three checks, each through the real ``Listener`` as the benchmark
runs it:

- **commands**: section 3's phrases in four flite voices at 140 and 200 words a minute, clean and
  in 20, 10 and 5 dB of white or pink noise: recognized, and taken for another command;
- **talk**: section 3's talk lines, each in two flite voices, joined into stretches clean and in
  pink noise (as section 3 joins them), decided as if paused: false commands, with the words;
- **answers**: section 8's paused answers (kept whole?), finished sentences and short answers
  (kept waiting ``max_pause``?) in the four voices, decided by turn_sweep's replay of the policy.

A check kept apart from tuning, like ``spot_heldout.py``: a rule chosen on these would make them
one more corpus, and another family would be needed. About 8 minutes on two cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
import bench_speech as bs  # noqa: E402
import bench_turns as bt  # noqa: E402
import turn_sweep as ts  # noqa: E402

VOICES = ["flite:slt", "flite:rms", "flite:awb", "flite:kal16"]
"""flite's English voices as Debian builds them in (``flite -lv``; awb_time and 8 kHz kal left out)."""
RATES = [140, 200]
CHECKS = ("commands", "talk", "answers")


def command_tasks(quick: bool) -> list[dict[str, Any]]:
    """Section 3's clips, said in flite's voices."""
    from assistant.config import load_config

    phrases = bs.command_phrases(load_config())
    rng = np.random.default_rng(5)
    jobs = [(p, v, r) for p in phrases for v in VOICES[: 2 if quick else 4] for r in RATES[: 1 if quick else 2]]
    tasks = []
    for i, (p, voice, rate) in enumerate(jobs):
        level = bc.scale_to(bc.synthesize(p["phrase"], voice, rate))
        for condition, snr in bs.CONDITIONS:
            mixed = bc.embed(level, snr, "pink" if i % 2 else "white", rng)
            tasks.append({"phrase": p["phrase"], "voice": voice, "rate": rate, "condition": condition,
                          "intent": p["intent"], "minutes": p["minutes"], "speech": bs._speech_span(level),
                          "pcm": bc.to_int16(mixed).tobytes()})
    return tasks


def talk_tasks(quick: bool) -> list[dict[str, Any]]:
    """Section 3's talk lines, each in two flite voices at a pace drawn for it, in stretches."""
    lines = [line for line in bs.CHATTER + bs.MORE_TALK if line.strip()][:: 4 if quick else 1]
    pyrng = random.Random(3)
    pieces = [(f"{voice}: {line}", bc.scale_to(bc.synthesize(line, voice, pyrng.choice([150, 170, 190, 210]))))
              for i, line in enumerate(lines) for voice in (VOICES[i % 4], VOICES[(i + 2) % 4])]
    order = list(range(len(pieces)))
    random.Random(11).shuffle(order)
    return bs._stretches(pieces, order, np.random.default_rng(7), 120.0)


def spotting(checks: list[str], quick: bool) -> dict[str, Any]:
    """The commands and talk checks, on two worker processes as section 3 runs them."""
    out: dict[str, Any] = {}
    if "commands" not in checks and "talk" not in checks:
        return out
    with cf.ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), initializer=bs._worker_init,
                                initargs=("spotter",)) as pool:
        if "commands" in checks:
            spotted = list(pool.map(bs._spot, command_tasks(quick), chunksize=8))
            out["commands"] = {}
            for condition, _ in bs.CONDITIONS:
                rows = [r for r in spotted if r["condition"] == condition]
                right = sum(bs.recognized(r) for r in rows)
                wrong = sum(r["intent_got"] is not None and not bs.recognized(r) for r in rows)
                out["commands"][condition] = {"clips": len(rows), "right": right, "wrong": wrong}
        if "talk" in checks:
            talked = list(pool.map(bs._chatter, talk_tasks(quick)))
            out["talk"] = {"minutes": sum(t["seconds"] for t in talked) / 60,
                           "false": [{"condition": t["condition"], "heard": f["heard"] or f["text"],
                                      "command": f["intent"]} for t in talked for f in t["fired"]]}
    return out


def answers(quick: bool) -> dict[str, Any]:
    """Section 8's answers in flite's voices, decided as turn_sweep decides them."""
    from assistant.config import load_config
    from assistant.speech import turns
    from assistant.speech.engines import open_recognizer

    config = load_config()
    recognizer = open_recognizer(config.speech.answers, threads=config.speech.threads)
    ts._scoring_going_on(recognizer)
    step = 4 if quick else 1
    items = [ts.Item("paused", a.name, a.samples) for a in ts.paused(VOICES, quick)]
    items += [ts.Item("finished", f"{v}: {t}", bc.scale_to(bc.trim(bc.synthesize(t, v))))
              for t in bt.FINISHED[::step] for v in VOICES]
    rng = np.random.default_rng(11)
    items += [ts.Item("short", f"{v}: {t}", np.concatenate([bc.room_sound(int(bt.LEADS[1] * bt.SAMPLE_RATE), rng),
                                                            bc.scale_to(bc.trim(bc.synthesize(t, v)))]))
              for t in bt.SHORT[::step] for v in VOICES]
    policy = turns.TurnPolicy(end_pause=config.listening.trailing_silence, max_pause=config.listening.max_pause)
    out: dict[str, Any] = {}
    for item in items:
        stretches = ts._stretches(item, recognizer, config)
        if not stretches:
            continue
        good = ts.good({"set": item.set, "stretches": stretches}, policy)
        row = out.setdefault(item.set, {"good": 0, "total": 0, "missed": []})
        row["good"] += good
        row["total"] += 1
        if not good:
            row["missed"].append(f"{item.name}: " + " | ".join(repr(s["text"]) for s in stretches))
    return out


def report(results: dict[str, Any]) -> None:
    if "commands" in results:
        print("commands recognized (wrong command):")
        for condition, row in results["commands"].items():
            print(f"  {condition:6} {row['right'] / row['clips']:6.1%} of {row['clips']} ({row['wrong']} wrong)")
    if "talk" in results:
        talk = results["talk"]
        print(f"talk: {len(talk['false'])} false commands in {talk['minutes']:.1f} min")
        for f in talk["false"]:
            print(f"  {f['condition']:6} {f['heard']!r} -> {f['command']}")
    labels = {"paused": "paused answers kept whole", "finished": "finished answers not kept waiting",
              "short": "short answers not kept waiting"}
    for name, row in results.get("answers", {}).items():
        print(f"{labels[name]}: {row['good']} of {row['total']}")
        for line in row["missed"]:
            print(f"  {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller sample (about a quarter)")
    ap.add_argument("--only", nargs="*", choices=CHECKS, default=list(CHECKS))
    ap.add_argument("--json", type=Path, help="also write the results here, for programs")
    args = ap.parse_args()
    if shutil.which("flite") is None:
        print("flite is not installed: sudo apt-get install flite", file=sys.stderr)
        sys.exit(2)
    os.environ["HF_HUB_OFFLINE"] = "1"
    began = time.monotonic()
    results = spotting(args.only, args.quick)
    if "answers" in args.only:
        results["answers"] = answers(args.quick)
    results["seconds"] = time.monotonic() - began
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
