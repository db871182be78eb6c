"""The echo canceller barge-in listens behind, loaded into the test's real PulseAudio daemon."""

from __future__ import annotations

import os

import pytest

from assistant.speech import echo
from assistant.speech.echo import EchoCanceller
from assistant.speech.mic import Microphone
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
