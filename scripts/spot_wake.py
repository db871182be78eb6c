#!/usr/bin/env python3
"""Does the built-in spotter hear commands said after a wake word, and only those?

    python scripts/spot_wake.py [WAKE_WORD ...]      (default: computer duet; "none": no wake word)

Seven commands said after each wake word ("computer, pause") and five lines of talk near the
commands said without it, in four espeak-ng voices, clean and in pink noise at 20 and 10 dB
SNR, each decided by the default spotter on the utterance alone (as ``duet run`` would with
``listening.wake_word`` set). Prints the misses and a line per condition: commands heard (the
right command, wake word required) and talk taken. The figures in docs/spotter-tuning.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

COMMANDS = ["pause", "how much time is left", "add five minutes", "cancel that", "start the debrief",
            "take a note", "resume"]
TALK = ["take another", "pause for a second", "how much soil is left", "what's the time there",
        "repeat the pattern"]
VOICES = ["en-us+m3", "en-gb+Andy", "en+steph", "en-029+f4"]
CONDITIONS = {"clean": None, "20 dB": 20.0, "10 dB": 10.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wake_words", nargs="*", default=["computer", "duet"])
    args = ap.parse_args()
    from assistant.config import load_config
    from assistant.session.commands import CommandParser, work_grammar
    from assistant.speech.spotter import CommandSpotter, command_table

    config = load_config()
    for wake in args.wake_words:
        woken = None if wake == "none" else wake
        parser = CommandParser(config.commands, woken)
        spotter = CommandSpotter(command_table(parser, work_grammar(config.commands, woken)))
        rng = np.random.default_rng(3)
        for condition, snr in CONDITIONS.items():
            heard = said = taken = 0
            for voice in VOICES:
                commands = [f"{woken}, {c}" if woken else c for c in COMMANDS]
                for line in commands + TALK:
                    speech = bc.scale_to(bc.trim(bc.espeak(line, voice, 170)))
                    audio = bc.embed(speech, snr, "pink", rng, lead=0.3, tail=0.3)
                    verdict = spotter.decide(bc.to_int16(audio).tobytes())
                    got = parser.parse(verdict.phrase, require_wake_word=True) if verdict.phrase else None
                    if line in commands:
                        said += 1
                        want = parser.parse(line, require_wake_word=True)
                        heard += got == want
                        if got != want:
                            print(f"  missed {condition:5} {voice:10} {line!r}: read {verdict.heard!r}")
                    elif got is not None:
                        taken += 1
                        print(f"  TAKEN  {condition:5} {voice:10} {line!r} as {verdict.phrase!r}")
            print(f"{wake!r} {condition}: {heard} of {said} commands heard, {taken} of "
                  f"{len(VOICES) * len(TALK)} lines of talk taken", flush=True)


if __name__ == "__main__":
    main()
