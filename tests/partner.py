"""A rehearsal partner: a test process that plays a couple answering Duet through real audio.

It reads what Duet prints, listens to Duet's virtual speaker until Duet has finished speaking,
then plays the next prepared answer into the virtual microphone. During the work phase it says
a command. Nothing in Duet is faked: the prompts are real espeak-ng speech, and the answers are
heard through PulseAudio, PortAudio and the recognizers.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.rig import VirtualAudio

LOUD = 300  # int16 RMS of a 20 ms block that counts as Duet speaking
QUIET_AFTER = 0.6  # seconds of silence after Duet speaks before the partner answers


@dataclass
class Answer:
    """One prepared answer."""

    wav: Path
    text: str
    """What is said in it (for scoring the transcript)."""
    real: bool = False
    """A recording of a real person (not synthesized)."""
    second: str = ""
    """For an answer with a pause inside: what is said after the pause."""
    pauses: float = 0.0
    """For an answer with a pause inside: seconds into the WAV where the pause begins ..."""
    resumes: float = 0.0
    """... and where the second part begins."""


def espeak(text: str, voice: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True)
    return path


class SpeakerMonitor:
    """Records the virtual speaker and remembers when it last carried sound."""

    def __init__(self) -> None:
        self.last_loud = 0.0
        self.loud: list[float] = []
        """Monotonic time of every loud 20 ms block heard on the speaker."""
        self._proc = subprocess.Popen(
            ["parec", "-d", "speaker.monitor", "--raw", "--rate=16000", "--channels=1", "--format=s16le",
             "--latency-msec=20"],
            stdout=subprocess.PIPE,
        )
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        block = 640  # 20 ms
        while chunk := self._proc.stdout.read(block):
            samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype=np.int16).astype(np.float64)
            if samples.size and np.sqrt(np.mean(samples**2)) > LOUD:
                self.last_loud = time.monotonic()
                self.loud.append(self.last_loud)

    def wait_until_done_speaking(self, since: float, timeout: float = 30.0) -> None:
        """Wait for Duet to speak (after ``since``) and then fall quiet."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            now = time.monotonic()
            if self.last_loud > since and now - self.last_loud > QUIET_AFTER:
                return
            time.sleep(0.05)
        raise TimeoutError("Duet did not speak and fall quiet in time")

    def stop(self) -> None:
        self._proc.terminate()


@dataclass
class Partner:
    """Answers every question in order, and speaks ``command`` once the work phase begins.

    Like a person, it gives the same answer again when a question is asked again (Duet does
    after a microphone stall), and it says the command again when Duet does not answer it: at most
    ``command_tries`` times, ``command_retry`` seconds apart. The tries are kept in
    ``command_said`` so a test can report them (recall itself is measured in bench.py).
    """

    audio: VirtualAudio
    answers: list[Answer]
    command: Path
    command_delay: float = 1.0
    command_tries: int = 3
    command_retry: float = 8.0
    lines: list[str] = field(default_factory=list)
    played: list[Answer] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) monotonic time of each answer's playback into the microphone."""
    heard_loud: list[float] = field(default_factory=list)
    """When Duet's speaker was loud (from the monitor), for checking turn-taking afterwards."""
    command_said: list[float] = field(default_factory=list)
    """When the command was played into the microphone (monotonic), once per try."""
    eager: float = 0.0
    """Seconds after Duet prints a question at which the partner starts answering it, while
    Duet is still asking (0: once Duet has fallen quiet). Asked again, they wait for the end."""

    def run(self, proc: subprocess.Popen, timeout: float) -> int:
        """Play the session with Duet's process; returns its exit code."""
        monitor = SpeakerMonitor()
        out: queue.Queue[tuple[float, str] | None] = queue.Queue()
        threading.Thread(target=pump_lines, args=(proc, out), daemon=True).start()
        pending = list(self.answers)
        deadline = time.monotonic() + timeout
        asked = None  # the last question answered
        retry_at: float | None = None  # when to say the command again, while it goes unanswered
        try:
            while True:
                wait = min(deadline, retry_at or deadline) - time.monotonic()
                try:
                    got = out.get(timeout=max(0.1, wait))
                except queue.Empty:
                    if retry_at is None or time.monotonic() >= deadline:
                        raise
                    retry_at = self._say_command()
                    continue
                if got is None:
                    break
                seen, line = got  # seen: when Duet printed it (possibly while an answer played)
                self.lines.append(line)
                text = line.removeprefix("Duet: ") if line.startswith("Duet: ") else None
                if text:
                    retry_at = None  # Duet answered (the command, or a question that came next)
                if text and text.endswith("?") and (pending or text == asked):
                    if self.eager and text != asked:
                        time.sleep(max(0.0, seen + self.eager - time.monotonic()))
                    else:
                        monitor.wait_until_done_speaking(seen)
                    if self._cut_off(out):
                        continue  # a partner went on over it (barge-in): it is asked again
                    if text == asked:  # asked again (e.g. after a microphone stall): same answer
                        answer = self.played[-1]
                    else:
                        answer = pending.pop(0)
                        self.played.append(answer)
                    start = time.monotonic()
                    self.audio.play_into_mic(answer.wav)
                    span = (start, time.monotonic())
                    if text == asked:
                        self.spans[-1] = span  # one span per answer: the one Duet kept
                    else:
                        self.spans.append(span)
                    asked = text
                elif text and "work phase starts now" in text:
                    monitor.wait_until_done_speaking(seen)
                    time.sleep(self.command_delay)  # a moment of work before the command
                    retry_at = self._say_command()
            return proc.wait(timeout=30)
        finally:
            monitor.stop()
            self.heard_loud = list(monitor.loud)
            if proc.poll() is None:
                proc.kill()

    def _cut_off(self, out: queue.Queue) -> bool:
        """True when Duet printed that it stopped the question just asked (barge-in). The lines
        read here are kept in ``lines``; the stop is printed as Duet falls quiet, before the
        question comes again."""
        while True:
            try:
                got = out.get(timeout=0.2)
            except queue.Empty:
                return False
            if got is None:
                out.put(None)
                return False
            self.lines.append(got[1])
            if got[1].startswith("(Duet stops"):
                return True
            if got[1].startswith("Duet: "):
                out.put(got)  # not ours to eat (kept in order: nothing else is printed between)
                self.lines.pop()
                return False

    def _say_command(self) -> float | None:
        """Play the command; when to try again if Duet stays silent (None: no tries left)."""
        self.command_said.append(time.monotonic())
        self.audio.play_into_mic(self.command)
        return time.monotonic() + self.command_retry if len(self.command_said) < self.command_tries else None


def pump_lines(proc: subprocess.Popen, out: queue.Queue) -> None:
    """Put each line Duet prints into ``out`` with the time it was printed (not when it is read:
    Duet speaks right after printing, maybe while the reader is busy playing), then None."""
    for line in proc.stdout:
        out.put((time.monotonic(), line.rstrip("\n")))
    out.put(None)
