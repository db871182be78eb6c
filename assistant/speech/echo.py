"""Echo cancellation, so Duet can listen while it speaks.

A partner who pauses to think and then goes on may find Duet already asking the next question.
Duet should stop and let them finish (barge-in, ``live.py``). To hear them over its own voice,
the microphone's signal must not contain that voice: through a laptop's speaker it does, and a
voice detector would take Duet for a partner. PulseAudio (and PipeWire's pulse server) ship an
echo canceller, ``module-echo-cancel``, with WebRTC's audio processing: it takes what is played
to its sink out of what its source records. Duet loads it between the default microphone and
speaker for the length of a session and opens both through it (``PULSE_SOURCE`` and
``PULSE_SINK``, which PortAudio's ALSA ``pulse`` device honours), and unloads it afterwards.

Measured through a private PulseAudio daemon with the speaker looped back into the microphone at
the partner's level (``module-loopback``, 30 ms): on a first question, Duet's voice came out of
the cancelled source 25-45 dB lower after its first 0.2-0.8 s, while a partner speaking over it
came through at their own level. Over a session of 8 questions it did not hold: in 3 to 7 of
them Duet's voice came through at 48-62 dB (int16 RMS in dB; the partner's 49-61), with or
without ``extended_filter=1``. It is why barge-in is off by default (``config.ListeningConfig``).

It is not only the loopback's drifting delay (stop 49; 8-question sessions, Duet's voice counted
as held when every 100 ms after a question's first 0.8 s is 25 dB under the microphone's level).
The loopback adapts its rate, and the echo's delay crept 7-16 ms over a session. With the rate
fixed (``adjust_time=0``), or Duet's sink combined into the microphone's (``module-combine-sink``),
the delay stayed within 0.1 ms. The canceller still let Duet's voice through at 45-69 dB in some
questions of every such session. The canceller resyncs at each question, because its sink goes
idle between them, and realigns itself every second by dropping 15-50 ms of a stream. A silent
stream kept open on its sink, and its realignment off, left it on the one alignment found at the
start. That was right on one rig and wrong on the other (the echo came before its reference),
and no session of 26 held in every question. This is PulseAudio 16.1 with Debian's
webrtc-audio-processing 0.3. Real devices were not tried; nor were ``drift_compensation`` or
``extended_filter`` together with a kept-open stream.

When the microphone goes, PulseAudio unloads the canceller, its sink too; PipeWire (0.3.65, its
pulse server) keeps it and feeds it the next default source, and reuses its module's index for
the next module loaded. So a canceller is known by its source's index and its microphone's
(``alive``), the microphone's stream watches the microphone behind it (``upstream``), and the
live port takes a canceller out as soon as its microphone is lost.

PipeWire before 1.0 (Debian 12 has 0.3.65) gets no canceller (``TOO_OLD_PIPEWIRE``). Its
canceller let Duet's voice through throughout a session (stop 55), and taking it out while its
speaker plays crashes PipeWire's pulse server, and every program's sound with it. Measured: 4 of
9 whole sessions with the microphone unplugged mid-work while another process ran the live tests
(and one CI run) ended with pipewire-pulse killed by a segfault at the unload; none of 5 on a
machine otherwise idle or only computing. The core dump shows the module freeing its streams one
by one while its real-time thread still processes the last, which reads one already freed
(``pw_stream_dequeue_buffer`` on NULL; ``impl_destroy`` in ``module-echo-cancel.c``). Duet cannot
keep the speaker still while it unloads, so on those versions it goes without. PipeWire 1.x was
not tried.

The canceller's gain control, noise suppression and high-pass filter are off: the recognizers
were chosen and tuned on the microphone's own signal, and with nothing playing the cancelled
source gives the same levels as the microphone (measured within 1 dB).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time

from assistant.speech.mic import is_monitor_source, source_indexes

log = logging.getLogger(__name__)

SOURCE = "duet_echo_source"
"""The echo-cancelled microphone Duet records from."""
SINK = "duet_echo_sink"
"""The speaker Duet plays to, through the canceller."""

ARGS = "analog_gain_control=0 digital_gain_control=0 noise_suppression=0 high_pass_filter=0"
"""WebRTC processing options: echo cancellation only (see the module docstring)."""

_TIMEOUT = 5.0

TOO_OLD_PIPEWIRE = (1, 0)
"""PipeWire versions before this get no canceller (see the module docstring)."""


class EchoCanceller:
    """PulseAudio's ``module-echo-cancel`` between the default microphone and speaker."""

    def __init__(self, module: int, env: dict[str, str | None], source: int, master: str,
                 master_index: int) -> None:
        self.module = module
        """The loaded module's index."""
        self.source = source
        """Its cancelled source's index: what tells this canceller from a later one, as PipeWire
        gives an unloaded module's index to the next module loaded (a source's is not reused)."""
        self.master = master
        """The microphone it takes the echo out of (a PulseAudio source name)."""
        self.master_index = master_index
        """That microphone's index when the canceller was loaded: one plugged in again has another."""
        self._env = env  # PULSE_SOURCE and PULSE_SINK as they were, restored by ``close``

    @classmethod
    def load(cls) -> "EchoCanceller | None":
        """Load the canceller and point Duet's streams at it; None (and why, logged) if it can't.

        The masters are the sound server's defaults, or ``PULSE_SOURCE`` / ``PULSE_SINK`` when
        they are set. A canceller left behind by a Duet that did not exit cleanly is replaced.
        None while the source is a speaker's monitor (no microphone plugged in): PulseAudio
        loads a canceller on another sink's monitor, and Duet would take it for a microphone.
        """
        if reason := cls.unavailable():
            log.info("no echo cancellation: %s", reason)
            return None
        _unload_stale()
        chosen = {var: os.environ.get(var) for var in ("PULSE_SOURCE", "PULSE_SINK")
                  if os.environ.get(var) not in (None, "", SOURCE, SINK)}  # not a canceller's own
        source = chosen.get("PULSE_SOURCE") or (_pactl("get-default-source") or "").strip()
        if is_monitor_source(source):  # PulseAudio's fallback with no microphone: it would hear a speaker
            log.info("no echo cancellation: PulseAudio's source %r is a speaker's monitor, not a microphone",
                     source)
            return None
        masters = [f"{arg}={chosen[var]}" for arg, var in
                   (("source_master", "PULSE_SOURCE"), ("sink_master", "PULSE_SINK")) if var in chosen]
        out = _pactl("load-module", "module-echo-cancel", "aec_method=webrtc", f'aec_args="{ARGS}"',
                     f"source_name={SOURCE}", f"sink_name={SINK}", *masters)
        if out is None or not out.strip().isdigit():
            log.info("no echo cancellation: PulseAudio's module-echo-cancel did not load")
            return None
        sources = _sources_once_listed(SOURCE)
        if SOURCE not in sources or source not in sources:
            log.info("no echo cancellation: its source or microphone %r is not listed", source)
            _pactl("unload-module", out.strip())
            return None
        env = {var: os.environ.get(var) for var in ("PULSE_SOURCE", "PULSE_SINK")}
        os.environ["PULSE_SOURCE"], os.environ["PULSE_SINK"] = SOURCE, SINK
        log.info("echo cancellation on (PulseAudio module-echo-cancel, WebRTC)")
        return cls(int(out), env, sources[SOURCE], source, sources[source])

    @staticmethod
    def unavailable() -> str | None:
        """Why no canceller can be had on this machine, whatever the devices (``duet doctor``
        asks too), or None."""
        if not shutil.which("pactl"):
            return "pactl is not installed (Debian: pulseaudio-utils)"
        pipewire = pipewire_version()
        if pipewire is not None and pipewire < TOO_OLD_PIPEWIRE:
            return (f"PipeWire {'.'.join(map(str, pipewire))}'s canceller lets Duet's voice through, "
                    "and taking it out while sound plays crashes the sound server")
        return None

    @property
    def upstream(self) -> tuple[str, int]:
        """(name, index) of its microphone, for ``Microphone.upstream``: the microphone's loss."""
        return self.master, self.master_index

    def alive(self) -> bool:
        """True while the canceller is loaded on the microphone it was loaded on.

        When that microphone goes, PulseAudio unloads the canceller; PipeWire keeps it and feeds
        it the next default source (measured with PipeWire 0.3.65: the fallback, a sink's
        monitor), so the microphone counts too, by its index: one plugged in again has another."""
        sources = source_indexes()
        return sources.get(SOURCE) == self.source and sources.get(self.master) == self.master_index

    def close(self) -> None:
        """Unload the module (if it is still this one) and give Duet's streams back their devices
        of before."""
        for var, value in self._env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if source_indexes().get(SOURCE) == self.source:
            _pactl("unload-module", str(self.module))


def pipewire_version() -> tuple[int, ...] | None:
    """The version of PipeWire behind the pulse server ("PulseAudio (on PipeWire 0.3.65)"), or None
    when the server is PulseAudio itself (or does not answer)."""
    found = re.search(r"on PipeWire (\d+(?:\.\d+)*)", _pactl("info") or "")
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _pactl(*args: str) -> str | None:
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as err:
        log.debug("pactl %s: %s", args[0], err)
        return None
    if done.returncode != 0:
        log.debug("pactl %s: %s", args[0], done.stderr.strip())
        return None
    return done.stdout


def _sources_once_listed(name: str) -> dict[str, int]:
    """The sources by name, once ``name`` is among them (a just-loaded module's source may be
    listed a moment later), or as they are after ``_TIMEOUT`` seconds."""
    deadline = time.monotonic() + _TIMEOUT
    while True:
        sources = source_indexes()
        if name in sources or time.monotonic() >= deadline:
            return sources
        time.sleep(0.05)


def _module_indexes(name: str, containing: str = "") -> list[str]:
    """Indexes of the loaded modules called ``name`` whose arguments contain ``containing``."""
    out = _pactl("list", "short", "modules") or ""
    return [line.split("\t")[0] for line in out.splitlines()
            if len(line.split("\t")) > 2 and line.split("\t")[1] == name and containing in line]


def _unload_stale() -> None:
    for index in _module_indexes("module-echo-cancel", f"source_name={SOURCE}"):
        log.info("unloading an echo canceller left by an earlier Duet (module %s)", index)
        _pactl("unload-module", index)
