#!/usr/bin/env python3
"""Sweep ``CommandSpotter.judge`` settings on stored readings (no audio, no Whisper decoding).

    python scripts/spot_judge.py readings.pkl results.pkl [name=v1,v2 ...]

``results.pkl`` is ``spot_sweep.py replay --dump``'s (each task lists the readings the
spotter was asked for, in order). An approximation of a replay: a clip counts as recognized
when the first utterance accepted is the right command, and every utterance of talk accepted
counts (a 'yes' excepted), ignoring that acting on one would have changed what came next.
Weighing (``weigh``) replays only the phrase lists the collection weighed: sweep its floor and
margin here, not its phrase lists.
"""

from __future__ import annotations

import itertools
import os
import pickle
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["HF_HUB_OFFLINE"] = "1"


def main() -> None:
    from spot_sweep import weighed_key

    from assistant.config import load_config
    from assistant.session.commands import CommandParser, work_grammar
    from assistant.speech.spotter import CommandSpotter, command_table

    cache = pickle.loads(Path(sys.argv[1]).read_bytes())
    results = pickle.loads(Path(sys.argv[2]).read_bytes())
    grid = {k: [float(x) for x in v.split(",")] for k, v in (a.split("=") for a in sys.argv[3:])}
    config = load_config()
    parser = CommandParser(config.commands)
    spotter = CommandSpotter(command_table(parser, work_grammar(config.commands)), threads=1)
    base = spotter.settings
    from assistant.speech import soundalike

    missing = [0]

    weighings: dict[str, list[str]] = {}  # audio key -> its weighing keys
    for k in cache:
        if isinstance(k, str) and k.startswith("weighed:"):
            weighings.setdefault(k.split(":")[1], []).append(k)

    def stored(key: str, phrases: list[str]) -> dict[str, float]:
        scores = dict(cache.get("scores:" + key, ({}, 0))[0])
        for w in weighings.get(key, []):  # a phrase weighed is scored the same way
            scores = cache[w][0] | scores
        missing[0] += any(p not in scores for p in phrases)
        return {p: scores.get(p, float("-inf")) for p in phrases}

    def weighed(key: str, phrases: list[str]) -> dict[str, float]:
        found = cache.get(weighed_key(key, phrases))
        missing[0] += found is None
        return found[0] if found else {}

    def judge(key: str):  # noqa: ANN202 - Verdict
        return spotter.judge_rescored(cache[key][0], lambda near: stored(key, near),
                                      lambda every: weighed(key, every))

    for values in itertools.product(*grid.values()):
        chosen = dict(zip(grid, values))
        if "merge_max" in chosen:  # the matcher's own constant (soundalike.MERGE_MAX)
            soundalike.MERGE_MAX = chosen.pop("merge_max")
        spotter.settings = replace(base, **chosen)
        line = [", ".join(f"{k}={v}" for k, v in zip(grid, values)) or "defaults"]
        for cond in ("clean", "20 dB", "10 dB", "5 dB"):
            rows = [t for t in results["spotted"] if t["condition"] == cond]
            ok = wrong = 0
            for t in rows:
                for key in t["keys"]:
                    verdict = judge(key)
                    if verdict.phrase is None:
                        continue
                    command = parser.parse(verdict.phrase)
                    if command.intent.value == t["intent"] and (t["minutes"] is None or command.minutes == t["minutes"]):
                        ok += 1
                    else:
                        wrong += 1
                    break
            line.append(f"{cond} {ok / len(rows):.1%}/{wrong}")
        fired = []
        minutes = sum(c["seconds"] for c in results["chatter"]) / 60
        for c in results["chatter"]:
            for key in c["keys"]:
                verdict = judge(key)
                if verdict.phrase and parser.parse(verdict.phrase).intent.value != "confirm":
                    fired.append((verdict.phrase, verdict.heard, verdict.unbiased))
        line.append(f"false {len(fired)} in {minutes:.0f} min")
        if missing[0]:
            line.append(f"({missing[0]} decisions lacked stored scores)")
            missing[0] = 0
        print(" | ".join(line), flush=True)
        for f in fired:
            print("      ", f)


if __name__ == "__main__":
    main()
