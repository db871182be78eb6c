"""The command spotter: its decision rules on given readings, and on real audio, on both engines.

The rules with two different readings are Whisper's (one prompted, one not); Moonshine gives one
reading, judged alone."""

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.config import CommandsConfig
from assistant.session.commands import CommandParser, work_grammar
from assistant.speech.spotter import (
    CommandSpotter,
    DEFAULT_SETTINGS,
    SpotterSettings,
    Verdict,
    _once,
    command_table,
    slowed,
    spoken_forms,
    written,
)
from assistant.speech.listener import Listener
from assistant.speech.wav import read_wav
from tests.helpers import ArraySource, found_on_avx512, librivox_files, pink_noise, reads_differently_on_avx512
from tests.partner import espeak

TABLE = command_table(CommandParser(CommandsConfig()), work_grammar(CommandsConfig()))


@pytest.fixture(scope="module")
def spotter() -> CommandSpotter:
    spotter = CommandSpotter(TABLE, engine="whisper")
    spotter.warm()
    return spotter


@pytest.fixture(scope="module")
def moonshine_spotter() -> CommandSpotter:
    spotter = CommandSpotter(TABLE)  # the default engine
    spotter.warm()
    return spotter


@pytest.mark.parametrize("biased, plain, phrase", [
    ("Start the debrief.", "Start the debrief.", "start the debrief"),
    ("Start the lead reef.", "Start the debrief", "start the debrief"),
    ("And five minutes.", "at five minutes", "add five minutes"),
    ("Pause.", "Paws", "pause"),
    ("Add five minutes.", "and five minute", "add five minutes"),
])
def test_agreeing_readings_of_a_phrase_are_a_command(spotter, biased, plain, phrase):
    assert spotter.judge([(biased, 0.1), (plain, 0.1)]).phrase == phrase


@pytest.mark.parametrize("biased, plain", [
    ("Nine minutes.", "Thanks."),                        # the prompt made it up from noise
    ("How much time's left?", "How much paint is left?"),  # a word of the phrase was never heard
    pytest.param("How much time is left?", "How much paint is left?", marks=pytest.mark.xfail(
        strict=True, reason="known cost of the exact-phrase rule (agree_exact, issue 10): an exact "
        "prompted phrase needs the unprompted reading close only as a whole, so 'paint' for 'time' "
        "passes; measured on the talk corpus it added 2 false commands in 66.7 min")),
    ("Say again.", "Say again."),                       # a word of the phrase is missing
    ("No.", "No, a bit higher."),                        # one-word phrase, too far ("note")
    ("We should pause and look.", "We should pause and look."),
    ("Add five minutes.", "Add nine minutes."),         # the minutes are not confirmed
    ("Pause.", "Pause."),
])
def test_talk_and_guarded_readings_are_not(spotter, biased, plain):
    verdict = spotter.judge([(biased, 0.1), (plain, 0.1)])
    assert (verdict.phrase is None) == (biased != "Pause."), verdict


@pytest.mark.parametrize("biased, plain, phrase", [
    ("Cancel that.", "Cancel note.", "cancel that"),
    ("Cancel that.", "Cancel mode", "cancel that"),
    ("Start the debrief.", "Start the big meme.", "start the debrief"),
    ("Add five minutes.", "And I'll miss it.", None),   # the minutes must be heard unprompted too
    ("Add five minutes.", "at five minutes", "add five minutes"),
    ("Take a note.", "Thank you.", None),              # not close as a whole
])
def test_an_exact_phrase_needs_the_unbiased_reading_close_only_as_a_whole(spotter, biased, plain, phrase):
    assert spotter.settings.agree_exact > 0
    assert spotter.judge([(biased, 0.1), (plain, 0.1)]).phrase == phrase


def test_no_speech_and_loops():
    assert _once("pause pause pause pause pa") == "pause"
    assert _once("How much time is left, How much time is left, How much time is le") == "how much time is left"
    assert _once("Pause, Pause, Pause, Pause") == "pause"
    assert _once("repeat net repeat net repeat") == "repeat net"
    assert _once("We should pause") == "We should pause"


def said(text: str, voice: str, tmp_path: Path) -> bytes:
    """``text`` spoken by an espeak-ng voice, as 16 kHz PCM."""
    return read_wav(espeak(text, voice, tmp_path / "said.wav"))


def test_real_audio_a_spoken_command_and_a_recorded_sentence(spotter, tmp_path):
    pcm = said("how much time is left", "en-us+m3", tmp_path)
    silence = bytes(16000)  # 0.5 s either side, as the endpointer leaves it
    assert spotter.decide(silence + pcm + silence).phrase == "how much time is left"
    sentence = max((read_wav(path) for path, _ in librivox_files()), key=len)
    assert spotter.decide(sentence).phrase is None  # long talk: not even decoded
    assert "too long" in spotter.last.reason
    assert spotter.decide(sentence[: 3 * 32000]).phrase is None  # a short stretch of talk


LONG = "eight of spades four of clubs seven of hearts"
"""A configured phrase far longer than Duet's own (a real person's, in the benchmark)."""


def long_phrase_said(moonshine_spotter, words_per_minute: int, tmp_path) -> tuple[CommandSpotter, bytes]:
    """A spotter for ``LONG`` (on the shared model), and ``LONG`` said slowly by a voice not in
    the benchmark."""
    spotter = CommandSpotter({LONG: "cards", "front left": "left"}, shared=moonshine_spotter._reader._recognizer)
    wav = tmp_path / "long.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m4", "-s", str(words_per_minute), "-w", str(wav), LONG], check=True)
    return spotter, read_wav(wav)


def test_a_long_configured_phrase_is_not_gated_as_talk(moonshine_spotter, tmp_path):
    """The length gate follows the longest phrase: said slowly, a nine-word phrase runs past
    the 3.5 s that gates Duet's own phrases, and is still decided (weighed: it is the
    likeliest command)."""
    spotter, said = long_phrase_said(moonshine_spotter, 110, tmp_path)
    pcm = bytes(9600) + said + bytes(9600)  # 0.3 s either side, as the listener cuts it
    assert len(pcm) / 32000 > DEFAULT_SETTINGS["moonshine"].max_seconds
    verdict = spotter.decide(pcm)
    assert not verdict.reason.startswith("too long") and verdict.weighed_first == LONG, verdict
    assert moonshine_spotter.decide(pcm).reason.startswith("too long")  # Duet's phrases are short


def test_a_long_configured_phrase_reaches_the_spotter_whole_through_the_listener(moonshine_spotter, tmp_path):
    """The listener cuts speech longer than ``max_command`` (5 s) as talk, unheard: that limit
    follows the spotter's length gate, so a slow nine-word phrase is decided whole. (Whether it
    is then taken is the recognizer's part: Moonshine misreads this voice at 100 words/min.)"""
    spotter, said = long_phrase_said(moonshine_spotter, 100, tmp_path)
    assert 5.0 < len(said) / 32000 < spotter.longest_utterance
    source = ArraySource(bytes(32000) + said + bytes(3 * 32000))
    listener = Listener(source, spotter, spotter, clock=source.now)
    heard = listener.next_command(until=len(said) / 32000 + 3.5)
    assert spotter.last is not None and spotter.last.weighed_first == LONG, spotter.last
    assert heard is None or heard.text == LONG


def test_the_listener_tells_the_spotter_what_the_session_awaits(moonshine_spotter):
    spotter = CommandSpotter(TABLE, shared=moonshine_spotter._reader._recognizer)
    source = ArraySource(bytes(2 * 32000))  # silence: each call returns None at its deadline
    listener = Listener(source, spotter, spotter, clock=source.now)
    assert listener.next_command(until=0.5, expected=("resume",)) is None
    assert spotter.settings.expected == ("resume",)
    assert listener.next_command(until=1.0) is None
    assert spotter.settings.expected == ()


def test_the_default_spotter_runs_on_moonshine(moonshine_spotter):
    assert moonshine_spotter.engine == "moonshine"
    assert moonshine_spotter.name == "spotter:moonshine-base-en+phonemes"


@pytest.mark.parametrize("reading, phrase", [
    ("How much time is left?", "how much time is left"),
    ("Start the debrief.", "start the debrief"),
    ("Pause.", "pause"),
    ("How much paint is left?", None),      # a word of the phrase was never heard
    ("We should pause and look.", None),    # a sentence that contains a phrase
    ("Pause, the ladder!", None),           # the whole reading counts, not its first clause
    ("", None),
    ("Have 5 minutes", "add five minutes"),
    ("And I'm minutes.", None),             # sounds like "add eight minutes", but no minutes heard
])
def test_one_moonshine_reading_is_judged_alone(moonshine_spotter, reading, phrase):
    assert moonshine_spotter.judge([(reading, 0.1), (reading, 0.1)]).phrase == phrase


RESCORE = SpotterSettings(rescore=4, forced=-0.5, forced_margin=1.0)


@pytest.mark.parametrize("scores, phrase", [
    ({"start the debrief": -0.3, "begin the debrief": -0.35}, "start the debrief"),  # one meaning
    ({"start the debrief": -0.8, "stop the session": -4.0}, None),  # not likely enough
    ({"add five minutes": -0.3, "add nine minutes": -1.0}, None),   # other minutes too close
    ({"add five minutes": -0.3, "add five minute": -0.4, "add nine minutes": -2.0}, "add five minutes"),
    ({}, None),
])
def test_phrases_scored_against_a_misread_reading(scores, phrase):
    spotter = CommandSpotter(TABLE, settings=RESCORE)
    reading = [("Start the degree.", 0.1)] * 2
    first = spotter.judge(reading)
    assert first.phrase is None
    assert spotter.judge_scored(reading, scores, first).phrase == phrase


def test_only_phrases_near_a_rejected_reading_are_scored():
    spotter = CommandSpotter(TABLE, settings=RESCORE)
    asked: list[list[str]] = []

    def score(near: list[str]) -> dict[str, float]:
        asked.append(near)
        return {p: -0.2 if p == "start the debrief" else -3.0 for p in near}

    assert spotter.judge_rescored([("Start the degree.", 0.1)] * 2, score).phrase == "start the debrief"
    assert "start the debrief" in asked[0] and len(asked[0]) <= 4
    assert spotter.judge_rescored([("Start the debrief.", 0.1)] * 2, score).phrase == "start the debrief"
    assert spotter.judge_rescored([("Can you hand me the trowel?", 0.1)] * 2, score).phrase is None
    assert len(asked) == 1  # accepted as read, or nothing near enough: no scoring


WEIGH = SpotterSettings(rescore=4, forced=-0.5, forced_margin=1.0, weigh=-2.5, weigh_margin=0.5)


@pytest.fixture(scope="module")
def weighing() -> CommandSpotter:
    """A spotter for the pure weighing rules (one model load for them all)."""
    return CommandSpotter(TABLE, settings=WEIGH)


def weigher(scores: dict[str, float], asked: list[list[str]], rest: float = -4.0):
    """Scores as an engine would give them: the phrases named, every other at ``rest`` (talk-like)."""
    def weigh(phrases: list[str]) -> dict[str, float]:
        asked.append(list(phrases))
        return {p: scores.get(p, rest) for p in phrases}
    return weigh


@pytest.mark.parametrize("reading, scores, phrase", [
    ("Kendall met.", {"cancel that": -1.8}, "cancel that"),          # far by sound, clear by score
    ("And I'm with it.", {"add five minutes": -1.4}, "add five minutes"),
    ("We made it.", {}, None),                                          # talk: every phrase unlikely
    ("Reviews", {"resume": -2.8}, None),                               # not likely enough
    ("Kenzel met", {"cancel that": -2.0, "continue": -2.3}, None),     # two meanings too close
    ("How much pain is left?", {"how much time is left": -1.3}, None),  # a word clearly replaced: talk
    ("That's 10 minutes.", {"add ten minutes": -1.2}, None),           # ... minutes written in digits
    ("Cancel hair", {"cancel that": -1.4}, "cancel that"),             # a short phrase is exempt
])
def test_every_command_is_weighed_when_the_reading_matches_none(weighing, reading, scores, phrase):
    spotter = weighing
    asked: list[list[str]] = []
    verdict = spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, []), weigher(scores, asked))
    assert verdict.phrase == phrase, verdict
    assert {TABLE[p] for p in asked[0]} == set(TABLE.values())  # every command was weighed


DOUBTFUL = replace(WEIGH, weigh=-1.25, weigh_doubtful=-2.0)


@pytest.mark.parametrize("reading, scores, phrase", [
    ("Kendall Knight", {"cancel that": -1.8}, "cancel that"),          # misheard whole
    ("Onward night.", {"undo that": -1.6}, "undo that"),
    ("I've made it.", {"add five minutes": -1.9}, None),    # added time: talk of time is full of minutes
    ("That took ten minutes.", {"add ten minutes": -1.9}, None),
    ("Nope", {"note": -1.8}, None),                          # one word: nothing else confirms it
    ("Say you're gonna get it, I missed it.", {"say that again": -1.9}, None),  # far longer
    ("How much pain did it have?", {"how much time is left": -1.34}, None),     # part said as written
    ("How much pain did it have?", {"how much time is left": -1.2}, "how much time is left"),  # above the band
    ("We made it.", {"add five minutes": -2.2}, None),      # below the band
])
def test_a_doubtful_score_is_taken_only_for_a_reading_that_could_be_the_whole_phrase_misheard(reading, scores, phrase):
    spotter = CommandSpotter(TABLE, settings=DOUBTFUL)
    verdict = spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, []), weigher(scores, []))
    assert verdict.phrase == phrase, verdict


EXPECTING = replace(DOUBTFUL, weigh_expected=-2.5)


@pytest.mark.parametrize("settings, reading, scores, phrase", [
    (DOUBTFUL, "Reviews", {"resume": -1.9}, "resume"),     # awaited: one word in the band is enough
    (DOUBTFUL, "Reviews", {"resume": -2.2}, None),         # below the band all the same
    (DOUBTFUL, "Nope", {"note": -1.8}, None),              # other one-word commands as before
    (DOUBTFUL, "I've made it.", {"add five minutes": -1.9}, None),
    (EXPECTING, "Reviews", {"resume": -2.3}, "resume"),    # a lower floor of its own
    (EXPECTING, "With you", {"resume": -2.45}, "resume"),
    (EXPECTING, "Reviews", {"resume": -2.6}, None),        # below it all the same
    (EXPECTING, "We will see if you can reach it from there.", {"resume": -2.3}, None),  # far longer: talk
    (EXPECTING, "Nope", {"note": -1.8}, None),             # not awaited: as before
    (EXPECTING, "Kenzel met", {"cancel that": -2.3}, None),
    (EXPECTING, "Video possession", {"resume the session": -2.3}, "resume the session"),
])
def test_a_command_the_session_awaits_is_taken_on_less_evidence(settings, reading, scores, phrase):
    spotter = CommandSpotter(TABLE, settings=settings)
    spotter.expect(("resume",))
    verdict = spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, []), weigher(scores, []))
    assert verdict.phrase == phrase, verdict
    assert verdict.awaited == (phrase is not None), verdict  # taken only because it is awaited
    spotter.expect(())
    assert spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, []), weigher(scores, [])).phrase is None


RELATIVE = replace(DOUBTFUL, weigh_relative=-1.5, weigh_relative_floor=-3.0)


@pytest.mark.parametrize("reading, unsure, scores, phrase", [
    ("Kansalmat", 0.67, {"cancel that": -2.3}, "cancel that"),   # read unsurely (-1.1), phrase near it
    ("Kansalmat", 0.2, {"cancel that": -2.3}, None),             # read with ease (-0.2): far below it
    ("Oh my dear", 0.6, {"what's the time left": -2.8}, None),   # talk: 1.9 below its reading
    ("Kansalmat", 0.8, {"cancel that": -3.1}, None),             # below the band's floor
    ("Kansalmat", 0.67, {"cancel that": -2.3, "continue": -2.5}, None),      # two meanings too close
    ("And I'm with it.", 0.67, {"add five minutes": -2.3}, None),            # added time: never doubtful
    ("Nope", 0.67, {"note": -2.3}, None),                                    # one word: nothing confirms it
    ("Say you're gonna get it, I missed it.", 0.8, {"say that again": -2.3}, None),  # far longer
])
def test_a_phrase_the_engine_finds_nearly_as_likely_as_its_own_reading_is_taken(reading, unsure, scores, phrase):
    """Below the doubtful band, what counts is how far the phrase scores below the engine's own
    reading (``weigh_relative``): ``unsure`` is the reader's no-speech figure, 1 minus the
    reading's geometric mean token probability."""
    spotter = CommandSpotter(TABLE, settings=RELATIVE)
    readings = [(reading, unsure)] * 2
    verdict = spotter.judge_rescored(readings, weigher(scores, []), weigher(scores, []))
    assert verdict.phrase == phrase, verdict
    if phrase is not None:
        assert verdict.doubtful
        plain = CommandSpotter(TABLE, settings=DOUBTFUL)  # without the rule: turned down
        assert plain.judge_rescored(readings, weigher(scores, []), weigher(scores, [])).phrase is None


def test_weighing_keeps_what_rescoring_scored_though_its_first_token_was_pruned():
    """Weighing scores only the wordings whose first token the engine finds likely (``LEADS``);
    a phrase rescoring has already scored is not lost to that pruning ("Video possession" for
    "resume the session" at 10 dB: rescored -1.5, pruned from weighing)."""
    spotter = CommandSpotter(TABLE, settings=DOUBTFUL)
    near = {"resume the session": -1.5, "end the session": -3.0}

    def pruned(phrases: list[str]) -> dict[str, float]:
        return {p: -4.0 for p in phrases if TABLE[p] != "resume"}

    verdict = spotter.judge_rescored([("Video possession", 0.1)] * 2, weigher(near, []), pruned)
    assert verdict.phrase == "resume the session", verdict
    talk = {"resume the session": -2.6}  # below every floor: still talk
    assert spotter.judge_rescored([("Video possession", 0.1)] * 2, weigher(talk, []), pruned).phrase is None


def test_weighing_added_time_scores_the_minutes_that_sound_like_the_winner(weighing):
    spotter = weighing
    asked: list[list[str]] = []
    said = {"add five minutes": -1.9, "add nine minutes": -1.2}  # the probe five wins, nine sounds like it
    verdict = spotter.judge_rescored([("And I'm with it.", 0.1)] * 2, weigher({}, []), weigher(said, asked))
    assert verdict.phrase == "add nine minutes", verdict
    assert len(asked) == 2 and all(TABLE[p] == "extend" for p in asked[1])
    assert "add nine minutes" not in asked[0] and "add five minutes" in asked[0]
    close = {"add five minutes": -1.5, "add nine minutes": -1.6}  # minutes unclear: nothing
    assert spotter.judge_rescored([("And I'm with it.", 0.1)] * 2, weigher({}, []),
                                  weigher(close, [])).phrase is None


@pytest.mark.parametrize("reading, scores, phrase", [
    ("Have one visit", {"add one minute": -1.8}, "add one minute"),     # a command misheard in noise
    ("And one wallet", {"add one minute": -4.9}, None),                 # talk: "Add more water"
    ("Have 5 minutes", {"add five minutes": -1.8, "add nine minutes": -2.7}, "add five minutes"),
    ("Have 9 minutes", {"add nine minutes": -2.4, "add five minutes": -2.2}, None),  # minutes in doubt
    ("And 8 minutes.", {"add eight minutes": -2.5, "add five minutes": -2.3}, None),  # five: said most
    ("And five million.", {"add five minute": -3.6, "add five minutes": -1.2}, "add five minute"),  # one meaning
])
def test_added_time_matched_by_sound_is_kept_only_when_the_engine_agrees(reading, scores, phrase):
    """The reading alone cannot tell "And one wallet" (talk) from "Have one visit" (a command
    in noise): both are 0.31 from "add one minute". The engine, scoring the phrase and the
    minutes that sound like it against the audio, can."""
    spotter = CommandSpotter(TABLE, settings=DEFAULT_SETTINGS["moonshine"])
    assert spotter.judge([(reading, 0.1)] * 2).phrase is not None  # taken by sound alone
    asked: list[list[str]] = []
    verdict = spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, asked, -6.0), weigher(scores, [], -6.0))
    assert verdict.phrase == phrase, verdict
    assert len(asked[0]) > 1 and all(TABLE[p] == "extend" for p in asked[0])
    assert {"add one minute", "add five minutes", "add ten minutes"} <= set(asked[0])  # the minutes said most


@pytest.mark.parametrize("reading, unsure, scores, phrase", [
    ("Repeat the pattern.", 0.03, {"repeat that": -3.7}, None),     # read surely; the phrase far below
    ("Repeat the pattern.", 0.03, {"repeat that": -1.0}, "repeat that"),  # the engine agrees
    ("Repeat the pattern.", 0.6, {"repeat that": -3.7}, "repeat that"),   # read unsurely: not checked
    ("Remove the session.", 0.1, {"resume the session": -0.9}, "resume the session"),  # espeak-ng's 'resume'
])
def test_a_phrase_matched_by_sound_to_a_sure_reading_is_kept_only_when_the_engine_agrees(reading, unsure, scores, phrase):
    """A sentence can sound like a phrase ("Repeat the pattern." is 0.33 from "repeat that");
    when the engine was sure of what it read (``unsure``: 1 minus its geometric mean token
    probability), the phrase must score nearly as well as that reading."""
    spotter = CommandSpotter(TABLE, settings=DEFAULT_SETTINGS["moonshine"])
    readings = [(reading, unsure)] * 2
    assert spotter.judge(readings).phrase is not None  # taken by sound alone
    asked: list[list[str]] = []
    verdict = spotter.judge_rescored(readings, weigher(scores, asked, -6.0), weigher(scores, [], -6.0))
    assert verdict.phrase == phrase, verdict
    assert (asked[:1] == [list(scores)]) == (unsure < 0.33)  # scored only when read surely


NEAR = replace(WEIGH, near_talk=0.0)


@pytest.mark.parametrize("reading, scores, phrase", [
    ("They can know her.", {"take a note": -1.9, "take another": -1.4}, None),      # talk scores better
    ("They can know her.", {"take a note": -1.9, "take another": -1.9}, None),      # ... or as well
    ("They can know her.", {"take a note": -1.9, "take another": -3.6}, "take a note"),
    ("Take a note.", {"take a note": -0.1, "take another": -2.7}, "take a note"),   # read as said
    ("I'm not so easily saved.", {"how much time is left": -1.99, "how much soil is left": -1.2}, None),
    ("Kendall met.", {"cancel that": -1.4, "council that": -1.0}, "cancel that"),  # nearly the phrase
])
def test_a_phrase_about_to_be_taken_must_score_above_talk_that_sounds_like_it(reading, scores, phrase):
    """Talk near a command ("take another") can read as anything and weigh its command well;
    asked for both, the engine tells them apart. Only talk that is the phrase with a word
    clearly replaced counts: "council that" sounds nearly as "cancel that" does."""
    spotter = CommandSpotter(TABLE, settings=NEAR)
    verdict = spotter.judge_rescored([(reading, 0.1)] * 2, weigher(scores, [], -6.0), weigher(scores, [], -6.0))
    assert verdict.phrase == phrase, verdict
    without = CommandSpotter(TABLE, settings=replace(NEAR, near_talk=None))
    taken = without.judge_rescored([(reading, 0.1)] * 2, weigher(scores, [], -6.0), weigher(scores, [], -6.0))
    assert taken.phrase is not None, taken  # taken without the check


@pytest.mark.parametrize("reading, unsure, phrase", [
    ("Notes.", 0.1, None),          # a word the engine was sure of, not the phrase: talk
    ("Notes.", 0.6, "note"),        # read unsurely: the sound match stands
    ("Rehume", 0.8, "resume"),
])
def test_a_one_word_phrase_is_not_taken_for_another_word_read_surely(reading, unsure, phrase):
    spotter = CommandSpotter(TABLE, settings=DEFAULT_SETTINGS["moonshine"])
    readings = [(reading, unsure)] * 2
    assert spotter.judge(readings).phrase is not None  # near enough by sound
    scores = {"note": -1.0, "resume": -1.0}  # the engine finds the phrase likelier than any talk near it
    verdict = spotter.judge_rescored(readings, weigher(scores, [], -6.0), weigher(scores, [], -6.0))
    assert verdict.phrase == phrase, verdict


def test_added_time_read_exactly_needs_no_scoring():
    spotter = CommandSpotter(TABLE, settings=DEFAULT_SETTINGS["moonshine"])
    asked: list[list[str]] = []
    verdict = spotter.judge_rescored([("Add five minutes.", 0.1)] * 2, weigher({}, asked), weigher({}, asked))
    assert verdict.phrase == "add five minutes" and asked == []


def test_weighing_is_not_needed_for_a_reading_taken_as_read(weighing):
    spotter = weighing
    asked: list[list[str]] = []
    assert spotter.judge_rescored([("Take a note.", 0.1)] * 2, weigher({}, asked),
                                  weigher({}, asked)).phrase == "take a note"
    assert asked == []


def test_moonshine_real_audio_a_spoken_command_and_a_recorded_sentence(moonshine_spotter, tmp_path):
    silence = bytes(16000)
    verdict = moonshine_spotter.decide(silence + said("how much time is left", "en-us+m3", tmp_path) + silence)
    assert verdict.phrase == "how much time is left", verdict
    sentence = max((read_wav(path) for path, _ in librivox_files()), key=len)
    assert moonshine_spotter.decide(sentence[: 3 * 32000]).phrase is None  # a short stretch of talk
    assert moonshine_spotter.decide(silence * 4).phrase is None  # breath or noise: no words


def test_the_spotter_shares_the_answer_engines_model():
    from assistant.speech.engines import open_recognizer
    from assistant.speech.live import open_spotter
    from tests.helpers import config

    answers = open_recognizer("moonshine")
    spotter = open_spotter(config(), answers)
    assert spotter.engine == "moonshine" and spotter._reader._recognizer is answers  # one model in memory


def test_spoken_forms_of_a_phrase():
    assert spoken_forms("pause") == ["Pause"]
    assert spoken_forms("give us forty five more minutes") == ["Give us forty five more minutes",
                                                               "Give us forty-five more minutes"]
    assert written("give us forty five more minutes") == "Give us 45 more minutes"
    assert written("add one minute") == "Add 1 minute" and written("pause") == "Pause"


def test_moonshine_real_audio_a_misread_command_is_rescored_and_near_talk_is_not(moonshine_spotter, tmp_path):
    """A voice not in the benchmark's commands: Moonshine reads "pause the session" as "Post the
    session."; scored as what was said, the phrase wins. "How much paint is left" sounds like a
    phrase but the word "time" was never said."""
    silence = bytes(16000)
    verdict = moonshine_spotter.decide(silence + said("pause the session", "en-gb-x-rp+m2", tmp_path) + silence)
    assert verdict.phrase == "pause the session", verdict
    for voice in ("en-us+m3", "en-gb-x-rp+m2"):
        verdict = moonshine_spotter.decide(silence + said("how much paint is left", voice, tmp_path) + silence)
        assert verdict.phrase is None, verdict


def test_moonshine_real_audio_talk_near_a_command_is_told_from_it_by_score(moonshine_spotter, tmp_path):
    """A voice not in the benchmark, said fast: Moonshine reads "take another" as "Take a
    normal" and the phrase "take a note" matches it by sound; asked which was said, the engine
    scores talk near it ("take a look") better. The phrase itself, in the same voice, stands."""
    silence = bytes(16000)

    def fast(text: str) -> bytes:
        path = tmp_path / "fast.wav"
        subprocess.run(["espeak-ng", "-v", "en+m4", "-s", "190", "-w", str(path), text], check=True)
        return silence + read_wav(path) + silence

    talk, command = fast("take another"), fast("take a note")
    verdict = moonshine_spotter.decide(talk)
    assert verdict.phrase is None and verdict.reason.endswith("talk"), verdict
    assert moonshine_spotter.decide(command).phrase == "take a note", moonshine_spotter.last
    settings = moonshine_spotter.settings
    try:
        moonshine_spotter.settings = replace(settings, near_talk=None)
        assert moonshine_spotter.decide(talk).phrase == "take a note"  # what the check turned down
    finally:
        moonshine_spotter.settings = settings


@pytest.mark.parametrize("text, voice", [
    pytest.param("start the debrief", "en-us+m4", marks=reads_differently_on_avx512(
        "it 'Starter to the debrief.', weighed -1.62 and not taken (a miss there)")),
    pytest.param("undo that", "en-us+f1", marks=reads_differently_on_avx512(
        "it 'Undo Matt', matched by sound at once (taken, not weighed)")),
    pytest.param("add five minutes", "en-us+f1", marks=reads_differently_on_avx512(
        "it 'Add five millets.', matched by sound at once (taken, not weighed)"))])
def test_moonshine_real_audio_a_command_read_as_other_words_is_weighed(moonshine_spotter, tmp_path, text, voice):
    """Voices not in the benchmark's commands: Moonshine reads these as other words ("Starter to
    the debris.", "I'm doing that", "And I'm Milly."), too far from any phrase by sound and
    from rescoring's bar; weighed against every command, the one said stands clear."""
    silence = bytes(16000)
    verdict = moonshine_spotter.decide(silence + said(text, voice, tmp_path) + silence)
    assert verdict.phrase == text, verdict
    assert "weighed" in verdict.reason, verdict  # taken by weighing, not as read


def test_slowed_audio_is_longer_and_lower():
    """The slower hearing's audio: at 80 % speed a second of a 1 kHz tone lasts 1.25 s at 800 Hz."""
    t = np.arange(16000) / 16000
    tone = (np.sin(2 * np.pi * 1000 * t) * 8000).astype("<i2").tobytes()
    out = np.frombuffer(slowed(tone, 0.8), dtype="<i2").astype(float)
    assert len(out) == 20000
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 800) < 2


@pytest.mark.parametrize("text, voice", [
    pytest.param("undo that", "en-us+m1", marks=reads_differently_on_avx512(
        "it 'A do not': with the doubtful band off, as here, not taken at either speed (the default "
        "spotter takes it, weighed -1.88)")),
    pytest.param("note", "en-us+f2", marks=reads_differently_on_avx512(
        "it 'Note.' at its own speed (taken at once)"))])
def test_moonshine_real_audio_a_command_missed_is_heard_again_slower(moonshine_spotter, tmp_path, text, voice):
    """Voices not in the benchmark's commands: Moonshine misses these at their own speed
    ("Undo that" weighed too low, "note" read "No."), and takes them played at 80 % speed.
    (Without the doubtful floor: it now takes "A dude now" for "undo that" at once.)"""
    silence = bytes(16000)
    spotter = CommandSpotter(TABLE, shared=moonshine_spotter._reader._recognizer,
                             settings=replace(DEFAULT_SETTINGS["moonshine"], weigh_doubtful=None))
    verdict = spotter.decide(silence + said(text, voice, tmp_path) + silence)
    assert verdict.phrase == text, verdict
    assert verdict.reason.startswith("played at 80% speed"), verdict


def test_a_decision_no_longer_wanted_stops_at_its_next_step(moonshine_spotter, tmp_path):
    """The listener drops an early decision when speech goes on ("take a ... note"): the
    spotter asks ``moot`` before each decoding step and stops there, so the decision on the
    whole command does not wait behind a full one on its first words."""
    audio = bytes(16000) + said("undo that", "en-us+m1", tmp_path) + bytes(16000)  # not taken as read
    asked: list[bool] = []

    def moot() -> bool:  # wanted for the first reading only
        asked.append(len(asked) > 0)
        return asked[-1]

    verdict = moonshine_spotter.decide(audio, moot)
    assert verdict.phrase is None and verdict.reason.startswith("dropped"), verdict
    assert asked == [False, True]  # nothing decoded after it turned true
    stream = moonshine_spotter.stream(moot=lambda: True)
    stream.accept(audio)
    assert stream.finish().text == ""
    assert moonshine_spotter.decide(audio).phrase == "undo that"  # wanted, it is heard


SLOWER_ONLY = replace(DEFAULT_SETTINGS["moonshine"], shifted=())
"""The default spotter without the hearings from later: the stand-ins below test the slowed one."""


class HeardAsEight(CommandSpotter):
    """A stand-in for the hearings: the first takes nothing and weighs a command at
    ``weighed``; any slowed one reads "Add 8 minutes." (the audio's lengths are kept)."""

    weighed = -2.0
    first: str | None = None
    """What the first hearing's weighing put first."""

    def __init__(self, engine: object) -> None:
        super().__init__(TABLE, shared=engine, settings=SLOWER_ONLY)
        self.heard: list[int] = []

    def _judge_audio(self, pcm: bytes, moot: Callable[[], bool]) -> Verdict:
        self.heard.append(len(pcm))
        if len(self.heard) == 1:
            return Verdict(None, "At 8 mil", "At 8 mil", "weighed", weighed=self.weighed,
                           weighed_first=self.first)
        return Verdict("add eight minutes", "Add 8 minutes.", "Add 8 minutes.", "matched", 0.0)


def test_minutes_heard_only_slowed_are_not_taken(moonshine_spotter):
    """Slowed, "five" can come out "eight" (section 3: "At 8 mil" for "add five minutes"): the
    slower hearing takes no added time."""
    spotter = HeardAsEight(moonshine_spotter._reader._recognizer)
    verdict = spotter.decide(bytes(32000))
    assert verdict.phrase is None and "minutes not heard at first" in verdict.reason, verdict
    assert spotter.heard == [32000, 40000]  # heard once more, at 80 % speed


@pytest.mark.parametrize("first, taken", [("add eight minutes", True), ("add five minutes", False),
                                          ("pause", False)])
def test_minutes_heard_slowed_are_taken_when_the_first_hearing_weighed_them_first(moonshine_spotter, first, taken):
    """The audio as it was confirms the number: its weighing put "add eight minutes" first."""
    spotter = HeardAsEight(moonshine_spotter._reader._recognizer)
    spotter.first = first
    verdict = spotter.decide(bytes(32000))
    assert (verdict.phrase == "add eight minutes") == taken, verdict
    assert ("minutes not heard at first" in verdict.reason) != taken


class TwoHearings(CommandSpotter):
    """A stand-in for the hearings: the first reads ``first`` and takes nothing; the slowed one
    takes "how much time is left" at a doubtful score, reading "I must be deceived."."""

    def __init__(self, engine: object, first: str) -> None:
        super().__init__(TABLE, shared=engine, settings=SLOWER_ONLY)
        self.first = first

    def _judge_audio(self, pcm: bytes, moot: Callable[[], bool]) -> Verdict:
        if len(pcm) == 32000:
            return Verdict(None, self.first, self.first, "weighed", weighed=-2.2,
                           weighed_first="how much time is left")
        return Verdict("how much time is left", "I must be deceived.", "I must be deceived.", "weighed",
                       doubtful=True)


@pytest.mark.parametrize("first, taken", [("I made it.", True), ("I much think it's lived.", False)])
def test_a_doubtful_slowed_hearing_must_suit_the_first_reading_too(moonshine_spotter, first, taken):
    """ "How much paint is left" at 20 dB: read "I much think it's lived." (part of the phrase
    word for word: talk about the same thing), then slowed "I must be deceived.", which alone
    would pass."""
    spotter = TwoHearings(moonshine_spotter._reader._recognizer, first)
    verdict = spotter.decide(bytes(32000))
    assert (verdict.phrase == "how much time is left") == taken, verdict


class FromLater(CommandSpotter):
    """A stand-in for the hearings: the first reads "No." and the slowed one "Know.", and
    neither takes anything; the one from 10 ms later gives ``later``."""

    def __init__(self, engine: object, later: Verdict) -> None:
        super().__init__(TABLE, shared=engine, settings=DEFAULT_SETTINGS["moonshine"])
        self.later = later
        self.heard: list[int] = []

    def _judge_audio(self, pcm: bytes, moot: Callable[[], bool]) -> Verdict:
        self.heard.append(len(pcm))
        if len(self.heard) == 1:
            return Verdict(None, "No.", "No.", "weighed", weighed=-2.2, weighed_first="note")
        if len(self.heard) == 2:
            return Verdict(None, "Know.", "Know.", "weighed", weighed=-2.4, weighed_first="note")
        return self.later


@pytest.mark.parametrize("later, taken", [
    (Verdict("note", "Note.", "Note.", "exact phrase"), True),            # a reading of its own
    (Verdict("note", "No.", "No.", "weighed -1.2"), False),               # the first reading again
    (Verdict("resume", "Can't do that.", "Can't do that.", "weighed -2.4", doubtful=True, awaited=True),
     False),                                                              # only because it is awaited
    (Verdict("resume", "Reviews.", "Reviews.", "weighed -1.2"), True),
])
def test_a_command_missed_is_heard_again_from_10_ms_later_on_a_reading_of_its_own(moonshine_spotter, later, taken):
    """Moonshine's reading turns on where its frames fall ("No." at first, "Note." from 10 ms
    later). Read the same, only its scores drift: not taken; nor is a command taken there only
    because the session awaits it ("Can't do that", talk, as "continue" while paused)."""
    spotter = FromLater(moonshine_spotter._reader._recognizer, later)
    spotter.expect(("resume",))
    verdict = spotter.decide(bytes(32000))
    assert spotter.heard == [32000, 40000, 32000 - 320]  # as it was, at 80 % speed, from 10 ms later
    assert (verdict.phrase == later.phrase) == taken, verdict
    assert verdict.reason.startswith("heard from 10 ms later") == taken, verdict


class TwoLooks(CommandSpotter):
    """A stand-in for the hearings: the first look (2 s) reads "No." and takes nothing, nor
    does any of its other hearings; the second look (2.25 s, as it came) reads ``second``."""

    def __init__(self, engine: object, second: Verdict) -> None:
        super().__init__(TABLE, shared=engine, settings=DEFAULT_SETTINGS["moonshine"])
        self.second = second
        self.heard: list[int] = []

    def _judge_audio(self, pcm: bytes, moot: Callable[[], bool]) -> Verdict:
        self.heard.append(len(pcm))
        if len(pcm) == 72000:
            return self.second
        return Verdict(None, "No.", "No.", "weighed", weighed=-2.2, weighed_first="note")


@pytest.mark.parametrize("second, taken", [(Verdict("note", "Note.", "Note.", "exact phrase"), True),
                                           (Verdict(None, "No.", "No.", "weighed", weighed=-2.2), False)])
def test_the_second_look_is_heard_before_the_first_looks_slower_hearings(moonshine_spotter, second, taken):
    """Once the listener offers the second look's audio (the pause reached ``quick_silence``),
    it is heard as it came next: a command taken there is acted on without waiting for the
    first look's slower and later hearings. It is heard once: the second look itself
    remembers it."""
    spotter = TwoLooks(moonshine_spotter._reader._recognizer, second)
    longer = bytes(72000)
    verdict = spotter.decide(bytes(64000), more=lambda: longer)
    assert (verdict.phrase == "note") == taken, verdict
    assert verdict.reason.startswith("looked again, with more of the pause") == taken
    if taken:
        assert spotter.heard == [64000, 72000]
        return
    assert spotter.heard == [64000, 72000, 80000, 64000 - 320]  # then slowed, and from 10 ms later
    assert spotter.decide(longer).phrase is None
    assert spotter.heard[4:] == [90000, 72000 - 320]  # the second look: only its other hearings


@pytest.mark.parametrize("text, voice", [
    pytest.param("say that again", "en-us+f1", marks=found_on_avx512("it well enough as it was or slowed")),
    pytest.param("note", "en-us+m4", marks=found_on_avx512("it well enough as it was or slowed"))])
def test_moonshine_real_audio_a_command_missed_is_heard_again_from_10_ms_later(moonshine_spotter, tmp_path,
                                                                             text, voice):
    """A voice not in the benchmark's commands: missed as it was and at 80 % speed, heard from
    10 ms later."""
    silence = bytes(16000)
    verdict = moonshine_spotter.decide(silence + said(text, voice, tmp_path) + silence)
    assert verdict.phrase == text, verdict
    assert verdict.reason.startswith("heard from 10 ms later"), verdict


def test_an_utterance_no_command_sounds_like_is_not_heard_again(moonshine_spotter):
    """Weighing found every command unlikely (talk): no slower hearing (it would cost CPU)."""
    spotter = HeardAsEight(moonshine_spotter._reader._recognizer)
    spotter.weighed = -5.0
    assert spotter.decide(bytes(32000)).phrase is None
    assert spotter.heard == [32000]


@pytest.mark.parametrize("text, voice", [("pause", "en+m4"), ("start the debrief", "en-gb+m2")])
def test_moonshine_real_audio_a_command_in_noise_is_heard_once_the_noise_is_taken_out(
        moonshine_spotter, tmp_path, text, voice):
    """Voices not in the benchmark, in steady noise at 10 dB SNR: as heard, Moonshine reads
    "Or" and "Talk to the degree"; with the noise subtracted (denoise.py) it hears the command."""
    x = np.frombuffer(said(text, voice, tmp_path), dtype="<i2").astype(np.float64)
    x *= 1600 / np.sqrt(np.mean(x[np.abs(x) > 50] ** 2))
    x = np.concatenate([np.zeros(8000), x, np.zeros(8000)])
    noisy = x + pink_noise(len(x), seed=7) * 1600 / 10 ** (10 / 20)
    pcm = np.clip(noisy, -32768, 32767).astype("<i2").tobytes()
    assert moonshine_spotter.settings.denoise
    assert moonshine_spotter.decide(pcm).phrase == text
    as_heard = CommandSpotter(TABLE, shared=moonshine_spotter._reader._recognizer,
                              settings=replace(moonshine_spotter.settings, denoise=False))
    assert as_heard.decide(pcm).phrase is None
