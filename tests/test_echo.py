"""The echo canceller barge-in listens behind, loaded into the test's real PulseAudio daemon."""

from __future__ import annotations

import os
import threading

import pytest

from assistant.cli.doctor import check_barge_in
from assistant.session.events import MicrophoneBack
from assistant.speech import echo
from assistant.speech.echo import EchoCanceller
from assistant.speech.live import LivePort
from assistant.speech.mic import Microphone, MicrophoneLost
from tests.helpers import config
from tests.rig import VirtualAudio

pytestmark = pytest.mark.audio


def cancellers(audio: VirtualAudio) -> list[str]:
    return [line for line in audio.pactl("list", "short", "modules").splitlines()
            if "module-echo-cancel" in line]


def test_it_is_loaded_for_duet_s_streams_and_taken_out_again(virtual_audio: VirtualAudio) -> None:
    before = {var: os.environ.get(var) for var in ("PULSE_SOURCE", "PULSE_SINK")}
    canceller = EchoCanceller.load()
    assert canceller is not None and canceller.alive()
    try:
        assert (os.environ["PULSE_SOURCE"], os.environ["PULSE_SINK"]) == (echo.SOURCE, echo.SINK)
        with Microphone() as mic:  # Duet's own stream opens on the cancelled source
            assert mic.read(2.0) is not None
            sources = dict(line.split("\t")[:2] for line in
                           virtual_audio.pactl("list", "short", "sources").splitlines())
            recording = [line.split("\t")[1] for line in  # a client's streams, not the modules' own
                         virtual_audio.pactl("list", "short", "source-outputs").splitlines()
                         if line.split("\t")[2] != "-"]
            assert [sources[index] for index in recording] == [echo.SOURCE]
    finally:
        canceller.close()
    assert not cancellers(virtual_audio) and not canceller.alive()
    assert {var: os.environ.get(var) for var in before} == before


def test_one_left_behind_by_a_crash_is_replaced_not_doubled(virtual_audio: VirtualAudio) -> None:
    left = EchoCanceller.load()
    assert left is not None
    again = EchoCanceller.load()  # PULSE_SOURCE still names the old one's source: not a master
    try:
        assert again is not None and len(cancellers(virtual_audio)) == 1 and not left.alive()
    finally:
        again.close()
        left.close()
    assert not cancellers(virtual_audio)


def _recording_from(audio: VirtualAudio) -> list[str]:
    """The sources the clients' streams record from (not the modules' own)."""
    sources = dict(line.split("\t")[:2] for line in audio.pactl("list", "short", "sources").splitlines())
    return [sources[line.split("\t")[1]] for line in audio.pactl("list", "short", "source-outputs").splitlines()
            if line.split("\t")[2] != "-"]


def test_losing_the_microphone_behind_it_loses_the_microphone(virtual_audio: VirtualAudio) -> None:
    """PulseAudio unloads the canceller with its microphone; PipeWire keeps it and feeds it the
    fallback source, so Duet watches the microphone behind it too."""
    canceller = EchoCanceller.load()
    assert canceller is not None
    mic = Microphone()
    mic.upstream = canceller.upstream
    try:
        mic.open()
        assert mic.read(2.0) is not None
        virtual_audio.unplug_mic("micsink.monitor")
        with pytest.raises(MicrophoneLost):
            for _ in range(50):
                mic.read(0.1)
        assert not canceller.alive()
    finally:
        mic.close()
        canceller.close()
        virtual_audio.plug_mic()
    assert not cancellers(virtual_audio)


def test_with_no_microphone_it_is_not_loaded_on_a_speakers_monitor(virtual_audio: VirtualAudio) -> None:
    before = {var: os.environ.get(var) for var in ("PULSE_SOURCE", "PULSE_SINK")}
    virtual_audio.unplug_mic("micsink.monitor")
    try:
        assert EchoCanceller.load() is None
        assert not cancellers(virtual_audio)
        assert {var: os.environ.get(var) for var in before} == before
    finally:
        virtual_audio.plug_mic()


def test_it_comes_back_with_the_microphone_and_duet_records_through_it(virtual_audio: VirtualAudio) -> None:
    canceller = EchoCanceller.load()
    assert canceller is not None
    # only the microphone and the canceller take part in waiting for the microphone
    port = LivePort(voice=None, speaker=None, mic=Microphone(), listener=None,  # type: ignore[arg-type]
                    barge_in=True, echo=canceller, show=lambda line: None)
    port.mic.upstream = canceller.upstream  # as live_port opens it
    port.mic.open()
    waited: list[object] = []
    try:
        assert _recording_from(virtual_audio) == [echo.SOURCE]
        virtual_audio.unplug_mic("micsink.monitor")  # PulseAudio unloads the canceller with it
        waiting = threading.Thread(target=lambda: waited.append(port._wait_for_mic()), daemon=True)
        waiting.start()
        waiting.join(3.0)
        assert waiting.is_alive(), "came back with no microphone plugged in"
        assert not cancellers(virtual_audio)
        virtual_audio.plug_mic()
        waiting.join(20.0)
        assert not waiting.is_alive(), "the microphone came back, Duet did not"
        assert isinstance(waited[0], MicrophoneBack)
        assert port.echo is not None and port.echo.alive() and port.barge_in
        assert _recording_from(virtual_audio) == [echo.SOURCE]
        assert port.mic.read(2.0) is not None
    finally:
        virtual_audio.plug_mic()
        port.close()
    assert not cancellers(virtual_audio)


def test_doctor_tells_whether_barge_in_can_cancel_the_echo(virtual_audio: VirtualAudio) -> None:
    assert check_barge_in(config()) == []  # off by default: nothing to check
    ok = check_barge_in(config(listening={"barge_in": "auto"}))
    assert len(ok) == 1 and ok[0].ok, ok
    named = check_barge_in(config(listening={"barge_in": "auto", "input_device": "mic"}))
    assert not named[0].ok and "default microphone" in named[0].detail and "headset" in named[0].detail
    assert not cancellers(virtual_audio), "the doctor loads nothing"
