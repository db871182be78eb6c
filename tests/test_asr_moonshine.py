"""Moonshine base English (moonshine-cpp) behind the recognizer seam, on real recorded speech.

Its library needs AVX-512: on a CPU without it, loading must end in one ``ModelError`` line (the
child-process probe), never a SIGILL; the speech tests then skip, saying why.
"""

from __future__ import annotations

import pytest

from assistant.speech.asr_moonshine import (
    MoonshineRecognizer,
    bundled_model_dir,
    usable,
)
from assistant.speech.engines import open_recognizer
from assistant.speech.models import ModelError
from assistant.speech.wer import corpus_wer
from tests import helpers

PROBLEM = usable(str(bundled_model_dir()))


def test_the_model_ships_with_the_package() -> None:
    folder = bundled_model_dir()
    assert all((folder / name).stat().st_size > 100_000 for name in ("encoder_model.ort", "decoder_model_merged.ort"))


@pytest.mark.skipif(PROBLEM is None, reason="this CPU runs Moonshine")
def test_an_unsupported_cpu_is_one_line_not_a_crash() -> None:
    with pytest.raises(ModelError) as err:
        open_recognizer("moonshine")
    assert "\n" not in str(err.value) and "AVX-512" in str(err.value)


@pytest.fixture(scope="module")
def moonshine() -> MoonshineRecognizer:
    if PROBLEM:
        pytest.skip(PROBLEM)
    return MoonshineRecognizer()


def test_librivox_word_error(moonshine: MoonshineRecognizer) -> None:
    pairs = helpers.librivox()
    hyps = [moonshine.transcribe(pcm).text for pcm, _ in pairs]
    assert corpus_wer([(text, hyp) for (_, text), hyp in zip(pairs, hyps)]) <= 0.10


def test_silence_is_no_answer(moonshine: MoonshineRecognizer) -> None:
    assert moonshine.transcribe(b"\0\0" * 16000).text == ""
    assert moonshine.transcribe(b"\0\0" * 100).text == ""
