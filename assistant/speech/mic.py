"""The microphone: one input stream, delivered as timestamped 16 kHz mono int16 frames.

Why it is built this way:

* PortAudio calls our callback on its own thread and must never wait, so the callback only copies
  the block and queues each frame's worth into a bounded queue. When the queue is full the
  *oldest* frame is dropped (fresh audio matters more than stale audio) and counted; the reader
  logs every drop.
* The stream delivers 10 ms blocks, joined into 30 ms frames: a frame is handed out as soon as
  its last sample arrives. Larger blocks come later through the ALSA pulse plugin: timed
  against a second recorder's sample clock (clicks through a private PulseAudio), frames came
  2, 6 and 10 ms later on average from 15, 20 and 30 ms blocks (a 30 ms block up to 20 ms
  later). The callback joins a frame's blocks before it queues them, so the reader wakes once a
  frame, not once a block: what listening to a quiet room costs is mostly this plumbing.
  PortAudio's ``latency="low"`` made frames about 5 ms sooner but cost 0.6-1.3 % of a core
  more on silence.
* Each frame carries the monotonic time it was captured (from PortAudio's ADC timestamps, so a
  backlog in the buffers does not shift it, kept on a sample clock, ``_SampleClock``).
  ``mute_until`` compares against that time, so what the microphone heard while Duet was
  speaking is discarded even if it is read later.
* A lost device is not reported the same way everywhere, so four signals are watched
  (measured through PortAudio -> ALSA -> PulseAudio 16):
  - PortAudio ends the stream: it does, within 0.25 s, when the sound server goes away;
  - the stream is no longer active;
  - no block for ``stall_timeout`` seconds: a suspended source simply stops delivering. The
    callback is Python, so it cannot run while another thread holds the GIL: pocketsphinx's
    decoder holds it for the whole utterance (3.5 s for 5.3 s of speech, measured here).
    Before a stall counts, the reader gives a callback kept waiting a moment to deliver again;
  - on PulseAudio, the source the stream records from is removed. PulseAudio does not fail
    such a stream: it silently moves it to the fallback source (with only the test rig's virtual
    devices left, a *speaker monitor*: Duet would hear itself). PortAudio reports nothing, the
    stream stays active, and blocks pause for only 0.5 to 2 s before flowing again from the
    new source, so neither of the signals above fires reliably. ``pactl subscribe`` reports
    the removal at once. PipeWire's pulse server does the same; behind an echo canceller, whose
    source PipeWire keeps when its microphone goes, the microphone is watched too (``upstream``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sounddevice as sd
import soxr

from assistant.errors import DuetError
from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH
from assistant.speech.devices import OPEN_STREAMS, find_device, stream_format

log = logging.getLogger(__name__)

class NoMicrophone(DuetError):
    """No input device, or none matches the configured name; the message lists what exists."""


def input_device(device: str | int | None) -> tuple[int, str]:
    """The input device ``device`` names (PortAudio index, name), or NoMicrophone. ``duet run``
    asks before it opens the journal: without a microphone it leaves nothing behind (a QA pass
    found the journal's folder and lock file made for a session that could not start)."""
    try:
        index, name = find_device(device, "input")
    except LookupError as err:
        raise NoMicrophone(f"no microphone: {err}") from None
    monitor = _sound_server_monitor(name)
    if monitor is not None:  # a QA pass found the folder and lock made before the stream refused it
        raise NoMicrophone(monitor_refused(monitor))
    return index, name


SOUND_SERVER_DEVICES = ("default", "pulse", "pipewire")
"""PortAudio (ALSA) devices that record from the sound server's source."""


def _sound_server_monitor(device_name: str) -> str | None:
    """The sink's monitor the sound server would record ``device_name`` from: its default
    source (or ``PULSE_SOURCE``) when no microphone is plugged in; None for a microphone, a
    device of the card's own, or no pactl."""
    if device_name.lower() not in SOUND_SERVER_DEVICES or not shutil.which("pactl"):
        return None
    source = os.environ.get("PULSE_SOURCE")
    if not source:
        try:
            source = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True,
                                    timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    return source if source and is_monitor_source(source) else None


def monitor_refused(source: str) -> str:
    """Why Duet will not record from ``source``, a speaker's monitor, and what to do."""
    return (f"PulseAudio offers {source!r}, a speaker's monitor, not a microphone (Duet would hear "
            f"itself): plug a microphone in, or set listening.input_device in config.yaml")


GIL_YIELD = 0.05
"""Seconds the reader sleeps at a time before it counts a stall, so a held-up callback can run."""
STALL_GRACE = 0.5
"""Seconds a held-up callback is given to deliver, counted only while the GIL is free (the
reader's short sleeps return on time), before a stall counts. One 50 ms yield was not always
enough: a CI run lost the microphone ("no audio for 3.7 s") right after pocketsphinx held the
GIL, which a decoding thread can take back as soon as the reader lets it go."""
STALL_GRACE_MAX = 10.0
"""Seconds after which a stall counts however busy the GIL is."""


class MicrophoneLost(DuetError):
    """The microphone stopped delivering audio (unplugged, removed, or its stream died)."""


@dataclass(frozen=True)
class Frame:
    """One block of captured audio."""

    pcm: bytes
    """16 kHz mono signed 16-bit little-endian PCM."""
    end_time: float
    """``time.monotonic()`` at which the block's last sample was captured."""

    @property
    def duration(self) -> float:
        """Seconds of audio in ``pcm``."""
        return len(self.pcm) / (SAMPLE_WIDTH * SAMPLE_RATE)

    @property
    def start_time(self) -> float:
        """``time.monotonic()`` at which the block's first sample was captured."""
        return self.end_time - self.duration


# -- PulseAudio watch ------------------------------------------------------------------------


class _PulseSourceWatch:
    """Notices when the PulseAudio source our stream records from is removed.

    PulseAudio moves the stream to the fallback source instead of failing it, so PortAudio keeps
    delivering audio, from the wrong device. ``pactl subscribe`` reports the removal at once.
    Inactive (``lost`` stays None) when pactl is missing or the stream is not a PulseAudio one.
    """

    def __init__(self, before: set[int], upstream: tuple[str, int] | None = None) -> None:
        self.lost: str | None = None
        self.monitor = False
        """The stream records from a sink's monitor (what a speaker plays), not a microphone."""
        self._source_name = ""
        self._proc: subprocess.Popen[str] | None = None
        ours = _our_source_outputs() - before if shutil.which("pactl") else set()
        if not ours:
            log.debug("not a PulseAudio stream (or pactl missing): source removal not watched")
            return
        output = max(ours)
        source = _source_of(output)
        if source is None:
            return
        self._source_index, self._source_name = source
        self.monitor = is_monitor_source(self._source_name, self._source_index)
        watched = {self._source_index: self._source_name}
        if upstream is not None:
            name, index = upstream
            if source_indexes().get(name) != index:
                self.lost = f"the PulseAudio source {name!r} was removed"
                return
            watched[index] = name
        self._watch(output, watched)

    def _watch(self, output: int, sources: dict[int, str]) -> None:
        self._proc = subprocess.Popen(["pactl", "subscribe"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, args=(self._proc, output, sources), daemon=True,
                         name="pulse-watch").start()
        log.debug("watching PulseAudio source(s) %s of stream #%d", sources, output)

    def _read(self, proc: subprocess.Popen[str], output: int, sources: dict[int, str]) -> None:
        gone_sources = {f"Event 'remove' on source #{index}": name for index, name in sources.items()}
        gone_output = f"Event 'remove' on source-output #{output}"
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if line in gone_sources:
                self.lost = f"the PulseAudio source {gone_sources[line]!r} was removed"
            elif line == gone_output:
                self.lost = "PulseAudio closed the recording stream"
            if self.lost:
                log.warning("microphone lost: %s", self.lost)
                return

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None


def _pactl_json(*args: str) -> Any:
    try:
        out = subprocess.run(["pactl", "-f", "json", *args], capture_output=True, text=True,
                             timeout=5, check=True).stdout
        return json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def _our_source_outputs() -> set[int]:
    """Indexes of this process's PulseAudio recording streams (via the ALSA pulse plugin)."""
    if not shutil.which("pactl"):
        return set()
    pid = str(os.getpid())
    return {int(o["index"]) for o in _pactl_json("list", "source-outputs")
            if o.get("properties", {}).get("application.process.id") == pid}


def _source_of(output: int) -> tuple[int, str] | None:
    outputs = {int(o["index"]): o for o in _pactl_json("list", "source-outputs")}
    if output not in outputs:
        return None
    source = int(outputs[output]["source"])
    names = {index: name for name, index in source_indexes().items()}
    return source, names.get(source, f"#{source}")


def source_indexes() -> dict[str, int]:
    """PulseAudio's sources by name, each with its index (empty without pactl or a server)."""
    return {s["name"]: int(s["index"]) for s in _pactl_json("list", "short", "sources")
            if "name" in s and "index" in s}


def is_monitor_source(name: str, index: int | None = None) -> bool:
    """True when PulseAudio's source ``name`` (or number ``index``) is a sink's *monitor*: the
    sound a sink plays, not a microphone. Not listed by pactl: told by its name ("<sink>.monitor")."""
    for source in _pactl_json("list", "sources"):
        if source.get("name") == name or (index is not None and int(source.get("index", -1)) == index):
            return _describes_monitor(source)
    return name.endswith(".monitor")


def _describes_monitor(source: dict[str, Any]) -> bool:
    """Whether ``pactl -f json list sources`` describes ``source`` as a sink's monitor.

    pactl 16.1 writes the sink a source monitors under ``monitor_source`` (empty for a
    microphone), not ``monitor_of_sink`` as its text output says; both are read, and the
    ``device.class`` property ("monitor" for a monitor, in PulseAudio 16.1) in case neither is.
    """
    of_sink = source.get("monitor_of_sink") or source.get("monitor_source")
    if of_sink and of_sink != "n/a":
        return True
    return source.get("properties", {}).get("device.class") == "monitor"


# -- format conversion -----------------------------------------------------------------------


class _Converter:
    """Turns capture blocks into exact 16 kHz mono frames.

    Joins blocks shorter than a frame, and resamples and mixes down when the device cannot
    record 16 kHz mono itself.
    """

    def __init__(self, rate: int, channels: int, block_bytes: int) -> None:
        self._channels = channels
        self._block_bytes = block_bytes
        self._resampler = None if rate == SAMPLE_RATE else \
            soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16")
        self._native = rate == SAMPLE_RATE and channels == 1
        self._pending = b""

    def convert(self, pcm: bytes, end_time: float) -> list[Frame]:
        """The frames completed by ``pcm``, whose last sample was captured at ``end_time``."""
        if self._native and not self._pending and len(pcm) == self._block_bytes:
            return [Frame(pcm, end_time)]
        self._pending += pcm if self._native else self._to_16k_mono(pcm)
        frames = []
        size = self._block_bytes
        while len(self._pending) >= size:
            block, self._pending = self._pending[:size], self._pending[size:]
            later = len(self._pending) / (SAMPLE_WIDTH * SAMPLE_RATE)  # audio captured after it
            frames.append(Frame(block, end_time - later))
        return frames

    def _to_16k_mono(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2")
        if self._channels > 1:
            samples = samples.reshape(-1, self._channels).mean(axis=1).astype("<i2")
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        return samples.astype("<i2").tobytes()


class _SampleClock:
    """When each capture block's last sample was captured, from late, uneven estimates.

    A block's estimate (arrival minus the latency PortAudio reports) is never early, only late:
    through the ALSA pulse plugin 10 ms blocks arrive in pairs, both at the same moment, and a
    busy process delays a callback. Consecutive blocks hold consecutive samples, so a block ends
    one block's length after the last one: that is kept unless the estimate is earlier (a
    better one), drifts up by at most ``CATCH_UP`` of a block's length (the two clocks may
    differ a little), and is left for the estimate when the two are ``RESYNC`` apart (audio
    lost, a stream restarted).
    """

    CATCH_UP = 0.02
    """Fraction of a block's length a stamp may move past the last one plus that length."""
    RESYNC = 0.25
    """Seconds between prediction and estimate beyond which the estimate is taken as it is."""

    def __init__(self) -> None:
        self._last: float | None = None

    def stamp(self, estimate: float, seconds: float) -> float:
        """The capture time of the end of a block of ``seconds``, estimated at ``estimate``."""
        predicted = None if self._last is None else self._last + seconds
        if predicted is None or abs(estimate - predicted) > self.RESYNC:
            self._last = estimate
        else:
            self._last = min(estimate, predicted + self.CATCH_UP * seconds)
        return self._last


# -- the microphone --------------------------------------------------------------------------


class Microphone:
    """One input stream; ``read()`` hands out frames, ``mute_until()`` hides Duet's own voice."""

    def __init__(
        self,
        device: str | int | None = None,
        block_seconds: float = 0.03,
        queue_blocks: int = 400,
        *,
        capture_seconds: float = 0.01,
        capture_rate: int | None = None,
        stall_timeout: float = 2.0,
        start_timeout: float = 5.0,
    ) -> None:
        """
        Args:
            device: PortAudio index, name or name substring; None: the default input.
            block_seconds: audio per frame (0.03 = one webrtcvad frame).
            queue_blocks: frames buffered for a slow reader (400 x 30 ms = 12 s) before the
                oldest are dropped.
            capture_seconds: audio per PortAudio callback, joined here into frames. Shorter
                than a frame because PortAudio's ALSA path holds about two callbacks' worth:
                through the PulseAudio plugin a 30 ms block arrived 20 ms later than the
                10 ms block ending at the same sample, and every command and answer waits on
                the frame that ends it.
            capture_rate: rate to open the device at; None: 16 kHz if the device takes it, else
                its default rate, resampled here with soxr.
            stall_timeout: seconds without any block, stream still "active", that count as lost.
            start_timeout: seconds ``open()`` waits for the first block.

        Raises NoMicrophone when there is no input device or none matches ``device``.
        """
        self._device = device
        self._block_samples = max(int(round(block_seconds * SAMPLE_RATE)), 1)
        self._capture_samples = min(max(int(round(capture_seconds * SAMPLE_RATE)), 1), self._block_samples)
        self._group = math.ceil(self._block_samples / self._capture_samples)
        """Capture blocks the callback joins into one queued item: a frame's worth."""
        self._queue_frames = queue_blocks
        self._capture_rate = capture_rate
        self._stall_timeout = stall_timeout
        self._start_timeout = start_timeout
        self._index, self.name = self._resolve()
        self._stream: sd.RawInputStream | None = None
        self._watch: _PulseSourceWatch | None = None
        self.upstream: tuple[str, int] | None = None
        """(name, index) of a source the recorded one takes its sound from (an echo canceller's
        microphone), watched too: PipeWire keeps a canceller whose microphone went and feeds it
        another source, so the loss would go unseen."""
        self._mute_until = 0.0
        self.dropped_blocks = 0
        """Blocks lost because the queue was full (the reader was too slow)."""
        self.overflows = 0
        """Blocks PortAudio flagged as input overflow (audio lost before it reached us)."""
        self.muted_frames = 0
        """Frames discarded because they fell in a mute window."""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Microphone:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """True from a successful ``open()`` until ``close()`` or a loss."""
        return self._stream is not None

    def open(self) -> None:
        """Start capturing; returns once audio flows. Raises NoMicrophone if it cannot."""
        try:
            self._start()
        except MicrophoneLost as err:
            raise NoMicrophone(f"microphone {self.name!r}: {err}") from None

    def reopen(self) -> None:
        """Close and try the device again (after ``MicrophoneLost``); raises MicrophoneLost."""
        self.close()
        try:
            self._index, self.name = self._resolve()
        except NoMicrophone as err:
            raise MicrophoneLost(str(err)) from None
        self._start()

    def close(self) -> None:
        """Stop capturing; frames not yet read are discarded."""
        stream, self._stream = self._stream, None
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if stream is not None:
            self._closing = True
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError as err:
                log.debug("closing the input stream: %s", err)
            OPEN_STREAMS.discard(stream)

    # -- reading -----------------------------------------------------------------------------

    def mute_until(self, monotonic_t: float) -> None:
        """Discard frames whose audio began before ``monotonic_t`` (Duet's voice plus a tail).

        Compared with each frame's capture time, so frames already queued are discarded too.
        The last call wins: ``mute_until(0)`` lifts the mute. Set before a long prompt, it also
        tells the queue that the frames it drops meanwhile are no loss (``_drop_oldest``).
        """
        self._mute_until = monotonic_t

    def unread(self, frames: list[Frame]) -> None:
        """Put ``frames`` (read earlier, in order) back: the next reads return them first.

        Barge-in reads the microphone while Duet speaks; the partner's first words, heard
        there, belong to the answer the listener captures next.
        """
        self._ready[:0] = frames

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None if none arrives within ``timeout`` seconds.

        Raises MicrophoneLost when the device is gone; the stream is closed then, and
        ``reopen()`` tries again.
        """
        if self._stream is None:
            raise MicrophoneLost(f"microphone {self.name!r} is not open")
        deadline = time.monotonic() + timeout
        while True:
            while self._ready:
                frame = self._ready.pop(0)
                if frame.start_time >= self._mute_until:
                    return frame
                self.muted_frames += 1
            self._check_alive()
            remaining = deadline - time.monotonic()
            try:
                pcm, end_time = self._queue.get(timeout=min(max(remaining, 0.0), 0.25))
            except queue.Empty:
                if remaining <= 0:
                    return None
                continue
            self._report_losses()
            self._ready.extend(self._converter.convert(pcm, end_time))

    # -- internals ---------------------------------------------------------------------------

    def _resolve(self) -> tuple[int, str]:
        return input_device(self._device)

    def _capture_format(self) -> tuple[int, int]:
        """(rate, channels) to open the device with: 16 kHz mono when it takes it."""
        return stream_format(self._index, "input", self._capture_rate or SAMPLE_RATE)

    def _start(self) -> None:
        """Open the stream and wait for its first block; MicrophoneLost if either fails."""
        rate, channels = self._capture_format()
        self._reset(rate, channels)
        before = _our_source_outputs()
        self._stream = self._open_stream(rate, channels)
        if not self._first_block.wait(self._start_timeout):
            self.close()
            raise MicrophoneLost(f"no audio from {self.name!r} within {self._start_timeout:g} s")
        self._watch = _PulseSourceWatch(before, self.upstream)
        if self._watch.lost:
            reason = self._watch.lost
            self.close()
            raise MicrophoneLost(f"microphone {self.name!r}: {reason}")
        if self._watch.monitor and "monitor" not in str(self._device or "").lower():
            # PulseAudio's fallback when the microphone is gone: Duet would hear itself
            source = self._watch._source_name  # noqa: SLF001
            self.close()
            raise MicrophoneLost(monitor_refused(source))
        log.info("microphone %r open: %d Hz, %d channel(s)%s", self.name, rate, channels,
                 "" if rate == SAMPLE_RATE and channels == 1 else ", converted to 16 kHz mono")

    def _reset(self, rate: int, channels: int) -> None:
        """Fresh per-stream state: nothing from a previous stream may leak into this one."""
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue(maxsize=self._queue_frames)
        self._gathered: list[bytes] = []
        self._ready: list[Frame] = []
        self._converter = _Converter(rate, channels, self._block_samples * SAMPLE_WIDTH)
        self._rate, self._closing, self._ended = rate, False, False
        self._first_block = threading.Event()
        self._clock = _SampleClock()
        self._last_block = 0.0
        self._reported = (self.dropped_blocks, self.overflows)

    def _open_stream(self, rate: int, channels: int) -> sd.RawInputStream:
        block = max(int(round(self._capture_samples * rate / SAMPLE_RATE)), 1)
        try:
            stream = sd.RawInputStream(
                device=self._index, samplerate=rate, channels=channels, dtype="int16",
                blocksize=block, callback=self._callback, finished_callback=self._finished)
        except sd.PortAudioError as err:
            raise MicrophoneLost(f"cannot open microphone {self.name!r}: {err}") from None
        OPEN_STREAMS.add(stream)
        try:
            stream.start()
        except sd.PortAudioError as err:
            stream.close()
            OPEN_STREAMS.discard(stream)
            raise MicrophoneLost(f"cannot start microphone {self.name!r}: {err}") from None
        return stream

    def _callback(self, indata: Any, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        """PortAudio's thread: copy, timestamp, enqueue a frame's worth; never block, never log."""
        now = time.monotonic()
        delay = time_info.currentTime - time_info.inputBufferAdcTime - frames / self._rate
        end_time = self._clock.stamp(now - delay if 0.0 <= delay < 2.0 else now, frames / self._rate)
        if status.input_overflow:
            self.overflows += 1
        self._last_block = now
        if not self._first_block.is_set():
            self._first_block.set()
        self._gathered.append(bytes(indata))
        if len(self._gathered) < self._group:
            return
        item = (b"".join(self._gathered), end_time)
        self._gathered = []
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._drop_oldest(item)

    def _drop_oldest(self, item: tuple[bytes, float]) -> None:
        """Make room for ``item``. A frame that ends inside the mute window is no loss (the reader
        would discard it): while Duet speaks, the reader is away, and a 15 s greeting overran
        the queue and logged a warning about the microphone each session."""
        try:
            _, end_time = self._queue.get_nowait()
        except queue.Empty:
            end_time = math.inf
        if end_time > self._mute_until:
            self.dropped_blocks += self._group
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped_blocks += self._group

    def _finished(self) -> None:
        if not self._closing:
            self._ended = True

    def _report_losses(self) -> None:
        """Log drops and overflows once per burst, from the reader's thread."""
        dropped, overflows = self.dropped_blocks, self.overflows
        if (dropped, overflows) == self._reported:
            return
        was_dropped, was_overflows = self._reported
        self._reported = (dropped, overflows)
        if dropped > was_dropped:
            log.warning("microphone: dropped %d block(s), the reader fell behind (%d in all)",
                        dropped - was_dropped, dropped)
        if overflows > was_overflows:
            log.warning("microphone: %d input overflow(s) reported by PortAudio (%d in all)",
                        overflows - was_overflows, overflows)

    def _check_alive(self) -> None:
        """Raise MicrophoneLost (after closing) if any loss signal is up."""
        reason = self._loss_reason()
        if reason is not None:
            self.close()
            raise MicrophoneLost(f"microphone {self.name!r} lost: {reason}")

    def _loss_reason(self) -> str | None:
        stream = self._stream
        assert stream is not None
        if self._watch is not None and self._watch.lost:
            return self._watch.lost
        if self._ended:
            return "PortAudio ended the stream"
        try:
            if not stream.active:
                return "the stream stopped"
        except sd.PortAudioError as err:
            return str(err)
        if time.monotonic() - self._last_block > self._stall_timeout:
            return self._stalled()
        return None

    def _stalled(self) -> str | None:
        """Why the stream counts as lost once no block came for ``stall_timeout``, or None when
        a callback held up by a long call holding the GIL delivers within ``STALL_GRACE`` of
        free GIL (a sleep that returns late means another thread held it: not counted)."""
        free, started = 0.0, time.monotonic()
        while True:
            asleep = time.monotonic()
            time.sleep(GIL_YIELD)  # a held-up callback runs now, if the GIL is free
            now = time.monotonic()
            silent = now - self._last_block
            if silent <= self._stall_timeout:
                return None
            free += GIL_YIELD if now - asleep < 2 * GIL_YIELD else 0.0
            if free >= STALL_GRACE or now - started >= STALL_GRACE_MAX:
                return f"no audio for {silent:.1f} s"
