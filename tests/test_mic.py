"""The microphone with real audio: WAVs played into the virtual mic through PulseAudio.

The rig's null sinks run with about 2 s of latency, so a new stream can take up to 2 s before
its first block, and a played WAV reaches the microphone about 0.25 s after paplay starts.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.speech.asr import SAMPLE_RATE
from assistant.speech.devices import find_device, list_devices
from assistant.speech.mic import (Frame, Microphone, MicrophoneLost, NoMicrophone, _Converter,
                                  _describes_monitor, _SampleClock)
from assistant.speech.wav import read_wav, write_wav
from tests.rig import VirtualAudio

pytestmark = pytest.mark.audio

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
LOUD = 500.0  # RMS of a frame with sound in it; the virtual mic is digitally silent otherwise


def rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def tone_wav(path: Path, seconds: float, level: float = 8000.0) -> Path:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    write_wav(path, (np.sin(2 * np.pi * 440 * t) * level).astype("<i2").tobytes())
    return path


def loud_seconds(pcm: bytes, threshold: float = LOUD) -> float:
    """Seconds of 10 ms windows louder than ``threshold``."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    windows = x[: len(x) // 160 * 160].reshape(-1, 160)
    return float(np.sum(np.sqrt(np.mean(windows ** 2, axis=1)) > threshold)) / 100


def read_until_quiet(mic: Microphone, quiet: float = 0.6, limit: float = 10.0) -> list[Frame]:
    """Frames from now until ``quiet`` seconds of silence follow some sound (or ``limit``)."""
    frames: list[Frame] = []
    heard, silent_since = False, None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        frame = mic.read(0.5)
        if frame is None:
            continue
        frames.append(frame)
        if rms(frame.pcm) > LOUD:
            heard, silent_since = True, None
        elif heard:
            silent_since = silent_since or frame.end_time
            if frame.end_time - silent_since >= quiet:
                break
    return frames


@pytest.fixture(scope="module")
def mic(virtual_audio: VirtualAudio) -> Microphone:
    with Microphone() as opened:
        yield opened


def test_hears_a_wav_played_into_the_microphone(mic: Microphone,
                                                virtual_audio: VirtualAudio) -> None:
    wav = CARDS / "003.wav"  # "seven of clubs", a real recording
    source = read_wav(wav)
    player = virtual_audio.play_into_mic_async(wav)

    frames = read_until_quiet(mic)
    player.wait(timeout=10)

    pcm = b"".join(f.pcm for f in frames)
    assert all(len(f.pcm) == 960 for f in frames)
    assert loud_seconds(pcm) == pytest.approx(loud_seconds(source), abs=0.15)
    assert rms(pcm[-9600:]) < LOUD  # and it ended
    steps = np.diff([f.end_time for f in frames])
    assert np.all(steps > 0) and np.median(steps) == pytest.approx(0.03, abs=0.005)
    assert frames[-1].end_time <= time.monotonic()


def test_frames_captured_in_a_mute_window_are_discarded(mic: Microphone, tmp_path: Path,
                                                         virtual_audio: VirtualAudio) -> None:
    player = virtual_audio.play_into_mic_async(tone_wav(tmp_path / "tone.wav", 3.0))
    first = None
    while first is None:
        frame = mic.read(5.0)
        assert frame is not None
        first = frame if rms(frame.pcm) > LOUD else None
    muted_before = mic.muted_frames
    mic.mute_until(first.end_time + 1.0)  # frames of the next second are already queued

    frames = read_until_quiet(mic)
    player.wait(timeout=10)
    mic.mute_until(0)

    assert frames[0].start_time >= first.end_time + 1.0
    assert mic.muted_frames - muted_before == pytest.approx(33, abs=2)  # 1 s of 30 ms frames
    heard = loud_seconds(first.pcm + b"".join(f.pcm for f in frames))
    assert heard == pytest.approx(3.0 - 1.0, abs=0.15)


def test_a_slow_reader_loses_the_oldest_blocks_and_it_is_logged(
        virtual_audio: VirtualAudio, caplog: pytest.LogCaptureFixture) -> None:
    with Microphone(queue_blocks=10) as small:
        # a reader busy with something else, until the stream has overrun the queue (under load
        # the stream can start late, so a fixed 1 s stall sometimes overran it too little): 40
        # blocks dropped, so the oldest audio is 1.5 s old and the newest 10 blocks 0.3 s
        give_up = time.monotonic() + 10.0
        while small.dropped_blocks < 40 and time.monotonic() < give_up:
            time.sleep(0.05)
        stalled_until = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="assistant.speech.mic"):
            frames = [small.read(1.0) for _ in range(12)]

    assert small.dropped_blocks >= 40
    assert "dropped" in caplog.text
    kept = [f for f in frames[:10] if f is not None]
    # the newest audio was kept, not the oldest (0.3 s, and the sound server's latency: under
    # load the kept frames ended 0.61 s before the stall did, against the 0.5 s allowed before)
    assert kept[0].end_time >= stalled_until - 0.9


def test_frames_dropped_inside_a_mute_window_are_no_loss(
        virtual_audio: VirtualAudio, caplog: pytest.LogCaptureFixture) -> None:
    """While Duet speaks nothing reads the microphone; a prompt longer than the queue overran
    it, and each session warned that the reader fell behind, for audio that was to be muted."""
    with Microphone(queue_blocks=10) as small:
        small.mute_until(time.monotonic() + 60.0)
        overran = time.monotonic() + 1.5  # 50 blocks: 40 more than the queue holds
        while time.monotonic() < overran:
            time.sleep(0.05)
        muted_for = time.monotonic()
        small.mute_until(muted_for)
        with caplog.at_level(logging.WARNING, logger="assistant.speech.mic"):
            frame = small.read(1.0)
            assert small.dropped_blocks == 0 and "dropped" not in caplog.text
            small.mute_until(0)
            time.sleep(1.5)  # unmuted, the same stall is a loss
            small.read(1.0)
    assert frame is not None and frame.start_time >= muted_for
    assert small.dropped_blocks >= 30 and "dropped" in caplog.text


def test_short_capture_blocks_are_joined_into_frames_timed_by_their_last_sample() -> None:
    converter = _Converter(SAMPLE_RATE, 1, 480 * 2)
    blocks = [np.full(160, k, dtype="<i2").tobytes() for k in range(7)]

    frames = [f for k, block in enumerate(blocks) for f in converter.convert(block, 1.0 + 0.01 * (k + 1))]

    assert [len(f.pcm) for f in frames] == [960, 960]
    assert np.frombuffer(frames[1].pcm, dtype="<i2")[::160].tolist() == [3, 4, 5]
    assert [f.end_time for f in frames] == pytest.approx([1.03, 1.06])  # the 7th block waits


def test_blocks_arriving_in_pairs_are_stamped_10_ms_apart() -> None:
    clock = _SampleClock()
    # the ALSA pulse plugin hands over two 10 ms blocks at once, every 20 ms, 5 ms late
    arrivals = [1.0 + 0.02 * (k // 2) + 0.01 + 0.005 for k in range(10)]
    stamps = [clock.stamp(t, 0.01) for t in arrivals]
    # the first pair's first block cannot be told from its second; from then on, 10 ms apart
    # (within the clocks' allowed drift) and the last of each pair on its estimate
    assert np.diff(stamps[1:]) == pytest.approx([0.01] * 8, abs=0.01 * _SampleClock.CATCH_UP + 1e-9)
    assert stamps[1::2] == pytest.approx(arrivals[1::2], abs=1e-9)


def test_a_sample_clock_takes_an_earlier_estimate_and_resyncs_after_a_gap() -> None:
    clock = _SampleClock()
    assert clock.stamp(1.05, 0.01) == 1.05  # the first block: its estimate, late by 40 ms
    assert clock.stamp(1.02, 0.01) == 1.02  # an earlier estimate is the better one
    assert clock.stamp(1.09, 0.01) == pytest.approx(1.0302)  # later: catch up slowly
    assert clock.stamp(2.0, 0.01) == 2.0  # audio lost: the estimate as it is


def test_the_stream_delivers_10_ms_blocks_and_reads_stay_30_ms_frames(mic: Microphone) -> None:
    """Through PortAudio's ALSA pulse plugin a 30 ms block arrived about 20 ms after the 10 ms
    block ending at the same sample (measured with clicks; section 4 times the whole path)."""
    assert mic._stream is not None and mic._stream.blocksize == 160  # noqa: SLF001
    frames = [mic.read(1.0) for _ in range(5)]
    assert all(f is not None and len(f.pcm) == 480 * 2 for f in frames)


def test_the_callback_queues_a_frame_at_a_time_so_the_reader_wakes_once_a_frame(mic: Microphone) -> None:
    """A quiet room costs mostly the capture plumbing: joined in the reader, three 10 ms blocks
    woke it three times a frame (section 5)."""
    mic.read(1.0)
    queued = [mic._queue.get(timeout=1.0) for _ in range(5)]  # noqa: SLF001

    assert [len(pcm) for pcm, _ in queued] == [480 * 2] * 5
    assert np.all(np.diff([end for _, end in queued]) > 0)  # each stamped by its last block


def test_resamples_when_the_device_is_opened_at_another_rate(tmp_path: Path,
                                                             virtual_audio: VirtualAudio) -> None:
    with Microphone(capture_rate=44100) as resampled:
        player = virtual_audio.play_into_mic_async(tone_wav(tmp_path / "tone.wav", 1.0))
        frames = read_until_quiet(resampled)
        player.wait(timeout=10)

    pcm = b"".join(f.pcm for f in frames)
    assert all(len(f.pcm) == 960 for f in frames)
    assert loud_seconds(pcm) == pytest.approx(1.0, abs=0.1)
    spectrum = np.abs(np.fft.rfft(np.frombuffer(pcm, dtype="<i2").astype(float)))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(pcm) * 2 == pytest.approx(440, abs=5)


def test_losing_the_source_raises_and_reopen_recovers(virtual_audio: VirtualAudio,
                                                      tmp_path: Path) -> None:
    """PulseAudio does not fail the stream: it moves it to speaker.monitor (measured), and
    PortAudio reports nothing. The source's removal is what gives the loss away, and reopening
    refuses the monitor PulseAudio falls back to (PULSE_SOURCE not pinned)."""
    with Microphone() as lost:
        assert lost.read(1.0) is not None
        virtual_audio.unplug_mic()
        removed = time.monotonic()
        try:
            with pytest.raises(MicrophoneLost, match="removed"):
                for _ in range(100):
                    lost.read(0.5)
            detected_after = time.monotonic() - removed
            assert not lost.is_open
            # PulseAudio now offers a speaker's monitor as its default source: Duet would hear itself
            with pytest.raises(MicrophoneLost, match="a speaker's monitor, not a microphone"):
                lost.reopen()
            assert not lost.is_open
        finally:
            virtual_audio.plug_mic()

        lost.reopen()
        player = virtual_audio.play_into_mic_async(tone_wav(tmp_path / "tone.wav", 0.6))
        frames = read_until_quiet(lost)
        player.wait(timeout=10)

    assert detected_after < 1.0
    assert loud_seconds(b"".join(f.pcm for f in frames)) == pytest.approx(0.6, abs=0.1)


@pytest.mark.parametrize("source, monitor", [
    ({"monitor_source": "speaker", "properties": {"device.class": "monitor"}}, True),  # pactl 16.1
    ({"monitor_of_sink": "speaker", "properties": {}}, True),
    ({"properties": {"device.class": "monitor"}}, True),  # no sink named, only the property
    ({"monitor_source": "", "properties": {"device.class": "filter"}}, False),  # a remapped mic
    ({"monitor_of_sink": "n/a", "properties": {"device.class": "sound"}}, False),
])
def test_a_monitor_source_is_told_from_any_of_pactls_json_forms(source: dict, monitor: bool) -> None:
    assert _describes_monitor(source) is monitor


def test_a_source_that_stops_delivering_counts_as_lost(virtual_audio: VirtualAudio) -> None:
    with Microphone(stall_timeout=1.0) as stalled:
        assert stalled.read(1.0) is not None
        virtual_audio.pactl("suspend-source", "mic", "1")
        try:
            with pytest.raises(MicrophoneLost, match="no audio for"):
                for _ in range(100):
                    stalled.read(0.5)
        finally:
            virtual_audio.pactl("suspend-source", "mic", "0")


def test_a_missing_device_names_the_ones_that_exist(virtual_audio: VirtualAudio) -> None:
    with pytest.raises(NoMicrophone) as raised:
        Microphone(device="no such microphone")

    message = str(raised.value)
    assert "\n" not in message
    assert "no such microphone" in message
    assert all(name in message for name in list_devices("input"))


def test_a_device_can_be_chosen_by_name_or_index(virtual_audio: VirtualAudio) -> None:
    names = list_devices("input")
    assert "pulse" in names

    index, _ = find_device("pulse", "input")

    assert Microphone(device="PULS").name == "pulse"
    assert Microphone(device=index).name == "pulse"


def test_alsa_lib_messages_go_to_the_log_not_the_terminal():
    """alsa-lib writes its messages ("ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred")
    straight to stderr: they broke into ``duet run``'s transcript (a QA pass). Once Duet's device
    module is loaded they go to its log, at debug."""
    import subprocess
    import sys

    provoke = ("import ctypes, ctypes.util, logging; logging.basicConfig(level=logging.DEBUG, format='log: %(message)s'); "
               "import assistant.speech.devices; lib = ctypes.CDLL(ctypes.util.find_library('asound')); "
               "lib.snd_pcm_open(ctypes.byref(ctypes.c_void_p()), b'no_such_device', 0, 0)")
    done = subprocess.run([sys.executable, "-c", provoke], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert "ALSA lib" not in done.stderr and "log: ALSA snd_pcm_open" in done.stderr, done.stderr
