"""read_wav turns real and synthesized WAVs of any common shape into 16 kHz mono int16."""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.speech.asr import SAMPLE_RATE
from assistant.speech.wav import WavError, duration, pcm_to_float, read_wav, write_wav

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/"
                "sense_and_sensibility_01_austen_64kb-0880.wav")


def _write(path: Path, samples: np.ndarray, rate: int, width: int) -> Path:
    """A plain-PCM WAV (format 1) with samples in [-1, 1] of shape (frames, channels)."""
    scale = 2 ** (8 * width - 1) - 1
    ints = np.round(samples * scale).astype(np.int64)
    if width == 3:
        raw = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raw = ints.astype({2: "<i2", 4: "<i4"}[width]).tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(raw)
    return path


def _tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def _peak_hz(pcm: bytes) -> float:
    samples = pcm_to_float(pcm)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


def test_real_16k_recording_is_returned_unchanged():
    if not LIBRIVOX.exists():
        pytest.fail("apt-get install pocketsphinx-testdata (real recordings for the tests)")
    with wave.open(str(LIBRIVOX)) as wav:
        frames = wav.readframes(wav.getnframes())
    assert read_wav(LIBRIVOX) == frames


def test_espeak_22050_hz_is_resampled_to_16k(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.fail("apt-get install espeak-ng")
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-w", str(path), "start the debrief"], check=True)
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 22050
        seconds = wav.getnframes() / 22050
    pcm = read_wav(path)
    assert duration(pcm) == pytest.approx(seconds, abs=0.002)
    assert np.abs(pcm_to_float(pcm)).max() > 0.1  # speech, not silence


@pytest.mark.parametrize(("rate", "width"), [(44100, 3), (8000, 4), (48000, 2)])
def test_tone_keeps_its_pitch_through_any_rate_and_width(tmp_path, rate, width):
    path = _write(tmp_path / "tone.wav", _tone(1000, 1.0, rate)[:, None], rate, width)
    pcm = read_wav(path)
    assert duration(pcm) == pytest.approx(1.0, abs=0.002)
    assert _peak_hz(pcm) == pytest.approx(1000, abs=5)
    assert np.abs(pcm_to_float(pcm)).max() == pytest.approx(0.5, abs=0.03)


def test_channels_are_downmixed_by_mean(tmp_path):
    tone = _tone(440, 0.5, 32000)
    opposite = _write(tmp_path / "opposite.wav", np.stack([tone, -tone], axis=1), 32000, 3)
    one_sided = _write(tmp_path / "left.wav", np.stack([tone, 0 * tone, 0 * tone], axis=1),
                       32000, 2)
    assert np.abs(pcm_to_float(read_wav(opposite))).max() < 0.01  # cancels out
    assert np.abs(pcm_to_float(read_wav(one_sided))).max() == pytest.approx(0.5 / 3, abs=0.02)


def test_wave_format_extensible_from_sox_is_read(tmp_path):
    """sox writes 24-bit and multichannel files as WAVE_FORMAT_EXTENSIBLE (stdlib wave refuses)."""
    if shutil.which("sox") is None:
        pytest.fail("apt-get install sox")
    path = tmp_path / "sox24.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "24", str(path),
                    "synth", "0.5", "sine", "1000"], check=True)
    pcm = read_wav(path)
    assert duration(pcm) == pytest.approx(0.5, abs=0.002)
    assert _peak_hz(pcm) == pytest.approx(1000, abs=10)


def test_write_then_read_round_trips(tmp_path):
    pcm = np.arange(-1000, 1000, dtype="<i2").tobytes()
    write_wav(tmp_path / "out.wav", pcm)
    assert read_wav(tmp_path / "out.wav") == pcm


def _message(path: Path) -> str:
    with pytest.raises(WavError) as err:
        read_wav(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _message(tmp_path / "nope.wav")


def test_not_a_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are notes, not audio\n")
    assert "not a WAV file" in _message(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    assert "not a WAV file" in _message(path)


def test_wav_without_frames(tmp_path):
    path = tmp_path / "empty.wav"
    write_wav(path, b"")
    assert "no audio" in _message(path)


def test_8_bit_says_how_to_convert(tmp_path):
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * 10)
    message = _message(path)
    assert "8-bit" in message and "sox in.wav -b 16 out.wav" in message


@pytest.mark.parametrize("bits,channels", [(32, 1), (64, 1), (32, 2)])
def test_float_samples_are_read(tmp_path, bits, channels):
    """Audacity exports float WAVs; a QA pass had them refused as "unknown format: 3"."""
    path = tmp_path / "float.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", str(channels), "-e", "float", "-b", str(bits), str(path),
                    "synth", "0.5", "sine", "1000", "vol", "0.5"], check=True)
    pcm = read_wav(path)
    assert duration(pcm) == pytest.approx(0.5, abs=0.002)
    assert _peak_hz(pcm) == pytest.approx(1000, abs=10)
    assert np.abs(np.frombuffer(pcm, "<i2")).max() == pytest.approx(16384, rel=0.02)


def test_other_encodings_are_named_and_a_pipe_is_not_read(tmp_path):
    path = tmp_path / "alaw.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-e", "a-law", str(path), "synth", "0.1", "sine", "440"], check=True)
    message = _message(path)
    assert "A-law samples are not supported" in message and "sox in.wav -b 16" in message
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)  # reading it would wait for a writer forever (a QA pass)
    assert "not a regular file" in _message(fifo)
