"""WAV files in and out of the recognizer's format (16 kHz mono signed 16-bit PCM).

Users hand Duet recordings from phones, field recorders and ``espeak-ng`` (22050 Hz): any rate,
any channel count, 16/24/32-bit integer or 32/64-bit float samples (Audacity exports float). Everything is turned into ``SAMPLE_RATE`` mono
int16 here, once, so no engine has to care. Problems become a one-line ``WavError`` that names the
file, what is wrong and what to do, because these messages reach the user as they are.
"""

from __future__ import annotations

import logging
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH

log = logging.getLogger(__name__)

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
_ENCODINGS = {2: "ADPCM", 6: "A-law", 7: "\u00b5-law", 0x55: "MP3"}
"""Encodings a WAV file may hold that Duet does not read, by their format code: named, not numbered."""
_CONVERT_HINT = "convert it to 16-bit PCM, e.g. sox in.wav -b 16 -e signed out.wav"


class WavError(ValueError):
    """A WAV file that cannot be used; the message is meant for the user."""


@dataclass(frozen=True)
class _RawWav:
    """Samples exactly as stored, before conversion."""

    frames: bytes
    channels: int
    width: int
    rate: int
    floating: bool = False
    """IEEE float samples (4 or 8 bytes), not integers."""


def read_wav(path: str | Path) -> bytes:
    """Return the file's audio as 16 kHz mono int16 PCM (downmixed by mean, resampled by soxr)."""
    path = Path(path)
    raw = _read_raw(path)
    if raw.floating and raw.width not in (4, 8):
        raise WavError(f"{path}: {raw.width * 8}-bit float samples are not supported; {_CONVERT_HINT}")
    if raw.width == 1:
        raise WavError(f"{path}: 8-bit samples are not supported; convert it to 16-bit, "
                       f"e.g. sox in.wav -b 16 out.wav")
    if raw.width not in (2, 3, 4, 8) or (raw.width == 8 and not raw.floating):
        raise WavError(f"{path}: {raw.width * 8}-bit samples are not supported; {_CONVERT_HINT}")
    if len(raw.frames) < raw.width * max(raw.channels, 1) or raw.channels < 1:
        raise WavError(f"{path}: the file holds no audio (0 frames); record or export it again")
    frame_size = raw.width * raw.channels
    frames = raw.frames[:len(raw.frames) - len(raw.frames) % frame_size]
    if (raw.width, raw.channels, raw.rate, raw.floating) == (SAMPLE_WIDTH, 1, SAMPLE_RATE, False):
        return frames  # already the recognizer's format: an hour of it is 115 MB, not 1.5 GB converted
    samples = _to_float(frames, raw.width, raw.floating).reshape(-1, raw.channels).mean(axis=1)
    if raw.rate != SAMPLE_RATE:
        samples = soxr.resample(samples, raw.rate, SAMPLE_RATE)
    return float_to_pcm(samples)


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 PCM as a plain WAV (for tests, benchmarks and saved answers)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(pcm)


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """int16 PCM bytes as float32 samples in [-1, 1), the form Whisper takes."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(samples: np.ndarray) -> bytes:
    """float samples in [-1, 1] as int16 PCM bytes, clipped rather than wrapped around."""
    scaled = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


def from_later(pcm: bytes | bytearray, seconds: float) -> bytes:
    """16 kHz int16 ``pcm`` without its first ``seconds``: the same sound on frames that fall
    elsewhere (Moonshine's reading of a hard voice turns on where its frames fall)."""
    return bytes(pcm[int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH:])


def duration(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Seconds of mono int16 audio."""
    return len(pcm) / (SAMPLE_WIDTH * rate)


def _read_raw(path: Path) -> _RawWav:
    """Open with the stdlib ``wave``; fall back to our own parser for WAVE_FORMAT_EXTENSIBLE.

    Python 3.11's ``wave`` refuses format 0xFFFE, which sox and many recorders write for
    24/32-bit or multichannel PCM, so that case is parsed here.
    """
    if not path.exists():
        raise WavError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise WavError(f"{path}: is a folder, not a WAV file; give the path of a .wav file")
    if not path.is_file():  # a pipe or a device: reading it could wait forever (a QA pass's FIFO did)
        raise WavError(f"{path}: not a regular file; give the path of a .wav file")
    try:
        with wave.open(str(path), "rb") as wav:
            return _RawWav(wav.readframes(wav.getnframes()), wav.getnchannels(),
                           wav.getsampwidth(), wav.getframerate())
    except wave.Error as err:
        if str(err) in (f"unknown format: {_EXTENSIBLE}", f"unknown format: {_FLOAT}"):
            return _read_chunks(path)
        code = str(err).removeprefix("unknown format: ")
        if code.isdigit() and int(code) in _ENCODINGS:  # "unknown format: 6" said nothing (a QA pass)
            raise WavError(f"{path}: {_ENCODINGS[int(code)]} samples are not supported; {_CONVERT_HINT}") from None
        if "RIFF" in str(err) or "WAVE" in str(err):
            raise WavError(f"{path}: not a WAV file ({err}); convert it to WAV first, e.g. ffmpeg -i in.mp3 "
                           f"-ac 1 -ar 16000 out.wav (Debian's sox reads MP3 only with libsox-fmt-mp3)") from None
        raise WavError(f"{path}: unsupported WAV encoding ({err}); {_CONVERT_HINT}") from None
    except EOFError:
        raise WavError(f"{path}: not a WAV file (it is empty or cut short); "
                       f"record or export it again") from None


def _read_chunks(path: Path) -> _RawWav:
    """Read a float WAV, or a WAVE_FORMAT_EXTENSIBLE one whose sub-format is integer PCM or
    float, from its chunks: Python 3.11's ``wave`` reads integer PCM only."""
    data = path.read_bytes()
    fmt, frames = _chunk(data, b"fmt "), _chunk(data, b"data")
    if fmt is None or frames is None or len(fmt) < 16:
        raise WavError(f"{path}: damaged WAV file (no fmt or data chunk); "
                       f"record or export it again")
    code, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if code == _EXTENSIBLE:
        if len(fmt) < 26:
            raise WavError(f"{path}: damaged WAV file (its format chunk is cut short); record or export it again")
        code = struct.unpack_from("<H", fmt, 24)[0]
    if code not in (_PCM, _FLOAT):
        raise WavError(f"{path}: samples are not integer or float PCM ({_ENCODINGS.get(code, f'format {code}')}); "
                       f"{_CONVERT_HINT}")
    width = (bits + 7) // 8
    usable = len(frames) - len(frames) % max(align, 1)
    return _RawWav(frames[:usable], channels, width, rate, floating=code == _FLOAT)


def _chunk(data: bytes, name: bytes) -> bytes | None:
    """The payload of the first RIFF chunk called ``name``."""
    pos = 12
    while pos + 8 <= len(data):
        ident, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if ident == name:
            return data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    return None


def _to_float(frames: bytes, width: int, floating: bool = False) -> np.ndarray:
    """Little-endian signed integer samples of 2, 3 or 4 bytes, or float ones of 4 or 8, as
    float64 in [-1, 1] (a float sample past full scale is clipped, one not a number is silence)."""
    if floating:
        samples = np.frombuffer(frames, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
        return np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    if width == 3:
        triples = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)) << 8
        return ints.astype(np.float64) / 2.0**31
    dtype = "<i2" if width == 2 else "<i4"
    return np.frombuffer(frames, dtype=dtype).astype(np.float64) / 2.0 ** (8 * width - 1)
