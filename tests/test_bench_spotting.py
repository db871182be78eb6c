"""How section 3 of the benchmark counts false commands: what the engine would act on."""

import sys

from assistant.session.engine import CONFIRM_WINDOW
from tests.rig import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from bench_speech import _effective  # noqa: E402


def _fired(*pairs):
    return [{"intent": intent, "at": at, "text": intent} for intent, at in pairs]


def test_a_yes_with_no_stop_question_open_is_ignored_not_a_false_command():
    fired, ignored = _effective(_fired(("confirm", 3.0), ("pause", 10.0), ("confirm", 12.0)))
    assert [f["intent"] for f in fired] == ["pause"]
    assert [f["at"] for f in ignored] == [3.0, 12.0]


def test_a_yes_soon_after_a_false_stop_would_stop_the_session_and_counts():
    fired, ignored = _effective(_fired(("stop", 5.0), ("confirm", 5.0 + CONFIRM_WINDOW - 1),
                                       ("stop", 40.0), ("confirm", 41.0 + CONFIRM_WINDOW)))
    assert [(f["intent"], f["at"]) for f in fired] == [("stop", 5.0), ("confirm", 4.0 + CONFIRM_WINDOW),
                                                        ("stop", 40.0)]
    assert len(ignored) == 1


def test_any_other_command_closes_the_stop_question():
    fired, ignored = _effective(_fired(("stop", 5.0), ("pause", 6.0), ("confirm", 7.0)))
    assert [f["intent"] for f in fired] == ["stop", "pause"] and len(ignored) == 1


class _SaysPause:
    """The spotter's place at the recognizer seam (which section 3 and test_spotter cross with the
    real spotter): decides early, and hears "pause" in anything at once."""

    name = "test:pause"
    decides_early = True

    def stream(self, moot=None, more=None):  # noqa: ANN001, ANN201 - the seam's signature
        return _PauseStream()


class _PauseStream:
    def accept(self, pcm: bytes) -> None:
        return None

    def finish(self):  # noqa: ANN201
        from assistant.speech.asr import Transcript

        return Transcript(text="pause", engine="test:pause")


def test_a_command_counts_from_its_end_to_when_duet_acts_not_to_when_its_decision_was_ready(tmp_path):
    """The listener hands a command back once the pause reaches ``quick_silence``; a decision
    ready sooner does not make Duet act sooner, so section 3 must not count it as sooner."""
    import bench_speech as bs

    from assistant.config import load_config
    from assistant.session.commands import CommandParser
    from tests.test_listener import BYTES_PER_SECOND, espeak, silence, trimmed

    config = load_config()
    bs._WORKER.clear()
    bs._WORKER.update(config=config, parser=CommandParser(config.commands, None), labels=None,
                      recognizer=bs._Timed(_SaysPause()), detector="silero")
    command = trimmed(espeak("pause", tmp_path))
    end = 1.0 + len(command) / BYTES_PER_SECOND
    try:
        result = bs._spot({"pcm": silence(1.0) + command + silence(2.0), "speech": (1.0, end),
                           "intent": "pause", "minutes": None})
    finally:
        bs._WORKER.clear()

    assert result["intent_got"] == "pause"
    assert result["ready"] < 0.25  # decided early in the pause, at once
    assert 0.25 <= result["latency"] < 0.25 + 0.2  # acted on at quick_silence (+ the VAD's lag)


def test_a_false_command_is_put_down_to_the_line_of_talk_it_came_from():
    """Section 3 names the line each false command came from: the last one to start before the
    command was handed back, which comes in the pause after it."""
    from bench_speech import _said

    task = {"names": ["synth:en+f3:no thanks", "synth:en-us+m5:how much sand is left", "real:cards1"],
            "starts": [1.4, 4.2, 7.9]}
    assert _said(task, 5.97) == "how much sand is left"  # 0.27 s into the pause after it
    assert _said(task, 2.1) == "no thanks"
    assert _said(task, 9.0) == "cards1"
    assert _said(task, 0.5) == ""  # before any line: nothing to name
