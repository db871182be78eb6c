"""The test rig: a private PulseAudio daemon (or PipeWire) with a virtual microphone and speaker.

``scripts/virtual_audio.sh`` creates the devices; this module plays WAVs into the microphone
(``micsink``) and records what was played on the speaker (``speaker.monitor``), so tests cross the
real audio path: sounddevice -> PortAudio -> ALSA -> PulseAudio.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "virtual_audio.sh"
MIC_MODULE = ("module-remap-source", "source_name=mic")
"""How the virtual microphone's module is known in ``pactl list modules`` (the script loads it)."""


@dataclass
class VirtualAudio:
    """A running daemon; its environment is set in ``os.environ`` while it runs."""

    runtime_dir: Path
    """PULSE_RUNTIME_PATH of the daemon."""
    server: str = "pulseaudio"
    """Which sound server: "pulseaudio", or "pipewire" (with its pulse server)."""

    def play_into_mic(self, wav: Path) -> None:
        """Play a WAV file into the virtual microphone and wait until it has been played."""
        subprocess.run(["paplay", "-d", "micsink", str(wav)], check=True, timeout=120)

    def play_into_mic_async(self, wav: Path) -> subprocess.Popen:
        """Start playing a WAV file into the virtual microphone; returns the player process."""
        return subprocess.Popen(["paplay", "-d", "micsink", str(wav)])

    def record_speaker(self, wav: Path) -> subprocess.Popen:
        """Start recording the virtual speaker to a 16 kHz mono WAV; terminate() to stop."""
        return subprocess.Popen(
            ["parec", "-d", "speaker.monitor", "--file-format=wav", "--rate=16000",
             "--channels=1", "--format=s16le", str(wav)]
        )

    def pactl(self, *args: str) -> str:
        """Run pactl against this daemon (for example to unload the microphone)."""
        out = subprocess.run(["pactl", *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {out.stderr.strip()}\n{self.log_tail()}")
        return out.stdout

    def log_tail(self, lines: int = 30) -> str:
        """The end of the sound server's log (PipeWire's; PulseAudio's daemon logs to syslog)."""
        return "\n".join(self._log().splitlines()[-lines:]) or f"(no log in {self.runtime_dir})"

    def log_size(self) -> int:
        """Where the log ends now: ``pulse_server_crashes`` reads what comes after."""
        return len(self._log())

    def pulse_server_crashes(self, since: int = 0) -> list[str]:
        """PipeWire: how its pulse server ended by itself (not stopped by us) since ``since``.

        PipeWire 0.3.65's pipewire-pulse segfaulted under these tests when an echo canceller was
        taken out (``echo.TOO_OLD_PIPEWIRE``); a desktop's systemd starts it again, here nothing
        does."""
        log = self._log()
        log = log[since:] if since <= len(log) else log  # a shorter log: the server was started afresh
        ended = re.findall(r"^== (pipewire-pulse ended: exit (\d+) .*)$", log, re.MULTILINE)
        return [line for line, code in ended if int(code) > 128 and int(code) != 143]  # 143: our SIGTERM

    def _log(self) -> str:
        log = self.runtime_dir / "log"
        return log.read_text(errors="replace") if log.exists() else ""

    def unplug_mic(self, fallback: str | None = None) -> None:
        """Unload the virtual microphone's module, as if its cable were pulled. PulseAudio falls
        back to a sink's monitor; ``fallback`` names which one (as where a computer has several
        outputs), else PulseAudio picks."""
        module = self._mic_module()
        assert module is not None, "the virtual microphone is not loaded"
        self.pactl("unload-module", module)
        if fallback is not None:
            self.pactl("set-default-source", fallback)

    def plug_mic(self) -> None:
        """Load the virtual microphone again (if it is out) and make it the default source."""
        self._script("plug-mic")

    def stop_server(self) -> None:
        """Stop the sound server, as if it crashed: every stream to it ends."""
        self._script("stop")

    def start_server(self) -> str:
        """Start the sound server (again, if it is down), with the virtual devices at the same
        address; returns the script's ``export`` line."""
        return self._script("start-pipewire" if self.server == "pipewire" else "start")

    def _script(self, command: str) -> str:
        """Run ``scripts/virtual_audio.sh COMMAND`` on this server's folder; its stdout (its
        stderr goes to the test's)."""
        return subprocess.run(["bash", str(SCRIPT), command, str(self.runtime_dir)], check=True,
                              stdout=subprocess.PIPE, text=True).stdout

    def _mic_module(self) -> str | None:
        for row in self.pactl("list", "short", "modules").splitlines():
            fields = row.split("\t")
            if len(fields) > 2 and fields[1] == MIC_MODULE[0] and MIC_MODULE[1] in fields[2]:
                return fields[0]
        return None


PULSEAUDIO_MISSING = "pulseaudio is not installed: apt-get install pulseaudio sox (see .ci/run)"


def pulseaudio_installed() -> bool:
    return shutil.which("pulseaudio") is not None


PIPEWIRE_MISSING = ("pipewire is not installed: apt-get install pipewire pipewire-pulse wireplumber dbus "
                    "(scripts/setup.sh --test)")


def pipewire_installed() -> bool:
    return all(shutil.which(tool) for tool in ("pipewire", "pipewire-pulse", "wireplumber", "dbus-run-session"))


def start_virtual_audio(runtime_dir: Path, server: str = "pulseaudio") -> VirtualAudio:
    """Start a sound server (PulseAudio, or PipeWire with its pulse server) in runtime_dir with
    the virtual devices, and point this process (and its children) at it."""
    if not (pipewire_installed() if server == "pipewire" else pulseaudio_installed()):
        raise RuntimeError(PIPEWIRE_MISSING if server == "pipewire" else PULSEAUDIO_MISSING)
    audio = VirtualAudio(runtime_dir, server)
    for assignment in audio.start_server().split()[1:]:
        key, _, value = assignment.partition("=")
        os.environ[key] = value
    return audio


def stop_virtual_audio(audio: VirtualAudio) -> None:
    audio.stop_server()
