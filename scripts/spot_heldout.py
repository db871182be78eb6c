#!/usr/bin/env python3
"""Talk near the commands that section 3's corpus does not hold: does the spotter take it?

    python scripts/spot_heldout.py [--lines first|third] [--conditions clean "20 dB" "10 dB"] [--set name=value ...]

Forty lines a couple might say that sound like a command or use its words ("the paws on that
dog", "take a nap later", "undo the last row"), in five espeak-ng voices the benchmark does not
use, each decided by the default spotter (as if just paused, the stricter case) on the utterance alone. It
prints every command taken, with the spotter's reason. A development aid, kept apart from the
benchmark so that its lines stay unseen while thresholds are chosen there: once a rule is tuned
on these, move the lines into ``bench_speech.MORE_TALK`` (or, for lines that sound like a
command, ``NEAR_SOUND_TALK``) and write new ones here.
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
    "the paws on that dog are muddy", "we need a new roller", "stop at the corner",
    "how much time do the bulbs need", "add a little yellow", "take a nap later",
    "a note of lemon in the green", "consume less paint", "cancel the second coat",
    "undo the last row", "say that to your sister", "start the border first",
    "let's brief the kids tomorrow", "the session ran long", "resume the weeding after lunch",
    "continue along the fence", "repeat it on the other side", "what's the time there",
    "time to tidy up", "give us some shade", "add nine more bulbs", "five minutes ago it was dry",
    "one minute it's sunny", "yes, that shade", "end the stripe here", "skip that bit",
    "pass the trowel", "the debris goes in the bin", "he's taking notes", "the time flew",
    "how much is left in the bag", "stop the roller", "let's take a look", "notable",
    "nope, not there", "yep", "we cancelled the trip", "undo the tie there", "start again",
    "what's left to plant",
]
"""Talk near the commands, none of it in section 3's corpus. (The lines held out before these
are in ``bench_speech.MORE_TALK`` now.)"""

VOICES = ["en-us+Annie", "en-gb+Andy", "en+steph", "en-us+edward", "en-gb-scotland+Alicia"]
"""espeak-ng voices section 3 does not use, nor did the lines held out before."""

THIRD_LINES = [
    "how much light is left", "how much tape is left", "how much line is left", "take a boat",
    "take a coat", "pours", "costume", "I sent my resume", "it continued for hours",
    "a repeat offender", "rebate that", "candle that", "undo the knot", "and do that after lunch",
    "end the lesson", "stop the kettle", "start the grill", "begin the relief", "let's be brief",
    "they said that again", "give us ten more bulbs", "add five metres", "add one more layer",
    "yes, the top", "the timetable", "no doubt", "not now", "the museum", "what a mess it is",
    "the pose is wrong",
]
"""A third set, written when the second joined section 3's talk (``bench_speech.NEAR_SOUND_TALK``)
and before any rule was tried on that talk."""

THIRD_VOICES = ["en-us+Michael", "en-gb+Auntie", "en+Robert", "en-us+shelby", "en-gb-x-rp+Paul"]
"""espeak-ng voices used nowhere else."""

SETS = {"first": (LINES, VOICES), "third": (THIRD_LINES, THIRD_VOICES)}

CONDITIONS = {"clean": None, "20 dB": 20.0, "10 dB": 10.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conditions", nargs="*", default=list(CONDITIONS), choices=list(CONDITIONS))
    ap.add_argument("--set", nargs="*", default=[], help="spotter settings to try, name=value")
    ap.add_argument("--lines", choices=list(SETS), default="first", help="which held-out set")
    args = ap.parse_args()
    from dataclasses import replace

    from assistant.config import load_config
    from assistant.session.commands import CommandParser, work_grammar
    from assistant.speech.spotter import CommandSpotter, command_table
    from bench_speech import AWAITED_MOST
    from spot_sweep import settings_from

    config = load_config()
    parser = CommandParser(config.commands, config.listening.wake_word)
    spotter = CommandSpotter(command_table(parser, work_grammar(config.commands, config.listening.wake_word)))
    spotter.settings = replace(spotter.settings, **settings_from(args.set))
    spotter.expect(AWAITED_MOST)  # as if just paused: "resume" and "cancel" are taken on less evidence
    rng = np.random.default_rng(3)
    taken: collections.Counter[str] = collections.Counter()
    heard = 0
    for condition in args.conditions:
        lines, voices = SETS[args.lines]
        for voice in voices:
            for line in lines:
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
