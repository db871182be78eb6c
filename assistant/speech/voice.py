"""Duet's voice: text to samples (pyttsx3 / espeak-ng), and samples to the speaker.

Rendering and playing are separate so the caller knows exactly when the sound ended and can mute
the microphone until then (plus a tail): Duet must not hear itself.

pyttsx3 2.99 has traps (shared/README.md): a second ``runAndWait`` can hang (#126), and
``save_to_file`` to a path already used is ignored (#170) or may write nothing (#142). So every
render runs in a fresh child process, writes to a new temporary file, is bounded by a timeout,
and the file is checked (non-empty, a WAV with frames) before it is read and deleted. A child
costs about 0.1 s here; identical prompts are cached so repeated ones cost nothing.

Short renders: pyttsx3/espeak-ng now and then writes a long text seconds short. Each render's
length is checked against what the ``espeak-ng`` program writes for the same text, voice and
rate (run alongside; measured here: the very same number of samples when nothing went wrong); a
short one is rendered again, and after ``RETRIES`` the program's own audio is used. (Rendering
sentence by sentence was tried: queueing several texts in one pyttsx3 child hangs it, and a
child per sentence costs a process start each.)

Render-ahead: ``prefetch`` renders texts in a background thread (the next question while the
partner answers), so ``render`` finds them in the cache when the turn comes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import wave
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import sounddevice as sd
import soxr

from assistant.errors import DuetError
from assistant.speech.devices import OPEN_STREAMS, find_device, stream_format

log = logging.getLogger(__name__)

TOLERANCE = 0.02
"""A render shorter than its expected length by more than this share is a short render."""
RETRIES = 2
"""Renders of a short text tried again before espeak-ng's own audio of it is used."""
KEPT_TAIL = 0.05
"""Seconds kept after a render's last sound. espeak-ng ends each text with silence (0.32 s at
the default rate): played, it would keep the microphone muted that much longer after the
question, and a partner who answers at once would lose their first word."""
QUIET = 100
"""Samples below this (int16) count as silence at the end of a render."""
PICTURE_MARKS = frozenset({"\u200d", "\ufe0e", "\ufe0f", "\u20e3"})
"""What joins or styles a pictograph (zero-width joiner, variation selectors, keycap): dropped with it."""
STOP_BLOCK = 0.03
"""Seconds of sound handed to the speaker between two questions to ``play``'s ``stop``: a
microphone frame, so a partner's voice is looked at as soon as it is captured."""

_CHILD = r"""
import json, os, sys
result = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # pyttsx3 prints to stdout; keep stdout for our answer
request = json.load(sys.stdin)
import pyttsx3
engine = pyttsx3.init()
voices = engine.getProperty("voices")
if request["op"] == "voices":
    json.dump([{"id": v.id, "name": v.name, "languages": list(v.languages or [])}
               for v in voices], result)
    sys.exit(0)
wanted = request["voice"]
if wanted:
    base, plus, variant = wanted.partition("+")
    keys = {v.id.lower(): v.id for v in voices}
    keys.update({v.id.lower().rsplit("/", 1)[-1]: v.id for v in voices})
    keys.update({v.name.lower(): v.id for v in voices})
    if base.lower() not in keys:
        sys.exit(f"no voice {wanted!r} (duet doctor lists the voices)")
    engine.setProperty("voice", keys[base.lower()] + plus + variant)
engine.setProperty("rate", request["rate"])
engine.setProperty("volume", request["volume"])
# pyttsx3 2.99's espeak driver can leave runAndWait() before espeak has finished (its queue runs
# endLoop first), and the process would exit with the file unwritten: wait for the driver's own
# "finished-utterance" notice, sent once the WAV is on disk.
import threading
texts, paths = request["texts"], request["paths"]
done = []
finished = threading.Event()
def on_finished(name, completed):
    done.append(name)
    if len(done) == len(texts):
        finished.set()
engine.connect("finished-utterance", on_finished)
for text, path in zip(texts, paths):
    engine.save_to_file(text, path)
engine.runAndWait()
if not finished.wait(request["timeout"]):
    sys.exit("speech synthesis did not finish")
"""


class VoiceError(DuetError):
    """Speech synthesis failed; the message says why in one line."""


class NoSpeaker(DuetError):
    """No output device (or the configured one is missing or failed): print instead of speaking."""


@dataclass(frozen=True)
class VoiceInfo:
    """One voice the synthesizer offers (for ``duet doctor``)."""

    id: str
    """What ``Voice(voice=...)`` accepts, e.g. ``gmw/en-us`` (``en-us`` and the name work too)."""
    name: str
    """Human-readable name, e.g. ``English (America)``."""
    languages: tuple[str, ...]
    """Language codes, e.g. ``("en-us",)``."""


def list_voices(timeout: float = 30.0) -> list[VoiceInfo]:
    """The synthesizer's voices, asked of a child process like every render."""
    out = _run_child({"op": "voices"}, timeout)
    try:
        return [VoiceInfo(v["id"], v["name"], tuple(v["languages"])) for v in json.loads(out)]
    except (ValueError, KeyError, TypeError) as err:
        raise VoiceError(f"could not list voices: unexpected answer ({err})") from None


def unknown_voice(name: str, timeout: float = 30.0) -> str | None:
    """What of a configured voice ("en-us+f3") espeak-ng does not have, or None: it speaks an
    unknown one in its default voice without a word (a QA pass's "klingon+f9" passed ``duet
    doctor``)."""
    base, _, variant = name.strip().lower().partition("+")
    if not any(base in (v.id.lower(), v.id.rsplit("/", 1)[-1].lower(), v.name.lower(), *v.languages)
               for v in list_voices(timeout)):
        return f"no voice '{base}'"
    if variant and variant not in _variants(timeout):
        return f"no variant '{variant}'"
    return None


def _variants(timeout: float) -> set[str]:
    """espeak-ng's voice variants ("f3", "m3", "michael"), by file and by name."""
    program = shutil.which("espeak-ng")
    if program is None:
        return set()
    out = subprocess.run([program, "--voices=variant"], capture_output=True, text=True, timeout=timeout).stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    return {part.lower() for row in rows if len(row) >= 5 for part in (row[3], row[4].rsplit("/", 1)[-1])}


class Voice:
    """Renders text to mono int16 samples with pyttsx3, one child process per render."""

    def __init__(self, voice: str | None = None, rate: int = 170, volume: float = 1.0,
                 timeout: float = 30.0, cache_size: int = 32) -> None:
        """
        Args:
            voice: voice id, its last part or its name (``gmw/en-us``, ``en-us``,
                ``English (America)``), optionally with an espeak variant (``en-us+f3``);
                None: the synthesizer's default.
            rate: words per minute.
            volume: 0.0 .. 1.0.
            timeout: seconds one render may take before it is abandoned.
            cache_size: renders of distinct texts kept in memory.
        """
        self._settings = {"voice": voice, "rate": int(rate), "volume": float(volume)}
        self._timeout = timeout
        self._cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.short_renders = 0
        """Renders that came out short and were redone (for the benchmark and the log)."""

    def render(self, text: str) -> tuple[np.ndarray, int]:
        """(samples, sample_rate): read-only mono int16 samples of ``text`` spoken."""
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
            pending = self._pending.get(text)
        if pending is not None:
            try:
                return pending.result()
            except VoiceError:
                pass  # rendered again below, and this time the error is raised
        return self._render_and_keep(text)

    def prefetch(self, texts: list[str] | tuple[str, ...]) -> None:
        """Render ``texts`` in the background (one at a time) unless cached or under way."""
        for text in texts:
            if not text.strip():
                continue
            with self._lock:
                if text in self._cache or text in self._pending:
                    continue
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="duet-voice")
                self._pending[text] = self._executor.submit(self._render_and_keep, text)

    def _render_and_keep(self, text: str) -> tuple[np.ndarray, int]:
        started = time.monotonic()
        try:
            samples, rate = self._render_uncached(text)
        finally:
            with self._lock:
                self._pending.pop(text, None)
        log.debug("rendered %d chars in %.2f s (%.2f s of audio)", len(text),
                  time.monotonic() - started, len(samples) / rate)
        samples.flags.writeable = False
        with self._lock:
            self._cache[text] = (samples, rate)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return samples, rate

    def _render_uncached(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise VoiceError("nothing to say: the text is empty")
        sentences = [speakable(text)]  # one child renders one text: queueing several in it hangs pyttsx3
        expected = _Expected(sentences, self._settings)
        try:
            rendered = self._render_child(sentences)
        except BaseException:
            expected.close()
            raise
        rate = rendered[0][1]
        for attempt in range(RETRIES + 1):
            short = [i for i, (samples, r) in enumerate(rendered)
                     if r != rate or expected.is_short(i, len(samples), r)]
            if not short:
                break
            self.short_renders += len(short)
            # info, not a warning: it is put right here, and the user has nothing to do (a QA pass)
            log.info("a render came out short (%s); rendering again",
                     ", ".join(f"{len(rendered[i][0]) / rendered[i][1]:.2f} s of "
                               f"{expected.seconds(i):.2f} s" for i in short))
            if attempt == RETRIES:
                for i in short:
                    rendered[i] = expected.audio(i) or rendered[i]
                break
            for i, again in zip(short, self._render_child([sentences[i] for i in short])):
                rendered[i] = again
        parts = [samples if r == rate else soxr.resample(samples, r, rate).astype(np.int16)
                 for samples, r in rendered]
        return _trim_tail(np.concatenate(parts).astype(np.int16), rate), rate

    def _render_child(self, texts: list[str]) -> list[tuple[np.ndarray, int]]:
        """Render each text to its own new temporary file, in one child process."""
        paths = []
        for _ in texts:
            fd, name = tempfile.mkstemp(prefix="duet-voice-", suffix=".wav")
            os.close(fd)
            paths.append(Path(name))
        try:
            _run_child({"op": "render", "texts": texts, "paths": [str(p) for p in paths],
                        "timeout": self._timeout, **self._settings}, self._timeout)
            return [_read_render(p) for p in paths]
        finally:
            for p in paths:
                p.unlink(missing_ok=True)


class _Expected:
    """What the ``espeak-ng`` program writes for each sentence, run in the background at once.

    The program is the same synthesizer pyttsx3 drives, so its length is the right one for the
    same text, voice and rate. If it is missing or fails, no render is called short.
    """

    def __init__(self, sentences: list[str], settings: dict[str, object]) -> None:
        self._procs: list[subprocess.Popen | None] = []
        self._out: dict[int, bytes | None] = {}
        program = shutil.which("espeak-ng")
        voice = str(settings["voice"] or "")
        for sentence in sentences:
            if program is None:
                self._procs.append(None)
                continue
            args = [program, "-s", str(settings["rate"]), "--stdout"]
            if voice:
                args += ["-v", voice]
            try:
                self._procs.append(subprocess.Popen(args + ["--", sentence], stdout=subprocess.PIPE,
                                                    stderr=subprocess.DEVNULL))
            except OSError:
                self._procs.append(None)

    def _wav(self, i: int) -> bytes | None:
        if i not in self._out:
            proc, data = self._procs[i], None
            if proc is not None:
                try:
                    data, _ = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    data = None
                if proc.returncode != 0 or not data or len(data) <= 44:
                    data = None
            self._out[i] = data
        return self._out[i]

    def close(self) -> None:
        """Stop any espeak-ng run still going (the render failed)."""
        for proc in self._procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    def _rate(self, data: bytes) -> int:
        return int.from_bytes(data[24:28], "little")

    def seconds(self, i: int) -> float:
        data = self._wav(i)
        return (len(data) - 44) / 2 / self._rate(data) if data else float("nan")

    def is_short(self, i: int, samples: int, rate: int) -> bool:
        expected = self.seconds(i)
        return expected == expected and samples / rate < expected * (1 - TOLERANCE)

    def audio(self, i: int) -> tuple[np.ndarray, int] | None:
        data = self._wav(i)
        if data is None:
            return None
        return np.frombuffer(data[44:len(data) - len(data) % 2], dtype="<i2").copy(), self._rate(data)


def _run_child(request: dict[str, object], timeout: float) -> str:
    """Run the pyttsx3 child; its stdout is the answer, a failure becomes a VoiceError."""
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise VoiceError(f"speech synthesis took longer than {timeout:g} s and was stopped") \
            from None
    except OSError as err:
        raise VoiceError(f"cannot start speech synthesis: {err}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise VoiceError(f"speech synthesis failed: {lines[-1] if lines else done.returncode}")
    return done.stdout


def _read_render(path: Path) -> tuple[np.ndarray, int]:
    """Check the child's file really is a non-empty WAV (#142), then read it as mono int16."""
    if path.stat().st_size <= 44:
        raise VoiceError("speech synthesis wrote no audio (pyttsx3 #142); check espeak-ng")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as err:
        raise VoiceError(f"speech synthesis wrote a broken WAV ({err})") from None
    if width != 2 or not frames:
        raise VoiceError(f"speech synthesis wrote {width * 8}-bit or empty audio")
    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
    return samples.astype(np.int16), rate


class Speaker:
    """The output device; ``play`` blocks until the sound has been played."""

    def __init__(self, device: str | int | None = None) -> None:
        """Raises NoSpeaker when no output device exists or none matches ``device``."""
        try:
            self._index, self.name = find_device(device, "output")
        except LookupError as err:
            raise NoSpeaker(f"no speaker: {err}") from None
        self.stopped = False
        """True when the last ``play`` was cut off by its ``stop``."""

    def play(self, samples: np.ndarray, rate: int, stop: Callable[[], bool] | None = None) -> float:
        """Play mono int16 samples; return ``time.monotonic()`` once playback has finished.

        ``stop``: asked after each ``STOP_BLOCK`` of sound is handed to the device; when it
        returns True, the sound is cut off there (what the device holds is dropped) and
        ``stopped`` is True. That is how a partner who goes on speaking stops Duet (barge-in).
        Raises NoSpeaker if the device fails (so the caller can fall back to printing).
        """
        out_rate, channels = self._format(rate)
        data = np.asarray(samples, dtype=np.int16)
        if out_rate != rate:
            data = soxr.resample(data, rate, out_rate)
        if channels > 1:
            data = np.repeat(data[:, None], channels, axis=1)
        try:
            self.stopped = self._write(np.ascontiguousarray(data).tobytes(), out_rate, channels, stop)
        except sd.PortAudioError as err:
            raise NoSpeaker(f"speaker {self.name!r} failed: {err}") from None
        return time.monotonic()

    def _write(self, pcm: bytes, rate: int, channels: int, stop: Callable[[], bool] | None) -> bool:
        """Blocking write; True when ``stop`` cut it off. Stopping (not aborting) the stream
        waits until it has been played; aborting drops what the device still holds."""
        stream = sd.RawOutputStream(device=self._index, samplerate=rate, channels=channels,
                                    dtype="int16")
        OPEN_STREAMS.add(stream)
        block = len(pcm) if stop is None else int(STOP_BLOCK * rate) * channels * 2
        try:
            stream.start()
            for at in range(0, len(pcm), block):
                stream.write(pcm[at:at + block])
                if stop is not None and stop():
                    stream.abort()
                    return True
            stream.stop()
            return False
        finally:
            stream.close()
            OPEN_STREAMS.discard(stream)

    def _format(self, rate: int) -> tuple[int, int]:
        """(rate, channels) the device takes: the samples' own when it can."""
        return stream_format(self._index, "output", rate)


def speakable(text: str) -> str:
    """``text`` without pictographs: espeak-ng reads an emoji out by its name, and a note "buy
    blue 🎨" was read back "buy blue artist palette". A text of nothing else is left whole."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Sk") and ch not in PICTURE_MARKS)
    kept = " ".join(kept.split())
    return kept if any(ch.isalnum() for ch in kept) else text


def _trim_tail(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` without the silence after their last sound, but ``KEPT_TAIL`` of it."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= QUIET)
    if loud.size == 0:
        return samples
    return samples[: min(len(samples), int(loud[-1]) + 1 + int(KEPT_TAIL * rate))]
