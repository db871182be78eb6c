"""The session engine: runs check-in, work, debrief and recap from events, emitting actions.

Pure and synchronous. It never touches audio, files or the real time: the clock, the session
log (the journal) and the command phrases are injected, events come in through ``start()`` and
``handle()``, and what to say and what to listen for next go out as actions. Every answer is
handed to the log the moment it is heard, so a crash loses nothing that was said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Protocol

from assistant.config import Config
from assistant.session import phrasing
from assistant.session.clock import Clock
from assistant.session.commands import QUESTION_INTENTS, Command, CommandParser, Intent
from assistant.session.events import (
    Action,
    Event,
    Finished,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    Listening,
    MicrophoneBack,
    MicrophoneLost,
    Say,
    Silence,
    Tick,
)
from assistant.session.machine import attach
from assistant.session.records import (
    Cheer,
    Note,
    ResumePoint,
    Rhythm,
    Roles,
    SessionEvent,
    Turn,
    TurnStatus,
)
from assistant.session.timer import WorkTimer

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 60.0
"""Seconds between saves of the work timer, so a crashed session resumes close to where it was."""
UNDO_WINDOW = 15.0
"""Seconds after a pause, added time, debrief start or note in which "cancel that" puts it back."""
MILESTONE_LATE = 5.0
"""Seconds a milestone may come late (its tick behind talk or a command) and still be said with
its own figure: "2 minutes left.", not "1 minute and 57 seconds left." (found in a QA pass)."""
CONFIRM_WINDOW = 8.0
"""Seconds after "Stop the session?" (from when Duet begins to ask: about 2 s of speech) in which
a yes stops it. While working Duet hears commands, not a "no", so it says it carries on only
when this is over: a QA pass's "No, keep going" waited 5-12 s for it with 15 s, and any "yes" in
the couple's talk meanwhile would have stopped the session."""
BREATH = 2.5
"""Seconds Duet listens for commands between "Let's debrief. Take a breath first." and the first
debrief question, when a command started the debrief: "undo that" said on hearing it was taken
as the first answer, misread ("A new hat.", "Kansalmad."), 4 times in 4 in a QA pass, where the
command spotter takes such readings."""
MORE_TIME_WINDOW = 30.0
"""Seconds after time up ended the work phase in which "add five minutes" takes the couple back
to work with that time, where it was stored as the first debrief answer."""
TIME_TOLD_COVERS = 15.0
"""Seconds after Duet told the time left in which a milestone that comes due is kept quiet
(journaled all the same): "45 seconds left." and then "Halfway there. 43 seconds left." said
nearly the same twice (found in ``duet run`` after "how much time is left" and "resume")."""
AWAITED_WHILE_PAUSED = (Intent.RESUME.value,)
"""What a paused session waits for (``ListenForCommands.awaited``): the spotter takes a
"resume" then on less evidence. A yes to "Stop the session?" is not eased so: it ends the
session."""
AWAITED_IN_QUESTIONS = tuple(sorted(i.value for i in QUESTION_INTENTS))
"""What can be said in place of any answer (``QUESTION_INTENTS``), so a port may take it by sound
(``live.awaited_phrase``): a QA pass in unseen voices found 11 of 28 such commands stored as
answers ("Stop the fashion.", "Scape.", "Paul."), three of them read back as the next step."""
AWAITED_AFTER_CHANGE = (Intent.CANCEL.value,)
"""What the session waits for in the ``UNDO_WINDOW`` after a change it can put back: "cancel
that" means something only then, so the spotter takes it then on less evidence, as "resume"
while paused; once the window closes it is not eased. Measured on bench section 3's corpus (its
clips of "cancel that" and "undo that" decided while it is awaited, its 80 minutes of talk while
both are): 4 / 2 / 0 / 1 more clips recognized clean / 20 / 10 / 5 dB, no talk taken."""


def _first(*times: float | None) -> float | None:
    """The earliest of the clock times that are set."""
    return min((t for t in times if t is not None), default=None)


class SessionLog(Protocol):
    """Where the engine writes what happens: one session of the journal."""

    def record_turn(self, turn: Turn) -> None: ...
    def record_note(self, note: Note) -> None: ...
    def record_event(self, event: SessionEvent) -> None: ...
    def save_progress(self, progress: dict[str, Any]) -> None: ...
    def close(self, status: str, summary: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Question:
    """One question of the session's plan."""

    phase: str
    partner: str
    """A partner's name, or ``both``."""
    text: str


def rotate_roles(partners: list[str], last_leader: str | None) -> Roles:
    """Whoever did not lead last time leads now; the first partner leads the very first session."""
    if last_leader in partners:
        leader = partners[(partners.index(last_leader) + 1) % 2]
    else:
        leader = partners[0]
    return Roles(leader=leader, logistics=next(p for p in partners if p != leader))


def question_plan(config: Config, roles: Roles) -> list[Question]:
    """Check-in then debrief questions, leader first, together-questions last."""
    order = [roles.leader, roles.logistics]
    plan = [Question("checkin", p, q) for p in order for q in config.checkin.questions]
    plan += [Question("debrief", p, q) for p in order for q in config.debrief.questions]
    plan += [Question("debrief", "both", q) for q in config.debrief.together]
    return plan


class SessionEngine:
    """One session, from greeting to recap. States and their moves live in ``machine.py``."""

    state: str  # set by transitions

    def __init__(
        self,
        config: Config,
        log: SessionLog,
        clock: Clock,
        roles: Roles,
        *,
        previous_next_step: str | None = None,
        resume: ResumePoint | None = None,
        rhythm: Rhythm | None = None,
        cheer: Cheer | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.clock = clock
        self.roles = roles
        self.previous_next_step = previous_next_step
        self.rhythm = rhythm or Rhythm()
        """The schedule's lines for this session (planned check-in, next planned session)."""
        self.cheer = cheer or Cheer()
        """What this session celebrates (from the journal, phrased before it starts)."""
        self.commands = CommandParser(config.commands, config.listening.wake_word)
        self.plan = question_plan(config, roles)
        self._step_seq = next((i for i, q in enumerate(self.plan) if q.partner == "both"), None)
        """The next-step question: the first asked of both (a QA pass's second, "When do we meet
        next?", had its answer read back as the step)."""
        self.seq = resume.next_seq if resume else 0
        self.notes_taken = resume.notes if resume else 0
        self.timer = self._make_timer(resume)
        self.next_step: str | None = resume.next_step if resume else None
        self.asked_at = ""
        self._last_turn: Turn | None = None
        """The turn recorded last: an answer a partner may still go on with (barge-in)."""
        self._asked_again_over: tuple[str, int] | None = None
        """The question (or note) asked for again because its answer began over the asking
        (once each): ("question", seq) or ("note", notes taken)."""
        self.last_said = ""
        self._timely = False
        """``last_said`` told the time left: "repeat that" tells it afresh, where the words as
        said ("Added 1 minute. 1 minute and 54 seconds left.", 25 s later) would be wrong."""
        self._time_told_at: float | None = None
        """Clock time Duet last told the time left (``TIME_TOLD_COVERS``)."""
        self._time_up_at: float | None = None
        """Clock time time up ended the work phase (``MORE_TIME_WINDOW``)."""
        self._breath_until: float | None = None
        """Clock time the breath before the first debrief question ends (``BREATH``)."""
        self.awaiting: Listening | None = None
        self._resume = resume
        self.resumed_from = resume
        """Where a resumed session picked up (None: a new session)."""
        self._out: list[Action] = []
        self._phase_before_pause = ""
        self._dictating_note = False
        self._paused_by_mic = False
        self._next_checkpoint = 0.0
        self._undo: tuple[float, str, dict[str, Any]] | None = None  # (clock time, what, how to put back)
        self._stop_asked_at: float | None = None
        self._seq_before_debrief = self.seq
        attach(self)

    # ---- the machine's guards (see machine.TRANSITIONS)

    def remember_phase(self) -> None:
        self._phase_before_pause = self.state

    def was_checkin(self) -> bool:
        return self._phase_before_pause == "checkin"

    def was_work(self) -> bool:
        return self._phase_before_pause == "work"

    def was_debrief(self) -> bool:
        return self._phase_before_pause == "debrief"

    # ---- the public face

    @property
    def finished(self) -> bool:
        return self.state in ("done", "aborted")

    def start(self) -> list[Action]:
        """Greet and ask the first question (or pick up an interrupted session)."""
        if self._resume is None:
            self._say(
                phrasing.greeting(
                    self.config.partners, self.roles.leader, self.roles.logistics,
                    self._plan_said(self.previous_next_step), planned=self.rhythm.planned, cheer=self.cheer.greeting,
                )
            )
            self.begin_checkin()
            self._ask()
        else:
            self._say(phrasing.welcome_back(self._resume.phase))
            self._enter(self._resume.phase)
        return self._flush()

    def handle(self, event: Event) -> list[Action]:
        """React to one event; returns what to say and what to listen for next."""
        if self.finished:
            return []
        if isinstance(event, Heard):
            self._on_heard(event)
        elif isinstance(event, Silence):
            self._on_silence()
        elif isinstance(event, Tick):
            self._on_tick()
        elif isinstance(event, MicrophoneLost):
            self._on_mic_lost()
        elif isinstance(event, MicrophoneBack):
            self._on_mic_back()
        return self._flush()

    def progress(self) -> dict[str, Any]:
        """What a resumed session needs to carry on (saved in the journal)."""
        now = self.clock.now()
        phase = self._phase_before_pause if self.state == "paused" else self.state
        return {
            "phase": phase,
            "next_seq": self.seq,
            "notes_taken": self.notes_taken,
            "work": {
                "length": self.timer.length,
                "elapsed": self.timer.elapsed(now),
                "announced": sorted(self.timer.announced),
            },
        }

    # ---- events

    def _on_heard(self, heard: Heard) -> None:
        if self._breath_until is not None:
            self._heard_in_breath(heard)
        elif self.state in ("checkin", "debrief"):
            self._heard_in_question(heard)
        elif self.state == "work" and self._dictating_note:
            if heard.talked_over and self._asked_again_over != ("note", self.notes_taken):
                self._asked_again_over = ("note", self.notes_taken)
                self._keep_talked_over(heard, "", "a note")
                self._say(f"{phrasing.TALKED_OVER} {phrasing.NOTE_PROMPT}")
                self._listen()
                return
            self._take_note(heard.text)
        elif self.state in ("work", "paused"):
            command = self.commands.parse(heard.text, require_wake_word=True)
            if command is None:
                self._listen()  # ordinary talk between the partners
            elif self._confirming_stop(command):
                return
            else:
                self._work_command(command)

    def _on_silence(self) -> None:
        if self.state in ("checkin", "debrief") and self._stop_asked_at is not None:
            self._answer_stop_question(None)
        elif self.state == "work" and self._dictating_note:
            self._dictating_note = False
            self._say(phrasing.NO_NOTE)
            self._listen()
        elif self.state in ("checkin", "debrief"):
            self._record(TurnStatus.NO_ANSWER)
            self._say(phrasing.NO_ANSWER)
            self._next_question()

    def _on_tick(self) -> None:
        if self._breath_until is not None and self.clock.now() >= self._breath_until:
            self._breath_until = None
            self._ask()
            return
        self._close_stop_question()
        if self.state != "work":
            self._listen()
            return
        now = self.clock.now()
        # "Stop the session? Say yes to stop." is not buried under a milestone (a QA pass heard
        # "Halfway there." right after it): the milestone is said once the question is settled
        due = self.timer.due(now) if self._stop_asked_at is None else []
        if due:
            latest = due[-1]  # a late tick announces only the most recent milestone
            remaining = self.timer.remaining(now)
            told = (latest.key != "time-up" and self._time_told_at is not None
                    and now - self._time_told_at < TIME_TOLD_COVERS)
            self._event("milestone", key=latest.key, remaining=round(remaining, 3), **({"said": False} if told else {}))
            if not told:
                said_left = latest.remaining if remaining >= latest.remaining - MILESTONE_LATE else remaining
                self._say_time(phrasing.milestone(latest.key, said_left))
            if latest.key == "time-up":
                self._time_up_at = now
                self._begin_debrief(by="timer")
                return
        if due or now >= self._next_checkpoint:
            self._checkpoint()
        self._listen()

    def _on_mic_lost(self) -> None:
        """Pause (the timer stops) until the microphone is back; the port waits for it."""
        if self.state in ("checkin", "work", "debrief"):
            self._dictating_note = False
            self._paused_by_mic = True
            self._pause(phrasing.MIC_LOST)
        else:
            self._say(phrasing.MIC_LOST)
            self._listen()

    def _on_mic_back(self) -> None:
        if self.state == "paused" and self._paused_by_mic:
            self._say(phrasing.MIC_BACK)
            self._cmd_resume()
        else:
            self._listen()

    # ---- questions

    def _heard_in_question(self, heard: Heard) -> None:
        if self._stop_asked_at is not None:
            self._answer_stop_question(heard)
            return
        if heard.continues:
            self._continue_answer(heard)
            return
        if heard.talked_over and self._asked_again_over != ("question", self.seq):
            self._ask_again_talked_over(heard)
            return
        if not heard.text.strip():
            self._on_silence()
            return
        command = self.commands.parse(heard.text)
        if command is not None and self._undone_or_more_time(command):
            return
        if command is None or command.intent not in QUESTION_INTENTS:
            self._record(TurnStatus.ANSWERED, heard)
            self._next_question()
        elif command.intent is Intent.SKIP:
            self._record(TurnStatus.SKIPPED)
            self._say(phrasing.SKIPPED)
            self._next_question()
        elif command.intent in (Intent.REPEAT_QUESTION, Intent.REPEAT):
            self._ask()
        elif command.intent is Intent.PAUSE:
            self._pause()
        else:  # Intent.STOP: asked first, as while working
            self._cmd_stop()

    def _heard_in_breath(self, heard: Heard) -> None:
        """A command in the breath before the first debrief question: "cancel that" goes back to
        work; what can be said in place of an answer (pause, stop, skip ...) is taken as said
        then; any other command waits for the question (the breath goes on)."""
        command = self.commands.parse(heard.text)
        more_time = command is not None and command.intent is Intent.EXTEND and self._more_time_possible()
        if command is None or (command.intent is not Intent.CANCEL and command.intent not in QUESTION_INTENTS
                               and not more_time):
            self._on_tick()  # the question, if the breath is over by now; else listen on
            return
        self._breath_until = None
        if not self._undone_or_more_time(command):
            self._heard_in_question(heard)

    def _undone_or_more_time(self, command: Command) -> bool:
        """Where a question is due: "cancel that" puts the debrief's start back, or says there is
        nothing to cancel and asks (a QA pass found "cancel that" stored as an answer, and after
        time up's breath no question asked at all); "add five minutes" just after time up goes
        back to work. False for any other command."""
        if command.intent is Intent.CANCEL:
            if self._can_undo("debrief"):
                self._cmd_cancel()
            else:
                self._say(phrasing.NOTHING_TO_CANCEL)
                self._ask()
            return True
        if command.intent is Intent.EXTEND and self._more_time_possible():
            self._more_time_after_time_up(command)
            return True
        return False

    def _answer_stop_question(self, heard: Heard | None) -> None:
        """The reply to "Stop the session?" asked during a question (None: none came). Only a
        yes in time stops; anything else is no answer to the question, which is asked again."""
        asked, self._stop_asked_at = self._stop_asked_at, None
        command = self.commands.parse(heard.text) if heard is not None and heard.text.strip() else None
        if command is not None and command.intent is Intent.CONFIRM and self.clock.now() - asked <= CONFIRM_WINDOW:
            self._stop()
            return
        self._say(phrasing.NOT_STOPPED)
        self._ask()

    def _more_time_possible(self) -> bool:
        """Time up ended the work phase moments ago, and no debrief question is answered yet."""
        return (self._time_up_at is not None and self.state == "debrief" and self.seq == self._first_debrief_seq()
                and self.clock.now() - self._time_up_at <= MORE_TIME_WINDOW)

    def _first_debrief_seq(self) -> int:
        """The first debrief question (the plan's length when there is none)."""
        return next((i for i, q in enumerate(self.plan) if q.phase == "debrief"), len(self.plan))

    def _more_time_after_time_up(self, command: Command) -> None:
        """"add five minutes" as the debrief begins on time up: back to work with that time
        (the journal keeps the debrief's start, then this)."""
        self._time_up_at = None
        self.cancel_debrief()
        self.seq = self._seq_before_debrief
        self.timer.resume(self.clock.now())
        self._event("debrief cancelled", by="more time")
        self._cmd_extend(command)

    def _ask_again_talked_over(self, heard: Heard) -> None:
        """The answer began while Duet was asking, so only its end was heard (or none of it):
        say so and ask once more, rather than take a fragment for the answer or wait out the
        silence after it. What was heard is kept (``_keep_talked_over``)."""
        self._asked_again_over = ("question", self.seq)
        question = self.plan[self.seq]
        self._keep_talked_over(heard, question.partner, question.text)
        self._say(phrasing.TALKED_OVER)
        self._ask()

    def _keep_talked_over(self, heard: Heard, partner: str, asked: str) -> None:
        """Journal the words heard over a question (an event; no answer): they may be the end of
        an early answer, or the rest of the last one, which Duet had ended at a pause and which
        the partner went on with while the question was asked. A QA pass found such rests lost
        7 times in 9 sessions; Duet cannot tell which partner said them, so it keeps them apart,
        and ``duet show`` shows them."""
        if heard.text.strip():
            self._event("talked over", seq=self.seq, partner=partner, asked=asked, text=heard.text.strip(),
                        confidence=heard.confidence)

    def _continue_answer(self, heard: Heard) -> None:
        """The partner went on with the last answer over this question: join what they said to
        that answer (on disk at once), then ask this question again."""
        last = self._last_turn
        rest = heard.text.strip()
        if rest and last is not None and last.seq == self.seq - 1 and last.status is TurnStatus.ANSWERED:
            turn = replace(last, answer=f"{last.answer} {rest}", answered_at=self.clock.wall().isoformat(),
                           confidence=_lower(last.confidence, heard.confidence),
                           words=[*last.words, *(dict(w) for w in heard.words)])
            self.log.record_turn(turn)
            self._last_turn = turn
            self._event("answer continued", seq=turn.seq)
            if turn.seq == self._step_seq:
                self.next_step = turn.answer
        self._ask()

    def _ask(self) -> None:
        question = self.plan[self.seq]
        self.asked_at = self.clock.wall().isoformat()
        self._say(_prompt(question, tuple(self.config.partners)))
        self._listen()

    def upcoming_prompts(self) -> tuple[str, ...]:
        """What will be said after the current question is answered: the next question of the
        same phase, if there is one (a phase change says more, and is rare)."""
        if self.state not in ("checkin", "debrief") or self.seq + 1 >= len(self.plan):
            return ()
        current, following = self.plan[self.seq], self.plan[self.seq + 1]
        return (_prompt(following, tuple(self.config.partners)),) if following.phase == current.phase else ()

    def _record(self, status: TurnStatus, heard: Heard | None = None) -> None:
        question = self.plan[self.seq]
        answer = heard.text.strip() if heard else ""
        turn = Turn(
            seq=self.seq,
            phase=question.phase,
            partner=question.partner,
            question=question.text,
            answer=answer,
            status=status,
            asked_at=self.asked_at,
            answered_at=self.clock.wall().isoformat(),
            confidence=heard.confidence if heard else None,
            words=[dict(w) for w in heard.words] if heard else [],
        )
        self.log.record_turn(turn)
        self._last_turn = turn
        if self._can_undo("debrief"):  # its answers stand: going back to work would ask them again over
            self._undo = None           # them (a QA pass's "cancel that" as the next answer lost the first)
        if self.seq == self._step_seq and status is TurnStatus.ANSWERED:
            self.next_step = answer

    def _next_question(self) -> None:
        finished_phase = self.plan[self.seq].phase
        self.seq += 1
        if self.seq < len(self.plan) and self.plan[self.seq].phase == finished_phase:
            self._ask()
        elif finished_phase == "checkin":
            self._begin_work()
        else:
            self._recap()

    # ---- phases

    def _enter(self, phase: str) -> None:
        """Enter a phase directly (a resumed session)."""
        if phase == "checkin" and self.seq < len(self.plan) and self.plan[self.seq].phase == "checkin":
            self.begin_checkin()
            self._ask()
        elif phase in ("checkin", "work"):
            self._begin_work(resumed=True)
        elif phase == "debrief" and self.seq < len(self.plan):
            self.begin_debrief()
            self._ask()
        else:
            self.begin_recap()
            self._recap(entered=True)

    def _begin_work(self, resumed: bool = False) -> None:
        if self.state == "idle" and self.seq < len(self.plan) and self.plan[self.seq].phase == "checkin":
            self.seq = self._first_debrief_seq()
        self.begin_work()
        now = self.clock.now()
        self.timer.start(now)
        self._event("work started", resumed=resumed, length=self.timer.length)
        if resumed:
            self._say_time(phrasing.time_left(self.timer.remaining(now), paused=False))
        else:
            start_phrase = self._command_phrase(self.config.commands.start_debrief[0])
            self._say(phrasing.work_begins(self.timer.length, start_phrase))
        self._checkpoint()
        self._listen()

    def _begin_debrief(self, by: str) -> None:
        self._seq_before_debrief = self.seq
        now = self.clock.now()
        late = max(0.0, self.timer.elapsed(now) - self.timer.length) if by == "timer" else 0.0
        # the work is done (time up was due ``late`` s ago when its tick came behind talk: a QA
        # pass found 1202 of 1200 s worked): the debrief is not work time
        self.timer.pause(now - late)
        self._event("debrief started", by=by, worked=round(self.timer.elapsed(now), 3))
        self.begin_debrief()
        self.seq = self._first_debrief_seq()
        self._say(phrasing.DEBRIEF_BEGINS)
        self._checkpoint()
        if self.seq >= len(self.plan):
            self._recap()
        else:  # a breath, as it says, in which "cancel that" (or on time up, "add five minutes") is
            self._breath_until = now + BREATH  # heard as a command (``BREATH``); on time up a QA
            self._listen()  # pass heard "Take a breath first." and the question in the same second

    def _recap(self, entered: bool = False) -> None:
        if not entered:
            self.begin_recap()
        worked = self.timer.elapsed(self.clock.now())
        self._say(
            phrasing.recap(self.roles.leader, self.roles.logistics, worked, self.notes_taken,
                           self._plan_said(self.next_step), cheer=self.cheer.recap,
                           next_planned=self.rhythm.next_planned, day=self.clock.wall().toordinal())
        )
        self.finish()
        self.log.close("done", self._summary(worked))
        self._out.append(Finished("done"))
        self.awaiting = self._out[-1]

    def _plan_said(self, step: str | None) -> str | None:
        """A next step to read back, unless it is a command said in its place ("add five
        minutes"): a QA pass heard commands stored as answers read back as the couple's plan. A
        note's words ("note the colours") may well be a plan."""
        return None if step is None or self.commands.is_command(step) else step

    def _stop(self) -> None:
        self._event("stopped")
        self.abort()
        self._say(phrasing.STOPPED)
        worked = self.timer.elapsed(self.clock.now())
        self.log.close("aborted", self._summary(worked))
        self._out.append(Finished("aborted"))
        self.awaiting = self._out[-1]

    def _summary(self, worked: float) -> dict[str, Any]:
        return {
            "ended_at": self.clock.wall().isoformat(),
            "worked": round(worked, 3),
            "next_step": self.next_step,
            "notes_taken": self.notes_taken,
        }

    # ---- commands while working (or paused)

    def _work_command(self, command: Command) -> None:
        handler = {
            Intent.START_DEBRIEF: self._cmd_start_debrief,
            Intent.TIME_LEFT: self._cmd_time_left,
            Intent.PAUSE: self._cmd_pause,
            Intent.RESUME: self._cmd_resume,
            Intent.EXTEND: self._cmd_extend,
            Intent.NOTE: self._cmd_note,
            Intent.REPEAT: self._cmd_repeat,
            Intent.STOP: self._cmd_stop,
            Intent.CANCEL: self._cmd_cancel,
        }.get(command.intent)
        if handler is None or (self.state == "paused" and command.intent in (Intent.START_DEBRIEF, Intent.NOTE)):
            log.info("ignored command %s in %s", command.intent.value, self.state)
            if handler is not None:  # heard and understood: say why nothing happens
                self._say(phrasing.paused_first(self._command_phrase(self.config.commands.resume[0])))
            self._listen()
            return
        if command.intent in (Intent.EXTEND, Intent.NOTE):
            handler(command)
        else:
            handler()

    def _cmd_start_debrief(self) -> None:
        self._begin_debrief(by="command")
        self._undo = (self.clock.now(), "debrief", {"seq": self._seq_before_debrief})

    def _cmd_stop(self) -> None:
        """Stopping loses the rest of the session: ask first; only a yes stops."""
        self._stop_asked_at = self.clock.now()
        self._say(phrasing.confirm_stop(self._command_phrase(self.config.commands.confirm[0])))
        self._listen()

    def _confirming_stop(self, command: Command) -> bool:
        """Handle the answer to "Stop the session?"; False when no question is open."""
        asked, self._stop_asked_at = self._stop_asked_at, None
        if asked is None or self.clock.now() - asked > CONFIRM_WINDOW:
            if command.intent is Intent.CONFIRM:
                self._listen()  # a stray "yes" is just talk
                return True
            return False
        if command.intent is Intent.CONFIRM:
            self._stop()
        else:
            self._say(phrasing.NOT_STOPPED)
            self._listen()
        return True

    def _stop_question_closes(self) -> float | None:
        """Clock time at which "Stop the session?" goes unanswered; None when it is not open."""
        return None if self._stop_asked_at is None else self._stop_asked_at + CONFIRM_WINDOW

    def _close_stop_question(self) -> None:
        """No yes came to "Stop the session?" in time: say the session goes on. The partners may
        have said "no, keep going", which is no command: without this Duet said nothing at all."""
        closes = self._stop_question_closes()
        if closes is not None and self.clock.now() >= closes:
            self._stop_asked_at = None
            self._say(phrasing.NOT_STOPPED)

    def _can_undo(self, what: str | None = None) -> bool:
        if self._undo is None or self.clock.now() - self._undo[0] > UNDO_WINDOW:
            return False
        return what is None or self._undo[1] == what

    def _cmd_cancel(self) -> None:
        """Put back the last pause, added time, debrief start or note (within UNDO_WINDOW s)."""
        if not self._can_undo():
            self._undo = None
            self._say(phrasing.NOTHING_TO_CANCEL)
            self._listen()
            return
        assert self._undo is not None
        _, what, detail = self._undo
        self._undo = None
        # as if it had not happened: the seconds paused, or in the debrief, were work (a QA pass
        # found the work time short by each pause it cancelled)
        if what == "pause" and self.state == "paused":
            self.resume()
            if self.state == "work":
                self.timer.resume(self.timer.paused_at)
        elif what == "extend":
            self.timer.extend(-detail["minutes"] * 60)
        elif what == "debrief" and self.state == "debrief":
            self.cancel_debrief()
            self.seq = detail["seq"]
            self.timer.resume(self.timer.paused_at)
        elif what == "note":
            self.notes_taken -= 1
        self._event("cancel", undone=what, **detail)
        if what in ("extend", "debrief") and self.state == "work":
            # the time left changed back: say it (a QA pass heard "7 minutes left" undone with no
            # new figure, and the next milestone then held back as if told)
            left = self.timer.remaining(self.clock.now())
            self._say_time(f"{phrasing.CANCELLED[what]} {phrasing.time_left(left, paused=False)}")
        else:
            self._say(phrasing.CANCELLED[what])
        self._checkpoint()
        if self.state in ("checkin", "debrief"):
            self._ask()
        else:
            self._listen()

    def _cmd_time_left(self) -> None:
        self._say_time(phrasing.time_left(self.timer.remaining(self.clock.now()), self.timer.paused))
        self._listen()

    def _cmd_pause(self) -> None:
        if self.state == "paused":  # said so, as "resume" when not paused (a QA pass heard no reply)
            self._say(phrasing.still_paused(self._command_phrase(self.config.commands.resume[0])))
            self._listen()
        else:
            self._pause()

    def _cmd_resume(self) -> None:
        if self.state != "paused":  # say so: after `duet resume` a session paused before runs
            self._say(phrasing.NOT_PAUSED)
            self._cmd_time_left()
            return
        self.resume()
        self._paused_by_mic = False
        if self._undo is not None and self._undo[1] == "pause":
            self._undo = None  # the pause is over: nothing to put back (a re-check's "cancel that" after
            # "resume" struck the pause from the journal, and its seconds were still not work)
        now = self.clock.now()
        if self.state == "work":
            self.timer.resume(now)
        self._event("resume", phase=self.state)
        self._say(phrasing.RESUMED)
        if self.state == "work":
            self._cmd_time_left()
        else:
            self._ask()

    def _cmd_extend(self, command: Command) -> None:
        minutes = command.minutes or 0
        self.timer.extend(minutes * 60)
        self._event("extend", minutes=minutes)
        self._undo = (self.clock.now(), "extend", {"minutes": minutes})
        self._say_time(phrasing.extended(minutes, self.timer.remaining(self.clock.now())))
        self._checkpoint()
        self._listen()

    def _cmd_note(self, command: Command) -> None:
        if command.text:
            self._take_note(command.text)
        else:
            self._dictating_note = True
            self._say(phrasing.NOTE_PROMPT)
            self._listen()

    def _cmd_repeat(self) -> None:
        if self._timely and self.state in ("work", "paused"):
            self._cmd_time_left()  # told afresh: the words as said are out of date
            return
        if self.last_said:
            self._say(self.last_said)
        self._listen()

    def _take_note(self, text: str) -> None:
        if not text.strip():  # no words: no note (a blank one was saved and counted)
            self._on_silence()
            return
        command = self.commands.parse(text)
        if command is not None and command.intent is Intent.CANCEL:  # a change of mind (a QA pass
            self._dictating_note = False  # found "cancel that" saved as the note)
            self._say(phrasing.NO_NOTE_TAKEN)
            self._listen()
            return
        self._dictating_note = False
        now = self.clock.now()
        self.log.record_note(Note(text=text.strip(), at=round(self.timer.elapsed(now), 3), time=self.clock.wall().isoformat()))
        self.notes_taken += 1
        self._undo = (now, "note", {"text": text.strip()})
        self._say(phrasing.noted(text.strip()))
        self._checkpoint()
        self._listen()

    def _pause(self, announcement: str | None = None) -> None:
        self.pause()
        if self._phase_before_pause == "work":
            self.timer.pause(self.clock.now())
        self._event("pause", phase=self._phase_before_pause, by="microphone" if self._paused_by_mic else "command")
        self._undo = None if self._paused_by_mic else (self.clock.now(), "pause", {"phase": self._phase_before_pause})
        self._say(announcement or phrasing.paused(self._command_phrase(self.config.commands.resume[0])))
        self._checkpoint()
        self._listen()

    def _command_phrase(self, phrase: str) -> str:
        """``phrase`` as the couple must say it: after the wake word, when one is set."""
        return phrasing.command(phrase, self.config.listening.wake_word)

    # ---- output

    def _say(self, text: str) -> None:
        self._out.append(Say(text))
        self.last_said = text
        self._timely = False

    def _say_time(self, text: str) -> None:
        """Say ``text``, which tells the time left (``_timely``, ``TIME_TOLD_COVERS``)."""
        self._say(text)
        self._timely = True
        self._time_told_at = self.clock.now()

    def _listen(self) -> None:
        """Queue what to listen for next, given the state."""
        if self._breath_until is not None:
            # after "start the debrief": "cancel that"; on time up: "add five minutes"
            awaited = (Intent.EXTEND.value,) if self._more_time_possible() else AWAITED_AFTER_CHANGE
            action: Listening = ListenForCommands("debrief", self._breath_until, awaited=awaited, listen_for=BREATH)
        elif self.state in ("checkin", "debrief"):
            q = self.plan[self.seq]
            awaited = AWAITED_IN_QUESTIONS + ((Intent.CANCEL.value,) if self._can_undo("debrief") else ()) + \
                ((Intent.EXTEND.value,) if self._more_time_possible() else ())
            action = ListenForAnswer(q.phase, q.partner, q.text, self.config.listening.answer_timeout,
                                     ahead=self.upcoming_prompts(), awaited=awaited)
        elif self.state == "work" and self._dictating_note:  # "cancel that" takes no note
            action = ListenForAnswer("note", None, "note", self.config.listening.answer_timeout,
                                     awaited=AWAITED_AFTER_CHANGE)
        elif self.state == "work":
            action = ListenForCommands("work", self._wake_at(), awaited=self._awaited_undo(),
                                       confirming=self._stop_asked_at is not None)
        else:
            action = ListenForCommands("paused", _first(self._undo_closes(), self._stop_question_closes()),
                                       awaited=AWAITED_WHILE_PAUSED + self._awaited_undo(),
                                       confirming=self._stop_asked_at is not None)
        self._out.append(action)
        self.awaiting = action

    def _wake_at(self) -> float | None:
        """Next milestone, checkpoint, close of the undo window or of the stop question, whichever
        comes first."""
        asking = self._stop_question_closes()  # a milestone waits for it (``_on_tick``)
        return _first(None if asking else self.timer.next_due_at(self.clock.now()), self._next_checkpoint,
                      self._undo_closes(), asking)

    def _undo_closes(self) -> float | None:
        """Clock time at which the undo window closes (then listening is renewed without the
        allowance for "cancel that"); None when it is not open. The same window as
        ``_can_undo``'s, which still takes a cancel at the close itself: the allowance ends
        there, so that the listening renewed then does not wake at once."""
        if self._undo is None or self.clock.now() >= self._undo[0] + UNDO_WINDOW:
            return None
        return self._undo[0] + UNDO_WINDOW

    def _awaited_undo(self) -> tuple[str, ...]:
        return AWAITED_AFTER_CHANGE if self._undo_closes() is not None else ()

    def _event(self, kind: str, **detail: Any) -> None:
        self.log.record_event(SessionEvent(kind=kind, time=self.clock.wall().isoformat(), detail=detail))

    def _checkpoint(self) -> None:
        self.log.save_progress(self.progress())
        self._next_checkpoint = self.clock.now() + CHECKPOINT_EVERY

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _make_timer(self, resume: ResumePoint | None) -> WorkTimer:
        work = self.config.work
        timer = WorkTimer(
            length=work.minutes * 60,
            announce_halfway=work.announce_halfway,
            announce_remaining=tuple(m * 60 for m in work.announce_remaining),
        )
        if resume and resume.work:
            timer.length = float(resume.work.get("length", timer.length))
            timer.elapsed_before = float(resume.work.get("elapsed", 0.0))
            timer.announced = set(resume.work.get("announced", []))
        return timer


def _lower(a: float | None, b: float | None) -> float | None:
    """The lower of two confidences, where known: a joined answer is as sure as its weaker part."""
    known = [c for c in (a, b) if c is not None]
    return min(known) if known else None


def _prompt(question: Question, names: tuple[str, ...] = ()) -> str:
    """How a question is put to its partner (or to both); ``names``: the partners, whose names
    in a question keep their capitals."""
    if question.partner == "both":
        return phrasing.together(question.text, names)
    return phrasing.addressed(question.partner, question.text, names)
