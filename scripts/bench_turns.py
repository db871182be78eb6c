"""Section 8 of the benchmarks: turn-taking.

Two questions, each measured on the real code:

* Answers with a thinking pause inside (1.5-3 s): does Duet keep them whole? A corpus of
  answers spoken by several espeak-ng voices with a pause inside, and real LibriVox recordings
  cut at one of their own phrase breaks with 1.5-3 s of that recording's own room sound
  spliced in, is fed through the real ``Listener.capture_answer`` (real endpointer, real
  Whisper, the turn decision of turns.py) as fast as it can decode. Kept whole = one answer
  holds both parts (its transcript has words from the second part) and nothing is left over.
* The turn gap: end of a finished answer -> first sound of the next prompt, through the real
  audio path (a private PulseAudio daemon, as section 4): a session of questions in a child
  process, a partner playing finished answers into the virtual microphone, both devices
  recorded by their sample clocks.

The corpus is built here and nowhere else; the thresholds in turns.py were chosen on it, and
the tests use other sentences and voices.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section, Table, fmt, verdict  # noqa: E402

SAMPLE_RATE = 16_000

PAUSED = [
    ("honestly I felt", "a bit lost at first but then calm once we started mixing"),
    ("I think we were both a bit tired and", "the colours did not want to work with us"),
    ("what worked well was the way we", "shared the brushes without talking about it"),
    ("um", "I guess I noticed that I get impatient when the paint dries too slowly"),
    ("it was hard because", "we did not agree on the sky at all"),
    ("the best part was the", "moment the light came through the window"),
    ("we should probably start with the", "background next time and leave the details"),
    ("I was really", "proud of how the clouds turned out"),
    ("so", "our next step is to finish the hills before the weekend"),
    ("I felt a little anxious when", "you changed the plan without asking me"),
    ("to be honest I think", "we need more time for the sketch"),
    ("uh we could try", "painting outside if the weather stays warm"),
]
"""(first part, second part) of answers with a thinking pause between them."""

VOICES = ["en-us+f3", "en-us+m3", "en-gb", "en-us+f4"]
"""Several espeak-ng voices; the pauses cycle through 1.5 .. 3 s."""

FINISHED = [
    "I feel calm and ready to start",
    "We want to finish the blue sky today",
    "Mixing the colours went well",
    "The light changed too fast for us",
    "I noticed that I was happier when we talked",
    "Our next step is the hills",
]
"""Finished answers, for the turn gap."""


@dataclass
class PausedAnswer:
    """One answer with a pause inside, as 16 kHz float samples (int16 scale)."""

    name: str
    kind: str
    """``espeak`` or ``LibriVox`` (a real recording with a real pause spliced in)."""
    first: str
    second: str
    pause: float
    samples: np.ndarray


def pauses(n: int) -> list[float]:
    """``n`` pause lengths spread evenly over 1.5 .. 3 s."""
    return [1.5 + 1.5 * i / max(n - 1, 1) for i in range(n)]


def synthetic_answers(quick: bool) -> list[PausedAnswer]:
    pairs = [(p, v) for i, p in enumerate(PAUSED) for j, v in enumerate(VOICES) if (i + j) % 4 < 3]
    if quick:
        pairs = pairs[::6]
    out = []
    for k, ((first, second), voice) in enumerate(pairs):
        gap = pauses(len(pairs))[(k * 7) % len(pairs)]
        a = bc.scale_to(bc.trim(bc.espeak(first, voice, 160)))
        b = bc.scale_to(bc.trim(bc.espeak(second, voice, 160)))
        room = bc.noise("pink", int(gap * SAMPLE_RATE), np.random.default_rng(k)) * bc.dbfs_to_rms(-60)
        out.append(PausedAnswer(f"{voice}: {first} ...", "espeak", first, second, gap,
                                np.concatenate([a, room, b])))
    return out


def real_answers(quick: bool) -> list[PausedAnswer]:
    """LibriVox utterances cut at their own phrase breaks, with their own room sound spliced in.

    A cut goes where Whisper's word timings leave the widest gap between two words in the
    middle 60 % of the utterance (a breath, a comma); the second cut of each recording at the
    next widest. The pause added is the recording's quietest stretch, repeated to length.
    """
    from assistant.speech.asr_whisper import WhisperRecognizer

    whisper = WhisperRecognizer()
    recs = [r for r in bc.real_recordings() if r.group == "LibriVox"]
    out = []
    gaps = pauses(2 * len(recs))
    for n, rec in enumerate(recs[:2] if quick else recs):
        x = bc.pcm_array(rec.pcm)
        words = whisper.transcribe(rec.pcm).words
        total = len(x) / SAMPLE_RATE
        cands = sorted(((b.start - a.end, (a.end + b.start) / 2, i)
                        for i, (a, b) in enumerate(zip(words, words[1:]))
                        if 0.2 * total < a.end < 0.8 * total), reverse=True)
        room = _quietest(x)
        text = rec.text.split()
        for c, (_, cut_t, i) in enumerate(cands[:1 if quick else 2]):
            cut = int(cut_t * SAMPLE_RATE)
            gap = gaps[(2 * n + c) * 3 % len(gaps)]
            filler = np.resize(room, int(gap * SAMPLE_RATE))
            # the reference text split by word count (Whisper's words may differ in spelling)
            split = round(len(text) * (i + 1) / len(words))
            out.append(PausedAnswer(f"LibriVox {rec.name} cut {c + 1}", "LibriVox",
                                    " ".join(text[:split]), " ".join(text[split:]), gap,
                                    np.concatenate([x[:cut], filler, x[cut:]])))
    return out


def _quietest(x: np.ndarray, seconds: float = 0.25) -> np.ndarray:
    """The quietest ``seconds`` of a recording: its own room sound."""
    n = int(seconds * SAMPLE_RATE)
    levels = [bc.rms(x[i:i + n]) for i in range(0, len(x) - n, n // 2)]
    i = int(np.argmin(levels)) * (n // 2)
    return x[i:i + n]


def kept_whole(quick: bool, answers: str = "whisper") -> dict[str, Any]:
    """Child: every paused answer through the real Listener; what became of it."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.speech.engines import open_recognizer
    from assistant.speech.listener import Listener

    config = load_config()
    corpus = synthetic_answers(quick) + real_answers(quick)
    recognizer = open_recognizer(answers, threads=config.speech.threads)
    rows = []
    for item in corpus:
        lead = np.zeros(int(0.5 * SAMPLE_RATE))
        after = np.resize(_quietest(item.samples), int((config.listening.max_pause + 1.5) * SAMPLE_RATE))
        mic = bc.ArrayMic(bc.to_int16(np.concatenate([lead, item.samples, after])).tobytes())
        listener = Listener.from_config(mic, recognizer, recognizer, config.listening, clock=mic.now)
        got: list[str] = []
        try:
            while True:
                t = listener.capture_answer(timeout=30.0)
                if t is None:
                    break
                got.append(t.text)
        except bc.EndOfAudio:
            pass
        second = {w for w in _words(item.second) if len(w) > 3}
        whole = len(got) == 1 and bool(second & set(_words(got[0])))
        rows.append({"name": item.name, "kind": item.kind, "pause": item.pause, "answers": got,
                     "whole": whole, "said": f"{item.first} ... {item.second}"})
    return {"rows": rows, "engine": recognizer.name}


def _words(text: str) -> list[str]:
    import re
    return re.findall(r"[a-z']+", text.lower())


def main() -> None:
    quick = "--quick" in sys.argv
    data = kept_whole(quick)
    for r in data["rows"]:
        print(("WHOLE" if r["whole"] else "SPLIT"), f"{r['pause']:.1f}s", r["name"], "->", r["answers"])
    n = sum(r["whole"] for r in data["rows"])
    print(f"{n} of {len(data['rows'])} kept whole")


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"kept_whole": kept_whole})
elif __name__ == "__main__":
    main()
