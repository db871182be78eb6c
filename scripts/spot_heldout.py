#!/usr/bin/env python3
"""Talk near the commands that section 3's corpus does not hold: does the spotter take it?

    python scripts/spot_heldout.py [--conditions clean "20 dB" "10 dB"]

Forty lines a couple might say that sound like a command or use its words ("repeat the pattern",
"take another", "can't do that"), in five espeak-ng voices the benchmark does not use, each
decided by the default spotter (as if paused, the stricter case) on the utterance alone. It
prints every command taken, with the spotter's reason. A development aid, kept apart from the
benchmark so that its lines stay unseen while thresholds are chosen there: once a rule is tuned
on these, move the lines into ``bench_speech.MORE_TALK`` and write new ones here.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

LINES = [
    "can you cancel the order", "we should take a break now", "let's start the blue section",
    "say, that's a nice colour", "undo the knot for me", "the time is going fast", "how much soil is left",
    "give us a hand here", "add some more green", "stop that, it drips", "pause for a second", "note to self",
    "let's brief the neighbours", "begin with the door", "resume painting tomorrow", "end of the row",
    "what's the time in London", "continue the hedge", "repeat the pattern", "time to check the roses",
    "start the edging", "cancel the hose", "that took five minutes", "one more minute of sun",
    "undo that button", "say it once more", "a new hat", "can't do that", "in this season",
    "how much time did it take", "we must add more mulch", "later, the debris", "the brief was clear",
    "yes, stop there", "skip the corner", "what time is it now", "take another", "ten more minutes of this",
    "give it a minute", "let's re-do that",
]
"""Talk near the commands, none of it in section 3's corpus when written."""

VOICES = ["en+m4", "en-gb-x-rp+f5", "en-us+f5", "en-029+m1", "en-gb+m3"]
"""espeak-ng voices section 3 does not use."""

CONDITIONS = {"clean": None, "20 dB": 20.0, "10 dB": 10.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conditions", nargs="*", default=list(CONDITIONS), choices=list(CONDITIONS))
    args = ap.parse_args()
    from assistant.config import load_config
    from assistant.session.commands import CommandParser, work_grammar
    from assistant.speech.spotter import CommandSpotter, command_table

    config = load_config()
    parser = CommandParser(config.commands, config.listening.wake_word)
    spotter = CommandSpotter(command_table(parser, work_grammar(config.commands, config.listening.wake_word)))
    spotter.expect(("resume",))  # as if paused: "resume" is taken on less evidence
    rng = np.random.default_rng(3)
    taken: collections.Counter[str] = collections.Counter()
    heard = 0
    for condition in args.conditions:
        for voice in VOICES:
            for line in LINES:
                speech = bc.scale_to(bc.trim(bc.espeak(line, voice, 170)))
                audio = bc.embed(speech, CONDITIONS[condition], "pink", rng, lead=0.3, tail=0.3)
                verdict = spotter.decide(bc.to_int16(audio).tobytes())
                heard += 1
                if verdict.phrase:
                    taken[condition] += 1
                    print(f"taken  {condition:5} {voice:14} {line!r} -> {verdict.phrase!r}: {verdict.reason}",
                          flush=True)
    print(f"{sum(taken.values())} of {heard} hearings taken for a command: {dict(taken)}")


if __name__ == "__main__":
    main()
