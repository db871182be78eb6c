"""The microphone's and the echo canceller's checks again on PipeWire, through its pulse server.

Most Debian 12 desktops run PipeWire, not PulseAudio, and Duet reaches both the same way (the
ALSA ``pulse`` device and ``pactl``). Where they differ is what Duet watches when a microphone
goes (measured with PipeWire 0.3.65): PipeWire keeps an echo canceller whose microphone went
and feeds it the fallback source, where PulseAudio unloads it, and it gives an unloaded module's
index to the next module loaded. Each check below runs as written in its own module, on a private
PipeWire (pipewire, wireplumber and pipewire-pulse, ``scripts/virtual_audio.sh start-pipewire``)
with the same virtual devices, and two whole `duet run` sessions; the rest of the suite runs on
PulseAudio.

Not repeated here: ``test_a_source_that_stops_delivering_counts_as_lost``, whose stall is made
with ``pactl suspend-source``, which PipeWire does not honour while a stream records.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests import test_echo as echo_checks
from tests import test_faults_audio as fault_checks
from tests import test_mic as mic_checks
from tests.rig import PIPEWIRE_MISSING, VirtualAudio, pipewire_installed, start_virtual_audio, stop_virtual_audio

pytestmark = pytest.mark.audio

CHECKS: dict[str, Callable[..., None]] = {
    "mic_lost_and_back": mic_checks.test_losing_the_source_raises_and_reopen_recovers,
    "echo_loaded_and_unloaded": echo_checks.test_it_is_loaded_for_duet_s_streams_and_taken_out_again,
    "echo_left_by_a_crash": echo_checks.test_one_left_behind_by_a_crash_is_replaced_not_doubled,
    "echo_mic_lost": echo_checks.test_losing_the_microphone_behind_it_loses_the_microphone,
    "echo_not_on_a_monitor": echo_checks.test_with_no_microphone_it_is_not_loaded_on_a_speakers_monitor,
    "echo_back_with_the_mic": echo_checks.test_it_comes_back_with_the_microphone_and_duet_records_through_it,
    # whole `duet run` sessions; for CI's time, not the outage with barge-in off (mic_lost_and_back
    # covers its path) nor the live barge-in session (what PipeWire changes is the canceller's)
    "run_mic_lost_and_back_barge_in": partial(fault_checks.test_the_microphone_disappears_and_comes_back,
                                              barge_in="auto"),
    "run_server_restarts": fault_checks.test_the_sound_server_restarts_and_duet_is_heard_again,
}

_ENV = ("PULSE_RUNTIME_PATH", "PULSE_SERVER", "PULSE_SOURCE", "PULSE_SINK")


@pytest.fixture(scope="module")
def pipewire(virtual_audio: VirtualAudio) -> Iterator[VirtualAudio]:
    """A private PipeWire with the virtual devices; this process points at it until the module
    ends, then back at its PulseAudio daemon (``virtual_audio``)."""
    if not pipewire_installed():
        pytest.fail(PIPEWIRE_MISSING)
    saved = {var: os.environ.get(var) for var in _ENV}
    audio = start_virtual_audio(Path(tempfile.mkdtemp(prefix="duet-pipewire-")), server="pipewire")
    assert "PipeWire" in audio.pactl("info")
    try:
        yield audio
    finally:
        stop_virtual_audio(audio)
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


@pytest.mark.parametrize("name", CHECKS)
def test_on_pipewire(name: str, pipewire: VirtualAudio, tmp_path: Path) -> None:
    check = CHECKS[name]
    given = {"virtual_audio": pipewire, "tmp_path": tmp_path}
    check(**{arg: given[arg] for arg in inspect.signature(check).parameters if arg in given})
