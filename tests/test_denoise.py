"""The spotter's noise subtraction (denoise.py) on real espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.denoise import quieted, quieted_pcm
from assistant.speech.wav import read_wav
from tests.helpers import pink_noise
from tests.partner import espeak

RATE = 16000


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x)) + 1e-12)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[np.ndarray, slice]:
    """A spoken sentence with half a second of quiet around it, and where the words are."""
    wav = espeak("we could start the debrief now", "en-us+f2", tmp_path_factory.mktemp("dn") / "s.wav")
    x = np.frombuffer(read_wav(wav), dtype="<i2").astype(np.float64)
    x = x * (1600 / np.sqrt(np.mean(x[np.abs(x) > 50] ** 2)))
    pad = np.zeros(RATE // 2)
    return np.concatenate([pad, x, pad]), slice(len(pad), len(pad) + len(x))


def test_steady_noise_is_taken_out_and_the_words_kept(speech):
    clean, words = speech
    noise = pink_noise(len(clean), seed=1) * np.sqrt(np.mean(clean[words] ** 2)) / 10 ** (10 / 20)
    out = quieted(clean + noise)
    assert len(out) == len(clean)
    quiet = slice(0, words.start)
    assert db(out[quiet]) < db(noise[quiet]) - 6  # the pause before the words: the noise falls (10 dB here)
    assert abs(db(out[words]) - db(clean[words])) < 3  # the words keep their level
    # nearer the clean speech than the noisy input was: at least 3 dB better SNR
    assert db(clean) - db(out - clean) > db(clean) - db(noise) + 3


def test_clean_speech_passes_nearly_unchanged(speech):
    clean, _ = speech
    floor = np.random.default_rng(2).standard_normal(len(clean)) * 10 ** (-70 / 20) * 32768
    out = quieted(clean + floor)
    assert db(out - clean) < db(clean) - 25


@pytest.mark.parametrize("n", [0, 100, 511, 512, 513, 16001])
def test_any_length_comes_back_as_long(n):
    x = np.random.default_rng(n).standard_normal(n) * 1000
    assert len(quieted(x)) == n
    pcm = x.astype("<i2").tobytes()
    assert len(quieted_pcm(pcm)) == len(pcm)


def test_silence_stays_silent():
    assert not np.any(quieted(np.zeros(RATE)))


def test_loud_noise_does_not_overflow_pcm():
    x = np.random.default_rng(3).standard_normal(RATE) * 30000
    out = np.frombuffer(quieted_pcm(np.clip(x, -32768, 32767).astype("<i2").tobytes()), dtype="<i2")
    assert len(out) == RATE
