"""The live port: the engine's mouth and ears on a real microphone and speaker.

Duet speaks each prompt to the end (``Speaker.play`` blocks) and mutes the microphone until a
short tail after, so it never answers itself. One exception, barge-in (``bargein.py``): the
question that follows an answer is spoken while the microphone listens, where Duet's own voice
is cancelled (``echo.py``); if the partner goes on with their answer within ``max_pause`` of
where they stopped, Duet stops, and what they say joins that answer (``Heard.continues``).
Answers go to the free-form engine, commands during the work phase to the grammar engine, both
behind the voice-activity gate in ``listener.py``. A microphone that disappears becomes a
``MicrophoneLost`` event (the engine pauses); the port then waits for it to come back.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, replace
from typing import Callable

import click

from assistant.config import Config, ListeningConfig
from assistant.session.clock import MonotonicClock
from assistant.session.commands import NUMBER_WORDS, TENS, CommandParser, Intent, normalize, work_grammar
from assistant.session.events import (
    Event,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    MicrophoneBack,
    MicrophoneLost,
    Silence,
    Tick,
)
from assistant.speech.asr import Recognizer, Transcript
from assistant.speech.bargein import BargeIn
from assistant.speech.echo import EchoCanceller
from assistant.speech.listener import Listener
from assistant.speech.mic import Microphone
from assistant.speech.mic import MicrophoneLost as MicLostError
from assistant.speech.soundalike import SoundAlike
from assistant.speech.vad import load_silero
from assistant.speech.voice import NoSpeaker, Speaker, Voice, VoiceError

log = logging.getLogger(__name__)

LONG_WAIT = 3600.0
"""How long to listen for a command when the engine has nothing of its own to do (paused)."""
RETRY_MIC = 1.0
"""Seconds between attempts to reopen a lost microphone."""
AWAITED_SOUND = 0.35
"""Largest phoneme distance at which an answer is taken for a command the session awaits in
its place (``ListenForAnswer.awaited``; the spotter's ``accept``): "Kansel met." is "cancel
that" at 0.20 and "And five minutes." is "add five minutes" at 0.07, where both were stored as
answers (found by a QA pass). An answer said then is seldom near a command ("Add more water":
0.46, and no minutes in it)."""
AWAITED_MARGIN = 0.1
"""... and the nearest phrase of another command must be this much farther (the spotter's)."""

NOTE_PAUSE = 1.5
"""Longest pause a dictated note waits for more, where an answer waits ``max_pause``: a note is
one short line, and the couple's talk goes on after it. A live QA pass over clatter and music
had a short note read unsurely wait 3.5 s, and the partners' next sentence, 3.3 s after it,
joined the note or took its place (4 of 9 notes); Duet now also reads a note back."""

AS_WRITTEN_ALONE = frozenset({Intent.SKIP.value})
"""Commands whose one-word phrases ("skip", "pass") are taken only as written: a skip drops the
answer, and one-word answers sound as near them as misread skips do ("Past." is "pass" at 0.20,
"Skim." "skip" at 0.25, where "Scape." and "Scoop." for "skip" are 0.20 and 0.25). The others
said in place of an answer lose nothing (a pause or a stop question asks it again)."""


@dataclass
class Engines:
    """The two recognizers a live session uses."""

    answers: Recognizer
    """Free-form dictation of answers and notes."""
    commands: Recognizer
    """Grammar-restricted spotting of the command phrases."""


def open_engines(config: Config, answers: str | None = None, commands: str | None = None) -> Engines:
    """Load both engines once per run (model loading is the slow part)."""
    from assistant.speech.engines import open_recognizer

    load_silero()  # before any audio thread runs: loading it sets an environment variable
    grammar = work_grammar(config.commands, config.listening.wake_word)
    speech = config.speech
    answer_engine = open_recognizer(answers or speech.answers, vosk_model=speech.vosk_model,
                                    threads=speech.threads)
    wanted = commands or speech.commands
    if wanted in ("auto", "spotter"):
        return Engines(answers=answer_engine, commands=open_spotter(config, answer_engine))
    return Engines(answers=answer_engine, commands=open_recognizer(
        wanted, grammar=grammar, vosk_model=speech.vosk_model, threads=speech.threads))


def open_spotter(config: Config, answers: Recognizer | None = None) -> Recognizer:
    """The built-in command spotter, warmed up. It shares the answer engine's model when that is
    one it runs on (Moonshine or Whisper): one model in memory, not two."""
    from assistant.speech.spotter import CommandSpotter, command_table

    wake = config.listening.wake_word
    table = command_table(CommandParser(config.commands, wake), work_grammar(config.commands, wake))
    spotter = CommandSpotter(table, threads=config.speech.threads, shared=answers)
    spotter.warm()
    return spotter


class LivePort:
    """A ``runner.Port`` on real audio."""

    def __init__(
        self,
        voice: Voice,
        speaker: Speaker | None,
        mic: Microphone,
        listener: Listener,
        *,
        mute_tail: float = 0.3,
        show: Callable[[str], None] = click.echo,
        partial: Callable[[str], None] | None = None,
        barge_in: bool = False,
        continue_within: float = 3.0,
        echo: EchoCanceller | None = None,
        commands: CommandParser | None = None,
    ) -> None:
        """
        Args:
            barge_in: listen while asking the question that follows an answer, and stop for a
                partner who goes on (only where Duet's own voice is not heard: ``echo``, or a
                headset).
            continue_within: seconds after an answer was taken (its end pause already passed)
                in which speech over the next question still continues that answer.
            echo: the echo canceller Duet's devices go through, unloaded by ``close``.
            commands: the configured phrases, to tell which command a spotted phrase is.
        """
        self.voice = voice
        self.speaker = speaker
        self.mic = mic
        self.listener = listener
        self.mute_tail = mute_tail
        self.show = show
        self.partial = partial
        self.barge_in = barge_in
        self.continue_within = continue_within
        self.echo = echo
        self.commands = commands
        self._echo_lost = False
        """The canceller went with the microphone and is loaded again when one is back."""
        self._no_sound = False
        """The last prompt could not be played (printed only): a sound server restarting, a
        device gone. Each prompt tries again, so Duet is heard again once it is back."""
        self.mic_lost = False
        self._partner = "you"
        self._open_answer: tuple[tuple[str, ...], float] | None = None
        """(the prompts that may follow it, clock time until which it may go on) of the answer
        just taken: the partner may still be in the middle of it."""
        self._continuing: str | None = None
        """The question a partner cut off by going on with their answer."""
        self._sounds: SoundAlike | None = None
        """Every command phrase by sound, for an answer awaited as a command (``_awaited``)."""
        self._muted_for_prompt = False
        """The microphone was muted for a prompt since the port last listened: an answer heard
        from the first moment of listening began over it (``Listener.talked_over``)."""

    def close(self) -> None:
        """Close the microphone and take the echo canceller out again."""
        self.mic.close()
        if self.echo is not None:
            self.echo.close()
            self.echo = None

    def say(self, text: str) -> None:
        self.show(f"Duet: {text}")
        if self.speaker is None:
            return
        barge_in = self._barge_in(text)
        try:
            samples, rate = self.voice.render(text)
            if barge_in is None:  # nothing reads the microphone while Duet speaks
                self.mic.mute_until(time.monotonic() + len(samples) / rate + self.mute_tail)
                self._muted_for_prompt = True
            finished = self.speaker.play(samples, rate, stop=barge_in)
        except (NoSpeaker, VoiceError) as err:
            self.mic.mute_until(0)  # nothing was said: nothing to mute
            if not self._no_sound:  # said once; each prompt tries the speaker again
                log.warning("%s; prompts are printed until it works again", err)
                self.show(f"(no sound: {err}; prompts are printed until it works again)")
            self._no_sound = True
            return
        if self._no_sound:
            self._no_sound = False
            log.warning("sound is back")
            self.show("(sound is back)")
        if barge_in is not None and (barge_in.heard or barge_in.settle(finished, finished + self.mute_tail)):
            barge_in.give_back()  # the partner's words, for the listener
            self._continuing = text
            self.show(f"(Duet stops: {self._partner} goes on)")
            return
        self.mic.mute_until(finished + self.mute_tail)

    def _barge_in(self, text: str) -> BargeIn | None:
        """A listener for the partner's voice while ``text`` is spoken, if it may cut in."""
        open_answer, self._open_answer = self._open_answer, None
        if not self.barge_in or open_answer is None:
            return None
        follows, until = open_answer
        if text not in follows or time.monotonic() >= until:
            return None
        return BargeIn(self.mic, until)

    def listen_answer(self, action: ListenForAnswer) -> Event:
        if self.mic_lost:
            return self._wait_for_mic()
        continuing, self._continuing = self._continuing, None
        after_prompt, self._muted_for_prompt = self._muted_for_prompt, False
        if continuing is None:
            self._partner = action.partner or "note"
        if self.speaker is not None and action.ahead:
            self.voice.prefetch(action.ahead)  # rendered while the partner speaks
        # the partner's words are already there: if they stop at once, Duet asks again soon
        timeout = self.continue_within if continuing is not None else action.timeout
        try:
            transcript = self.listener.capture_answer(
                timeout, on_partial=self.partial, longest_pause=NOTE_PAUSE if action.phase == "note" else None)
        except MicLostError as err:
            return self._lost(err)
        if continuing is not None:
            return self._continued(transcript, continuing)
        if after_prompt and self.listener.talked_over:
            said = f": {transcript.text}" if transcript is not None and transcript.text else ""
            self.show(f"{self._partner}: (began while Duet was still speaking{said})")
            return replace(heard(transcript), talked_over=True) if transcript else Heard("", talked_over=True)
        if transcript is None:
            self.show(f"{self._partner}: (no answer)")
            return Silence()
        if (command := self._awaited(transcript, action.awaited)) is not None:
            return command
        if self._as_written(transcript.text, action.awaited):  # shown as commands are (a QA pass)
            self.show(f"(command: {transcript.text!r})")
            return heard(transcript)
        self.show(f"{self._partner}: {transcript.text}")
        self._open_answer = (action.ahead, time.monotonic() + self.continue_within)
        return heard(transcript)

    def _awaited(self, transcript: Transcript, awaited: tuple[str, ...]) -> Heard | None:
        """The command awaited in place of this answer, when the answer sounds like one."""
        if not awaited or self.commands is None:
            return None
        phrase = awaited_in(transcript, awaited, self.commands, self.sound_table())
        if phrase is None:
            return None
        self.show(f"(command: {phrase!r}, heard: {transcript.text!r})")
        return Heard(text=phrase, confidence=transcript.confidence)

    def sound_table(self) -> SoundAlike:
        """Every phrase by sound, said without the wake word (none in questions). Made once, about
        0.5 s of espeak-ng: ``live_port`` makes it before the session, since every answer is now
        matched against it and it would have added that to the first turn gap."""
        if self._sounds is None:
            from assistant.speech.spotter import command_table

            assert self.commands is not None
            wake = f"{self.commands.wake_word} " if self.commands.wake_word else ""
            phrases = [p.removeprefix(wake) for p in self.commands.grammar_phrases()]
            self._sounds = SoundAlike(command_table(self.commands, phrases))
        return self._sounds

    def _as_written(self, text: str, awaited: tuple[str, ...]) -> bool:
        """``text`` is, as written, a command the session awaits in place of an answer."""
        command = self.commands.parse(text) if self.commands is not None else None
        return command is not None and command.intent.value in awaited

    def _continued(self, transcript: Transcript | None, question: str) -> Heard:
        """The rest of an answer said over ``question``, which is asked again, to the end: a
        question is stopped once at most. Where the echo canceller lets Duet's own voice through,
        Duet took its question for the partner going on, stopped, asked again, and stopped
        again, for as long as the session lasted (measured on PipeWire 0.3.65, the speaker
        looped back into the microphone: 66 times in one question)."""
        if transcript is None:  # no words after all
            return Heard(text="", continues=True)
        self.show(f"{self._partner} (going on): {transcript.text}")
        return replace(heard(transcript), continues=True)

    def listen_commands(self, action: ListenForCommands) -> Event:
        if self.mic_lost:
            return self._wait_for_mic()
        until = action.until if action.until is not None else time.monotonic() + LONG_WAIT
        until = max(until, time.monotonic() + action.listen_for)
        try:
            transcript = self.listener.next_command(until, expected=action.awaited)
        except MicLostError as err:
            return self._lost(err)
        if transcript is None:
            return Tick()
        if transcript.heard and self._stray_yes(transcript.text, action):
            log.info("heard %r as %r with no stop question open: talk", transcript.heard, transcript.text)
        elif transcript.heard:
            self.show(f"(command: {transcript.text!r}, heard: {transcript.heard!r})")
        else:
            self.show(f"(heard: {transcript.text})")
        return heard(transcript)

    def _stray_yes(self, phrase: str, action: ListenForCommands) -> bool:
        """A yes while no "Stop the session?" is open: the session takes it as talk, so it is not
        shown as a command it acted on (it was, on a "Yes" in the couple's talk)."""
        command = self.commands.parse(phrase, require_wake_word=True) if self.commands is not None else None
        return command is not None and command.intent is Intent.CONFIRM and not action.confirming

    def _lost(self, err: MicLostError) -> Event:
        self.mic_lost = True
        log.warning("%s", err)
        self._drop_dead_echo()  # before Duet says so
        return MicrophoneLost()

    def _drop_dead_echo(self) -> None:
        """Take out an echo canceller whose microphone went, and give Duet its own devices back:
        PulseAudio unloads the canceller's sink with it, and a prompt played there found no
        device (Duet printed its prompts from then on). It comes back with the next microphone."""
        if self.echo is not None and not self.echo.alive():
            self.echo.close()
            self.echo, self._echo_lost, self.mic.upstream = None, True, None

    def _wait_for_mic(self) -> Event:
        """Block until the microphone works again (Ctrl-C saves and exits)."""
        self.show("(waiting for the microphone to come back; Ctrl-C saves and exits)")
        last = ""
        while True:
            self._drop_dead_echo()
            try:
                self.mic.reopen()
                if self._echo_lost:
                    self._echo_back()
            except MicLostError as err:
                if str(err) != last:
                    last = str(err)
                    log.warning("still no microphone: %s", err)
                time.sleep(RETRY_MIC)
                continue
            self.mic_lost = False
            return MicrophoneBack()

    def _echo_back(self) -> None:
        """A microphone is back: load the canceller between it and the speaker again and record
        through it, or go on without stopping for a partner (Duet would stop for its own voice).
        Not sooner: with no microphone, PulseAudio would put it on a speaker's monitor."""
        self._echo_lost = False
        self.echo = EchoCanceller.load()
        if self.echo is None:
            log.warning("echo cancellation lost with the microphone: Duet no longer stops for a partner")
            self.barge_in = False
            return
        self.mic.upstream = self.echo.upstream
        self.mic.reopen()  # now on the canceller's source (PULSE_SOURCE)


def awaited_in(transcript: Transcript, awaited: tuple[str, ...], parser: CommandParser,
               sounds: SoundAlike) -> str | None:
    """``awaited_phrase`` of the transcript, or else of one of its other readings: found by a
    QA pass in unseen voices, "cancel that" after "start the debrief" was stored as the answer
    "Kanselmert." (also read "Cancel matte.") and "Consulmat." ("Counsel Matt."), 2 of 2."""
    return next((found for text in (transcript.text, *transcript.readings)
                 if (found := awaited_phrase(text, awaited, parser, sounds)) is not None), None)


def awaited_phrase(text: str, awaited: tuple[str, ...], parser: CommandParser, sounds: SoundAlike) -> str | None:
    """The command phrase ``text`` sounds like, if it is one of the ``awaited`` commands
    (``Intent`` values) and clearly so (``AWAITED_SOUND``, ``AWAITED_MARGIN``; added time only
    with minutes heard); None when it is no such command, or already one as written."""
    if parser.parse(text) is not None:
        return None  # the engine reads it as it is
    match = sounds.match(text)
    if match is None or match.distance > AWAITED_SOUND or match.runner_up - match.distance < AWAITED_MARGIN:
        return None
    intent = sounds.phrases[match.phrase]
    if intent not in awaited or (intent in AS_WRITTEN_ALONE and " " not in match.phrase):
        return None
    if intent == Intent.EXTEND.value and not any(
            w.isdigit() or w in NUMBER_WORDS[1:] or w in TENS for w in normalize(text).split()):
        return None
    return match.phrase


def heard(transcript: Transcript) -> Heard:
    words = tuple(
        {"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3), "confidence": w.confidence}
        for w in transcript.words
    )
    return Heard(text=transcript.text, confidence=transcript.confidence, words=words)


def open_speaker(config: Config, printed: str = "prompts") -> Speaker | None:
    """The configured speaker, or None (``printed``, what would be said, is printed instead)."""
    try:
        return Speaker(config.listening.output_device)
    except NoSpeaker as err:
        log.info("%s", err)  # the line below tells the user; a warning too said it twice
        click.echo(f"duet: {err}; {printed} will be printed instead of spoken", err=True)
        return None


def live_port(config: Config, engines: Engines | None = None) -> tuple[MonotonicClock, LivePort]:
    """Open microphone, speaker, voice and engines for a live session."""
    chosen: list[tuple[str, str]] = []
    if engines is None:
        from assistant.speech.engines import describe_engines

        speech = config.speech
        chosen = describe_engines(speech.answers, speech.commands, speech.vosk_model)
        engines = open_engines(config)
    listening = config.listening
    echo = _echo_canceller(listening)
    try:
        mic = Microphone(listening.input_device)
        mic.upstream = echo.upstream if echo is not None else None
        mic.open()
    except BaseException:
        if echo is not None:
            echo.close()
        raise
    for role, line in chosen:  # once the session can run: without a microphone, its one line alone
        click.echo(f"{role}: {line}", err=True)  # stdout stays clean for --json
    listener = Listener.from_config(mic, engines.answers, engines.commands, listening)
    voice = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume)
    port = LivePort(
        voice, open_speaker(config), mic, listener, mute_tail=listening.mute_tail, partial=_show_partial(),
        barge_in=listening.barge_in == "on" or echo is not None, echo=echo,
        continue_within=max(listening.max_pause - listening.trailing_silence, 0.0),
        commands=CommandParser(config.commands, listening.wake_word),
    )
    port.sound_table()  # before the session, not in its first turn gap
    return MonotonicClock(), port


def _echo_canceller(listening: ListeningConfig) -> EchoCanceller | None:
    """The echo canceller that lets ``barge_in: auto`` listen while Duet speaks, if it can be had:
    only between the sound server's default devices (a device picked by name may bypass it)."""
    if listening.barge_in != "auto":
        return None
    if devices_bypass_echo(listening):
        log.info("barge-in off: echo cancellation needs the default microphone and speaker "
                 "(set listening.barge_in: on with a headset)")
        return None
    echo = EchoCanceller.load()
    if echo is None:
        log.info("barge-in off: no echo cancellation (Duet waits out every prompt)")
    return echo


def devices_bypass_echo(listening: ListeningConfig) -> bool:
    """Whether a device is picked by name: the canceller sits between the sound server's default
    microphone and speaker, and a named device may bypass it (``duet doctor`` asks too)."""
    return listening.input_device is not None or listening.output_device is not None


def _show_partial() -> Callable[[str], None] | None:
    """Partial transcripts on one rewritten terminal line (only on a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write("\r\033[K... " + text[-70:])
        sys.stderr.flush()

    return show
