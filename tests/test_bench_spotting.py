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
