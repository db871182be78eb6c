#!/usr/bin/env python3
"""Tune the turn-end decision (turns.py) on section 8's answers without decoding them again.

    python scripts/turn_sweep.py collect turns.pkl [--quick]
    python scripts/turn_sweep.py replay turns.pkl [--set min_confidence=0.5 ...] [--finishing "can't won't"]
                                                  [--near-ending -4.5] [--either]

``collect`` feeds every answer through the real ``Listener.capture_answer`` (real endpointer,
the default answer engine) with a turn policy that always waits ``max_pause``, so every stretch
of every answer is transcribed; it stores, per stretch, what ``TurnPolicy.pause_for`` is given
(text, confidence, other readings, end probability) and how much silence followed it before
the partner's voice was heard again. ``replay`` decides each answer again with any policy: the
turn ends at the first stretch whose silence reaches the pause the policy asks for. The sets:

- ``paused``: section 8's paused answers (espeak-ng voices and LibriVox cuts), kept whole when
  no stretch before the last ends the turn;
- ``held``: the same sentences in four espeak-ng voices section 8 does not use;
- ``finished``: section 8's finished sentences in all eight voices and every real recording;
  one waits when its last stretch is given ``max_pause``;
- ``short``: section 8's short answers in its seven voices, three lead-ins;
- ``halves``: the paused answers' first parts alone in six more voices, and LibriVox utterances
  cut after every word (some of those halves are whole sentences): waited on = ``max_pause``.

Finished and short answers are also said in the six more voices.

Each stretch is also heard a second time, as the Listener hears one read unsurely
(``listener.judged``); ``replay`` takes that reading where the policy would.

A development aid (its silence is read to the frame, so a decision within 30 ms of a pause's
length may differ from the Listener's): the figures that count are section 8's. ``--dump``
lists the answers whose outcome differs from the policy as it is in turns.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
import bench_turns as bt  # noqa: E402

HELD_VOICES = ["en+f2", "en-gb-x-rp+m2", "en-us+m1", "en+m4"]
"""espeak-ng voices section 8 does not use, for the held-out paused answers."""
MORE_VOICES = ["en-gb-scotland+m5", "en-us-nyc+f4", "en-gb-x-gbclan+m6", "en-gb-x-gbcwmd+f1",
               "en-us+m6", "en-029+m2"]
"""Voices neither section 8 nor the tests use: halves, finished and short answers in them."""
FRAME = 0.03


@dataclasses.dataclass
class Item:
    """One answer: its audio (16 kHz float, int16 scale) and what a good decision is."""

    set: str
    name: str
    samples: np.ndarray


def paused(voices: list[str], quick: bool) -> list[bt.PausedAnswer]:
    saved, bt.VOICES = bt.VOICES, voices
    try:
        return bt.synthetic_answers(quick)
    finally:
        bt.VOICES = saved


def corpus(quick: bool) -> list[Item]:
    items = [Item("paused", a.name, a.samples) for a in paused(bt.VOICES, quick) + bt.real_answers(quick)]
    items += [Item("held", a.name, a.samples) for a in paused(HELD_VOICES, quick)]
    step = 5 if quick else 1
    for first, _ in bt.PAUSED[::step]:
        for voice in MORE_VOICES:
            items.append(Item("halves", f"{voice}: {first} ...", bc.scale_to(bc.trim(bc.espeak(first, voice, 160)))))
    for rec in [r for r in bc.real_recordings() if r.group == "LibriVox"][::step]:
        x = bc.pcm_array(rec.pcm)
        words, bounds = bt._aligned(rec.pcm, rec.text)
        for i in range(1, len(bounds)):
            if tuple(words[i:i + 2]) not in bt.JOINED:
                items.append(Item("halves", f"LibriVox {rec.name}: {' '.join(words[:i + 1])} ...",
                                  x[:bt._quietest_near(x, bounds[i])]))
    for text in bt.FINISHED[::step]:
        for voice in bt.VOICES + HELD_VOICES + MORE_VOICES:
            items.append(Item("finished", f"{voice}: {text}", bc.scale_to(bc.trim(bc.espeak(text, voice, 160)))))
    for rec in bc.real_recordings()[::step]:
        items.append(Item("finished", f"{rec.group} {rec.name}: {rec.text}", bc.scale_to(bc.pcm_array(rec.pcm))))
    rng = np.random.default_rng(11)
    for text in bt.SHORT[::step]:
        for voice in bt.SHORT_VOICES + MORE_VOICES:
            x = bc.scale_to(bc.trim(bc.espeak(text, voice, 160)))
            for lead in bt.LEADS if voice in bt.SHORT_VOICES else bt.LEADS[1:2]:
                items.append(Item("short", f"{voice}: {text} (+{lead:g} s)",
                                  np.concatenate([bc.room_sound(int(lead * bt.SAMPLE_RATE), rng), x])))
    return items


class _Recorder:
    """A turn policy that always waits ``max_pause`` and keeps what each decision was given."""

    def __init__(self, policy: Any, clock: Any) -> None:
        self.end_pause, self.max_pause = policy.end_pause, policy.max_pause
        self._clock = clock
        self.calls: list[dict[str, Any]] = []

    def pause_for(self, text: str, confidence: float | None = None, *, readings: Any = (),
                  end_probability: float | None = None, opening: bool = False) -> float:
        scores = {r: next((v for k, v in _SCORED.items() if r.endswith(k)), None) for r in readings}
        call = {"text": text, "confidence": confidence, "readings": list(readings),
                "going_on": {r: v for r, v in scores.items() if v is not None},
                "end_probability": end_probability, "at": self._clock()}
        if self.calls and self.calls[-1]["at"] == call["at"]:  # no audio since: heard again
            self.calls[-1]["again"] = call  # (``listener.judged``)
        else:
            self.calls.append(call)
        return self.max_pause

    def unsure_only(self, *args: Any, **kwargs: Any) -> bool:
        return True  # every stretch is heard again: the replay decides which reading counts

    def long_end_pause(self, pause: float, seconds: float) -> float:
        return pause  # always ``max_pause`` already


def _stretches(item: Item, recognizer: Any, config: Any) -> list[dict[str, Any]]:
    """Each stretch's decision inputs and the silence after it (inf after the last)."""
    from assistant.speech import listener as ls
    from assistant.speech.vad import SpeechEnded, SpeechStarted

    events: list[tuple[str, float, float]] = []  # (kind, endpointer time, event time)

    class Timed(ls.Endpointer):
        def feed(self, pcm: bytes) -> list[Any]:
            out = super().feed(pcm)
            for e in out:
                if isinstance(e, SpeechStarted):
                    events.append(("start", self.time, e.onset_time))
                elif isinstance(e, SpeechEnded):
                    events.append(("end", self.time, e.end_time))
            return out

    lead = np.zeros(int(0.5 * bt.SAMPLE_RATE))
    n = int((config.listening.max_pause + 1.5) * bt.SAMPLE_RATE)
    # a paused answer's own quietest stretch follows it (as in section 8); the others are
    # trimmed speech, whose quietest stretch may be a word: room sound follows them
    after = (np.resize(bt._quietest(item.samples), n) if item.set in ("paused", "held", "halves")
             else bc.room_sound(n, np.random.default_rng(len(item.samples))))
    mic = bc.ArrayMic(bc.to_int16(np.concatenate([lead, item.samples, after])).tobytes())
    listener = ls.Listener.from_config(mic, recognizer, recognizer, config.listening, clock=mic.now)
    recorder = _Recorder(listener._turns, mic.now)
    listener._turns = recorder
    saved, ls.Endpointer = ls.Endpointer, Timed
    try:
        listener.capture_answer(timeout=30.0)
    except bc.EndOfAudio:
        pass
    finally:
        ls.Endpointer = saved
    ends = [e for e in events if e[0] == "end"]
    starts = [e for e in events if e[0] == "start"]
    tail = min(ls.ANSWER_TAIL, recorder.end_pause)
    rows = []
    for call, end in zip(recorder.calls, ends):
        silence_from = end[2] - tail
        later = [s[1] for s in starts if s[1] > end[1]]
        call["silence"] = (later[0] - FRAME - silence_from) if later else float("inf")
        rows.append(call)
    return rows


GOING_ON_OPEN = -8.0
"""While collecting, going-on readings are kept down to this score (``asr_moonshine.NEAR_ENDING``
is -4.0), each with its score, so that ``replay --near-ending`` can try another threshold."""
_SCORED: dict[str, float] = {}
"""Each going-on reading decoded while collecting -> its score against what was read."""


def _scoring_going_on(recognizer: Any) -> None:
    """Moonshine's going-on readings kept down to ``GOING_ON_OPEN``, their scores noted."""
    from assistant.speech import asr_moonshine as am

    if not isinstance(recognizer, am.MoonshineRecognizer):
        return
    am.NEAR_ENDING = GOING_ON_OPEN
    scored = recognizer._going_on

    def going_on(*args: Any) -> list[tuple[str, float]]:
        readings = scored(*args)
        _SCORED.update((text, score) for text, score in readings if score >= GOING_ON_OPEN)
        return readings

    recognizer._going_on = going_on


def collect(path: Path, quick: bool) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.speech.engines import open_recognizer

    config = load_config()
    recognizer = open_recognizer(config.speech.answers, threads=config.speech.threads)
    _scoring_going_on(recognizer)
    items = corpus(quick)
    out = []
    began = time.monotonic()
    for n, item in enumerate(items, 1):
        out.append({"set": item.set, "name": item.name, "stretches": _stretches(item, recognizer, config)})
        if n % 20 == 0 or n == len(items):
            print(f"  {n}/{len(items)} answers ({time.monotonic() - began:.0f} s)", file=sys.stderr)
    path.write_bytes(pickle.dumps({"engine": recognizer.name, "answers": out}))


NEAR_ENDING = [-4.0]
"""The going-on readings replayed: those scoring at least this (``asr_moonshine.NEAR_ENDING``)."""


def _readings(stretch: dict[str, Any]) -> list[str]:
    scored = stretch.get("going_on", {})
    return [r for r in stretch["readings"] if scored.get(r, 0.0) >= NEAR_ENDING[0]]


def _transcript(stretch: dict[str, Any] | None) -> Any:
    from assistant.speech.asr import Transcript

    if stretch is None:
        return Transcript("")
    return Transcript(stretch["text"], confidence=stretch["confidence"], readings=tuple(_readings(stretch)),
                      end_probability=stretch["end_probability"])


EITHER = [False]
"""``replay --either``: a stretch also waits when its second hearing (10 ms later) sounds
unfinished, sure of its words or not; the first hearing's unsureness alone is still settled by
the second (``listener.judged``)."""


def outcome(answer: dict[str, Any], policy: Any) -> tuple[int, bool]:
    """(stretches in the answer the turn ends with, did its end wait ``max_pause``)."""
    from assistant.speech.listener import judged

    for i, s in enumerate(answer["stretches"]):
        _, needed = judged(policy, _transcript(s), lambda: _transcript(s.get("again")), opening=i == 0)
        if EITHER[0] and needed < policy.max_pause and (again := _transcript(s.get("again"))).text.strip() and policy.pause_for(
                again.text, None, readings=again.readings, end_probability=again.end_probability,
                opening=i == 0) >= policy.max_pause:
            needed = policy.max_pause
        if needed <= s["silence"]:
            return i + 1, needed >= policy.max_pause
    return len(answer["stretches"]), True


def good(answer: dict[str, Any], policy: Any) -> bool:
    """Whether ``policy`` decides ``answer`` well. Paused and held: kept whole; finished and
    short: not kept waiting; a half alone: waited on (the turn must not end soon)."""
    used, waited = outcome(answer, policy)
    whole = used == len(answer["stretches"])
    if answer["set"] == "halves":
        return whole and waited
    return whole if answer["set"] in ("paused", "held") else not waited


def tally(answers: list[dict[str, Any]], policy: Any) -> dict[str, tuple[int, int]]:
    """Per set: (good, total), as ``good`` judges each answer."""
    out: dict[str, list[int]] = {}
    for a in answers:
        if not a["stretches"]:
            continue
        good_one = good(a, policy)
        out.setdefault(a["set"], [0, 0])
        out[a["set"]][0] += good_one
        out[a["set"]][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def replay(path: Path, settings: list[str], finishing: str, near_ending: float, dump: bool,
           waits: bool, either: bool = False) -> None:
    from assistant.speech import turns

    data = pickle.loads(path.read_bytes())
    base = turns.TurnPolicy()
    changes = {k: float(v) for k, v in (s.split("=", 1) for s in settings)}
    policy = dataclasses.replace(base, **changes)
    words = {"as is": turns.FINISHING_WORDS, "tried": turns.FINISHING_WORDS | frozenset(finishing.split())}

    ending = {"as is": -4.0, "tried": near_ending}

    def decided(policy: Any, finishing: str, how: Any, *args: Any) -> Any:
        turns.FINISHING_WORDS, NEAR_ENDING[0] = words[finishing], ending[finishing]
        EITHER[0] = either and finishing == "tried"
        try:
            return how(*args, policy)
        finally:
            turns.FINISHING_WORDS, NEAR_ENDING[0] = words["as is"], ending["as is"]
            EITHER[0] = False

    before = decided(base, "as is", tally, data["answers"])
    after = decided(policy, "tried", tally, data["answers"])
    print(f"engine {data['engine']}; {changes or 'as in turns.py'}"
          f"{'; finishing + ' + finishing if finishing else ''}; going-on readings from {near_ending}"
          f"{'; either hearing' if either else ''}")
    for name, label in (("paused", "paused kept whole"), ("held", "held-out paused kept whole"),
                        ("halves", "halves alone waited on"),
                        ("finished", "finished, not kept waiting"), ("short", "short, not kept waiting")):
        if name in after:
            print(f"  {label:32s} {before[name][0]:3d} -> {after[name][0]:3d} of {after[name][1]}")
    if dump:
        for a in data["answers"]:
            if not a["stretches"]:
                continue
            old = decided(base, "as is", outcome, a)
            new = decided(policy, "tried", outcome, a)
            if old != new or (waits and new[1] and a["set"] in ("finished", "short")):
                print(f"  [{a['set']}] {a['name']}: {old} -> {new}")
                for s in a["stretches"]:
                    print(f"      {s['text']!r} conf={s['confidence']} end={s['end_probability']} "
                          f"silence={s['silence']:.2f} readings={_readings(s)} going-on={s.get('going_on')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["collect", "replay"])
    parser.add_argument("path", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--finishing", default="", help="words added to turns.FINISHING_WORDS")
    parser.add_argument("--near-ending", type=float, default=-4.0,
                        help="going-on readings scoring at least this are replayed (collected down to -8)")
    parser.add_argument("--dump", action="store_true", help="list the answers whose outcome changed")
    parser.add_argument("--waits", action="store_true", help="with --dump: also every finished or short answer that waits")
    parser.add_argument("--either", action="store_true", help="a stretch waits when either hearing sounds unfinished")
    args = parser.parse_args()
    if args.action == "collect":
        collect(args.path, args.quick)
    else:
        replay(args.path, args.set, args.finishing, args.near_ending, args.dump, args.waits, args.either)


if __name__ == "__main__":
    main()
