"""Section 8 of the benchmarks: turn-taking.

Two questions, each measured on the real code:

* Answers with a thinking pause inside (1.5-3 s): does Duet keep them whole? A corpus of
  answers spoken by several espeak-ng voices with a pause inside, and real LibriVox recordings
  cut between two of their own words with 1.5-3 s of that recording's own room sound
  spliced in, is fed through the real ``Listener.capture_answer`` (real endpointer, the
  default answer engine, the turn decision of turns.py) as fast as it can decode. Kept whole = one answer
  holds both parts (its transcript has words from the second part) and nothing is left over.
* The turn gap: end of a finished answer -> first sound of the next prompt, through the real
  audio path (a private PulseAudio daemon, as section 4): a session of questions in a child
  process, a partner playing finished answers into the virtual microphone, both devices
  recorded by their sample clocks.

The corpus is built here and nowhere else; the thresholds in turns.py were chosen on it, and
the tests use other sentences and voices.

Alone: ``python scripts/bench_turns.py`` (the paused answers), ``--gaps`` (the turn gap; with
``DUET_BENCH_LOG=FILE`` the listener's log of what each turn decision was given goes there, to
see why an answer waited), ``--barge-in`` (the paused answers live with barge-in on).
"""

from __future__ import annotations

import logging
import os
import subprocess
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
    ("by the end I was a little", "sad that we had to stop"),
    ("to me it looked like", "we were painting the same picture"),
]
"""(first part, second part) of answers with a thinking pause between them."""

VOICES = ["en-us+f3", "en-us+m3", "en-gb", "en-us+f4"]
"""Several espeak-ng voices; the pauses cycle through 1.5 .. 3 s."""

SHORT = ["Happy", "Nervous", "Calm", "So", "Tired but hopeful", "Good I think",
         "Excited and ready to paint"]
"""Short answers, as partners often give them to "how are you feeling?"."""
SHORT_VOICES = VOICES + ["en+f2", "en-gb-x-rp+m2", "en-us+m1"]
LEADS = (0.0, 0.1, 0.2)
"""Room sound (s) before the answer: where speech begins in the audio the engine gets varies
with the voice detector's onset."""

FINISHED = [
    "I feel calm and ready to start",
    "We want to finish the blue sky today",
    "Mixing the colours went well",
    "The light changed too fast for us",
    "I noticed that I was happier when we talked",
    "Our next step is the hills",
    "We only talked a little",
    "We can paint whatever we like",
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
    resumes: float = 0.0
    """Seconds into ``samples`` where the second part begins."""


def pauses(n: int) -> list[float]:
    """``n`` pause lengths spread evenly over 1.5 .. 3 s."""
    return [1.5 + 1.5 * i / max(n - 1, 1) for i in range(n)]


def synthetic_answers(quick: bool) -> list[PausedAnswer]:
    pairs = [(p, v) for i, p in enumerate(PAUSED) for j, v in enumerate(VOICES) if (i + j) % 4 < 3]
    if quick:
        pairs = pairs[::9]
    out = []
    for k, ((first, second), voice) in enumerate(pairs):
        gap = pauses(len(pairs))[(k * 7) % len(pairs)]
        a = bc.scale_to(bc.trim(bc.synthesize(first, voice, 160)))
        b = bc.scale_to(bc.trim(bc.synthesize(second, voice, 160)))
        room = bc.room_sound(int(gap * SAMPLE_RATE), np.random.default_rng(k))
        out.append(PausedAnswer(f"{voice}: {first} ...", "espeak", first, second, gap,
                                np.concatenate([a, room, b]), (len(a) + len(room)) / SAMPLE_RATE))
    return out


LONG = [
    ("I'm feeling pretty good today", "a bit tired from work this week", "but excited to get back to the mural"),
    ("We finished the outline of the boats", "the water still needs a second coat", "and the sky is only half done"),
    ("Honestly the morning was hard", "I couldn't find the right green", "once we mixed it together it got easier"),
    ("Talking first worked well", "we agreed on the colours before we started", "so nobody had to paint over anything"),
    ("I noticed I get quiet when I'm tired", "that is not about you", "I just need a moment to myself"),
    ("Next time we should start earlier", "the light is better in the morning", "and we could finish the trees"),
]
"""Long answers: three phrases, each one a partner could stop after, said with the pauses of
someone telling something (``LONG_GAPS``), not thinking pauses."""
LONG_GAPS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LONG_REAL = [(("0880", "0890"), 0.6), (("0920", "0930"), 0.8), (("0870", "0880"), 0.7), (("0890", "0920", "0930"), 0.5)]
"""LibriVox sentences that follow one another in the book, trimmed, with the recording's own room
sound between them."""


def long_answers(quick: bool) -> list[PausedAnswer]:
    """Answers of several phrases with 0.5-1.0 s between them (``LONG``, ``LONG_REAL``): kept
    whole = one answer holding words of the last phrase."""
    out = []
    pairs = [(t, v) for i, t in enumerate(LONG) for j, v in enumerate(VOICES) if (i + j) % 2 == 0]
    for k, (phrases, voice) in enumerate(pairs[:2] if quick else pairs):
        parts = [bc.scale_to(bc.trim(bc.synthesize(p, voice, 160))) for p in phrases]
        gaps = [LONG_GAPS[(k + n) % len(LONG_GAPS)] for n in range(len(parts) - 1)]
        rooms = [bc.room_sound(int(g * SAMPLE_RATE), np.random.default_rng(100 + k + n)) for n, g in enumerate(gaps)]
        out.append(_spliced(f"{voice}: {' / '.join(phrases)}", "long", parts, rooms, max(gaps), phrases))
    recs = {r.name: r for r in bc.real_recordings() if r.group == "LibriVox"}
    for names, gap in LONG_REAL[:1] if quick else LONG_REAL:
        parts = [_voiced(bc.scale_to(bc.pcm_array(recs[n].pcm))) for n in names]
        room = np.resize(_quietest(bc.pcm_array(recs[names[0]].pcm)), int(gap * SAMPLE_RATE))
        texts = [recs[n].text for n in names]
        out.append(_spliced(f"LibriVox {'+'.join(names)}", "long", parts, [room] * (len(parts) - 1), gap, texts))
    return out


def _voiced(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """``x`` from its first to its last frame the answers' voice detector calls voiced (and
    ``margin`` either side): the recordings' room sound is above ``bc.trim``'s threshold, and
    0.2-0.5 s of it at their ends made the pauses between them longer than said."""
    from assistant.speech.vad import FRAME_BYTES, Endpointer

    pcm, detector = bc.to_int16(x).tobytes(), Endpointer(aggressiveness=2)
    voiced = [i for i in range(len(pcm) // FRAME_BYTES)
              if detector._is_voiced(pcm[i * FRAME_BYTES:(i + 1) * FRAME_BYTES])]
    frame, pad = FRAME_BYTES // 2, int(margin * SAMPLE_RATE)
    return x[max(0, voiced[0] * frame - pad):(voiced[-1] + 1) * frame + pad] if voiced else x


def _spliced(name: str, kind: str, parts: list[np.ndarray], gaps: list[np.ndarray], longest: float,
             texts: Any) -> PausedAnswer:
    joined = [x for part, gap in zip(parts, [*gaps, np.zeros(0)]) for x in (part, gap)]
    last = len(np.concatenate(joined[:-2])) / SAMPLE_RATE
    return PausedAnswer(name, kind, " ... ".join(texts[:-1]), texts[-1], longest, np.concatenate(joined), last)


CUT_AT = (0.5, 0.35)
"""Where the LibriVox answers are cut, as shares of their length (the first only in --quick)."""
JOINED = {("ill", "disposed"), ("cold", "hearted")}
"""Word pairs the book hyphenates (the transcripts drop the hyphen): not cut apart."""


def real_answers(quick: bool) -> list[PausedAnswer]:
    """LibriVox utterances cut between two of their own words, with their own room sound spliced in.

    The words' bounds come from pocketsphinx aligning the recording to its own text (forced
    alignment, 10 ms frames). The cuts go at the word boundaries nearest ``CUT_AT`` of the
    utterance's length: where in a sentence a partner stops to think is not chosen by how the
    words sound, so neither is the cut (the quietest boundary, tried first, mostly fell after
    "might", "not", "have": words after which turns.py waits anyway). Whisper's word timings,
    used before, put most words back to back, and most cuts fell inside a word ("prudent|ly").
    The pause added is the recording's quietest stretch, repeated to length.
    """
    recs = [r for r in bc.real_recordings() if r.group == "LibriVox"]
    out = []
    gaps = pauses(2 * len(recs))
    for n, rec in enumerate(recs[:1] if quick else recs):
        x = bc.pcm_array(rec.pcm)
        words, bounds = _aligned(rec.pcm, rec.text)
        total = len(x) / SAMPLE_RATE
        room = _quietest(x)
        for c, share in enumerate(CUT_AT[:1 if quick else 2]):
            i = min((k for k in range(len(bounds)) if tuple(words[k:k + 2]) not in JOINED),
                    key=lambda k: abs(bounds[k] - share * total))
            cut = _quietest_near(x, bounds[i])
            gap = gaps[(2 * n + c) * 3 % len(gaps)]
            filler = np.resize(room, int(gap * SAMPLE_RATE))
            out.append(PausedAnswer(f"LibriVox {rec.name} cut {c + 1}", "LibriVox",
                                    " ".join(words[:i + 1]), " ".join(words[i + 1:]), gap,
                                    np.concatenate([x[:cut], filler, x[cut:]]), (cut + len(filler)) / SAMPLE_RATE))
    return out


def _aligned(pcm: bytes, text: str) -> tuple[list[str], list[float]]:
    """(the text's words, the time each word ends and the next begins), by pocketsphinx forced
    alignment of ``pcm`` to ``text``."""
    import re

    from pocketsphinx import Decoder

    words = re.findall(r"[a-z']+", text.lower())
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    spoken = [seg for seg in decoder.seg() if not seg.word.startswith(("<", "["))]
    if len(spoken) != len(words):
        raise RuntimeError(f"pocketsphinx aligned {len(spoken)} of {len(words)} words of {text!r}")
    # a word's end and the next one's start share a boundary (or a silence between them)
    bounds = [(a.end_frame + 1 + b.start_frame) / 200 for a, b in zip(spoken, spoken[1:])]
    return words, bounds


def _level_at(x: np.ndarray, t: float, seconds: float) -> float:
    """RMS level of the ``seconds`` around time ``t``."""
    i = int(t * SAMPLE_RATE)
    half = int(seconds * SAMPLE_RATE / 2)
    return bc.rms(x[max(0, i - half):i + half])


def _quietest_near(x: np.ndarray, t: float, within: float = 0.03, step: float = 0.005) -> int:
    """The sample nearest ``t`` (a word boundary, to 10 ms) where the 10 ms around it are
    quietest, looking ``within`` either side: the cut lands between the words' sounds."""
    times = np.arange(t - within, t + within + 1e-9, step)
    best = min(times, key=lambda u: _level_at(x, u, 0.01))
    return int(best * SAMPLE_RATE)


def _quietest(x: np.ndarray, seconds: float = 0.1) -> np.ndarray:
    """The quietest ``seconds`` of a recording: its own room sound.

    0.1 s, not longer: the LibriVox recordings are cut close around the speech, and in two of
    them every 0.25 s holds the tail of a word, which the voice detector takes for speech
    when repeated (their "pause" was no pause, and after them the answer never ended)."""
    n = int(seconds * SAMPLE_RATE)
    levels = [bc.rms(x[i:i + n]) for i in range(0, len(x) - n, n // 2)]
    i = int(np.argmin(levels)) * (n // 2)
    return x[i:i + n]


def kept_whole(quick: bool, answers: str | None = None) -> dict[str, Any]:
    """Child: every paused answer through the real Listener; what became of it."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.speech.engines import open_recognizer
    from assistant.speech.listener import Listener

    config = load_config()
    corpus = synthetic_answers(quick) + real_answers(quick) + long_answers(quick)
    recognizer = open_recognizer(answers or config.speech.answers, threads=config.speech.threads)
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
        if item.kind == "long":  # words of the last phrase alone: "might ... made amiable" twice
            second -= set(_words(item.first))
        whole = len(got) == 1 and bool(second & set(_words(got[0])))
        rows.append({"name": item.name, "kind": item.kind, "pause": item.pause, "answers": got,
                     "whole": whole, "said": f"{item.first} ... {item.second}"})
    return {"rows": rows, "engine": recognizer.name}


def _finished_wavs(folder: Path, quick: bool) -> list[tuple[Path, str]]:
    """Finished answers as WAV files: espeak-ng voices, and real recordings (LibriVox, cards)."""
    items: list[tuple[np.ndarray, str]] = []
    synth = [(t, v) for i, t in enumerate(FINISHED) for j, v in enumerate(VOICES) if (i + j) % 2 == 0]
    for text, voice in synth[:1] if quick else synth:
        items.append((bc.scale_to(bc.trim(bc.espeak(text, voice, 160))), f"{voice}: {text}"))
    real = [r for r in bc.real_recordings() if r.group in ("LibriVox", "cards")]
    for r in real[:1] if quick else real:
        items.append((bc.scale_to(bc.pcm_array(r.pcm)), f"{r.group} {r.name}: {r.text}"))
    out = []
    for i, (x, label) in enumerate(items):
        out.append((bc.write_wav(folder / f"answer{i}.wav",
                                 np.concatenate([np.zeros(1600), x, np.zeros(1600)])), label))
    return out


def heard_as_nothing(quick: bool) -> dict[str, Any]:
    """Child: short answers (and sounds without speech) through the answer engine's stream, as
    the listener hands them over: how many answers come back empty ("(no answer)"), and how
    many wordless sounds come back as words. For Moonshine, the same clips again with plain
    greedy decoding (no ``NOTHING_SAID`` rule), for comparison."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.config import load_config
    from assistant.speech import asr_moonshine
    from assistant.speech.engines import open_recognizer
    from assistant.speech.listener import judged_answer, transcribe_answer
    from assistant.speech.turns import TurnPolicy

    config = load_config()
    recognizer = open_recognizer(config.speech.answers, threads=config.speech.threads)
    rng = np.random.default_rng(11)

    def room(seconds: float) -> np.ndarray:
        return bc.room_sound(int(seconds * SAMPLE_RATE), rng)

    said = [(bc.scale_to(bc.trim(bc.espeak(t, v, 160))), f"{v}: {t}")
            for t in (SHORT[:2] if quick else SHORT) for v in (SHORT_VOICES[:2] if quick else SHORT_VOICES)]
    said += [(bc.scale_to(bc.pcm_array(r.pcm)), f"{r.group} {r.name}")
             for r in bc.real_recordings()[:2 if quick else None]]
    clips = [(np.concatenate([room(lead), x, room(0.3)]), f"{label} (+{lead:g} s)")
             for x, label in said for lead in (LEADS[::2] if quick else LEADS)]
    sounds = [(np.concatenate([room(0.2), _sound(kind, rng), room(0.2)]), kind)
              for kind in (SOUNDS if quick else SOUNDS * 6)]

    policy = TurnPolicy(end_pause=config.listening.trailing_silence, max_pause=config.listening.max_pause)
    waits: list[bool] = []

    def heard(items: list[tuple[np.ndarray, str]], listener: bool = True, turns: bool = False) -> list[str]:
        out = []
        for x, _ in items:
            pcm = bc.to_int16(x).tobytes()
            if listener:
                if turns:  # and the pause the Listener would wait after it
                    t, pause = judged_answer(recognizer, pcm, policy)
                    if pause is not None:
                        waits.append(pause >= policy.max_pause)
                else:
                    t = transcribe_answer(recognizer, pcm)
                out.append(t.text)
                continue
            stream = recognizer.stream()
            stream.accept(pcm)
            out.append(stream.finish().text)
        return out

    result = {"engine": recognizer.name, "clips": [label for _, label in clips],
              "answers": heard(clips, turns=True), "short_waits": waits,
              "engine_answers": heard(clips, listener=False),
              "sounds": [label for _, label in sounds], "sound_words": heard(sounds)}
    if isinstance(recognizer, asr_moonshine.MoonshineRecognizer):
        rule, asr_moonshine.NOTHING_SAID = asr_moonshine.NOTHING_SAID, 1e-12
        try:
            result["plain_answers"] = heard(clips, listener=False)
        finally:
            asr_moonshine.NOTHING_SAID = rule
    return result


SOUNDS = ["hiss", "rumble", "clicks", "hum", "breath"]
"""Sounds without speech that get past a voice detector now and then."""


def _said(clip: str, heard: str) -> bool:
    """Whether ``heard`` holds the words of the short answer in ``clip``'s label ("voice: text (+lead)")."""
    said = clip.split(": ", 1)[-1].rsplit(" (+", 1)[0]
    return bool(_words(said)) and set(_words(said)) <= set(_words(heard))


def _sound(kind: str, rng: np.random.Generator) -> np.ndarray:
    """0.4-2.5 s of ``kind`` at a level a room might have (-40 to -20 dBFS)."""
    n = int(rng.uniform(0.4, 2.5) * SAMPLE_RATE)
    level = bc.dbfs_to_rms(rng.uniform(-40, -20))
    if kind in ("hiss", "rumble"):
        return bc.noise("white" if kind == "hiss" else "pink", n, rng) * level
    if kind == "clicks":
        x = bc.room_sound(n, rng)
        for at in rng.integers(0, n - 200, 4):
            x[at:at + 200] += rng.normal(0, 8000, 200) * np.exp(-np.arange(200) / 30)
        return x
    if kind == "hum":
        return np.sin(2 * np.pi * rng.uniform(80, 300) * np.arange(n) / SAMPLE_RATE) * level * 1.4
    swell = np.sin(np.pi * np.arange(n) / n) ** 2  # a breath: smoothed noise swelling and fading
    return np.convolve(bc.noise("white", n, rng), np.ones(8) / 8, "same") * swell * level * 2


def live_gaps(quick: bool) -> dict[str, Any]:
    """Child (pointed at the private daemon): check-in questions answered by a partner through
    the virtual microphone; every timestamp of answers and prompts."""
    with tempfile.TemporaryDirectory(prefix="duet-bench-turns-") as tmp:  # its WAVs and journal
        return _live_gaps(quick, Path(tmp))


def _live_gaps(quick: bool, tmp: Path) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    if os.environ.get("DUET_BENCH_LOG"):  # the listener's turn decisions, for a gap that waited
        logging.basicConfig(filename=os.environ["DUET_BENCH_LOG"], level=logging.DEBUG,
                            format="%(relativeCreated)d %(name)s %(message)s")
    from bench_live import LOUD, Recorder

    from assistant.config import load_config

    wavs = _finished_wavs(tmp, quick)
    questions = ["How are you feeling?", "What do you hope for today?", "What is on your mind?",
                 "What would make today good?", "What are you curious about?",
                 "What worries you a little?", "What are you looking forward to?",
                 "What did you bring with you today?", "What colour is your mood?",
                 "What do you need from your partner?", "What is one word for now?"]
    n_questions = (len(wavs) + 1) // 2
    base = load_config()
    config = base.model_copy(update={
        "partners": ["Alex", "Sam"],
        "checkin": base.checkin.model_copy(update={"questions": questions[:n_questions]}),
        "listening": base.listening.model_copy(update={"answer_timeout": 15}),
    })
    engines, mic, listener = _open_rig(config)
    speaker_rec, mic_rec = Recorder("speaker.monitor"), Recorder("mic")
    log: list[dict[str, Any]] = []
    state: dict[str, Any] = {"listening": False, "done": False}

    port = _timed_port(config, mic, listener, log, state)
    played: list[dict[str, Any]] = []
    thread = _partner(wavs, log, state, played)
    _run_checkin(config, port, tmp, thread, state, mic, speaker_rec, mic_rec)
    speaker, heard = speaker_rec.windows(), mic_rec.windows()
    rows = []
    for k, p in enumerate(played):
        ends = [end for end, level in heard if p["start"] < end <= p["end"] + 0.3 and level > LOUD]
        said = next((e for e in log if e["what"] == "say" and e["t"] > p["start"]), None)
        answer = next((e for e in log if e["what"] == "answer" and e["t"] > p["start"]), None)
        if not ends or said is None:
            rows.append({"label": p["item"], "gap": None, "heard": answer and answer["text"]})
            continue
        first = next((end - 0.01 for end, level in speaker if end > said["t"] and level > LOUD), None)
        rows.append({"label": p["item"], "heard": answer["text"] if answer else "",
                     "gap": None if first is None else first - ends[-1],
                     "decided": answer["t"] - ends[-1] if answer else None})
    return {"rows": rows, "engine": engines.answers.name}


def _open_rig(config: Any) -> tuple[Any, Any, Any]:
    """The default engines, the (virtual) microphone opened, and a ``Listener`` on them, as
    ``duet run`` builds them."""
    from assistant.speech.listener import Listener
    from assistant.speech.live import open_engines
    from assistant.speech.mic import Microphone

    engines = open_engines(config)
    mic = Microphone(None)
    mic.open()
    return engines, mic, Listener.from_config(mic, engines.answers, engines.commands, config.listening)


def _timed_port(config: Any, mic: Any, listener: Any, log: list[dict[str, Any]],
                state: dict[str, Any], **options: Any) -> Any:
    """The real ``LivePort`` (``options`` passed on), logging when each prompt was said (and
    whether a partner going on stopped it) and each answer taken (and whether it continues the
    last); ``state["listening"]`` is True while it listens for a new answer."""
    from assistant.speech.live import LivePort
    from assistant.speech.voice import Speaker, Voice

    class TimedPort(LivePort):
        def say(self, text: str) -> None:
            t = time.monotonic()
            super().say(text)
            log.append({"what": "say", "text": text, "t": t, "done": time.monotonic(),
                        "stopped": self._continuing is not None})

        def listen_answer(self, action: Any) -> Any:
            state["listening"], state["since"] = self._continuing is None, time.monotonic()
            event = super().listen_answer(action)
            state["listening"] = False
            log.append({"what": "answer", "t": time.monotonic(), "text": getattr(event, "text", ""),
                        "continues": getattr(event, "continues", False)})
            return event

    return TimedPort(Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume),
                     Speaker(None), mic, listener, mute_tail=config.listening.mute_tail,
                     show=lambda line: None, **options)


def _partner(items: list[tuple[Path, Any]], log: list[dict[str, Any]], state: dict[str, Any],
             played: list[dict[str, Any]], lead: float = 0.0) -> threading.Thread:
    """A partner thread: plays each (WAV, what it is) into the virtual microphone 0.6 s after
    Duet fell quiet while listening for a new answer (not for one asked again after a barge-in:
    ``stopped`` in ``log``). ``played`` gets each item with its start (after ``lead`` s of the
    WAV's own silence) and end."""

    def run() -> None:
        pending = list(items)
        while pending and not state["done"]:
            time.sleep(0.02)
            last = next((e for e in reversed(log) if e["what"] == "say"), None)
            if not state["listening"] or last is None or last.get("stopped") \
                    or time.monotonic() - max(state["since"], last["done"]) < 0.6:
                continue
            wav, item = pending.pop(0)
            start = time.monotonic()
            subprocess.run(["paplay", "-d", "micsink", str(wav)], check=True, timeout=60)
            played.append({"item": item, "start": start + lead, "end": time.monotonic()})
            while state["listening"] and not state["done"]:
                time.sleep(0.02)

    return threading.Thread(target=run, daemon=True)


def _run_checkin(config: Any, port: Any, tmp: Path, partner: threading.Thread, state: dict[str, Any],
                 mic: Any, *recorders: Any) -> None:
    """A session's check-in through ``port`` with ``partner`` answering, until the check-in is
    over or the partner has said everything (and any going on was heard); then the rig stops."""
    from bench_live import stop_rig

    from assistant.journal import Journal
    from assistant.session.clock import MonotonicClock
    from assistant.session.events import ListenForAnswer, Say
    from assistant.session.runner import new_session

    journal = Journal(tmp / "journal.json")
    engine = new_session(config, journal, MonotonicClock())
    partner.start()
    try:
        actions = engine.start()
        while True:
            for action in actions:
                if isinstance(action, Say):
                    port.say(action.text)
            if not isinstance(engine.awaiting, ListenForAnswer) or not partner.is_alive():
                break
            actions = engine.handle(port.listen_answer(engine.awaiting))
    finally:
        stop_rig(state, journal, mic, partner, *recorders)


def live_barge_in(quick: bool) -> dict[str, Any]:
    """Child (pointed at the private daemon): the paused answers of ``kept_whole`` said into the
    virtual microphone in a live session with barge-in on (``listening.barge_in: on``: no echo
    canceller, as with a headset; this rig has no echo). What became of each answer, and how long
    Duet went on speaking after the partner went on."""
    with tempfile.TemporaryDirectory(prefix="duet-bench-barge-") as tmp:
        return _live_barge_in(quick, Path(tmp))


def _live_barge_in(quick: bool, tmp: Path) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from bench_live import LOUD, Recorder

    from assistant.config import load_config

    corpus = synthetic_answers(quick) + real_answers(quick)
    wavs = [bc.write_wav(tmp / f"paused{i}.wav", np.concatenate([np.zeros(1600), a.samples]))
            for i, a in enumerate(corpus)]
    base = load_config()
    asked = base.checkin.questions + base.debrief.questions + base.debrief.together  # Duet's own
    # a question for every two answers (each partner in turn), and room for split ones: a second
    # half taken as the next answer uses a question, and the last answers were never played
    questions = (asked * len(corpus))[:(len(corpus) + 1) // 2 + len(corpus) // 4]
    listening = base.listening.model_copy(update={"answer_timeout": 15, "barge_in": "on"})
    config = base.model_copy(update={
        "partners": ["Alex", "Sam"], "listening": listening,
        "checkin": base.checkin.model_copy(update={"questions": questions}),
    })
    engines, mic, listener = _open_rig(config)
    speaker_rec, mic_rec = Recorder("speaker.monitor"), Recorder("mic")
    log: list[dict[str, Any]] = []
    state: dict[str, Any] = {"listening": False, "done": False}

    port = _timed_port(config, mic, listener, log, state, barge_in=True,
                       continue_within=listening.max_pause - listening.trailing_silence)
    played: list[dict[str, Any]] = []
    thread = _partner(list(zip(wavs, corpus)), log, state, played, lead=0.1)
    _run_checkin(config, port, tmp, thread, state, mic, speaker_rec, mic_rec)
    speaker, partner = speaker_rec.windows(), mic_rec.windows()
    rows = []
    for k, p in enumerate(played):
        until = played[k + 1]["start"] if k + 1 < len(played) else float("inf")
        events = [e for e in log if e["what"] == "answer" and p["start"] < e["t"] < until
                  and (e["text"] or e["continues"])]  # not the silence after the last answer
        text = " ".join(e["text"] for e in events if e["text"])
        second = [w for w in _words(p["item"].second) if len(w) > 3]
        heard = set(_words(text))
        # one answer, continued or not; words of its second half, one of its last two among them
        # (live, the end can be lost: spoken over by an announcement that is not a question)
        whole = bool(events) and not events[0]["continues"] and all(e["continues"] for e in events[1:]) \
            and bool(set(second) & heard) and bool(set(second[-2:]) & heard)
        resumed = p["start"] + p["item"].resumes
        said = [e for e in log if e["what"] == "say" and p["start"] < e["t"] < until]
        rows.append({"name": p["item"].name, "pause": p["item"].pause, "whole": whole, "heard": text,
                     "answers": sum(not e["continues"] for e in events),
                     "stopped": sum(e["stopped"] for e in said),
                     "over": both_loud(speaker, partner, resumed, p["end"], LOUD),
                     "said": [(round(e["t"] - resumed, 2), round(e["done"] - resumed, 2), e["stopped"],
                               e["text"][:40]) for e in said]})
    return {"rows": rows, "engine": engines.answers.name, "played": len(played), "corpus": len(corpus)}


def both_loud(a: list[tuple[float, float]], b: list[tuple[float, float]], t0: float, t1: float,
              loud: float) -> float:
    """Seconds in [t0, t1) in which two recordings' 10 ms windows ((end, rms), as
    ``Recorder.windows``) were both louder than ``loud``: how long Duet spoke over a partner.

    The two recorders' windows do not start together; a window of ``a`` counts when the window
    of ``b`` whose end rounds to the same 10 ms is loud too (they share at least 5 ms).
    """
    loud_b = {round(end * 100) for end, level in b if level > loud}
    return 0.01 * sum(1 for end, level in a
                      if t0 <= end < t1 and level > loud and round(end * 100) in loud_b)


def _words(text: str) -> list[str]:
    import re
    return re.findall(r"[a-z']+", text.lower())


def renders(quick: bool) -> dict[str, Any]:
    """Child: the longest prompts and a 60-word recap rendered again and again (no cache)."""
    from assistant.config import load_config
    from assistant.speech.voice import Voice

    config = load_config()
    recap = ("Here is what you said today. Alex felt calm and ready, and Sam was a bit tired but "
             "happy to begin. What worked well was mixing the colours together. What challenged "
             "you was the light, which kept changing. You noticed that you were calmer when you "
             "talked first. Your next step is to finish the hills and the sky this week.")
    questions = [q for q in config.checkin.questions + config.debrief.questions]
    texts = [recap, "Alex, " + max(questions, key=len).lower()]
    voice = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume, cache_size=0)
    out = []
    for text in texts:
        lengths = []
        for _ in range(2 if quick else 50):
            samples, rate = voice.render(text)
            lengths.append(len(samples) / rate)
        out.append({"words": len(text.split()), "lengths": lengths})
    return {"texts": out, "short_renders": voice.short_renders}


def section_8(quick: bool) -> Section:
    from bench_live import PrivateAudio

    s = Section(8, "Turn-taking")
    kept = bc.run_child("bench_turns", "kept_whole", {"quick": quick}, timeout=1800)
    audio = PrivateAudio()
    try:
        live = bc.run_child("bench_turns", "live_gaps", {"quick": quick}, timeout=900, env=audio.env)
        barge = bc.run_child("bench_turns", "live_barge_in", {"quick": quick}, timeout=1800, env=audio.env)
    finally:
        audio.stop()
    rend = bc.run_child("bench_turns", "renders", {"quick": quick}, timeout=1200)
    empty = bc.run_child("bench_turns", "heard_as_nothing", {"quick": quick}, timeout=900)
    rows = [r for r in kept["rows"] if r["kind"] != "long"]
    long = [r for r in kept["rows"] if r["kind"] == "long"]
    whole = sum(r["whole"] for r in rows)
    s.method = [
        "Answers with a 1.5-3 s thinking pause inside: espeak-ng voices "
        f"({', '.join(VOICES)}) saying two halves with room noise between, and LibriVox recordings "
        "cut between two words (pocketsphinx aligning each to its text; at the word boundary nearest "
        f"{' and '.join(f'{c:.0%}' for c in CUT_AT[:1 if quick else 2])} of its length) with their own quietest "
        "0.1 s of room sound spliced in. Each is "
        f"fed through the real `Listener.capture_answer` ({kept['engine']}, the turn decision of "
        "turns.py) as fast as it decodes; kept whole = one answer whose transcript has words of the "
        "second half. Split = anything else (two answers, or the second half lost).",
        "Long answers (info): three phrases said with 0.5-1.0 s between them, as someone telling "
        f"something pauses, in the same voices ({len(LONG)} answers, each in two of them), and "
        "LibriVox sentences that follow one another in the book with the recording's room sound "
        "between them; fed and counted the same way (words of the last phrase).",
        "Turn gap: a private PulseAudio daemon as in section 4; Duet asks check-in questions through "
        "the real `LivePort` and a partner thread plays finished answers (espeak-ng voices, LibriVox "
        "and cards recordings) into the virtual microphone 0.6 s after Duet falls quiet. Gap = end "
        "of the last loud 10 ms of the answer as the microphone captured it -> first loud 10 ms of "
        "the next prompt on speaker.monitor (both timed by their sample clocks).",
        "Barge-in (`listening.barge_in`, off by default): the same paused answers said into the "
        "virtual microphone in a live check-in (Duet's own questions, asked in turn) through the "
        "real `LivePort` with barge-in on and no echo canceller (as with a headset: this rig has no "
        "echo). Kept whole = the answer event and any continuations between the answer's start "
        "and the next one hold words of its second half, one of its last two content words among "
        "them (live, an end can be lost), with no other answer among them. "
        "Speaking over = the 10 ms windows in which Duet (speaker.monitor) and the partner (the "
        "microphone, each timed by its sample clock) were both loud, from the second half's start "
        "to the end of the answer (before stop 44: Duet's last loud 10 ms in that time, which also "
        "counted a later question, such as the one asked again once the answer was over).",
        "Heard as nothing: short answers (" + ", ".join(f'"{t}"' for t in SHORT) + ") in the voices "
        f"{', '.join(SHORT_VOICES)}, and every real recording, each after 0, 0.1 and 0.2 s of room "
        "sound, through the answer engine's stream as the listener hands it over; and sounds without "
        "speech (hiss, rumble, clicks, hum, breath at -40 to -20 dBFS) that a voice detector lets "
        "through now and then. In --quick a few of each. An answer heard as nothing is not taken: "
        "Duet goes on listening, and stores no answer if nothing more is said before "
        "`answer_timeout`.",
    ]
    target = 40
    s.row("Answers with a 1.5-3 s pause inside kept whole", f"all, of >= {target}",
          f"{whole} of {len(rows)}", verdict(whole == len(rows) and (quick or len(rows) >= target)))
    for kind in ("espeak", "LibriVox"):
        part = [r for r in rows if r["kind"] == kind]
        s.row(f"... of which {kind}", "(info)", f"{sum(r['whole'] for r in part)} of {len(part)}", "info")
    s.row("Long answers, 0.5-1.0 s between their phrases, kept whole", "(info)",
          f"{sum(r['whole'] for r in long)} of {len(long)}", "info")
    gaps = [r["gap"] for r in live["rows"] if r.get("gap") is not None]
    med, p95 = bc.median(gaps) if gaps else float("nan"), bc.pct(gaps, 95) if gaps else float("nan")
    s.row("Turn gap, finished answers: median", "<= 1.0 s", f"{fmt(med)} s (n={len(gaps)})",
          verdict(med <= 1.0 if gaps else None))
    s.row("Turn gap, finished answers: 95th percentile", "<= 1.4 s", f"{fmt(p95)} s",
          verdict(p95 <= 1.4 if gaps else None))
    brows = barge["rows"]
    overs = [r["over"] for r in brows if r["over"] > 0]  # the answers Duet spoke over at all
    unplayed = f"; only {barge['played']} played" if barge["played"] < barge["corpus"] else ""
    s.row("... kept whole live with barge-in on (opt-in; no echo, as with a headset)", "(info)",
          f"{sum(r['whole'] for r in brows)} of {barge['corpus']} ({sum(r['stopped'] for r in brows)} "
          f"questions stopped{unplayed})", "info")
    s.row("... Duet speaking over a partner going on, barge-in on: median / max of the answers it "
          "spoke over", "(info)",
          f"{fmt(bc.median(overs))} / {fmt(max(overs))} s (n={len(overs)})" if overs else "none", "info")
    lost = [c for c, a in zip(empty["clips"], empty["answers"]) if not a]
    alone = empty["engine_answers"]
    again = [(c, a) for c, a, e in zip(empty["clips"], empty["answers"], alone) if a and not e]
    plain = empty.get("plain_answers")
    before = f"; plain greedy decoding: {sum(not a for a in plain)}" if plain is not None else ""
    s.row(f"Short answers heard as nothing, lost unless said again ({empty['engine']})", "none",
          f"{len(lost)} of {len(empty['clips'])} (the engine alone: {sum(not a for a in alone)}{before})",
          verdict(not lost))
    s.row("... read again, told that words are there (Silero VAD sure of a voice)", "(info)",
          f"{len(again)} ({sum(_said(c, a) for c, a in again)} of the {sum(': ' in c for c, _ in again)} "
          "espeak-ng ones as the words said)", "info")
    waits = empty.get("short_waits", [])
    s.row("Short answers heard as words that wait `max_pause` (read as unfinished or unsure; no turn-gap "
          "target, a finished answer all the same)", "(info)", f"{sum(waits)} of {len(waits)}", "info")
    worded = [(k, w) for k, w in zip(empty["sounds"], empty["sound_words"]) if w]
    s.row("Sounds without speech heard as words", "none", f"{len(worded)} of {len(empty['sounds'])}",
          verdict(not worded))
    worst = 0.0
    for t in rend["texts"]:
        m = bc.median(t["lengths"])
        worst = max(worst, max(abs(x - m) / m for x in t["lengths"]))
    n = sum(len(t["lengths"]) for t in rend["texts"])
    s.row(f"Prompt renders within 2 % of their median ({n} renders: a 60-word recap and the "
          "longest question)", "all", f"worst {worst * 100:.1f} %; {rend['short_renders']} short "
          "render(s) caught and redone", verdict(worst <= 0.02))
    t1 = Table("Each answer with a pause", ["answer", "pause (s)", "result", "heard as"])
    for r in rows:
        t1.rows.append([r["name"], f"{r['pause']:.1f}", "whole" if r["whole"] else "**split**",
                        " / ".join(r["answers"]) or "(nothing)"])
    t5 = Table("Each long answer", ["answer", "longest pause (s)", "result", "heard as"])
    for r in long:
        t5.rows.append([r["name"], f"{r['pause']:.1f}", "whole" if r["whole"] else "**split**",
                        " / ".join(r["answers"]) or "(nothing)"])
    t2 = Table("Each finished answer (s after the end of its speech)",
               ["answer", "turn over (answer handed to the engine)", "first sound of the next prompt",
                "heard as"])
    for r in live["rows"]:
        t2.rows.append([r["label"][:60], fmt(r.get("decided")), fmt(r.get("gap")), r.get("heard") or ""])
    t4 = Table("Each answer with a pause, live, barge-in on",
               ["answer", "pause (s)", "result", "questions stopped", "Duet over the partner (s)", "heard as"])
    for r in brows:
        t4.rows.append([r["name"], f"{r['pause']:.1f}", "whole" if r["whole"] else "**split**",
                        str(r["stopped"]), fmt(r["over"]), r["heard"] or "(nothing)"])
    t3 = Table("Short answers heard as nothing or read again, and sounds heard as words", ["clip", "heard as"])
    t3.rows += [[c, "(nothing)"] for c in lost] + [[c, f"{a} (read again)"] for c, a in again]
    t3.rows += [[k, w] for k, w in worded]
    s.tables += [t1, t5, t4, t2] + ([t3] if t3.rows else [])
    s.notes.append("The answer ends `listening.trailing_silence` (0.7 s) after speech that sounds "
                   "finished, 1.2 s once it is 4.5 s long (`turns.TurnPolicy.long_answer`); then it is transcribed (by the default answer engine, named above) before the next prompt, already "
                   "rendered while the partner spoke, plays. The machine is shared: the load "
                   "average shows how busy it was.")
    return s


def main() -> None:
    quick = "--quick" in sys.argv
    if "--barge-in" in sys.argv:
        from bench_live import PrivateAudio
        audio = PrivateAudio()
        try:
            data = bc.run_child("bench_turns", "live_barge_in", {"quick": quick}, timeout=1800,
                                env=audio.env)
        finally:
            audio.stop()
        for r in data["rows"]:
            print(r)
        print(f"{sum(r['whole'] for r in data['rows'])} of {data['corpus']} kept whole")
        return
    if "--gaps" in sys.argv:
        from bench_live import PrivateAudio
        audio = PrivateAudio()
        try:
            data = bc.run_child("bench_turns", "live_gaps", {"quick": quick}, timeout=900, env=audio.env)
        finally:
            audio.stop()
        for r in data["rows"]:
            print(r)
        return
    data = kept_whole(quick)
    for r in data["rows"]:
        print(("WHOLE" if r["whole"] else "SPLIT"), f"{r['pause']:.1f}s", r["name"], "->", r["answers"])
    n = sum(r["whole"] for r in data["rows"])
    print(f"{n} of {len(data['rows'])} kept whole")


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"kept_whole": kept_whole, "live_gaps": live_gaps, "renders": renders,
                   "heard_as_nothing": heard_as_nothing, "live_barge_in": live_barge_in})
elif __name__ == "__main__":
    main()
