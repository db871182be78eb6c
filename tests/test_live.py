"""End to end through real audio: `duet run` with a rehearsal partner on the virtual devices.

Duet speaks through the virtual speaker; the partner listens there, and answers into the
virtual microphone with espeak-ng voices (one per partner) and recordings of a real person.
During the work phase it says "start the debrief". Then the journal must hold every answer,
recognizably, and show that the debrief began on the spoken command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.speech.asr import SAMPLE_RATE
from assistant.speech.models import find_vosk_model
from assistant.speech.wav import read_wav, write_wav
from assistant.speech.wer import corpus_wer, normalize
from tests.helpers import librivox_files
from tests.partner import Answer, Partner, espeak
from tests.rig import ROOT

pytestmark = [pytest.mark.audio, pytest.mark.slow]


def recordings() -> list[Answer]:
    """Real recorded speech with its transcript (Debian's pocketsphinx-testdata)."""
    return [Answer(path, text, real=True) for path, text in librivox_files()]


def synthesized(tmp_path: Path, texts: list[str], voice: str, tag: str) -> list[Answer]:
    return [Answer(espeak(t, voice, tmp_path / f"{tag}{i}.wav"), t) for i, t in enumerate(texts)]


def expected_order(checkin: list[str], debrief: list[str]) -> list[str]:
    """Who is asked, in order, in a first session (Alex leads)."""
    return ["Alex"] * len(checkin) + ["Sam"] * len(checkin) + ["Alex"] * len(debrief) + ["Sam"] * len(debrief) + ["both"]


def write_config(tmp_path: Path, answers: str, commands: str, checkin: list[str], debrief: list[str],
                 **listening: object) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "partners": ["Alex", "Sam"],
        "checkin": {"questions": checkin},
        "debrief": {"questions": debrief, "together": ["What is our next step?"]},
        "listening": {"answer_timeout": 15, **listening},
        "speech": {"answers": answers, "commands": commands},
        "voice": {"rate": 220},  # brisker prompts than the default 170: a shorter CI run
    }))
    return config


def run_session(tmp_path: Path, virtual_audio, config: Path, answers: list[Answer], **partner_options) -> dict:
    journal = tmp_path / "journal.json"
    command = espeak("start the debrief", "en-us+m3", tmp_path / "command.wav")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "duet.log"  # a file, not a pipe: a full pipe would stall Duet
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "run", "-vv", "--work", "1.5", "--config", str(config),
             "--journal", str(journal)],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT, env=env,
        )
    partner = Partner(virtual_audio, answers, command, **partner_options)
    try:
        code = partner.run(proc, timeout=300)
    except Exception as error:  # say what Duet printed and logged, not only where the partner gave up
        raise AssertionError(f"{error}\n{_transcript(partner, log)}") from error
    assert code == 0, _transcript(partner, log)
    shown = subprocess.run([sys.executable, "-m", "assistant", "show", "last", "--json", "--journal", str(journal)],
                           capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    settings = json.loads(config.read_text())
    order = expected_order(settings["checkin"]["questions"], settings["debrief"]["questions"])
    return {"session": json.loads(shown.stdout), "partner": partner, "order": order, "log": log}


def _transcript(partner: Partner, log: Path) -> str:
    """What Duet printed, then the end of its debug log: enough to see where a session went wrong."""
    ours = [line for line in log.read_text().splitlines() if "transitions.core" not in line]
    return "Duet printed:\n" + "\n".join(partner.lines) + "\nDuet's log (end):\n" + "\n".join(ours)[-6000:]


def check_session(result: dict, max_wer_real: float, max_wer_synth: float) -> None:
    """Done, every answer stored for the right partner, recognizable, and debrief by command."""
    session, partner = result["session"], result["partner"]
    printed = _transcript(partner, result["log"])
    assert session["status"] == "done", printed
    turns = session["turns"]
    assert len(turns) == len(partner.played), printed
    statuses = [(t["partner"], t["question"], t["status"], t.get("answer")) for t in turns]
    assert all(t["status"] == "answered" for t in turns), \
        "not every turn answered: " + "; ".join(map(str, statuses)) + "\n" + printed
    pairs = [(answer, turn["answer"]) for answer, turn in zip(partner.played, turns)]
    heard = "; ".join(f"{a.text!r} -> {h!r}" for a, h in pairs)
    real = corpus_wer([(a.text, h) for a, h in pairs if a.real])
    synth = corpus_wer([(a.text, h) for a, h in pairs if not a.real])
    assert real <= max_wer_real, f"recorded speech WER {real:.0%}: {heard}"
    assert [t["partner"] for t in turns] == result["order"]
    started = [e["detail"]["by"] for e in session["events"] if e["kind"] == "debrief started"]
    assert started == ["command"], f"the command was said {len(partner.command_said)} times, never heard"
    if synth > max_wer_synth:  # checked last: everything else above must hold first
        raise SyntheticSpeechMisheard(f"synthesized speech WER {synth:.0%}: {heard}")


class SyntheticSpeechMisheard(AssertionError):
    """The espeak-ng answers came back with more word errors than the bound."""


@pytest.mark.xfail(raises=SyntheticSpeechMisheard, strict=False, reason=(
    "issue 11: Moonshine (the default since it meets the turn-gap, latency and false-command "
    "targets) mishears espeak-ng's en-us+f3 more than Whisper did; one CI run: 'blue sky today' -> "
    "'new skydogate', 'Excited and' -> 'Apps either than': 28 % of 25 words (24 % now that colours/colors "
    "is no longer an error); 6 of 7 runs passed locally. Real recordings, storage, order and the "
    "command are still checked and fail the test"))
def test_a_live_session_with_the_built_in_engines(tmp_path, virtual_audio):
    """The defaults: Moonshine base for answers, the spotter on the same model for commands."""
    real = recordings()
    alex = synthesized(tmp_path, ["I feel calm and a little tired", "We want to finish the blue sky today",
                                  "Mixing the colours went well"], "en-us+f3", "alex")
    sam = synthesized(tmp_path, ["Excited and ready to paint"], "en-us+m3", "sam")
    answers = [alex[0], alex[1], sam[0], real[1], alex[2], real[4], real[2]]
    config = write_config(tmp_path, "auto", "auto",
                          ["How are you feeling as we begin?", "What do you intend for today?"],
                          ["What worked well?"])
    check_session(run_session(tmp_path, virtual_audio, config, answers), max_wer_real=0.15, max_wer_synth=0.25)


def test_a_live_session_with_pocketsphinx_for_everything(tmp_path, virtual_audio):
    """Pocketsphinx free-form for answers, its grammar for the spoken command.

    The answers are real recordings only: on espeak's voices pocketsphinx's free-form English is
    close to noise ("calm and happy" -> "comment that the", "the colours" -> "the killers" offline),
    so a WER bound on them passed or failed by luck (88 % against 80 % in one CI run).
    """
    real = recordings()
    answers = [real[1], real[4], real[1], real[4], real[1]]  # the two shortest: CI time
    config = write_config(tmp_path, "pocketsphinx", "pocketsphinx", ["How are you feeling?"], ["What worked well?"])
    result = run_session(tmp_path, virtual_audio, config, answers)
    # about 25 % WER offline on these two recordings: recognizable, not exact
    check_session(result, max_wer_real=0.6, max_wer_synth=0.0)


@pytest.mark.skipif(find_vosk_model(None) is None, reason="no English vosk model in models/ or VOSK_MODEL")
def test_a_live_session_with_vosk(tmp_path, virtual_audio):
    real = recordings()
    alex = synthesized(tmp_path, ["I feel calm and a little tired", "the colours"], "en-us+f3", "alex")
    answers = [alex[0], real[1], alex[1], real[4], real[2]]
    config = write_config(tmp_path, "vosk", "vosk", ["How are you feeling?"], ["What worked well?"])
    check_session(run_session(tmp_path, virtual_audio, config, answers), max_wer_real=0.25, max_wer_synth=0.4)


def paused(tmp_path: Path, name: str, first: str, second: str, voice: str, pause: float) -> Answer:
    """An answer with a thinking pause inside: two halves with silence between."""
    a = espeak(first, voice, tmp_path / f"{name}a.wav")
    b = espeak(second, voice, tmp_path / f"{name}b.wav")
    halves = [np.frombuffer(read_wav(p), dtype="<i2") for p in (a, b)]
    samples = np.concatenate([halves[0], np.zeros(int(pause * SAMPLE_RATE), dtype="<i2"), halves[1]])
    write_wav(tmp_path / f"{name}.wav", samples.tobytes())
    return Answer(tmp_path / f"{name}.wav", f"{first} {second}", second=second,
                  pauses=len(halves[0]) / SAMPLE_RATE, resumes=len(halves[0]) / SAMPLE_RATE + pause)


class TalkedOver(AssertionError):
    """Duet took a pause inside an answer for the answer's end and spoke over the rest."""


@pytest.mark.xfail(raises=TalkedOver, strict=False, reason=(
    "issue 11 open: the recognizer sometimes hears an espeak half-sentence as a whole one (Whisper, "
    "seen here: 'I noticed that I get tense when' -> 'I know this tonight, I got 10 wins.'; Moonshine "
    "offline: 'He might even have been made.'), so the turn ends in the pause; bench section 8 keeps 48 "
    "of 52 paused answers whole with Moonshine on an AVX-512 machine (37 on an AVX2 one before its "
    "going-on readings and the joined opening), 25-28 with Whisper. Any other failure still fails"))
def test_answers_with_a_pause_inside_land_whole_and_are_not_talked_over(tmp_path, virtual_audio):
    """Barge-in off (the default). Every answer pauses 1.5-2.5 s mid-sentence: each must reach
    the journal whole, and Duet must stay quiet while the partner is still answering. Prints the
    turn gaps it saw."""
    answers = [
        paused(tmp_path, "p0", "I was a little nervous because", "we had not painted together in weeks",
               "en-us+f3", 2.0),
        paused(tmp_path, "p1", "what I want today is to", "get the outline of the harbour done",
               "en-us+m3", 2.5),
        paused(tmp_path, "p2", "um", "the quiet hour before lunch was the best part", "en-us+f3", 1.5),
        paused(tmp_path, "p3", "I noticed that I get tense when", "we both talk at the same time",
               "en-us+m3", 2.0),
        paused(tmp_path, "p4", "we should start by", "cleaning the brushes and then sketch the boats",
               "en-us+f3", 2.0),
    ]
    config = write_config(tmp_path, "auto", "auto", ["How are you feeling as we begin?"], ["What worked well?"])
    result = run_session(tmp_path, virtual_audio, config, answers)
    session, partner = result["session"], result["partner"]
    turns = session["turns"]
    gaps = []
    for (start, end), answer in zip(partner.spans, partner.played):
        over = [t for t in partner.heard_loud if start + 0.1 < t < end - 0.1]
        if over:
            heard = turns[len(gaps)]["answer"] if len(gaps) < len(turns) else None
            raise TalkedOver(f"Duet spoke {over[0] - start:.1f} s into an answer of {end - start:.1f} s "
                             f"({answer.text!r} heard as {heard!r})")
        after = [t for t in partner.heard_loud if t > end]
        gaps.append(after[0] - end if after else None)
    print("turn gaps (s, end of answer playback -> Duet's next sound):",
          ", ".join("-" if g is None else f"{g:.2f}" for g in gaps))
    assert len(turns) == len(partner.played)
    for answer, turn in zip(partner.played, turns):
        second = {w for w in normalize(answer.second) if len(w) > 3}
        heard = set(normalize(turn["answer"]))  # "harbour" said, "harbor" written: the same word
        assert turn["status"] == "answered" and second & heard, (answer.text, turn["answer"])
    assert corpus_wer([(a.text, t["answer"]) for a, t in zip(partner.played, turns)]) <= 0.3


def test_an_answer_begun_while_duet_still_asks_is_asked_for_again(tmp_path, virtual_audio):
    """Barge-in off (the default): the microphone is muted while Duet asks. A partner who
    starts answering a second before the question ends was heard only from its end ("On to
    gay." stored for "We want to get the whole sky done today"), or not at all. Duet now says
    it missed the start and asks again; the answer given then is the one kept, whole."""
    texts = ["I feel calm and ready to start painting", "We want to get the whole sky done today",
             "Mixing the colours together went well", "Talking it through before we started",
             "Finish the clouds on the left side"]
    # Alex, Sam, Alex, Sam, then both. Not en-us+f3: Moonshine misreads it on these sentences
    # offline too (word error 0.27 at 150-170 wpm, against 0.07 for en-us+m3 and 0.12 for en-gb),
    # which left a CI run at 0.306 of the 0.3 allowed for what the re-asking must keep.
    answers = [Answer(espeak(text, "en-gb" if i % 2 == 0 else "en-us+m3", tmp_path / f"e{i}.wav"), text)
               for i, text in enumerate(texts)]
    config = write_config(tmp_path, "auto", "auto", ["How are you feeling as we begin?"], ["What worked well?"])
    result = run_session(tmp_path, virtual_audio, config, answers, eager=0.8)
    session, partner = result["session"], result["partner"]
    printed = _transcript(partner, result["log"])
    turns = session["turns"]
    assert session["status"] == "done" and [t["status"] for t in turns] == ["answered"] * len(turns), printed
    said_over = sum(line.startswith("Duet: Sorry, I was still speaking") for line in partner.lines)
    assert said_over >= len(turns) - 1, printed  # one may have begun just after the question ended
    pairs = [(a.text, t["answer"]) for a, t in zip(partner.played, turns)]
    assert corpus_wer(pairs) <= 0.3, pairs


STOPS_WITHIN = 0.6
"""Seconds from a partner going on to Duet falling silent: the barge-in detector needs 0.18 s
of voice, then the speaker drops what it holds (a person notices the overlap, and yields,
in about as long)."""


def test_a_partner_who_goes_on_after_a_pause_is_not_cut_off(tmp_path, virtual_audio):
    """Every answer pauses 1.5-2.5 s mid-sentence. Where Duet takes the pause for the end and
    begins the next question, the partner's voice stops it at once (barge-in), what they say
    joins their answer, and the question is asked again. Each answer reaches the journal whole
    and Duet never speaks over the partner for longer than ``STOPS_WITHIN``. Prints the turn
    gaps and the overlaps it saw."""
    answers = [
        # p0 and p2: a whole sentence, then an afterthought: the pause sounds like the end
        paused(tmp_path, "p0", "I feel calm today.", "and curious about the harbour", "en-us+m3", 1.6),
        paused(tmp_path, "p1", "what I want today is to", "get the outline of the harbour done",
               "en-us+m3", 2.5),
        paused(tmp_path, "p2", "We worked well together.", "especially on the blue of the sky",
               "en-us+f3", 1.8),
        paused(tmp_path, "p3", "honestly I felt", "a bit lost at first but then calm", "en-gb", 2.0),
        paused(tmp_path, "p4", "um", "the quiet hour before lunch was the best part", "en-us+m3", 1.5),
    ]
    # questions long enough that an afterthought 1.6-1.8 s into the pause comes while Duet asks
    config = write_config(tmp_path, "auto", "auto", ["How are you feeling as we begin?"],
                          ["What worked well for you today?"], barge_in="auto")
    result = run_session(tmp_path, virtual_audio, config, answers)
    session, partner = result["session"], result["partner"]
    printed = _transcript(partner, result["log"])
    turns = session["turns"]
    gaps, overlaps = [], []
    for (start, end), answer in zip(partner.spans, partner.played):
        resumed = start + answer.resumes
        assert not [t for t in partner.heard_loud if start + 0.1 < t < start + answer.pauses], \
            f"Duet spoke over the first part of {answer.text!r}\n{printed}"
        over = [t for t in partner.heard_loud if resumed <= t < end - 0.1]
        overlaps.append(over[-1] - resumed if over else 0.0)
        after = [t for t in partner.heard_loud if t > end]
        gaps.append(after[0] - end if after else None)
    print("turn gaps (s, end of answer playback -> Duet's next sound):",
          ", ".join("-" if g is None else f"{g:.2f}" for g in gaps))
    print("Duet heard over the partner going on (s):", ", ".join(f"{o:.2f}" for o in overlaps))
    print("questions cut off:", sum(line.startswith("(Duet stops") for line in partner.lines))
    assert max(overlaps) <= STOPS_WITHIN, printed
    assert len(turns) == len(partner.played), printed
    for answer, turn in zip(partner.played, turns):
        second = {w for w in normalize(answer.second) if len(w) > 3}
        heard = set(normalize(turn["answer"]))  # "harbour" said, "harbor" written: the same word
        assert turn["status"] == "answered" and second & heard, (answer.text, turn["answer"], printed)
    assert corpus_wer([(a.text, t["answer"]) for a, t in zip(partner.played, turns)]) <= 0.3


class StoppedForItself(AssertionError):
    """Duet took the echo of its own question for a partner going on."""


@pytest.mark.xfail(raises=StoppedForItself, strict=False, reason=(
    "barge-in is off by default for this: through a looped-back speaker, PulseAudio's WebRTC echo "
    "canceller leaves Duet's voice at 48-62 dB in 3-7 of 8 questions (the partner: 49-61 dB), so "
    "Silero takes it for a partner: 1-2 of 5 questions stopped in a session, and once its words were "
    "joined to the answer ('It is located')"))
def test_duet_does_not_stop_for_its_own_voice(tmp_path, virtual_audio):
    """The speaker is looped back into the microphone (an open laptop: Duet hears itself about
    as loud as the partner). Listening while it asks, behind the echo canceller, Duet must not
    take its own voice for a partner going on: no question is cut off, nothing of Duet's is
    joined to an answer, and every answer is the partner's own words."""
    result = session_hearing_itself(tmp_path, virtual_audio, barge_in="auto")
    partner = result["partner"]
    printed = _transcript(partner, result["log"])
    assert "echo cancellation on" in result["log"].read_text(), printed
    stops = [line for line in partner.lines if line.startswith("(Duet stops")]
    joined = [line for line in partner.lines if "(going on)" in line]
    if stops or joined:
        raise StoppedForItself(f"{len(stops)} question(s) stopped, joined to answers: {joined}\n{printed}")
    check_session(result, max_wer_real=0.25, max_wer_synth=0.4)


def test_a_question_is_stopped_once_at_most_even_where_duet_hears_itself(tmp_path, virtual_audio):
    """Barge-in on with no echo canceller (``on`` is meant for a headset), and the speaker looped
    back into the microphone: Duet hears its own questions as a partner going on. A question may
    be stopped once, and is then asked to the end. Before, it was stopped and asked again for as
    long as the session lasted (66 times in one question on PipeWire, whose canceller let the
    echo through in ``test_duet_does_not_stop_for_its_own_voice``)."""
    result = session_hearing_itself(tmp_path, virtual_audio, barge_in="on")
    partner = result["partner"]
    printed = _transcript(partner, result["log"])
    assert result["session"]["status"] == "done", printed
    stopped = [asked for asked, then in zip(partner.lines, partner.lines[1:]) if then.startswith("(Duet stops")]
    assert stopped, "Duet never heard itself: the loopback is not doing its part\n" + printed
    assert len(stopped) == len(set(stopped)), printed


def session_hearing_itself(tmp_path: Path, virtual_audio, barge_in: str) -> dict:
    """``run_session`` with the speaker looped back into the microphone, about as loud as the
    partner (an open laptop), and barge-in ``auto`` (behind the echo canceller) or ``on``."""
    module = virtual_audio.pactl("load-module", "module-loopback", "source=speaker.monitor",
                                 "sink=micsink", "latency_msec=30").strip()
    try:
        real = recordings()
        answers = [Answer(espeak("I feel rested and ready", "en-us+f3", tmp_path / "a0.wav"),
                          "I feel rested and ready"),
                   real[1], real[4],
                   Answer(espeak("we mixed a lovely green", "en-us+m3", tmp_path / "a3.wav"),
                          "we mixed a lovely green"),
                   real[2]]
        config = write_config(tmp_path, "auto", "auto", ["How are you feeling as we begin?"],
                              ["What worked well for you today?"], barge_in=barge_in)
        return run_session(tmp_path, virtual_audio, config, answers)
    finally:
        virtual_audio.pactl("unload-module", module)
