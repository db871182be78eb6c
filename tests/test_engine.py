"""The session engine on a simulated clock, writing to a real journal file."""

import pytest

from assistant.journal import Journal
from assistant.session import phrasing
from assistant.session.engine import AWAITED_IN_QUESTIONS, BREATH, CONFIRM_WINDOW, UNDO_WINDOW
from assistant.session.events import (
    Finished,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    Silence,
    Tick,
)
from tests.helpers import Harness, config, said

CHECKIN = 4  # two partners x two check-in questions
DEBRIEF = 7  # two partners x three questions + one together


def answer_checkin(h, answers=("calm", "the sky", "excited", "the trees")):
    actions = []
    for text in answers:
        actions = h.send(Heard(text))
    return actions


def start_debrief(h):
    """"start the debrief", and the breath before the first question (``engine.BREATH``)."""
    actions = h.send(Heard("start the debrief"))
    h.clock.advance_to(h.engine.awaiting.until)
    return actions + h.send(Tick())


def tick_until(h, seconds):
    """Advance the simulated clock to `seconds` into the session, ticking where the engine asks."""
    out = []
    while h.state == "work":
        until = h.engine.awaiting.until
        if until is None or until > seconds:
            h.clock.advance_to(seconds)
            out += h.send(Tick())
            break
        h.clock.advance_to(until)
        out += h.send(Tick())
    return out


def test_greets_names_the_leader_and_asks_each_partner_by_name(tmp_path):
    h = Harness(tmp_path)
    texts = said(h.first)
    assert "Ana leads the vision and Ben handles logistics" in texts[0]
    assert texts[1] == "Ana, how are you feeling as we begin?"
    assert isinstance(h.engine.awaiting, ListenForAnswer) and h.engine.awaiting.partner == "Ana"
    asked = [said(h.send(Heard(a)))[-1] for a in ("calm", "the sky", "excited")]
    assert asked == ["Ana, what do you intend for today?", "Ben, how are you feeling as we begin?",
                     "Ben, what do you intend for today?"]


def test_a_whole_session_lands_in_the_journal(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    assert h.state == "work"
    h.clock.advance(600)
    start_debrief(h)
    assert h.state == "debrief"
    for i in range(DEBRIEF):
        h.clock.advance(30)  # the debrief takes time, which is not work time
        actions = h.send(Heard(f"answer {i}"))
    assert h.state == "done" and isinstance(actions[-1], Finished)
    assert "You worked for 10 minutes" in said(actions)[-1]
    assert "Your next step: answer 6." in said(actions)[-1]
    session = h.session()
    assert session["status"] == "done" and session["next_step"] == "answer 6"
    assert [t["answer"] for t in session["turns"]] == ["calm", "the sky", "excited", "the trees"] + [
        f"answer {i}" for i in range(DEBRIEF)]
    assert [t["partner"] for t in session["turns"][CHECKIN:]] == ["Ana"] * 3 + ["Ben"] * 3 + ["both"]
    assert session["worked"] == pytest.approx(600)


def test_every_answer_is_on_disk_when_it_is_heard(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm and a bit tired"))
    reread = Journal(tmp_path / "journal.json").get("last")
    assert reread["turns"][0]["answer"] == "calm and a bit tired"


def test_skip_pass_and_silence_move_on_and_are_recorded(tmp_path):
    h = Harness(tmp_path)
    assert said(h.send(Heard("skip")))[0] == "Skipped."
    h.send(Heard("Pass."))
    h.clock.advance(20)
    h.send(Silence())
    turns = h.session()["turns"]
    assert [t["status"] for t in turns] == ["skipped", "skipped", "no answer"]
    assert h.engine.awaiting.partner == "Ben"


def test_repeat_the_question_asks_again_without_recording(tmp_path):
    h = Harness(tmp_path)
    again = said(h.send(Heard("repeat the question")))
    assert again == ["Ana, how are you feeling as we begin?"]
    assert h.session()["turns"] == []


def test_an_answer_that_sounds_like_a_work_command_is_the_answer(tmp_path):
    """During a question only skip, repeat, pause and stop stand for something else: "Take a
    note that I am tired" or "Continue." is what the partner answered, and is kept as such."""
    h = Harness(tmp_path)
    answers = ("Take a note that I am tired", "Continue.", "note that the light was better", "how much time is left")
    asked = [said(h.send(Heard(text)))[-1] for text in answers[:3]]
    assert asked == ["Ana, what do you intend for today?", "Ben, how are you feeling as we begin?",
                     "Ben, what do you intend for today?"]
    h.send(Heard(answers[3]))
    assert h.state == "work"
    assert [(t["partner"], t["status"], t["answer"]) for t in h.session()["turns"]] == [
        (partner, "answered", text) for partner, text in zip(("Ana", "Ana", "Ben", "Ben"), answers)]


def test_an_answer_begun_over_the_question_is_asked_for_again_once(tmp_path):
    """Heard from its first moment (it began while Duet was asking, the microphone muted), an
    answer is only its end: Duet says so and asks once more, and keeps what it hears then,
    whether or not that too began over the question."""
    h = Harness(tmp_path)
    assert said(h.send(Heard("to gay", talked_over=True))) == [
        "Sorry, I was still speaking and missed the start.", "Ana, how are you feeling as we begin?"]
    assert h.session()["turns"] == []
    assert said(h.send(Heard("", talked_over=True)))[0] == "I didn't hear an answer, so let's move on."
    said(h.send(Heard("get the whole sky done", talked_over=True)))  # a new question: asked again
    h.send(Heard("we want to get the whole sky done"))
    assert [(t["status"], t["answer"]) for t in h.session()["turns"]] == [
        ("no answer", ""), ("answered", "we want to get the whole sky done")]
    # what was heard over the questions is kept apart (a QA pass found the rest of an answer Duet
    # had ended lost so, 7 times), and show says it
    kept = [(e["detail"]["partner"], e["detail"]["text"]) for e in h.session()["events"] if e["kind"] == "talked over"]
    assert kept == [("Ana", "to gay"), ("Ana", "get the whole sky done")]
    from assistant.journal import export
    shown = export.text(h.session())
    assert "Heard while Duet was asking (it asked again)\n  Ana - How are you feeling as we begin?\n      to gay" in shown


def test_a_note_begun_over_its_prompt_is_asked_for_again_once(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    h.send(Heard("take a note"))
    assert said(h.send(Heard("cobalt blue", talked_over=True))) == [
        "Sorry, I was still speaking and missed the start. Go ahead, I'm listening for your note."]
    assert said(h.send(Heard("more cobalt blue", talked_over=True))) == ["Noted: more cobalt blue."]
    assert [n["text"] for n in h.session()["notes"]] == ["more cobalt blue"]


@pytest.mark.parametrize("answered", [0, CHECKIN])  # paused in check-in, or in the debrief
def test_pause_and_resume_during_questions_asks_the_same_question(tmp_path, answered):
    h = Harness(tmp_path)
    answer_checkin(h, [f"a{i}" for i in range(answered)])
    if answered:
        start_debrief(h)
    phase = h.state
    question = h.engine.awaiting.question
    h.send(Heard("pause"))
    assert h.state == "paused" and isinstance(h.engine.awaiting, ListenForCommands)
    # the spotter takes a resume on less evidence, and for 15 s a "cancel that" (the pause is undoable)
    assert h.engine.awaiting.awaited == ("resume", "cancel")
    h.send(Heard("an answer nobody asked for"))
    assert h.state == "paused"
    back = said(h.send(Heard("resume")))
    assert h.state == phase and back[-1].endswith(question[1:])


def test_milestones_are_announced_exactly_on_time(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    start = h.clock.now()
    heard = []
    while h.state == "work":
        h.clock.advance_to(h.engine.awaiting.until)
        for text in said(h.send(Tick())):
            heard.append((h.clock.now() - start, text))
    assert heard[0] == (1350.0, "Halfway there. 22 and a half minutes left.")
    times = [t for t, text in heard if "left" in text or "Time is up" in text]
    assert times == [1350.0, 2100.0, 2580.0, 2700.0]
    assert h.state == "debrief"
    events = h.session()["events"]
    assert [e["detail"]["by"] for e in events if e["kind"] == "debrief started"] == ["timer"]


def test_time_left_pause_resume_extend_note_repeat_in_work(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    tick_until(h, h.clock.now() + 12 * 60)
    assert h.engine.awaiting.awaited == ()  # working: every command on the same evidence
    assert said(h.send(Heard("how much time is left"))) == ["33 minutes left."]
    assert said(h.send(Heard("repeat that"))) == ["33 minutes left."]
    h.send(Heard("pause"))
    assert h.state == "paused" and h.engine.awaiting.until == h.clock.now() + UNDO_WINDOW
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick())) == [] and h.state == "paused"
    assert h.engine.awaiting.until is None and h.engine.awaiting.awaited == ("resume",)  # window closed
    h.clock.advance(300)
    assert said(h.send(Heard("how much time is left"))) == ["33 minutes left, and the timer is paused."]
    for text in ("start the debrief", "take a note"):  # understood, not done while paused: says why
        assert said(h.send(Heard(text))) == ["We're paused. Say 'resume' first."]
        assert h.state == "paused"
    assert said(h.send(Heard("pause"))) == ["We're already paused. Say 'resume' when you are ready."]
    assert said(h.send(Heard("resume")))[-1] == "33 minutes left."
    assert said(h.send(Heard("add five minutes"))) == ["Added 5 minutes. 38 minutes left."]
    assert said(h.send(Heard("take a note buy more cobalt blue"))) == ["Noted: buy more cobalt blue."]
    assert said(h.send(Heard("take a note"))) == ["Go ahead, I'm listening for your note."]
    assert isinstance(h.engine.awaiting, ListenForAnswer) and h.engine.awaiting.phase == "note"
    h.send(Heard("call the gallery"))
    h.send(Heard("take a note"))
    assert h.engine.awaiting.awaited == ("cancel",)  # a port may take a misread "cancel that" by sound
    assert said(h.send(Heard("cancel that"))) == ["All right, no note."]  # not a note "cancel that"
    assert isinstance(h.engine.awaiting, ListenForCommands) and h.engine.notes_taken == 2
    session = h.session()
    assert [n["text"] for n in session["notes"]] == ["buy more cobalt blue", "call the gallery"]
    assert [e["kind"] for e in session["events"]][1:] == ["pause", "resume", "extend"]
    assert session["events"][3]["detail"] == {"minutes": 5}


def test_talk_during_work_changes_nothing(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    for text in ("I wonder how much time is left on the meter", "let's not pause yet", "skip"):
        assert said(h.send(Heard(text))) == []
    assert h.state == "work"


def test_resume_while_running_says_so(tmp_path):
    """After `duet resume` a session paused when it was interrupted runs again; a "resume" then
    was met with silence."""
    h = Harness(tmp_path)
    answer_checkin(h)
    reply = said(h.send(Heard("resume")))
    assert reply[0] == "We're not paused." and reply[1].endswith("left.") and len(reply) == 2, reply
    assert h.state == "work" and not h.engine.timer.paused


def test_with_a_wake_word_duet_asks_for_each_command_with_it(tmp_path):
    h = Harness(tmp_path, config(listening={"wake_word": "computer"}))
    work = said(answer_checkin(h))
    assert "Say 'computer, start the debrief' when you want to finish early." in work[-1]
    assert said(h.send(Heard("pause"))) == [] and h.state == "work"  # no wake word: talk
    assert said(h.send(Heard("computer, pause"))) == ["Paused. Say 'computer, resume' when you are ready."]
    assert said(h.send(Heard("computer, take a note"))) == ["We're paused. Say 'computer, resume' first."]
    assert said(h.send(Heard("computer, stop the session"))) == ["Stop the session? Say 'computer, yes' to stop."]
    h.send(Heard("computer, yes"))
    assert h.state == "aborted"


def test_stop_ends_the_session_as_aborted_from_any_phase(tmp_path):
    for answered, extra in [(0, []), (CHECKIN, []), (CHECKIN, ["pause"])]:
        h = Harness(tmp_path / f"s{answered}{len(extra)}")
        answer_checkin(h, [f"a{i}" for i in range(answered)])
        for text in extra:
            h.send(Heard(text))
        actions = h.send(Heard("stop the session"))
        assert said(actions) == ["Stop the session? Say yes to stop."]  # in every phase it asks first
        actions = h.send(Heard("yes"))
        assert h.state == "aborted" and actions[-1] == Finished("aborted")
        assert h.session()["status"] == "aborted"
        assert h.send(Heard("resume")) == []


@pytest.mark.parametrize("reply", [Heard("no, keep going"), Silence(), Heard("Yes", talked_over=True)])
def test_stop_asked_during_a_question_goes_on_without_a_yes(tmp_path, reply):
    """"stop the session" during a question asks first, as while working (it stopped at once,
    found by a QA pass); anything but a yes asks the question again and records nothing."""
    h = Harness(tmp_path)
    h.send(Heard("calm"))
    assert said(h.send(Heard("stop the session"))) == ["Stop the session? Say yes to stop."]
    h.clock.advance(16 if isinstance(reply, Heard) and reply.talked_over else 3)  # a late yes is no yes
    assert said(h.send(reply)) == ["Not stopping; carrying on.", "Ana, what do you intend for today?"]
    assert h.state == "checkin" and [t["answer"] for t in h.session()["turns"]] == ["calm"]
    h.send(Heard("the sky"))
    assert [t["answer"] for t in h.session()["turns"]] == ["calm", "the sky"]


def test_leadership_rotates_and_the_next_step_is_read_back(tmp_path):
    journal = Journal(tmp_path / "journal.json")
    leaders = []
    for n in range(3):
        h = Harness(tmp_path, journal=journal)
        leaders.append(h.engine.roles.leader)
        if n == 1:
            assert "The next step you last planned: paint the sky." in said(h.first)[0]
        answer_checkin(h)
        start_debrief(h)
        for i in range(DEBRIEF):
            h.send(Heard("paint the sky" if i == DEBRIEF - 1 else "fine"))
    assert leaders == ["Ana", "Ben", "Ana"]
    assert [s["leader"] for s in journal.list_sessions()] == leaders


def test_added_time_brings_the_milestones_it_puts_ahead(tmp_path):
    """A 10-minute phase with five minutes added says "10 minutes left" when 10 are left (it
    was never said: skipped at the start for good), and halfway through the 15 as it is."""
    cfg = config(work={"minutes": 10, "announce_halfway": True, "announce_remaining": [10, 2]})
    h = Harness(tmp_path, cfg)
    answer_checkin(h)
    start = h.clock.now()
    h.clock.advance(60)
    assert said(h.send(Heard("add five minutes"))) == ["Added 5 minutes. 14 minutes left."]
    heard = []
    while h.state == "work":
        h.clock.advance_to(h.engine.awaiting.until)
        heard += [(h.clock.now() - start, text) for text in said(h.send(Tick()))]
    assert heard[:3] == [(300.0, "10 minutes left."), (450.0, "Halfway there. 7 and a half minutes left."),
                         (780.0, "2 minutes left.")]


def test_a_milestone_just_after_duet_told_the_time_left_is_kept_quiet(tmp_path):
    """"45 seconds left." and then "Halfway there. 43 seconds left." said nearly the same twice:
    a milestone within TIME_TOLD_COVERS of the time told is journaled, not said. Time up is
    always said (the debrief follows)."""
    cfg = config(work={"minutes": 2, "announce_halfway": True, "announce_remaining": []})
    h = Harness(tmp_path, cfg)
    answer_checkin(h)
    start = h.clock.now()
    h.clock.advance(55)
    assert said(h.send(Heard("how much time is left"))) == ["1 minute and 5 seconds left."]
    assert h.engine.awaiting.until == start + 60
    h.clock.advance_to(start + 60)
    assert said(h.send(Tick())) == []
    events = [e for e in h.session()["events"] if e["kind"] == "milestone"]
    assert [(e["detail"]["key"], e["detail"].get("said")) for e in events] == [("halfway", False)]
    h.clock.advance_to(start + 110)
    h.send(Heard("how much time is left"))
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick()))[0].startswith("Time is up.")


def test_time_up_heard_late_behind_talk_counts_no_more_work_than_planned(tmp_path):
    """Talk said as time runs out delays the tick that says time up; the work ended when the time
    did (found in a QA pass: 1202 of 1200 s worked, "2401 of 2400 planned minutes")."""
    cfg = config(work={"minutes": 1, "announce_halfway": False, "announce_remaining": []})
    h = Harness(tmp_path, cfg)
    answer_checkin(h)
    h.clock.advance_to(h.engine.awaiting.until + 4.5)  # the tick comes 4.5 s late
    assert said(h.send(Tick()))[0].startswith("Time is up.")
    started = [e for e in h.session()["events"] if e["kind"] == "debrief started"][-1]
    assert started["detail"]["worked"] == pytest.approx(60.0)


@pytest.mark.parametrize("late,expected", [(3, "2 minutes left."), (10, "1 minute and 50 seconds left.")])
def test_a_milestone_a_little_late_says_its_own_figure(tmp_path, late, expected):
    """Its tick behind talk: "1 minute and 57 seconds left." was heard in a QA pass."""
    cfg = config(work={"minutes": 3, "announce_halfway": False, "announce_remaining": [2]})
    h = Harness(tmp_path, cfg)
    answer_checkin(h)
    h.clock.advance_to(h.engine.awaiting.until + late)
    assert said(h.send(Tick())) == [expected]


def test_repeat_tells_the_time_left_afresh(tmp_path):
    """"repeat that" 25 s after "Added 1 minute. 1 minute and 54 seconds left." would say a
    minute was added again, and a time 25 s old: it tells the time left as it is now."""
    h = Harness(tmp_path)
    answer_checkin(h)
    h.clock.advance(60)
    assert said(h.send(Heard("add five minutes"))) == ["Added 5 minutes. 49 minutes left."]
    h.clock.advance(25)
    assert said(h.send(Heard("repeat that"))) == ["49 minutes left."]
    h.clock.advance(30)
    assert said(h.send(Heard("repeat that"))) == ["48 minutes left."]


def test_more_time_just_after_time_up_goes_back_to_work(tmp_path):
    """"add five minutes" as the debrief begins on time up takes the couple back to work with
    that time (it was stored as the first debrief answer); time up then comes again. After an
    answer, or too late, it is an answer like any other."""
    cfg = config(work={"minutes": 1, "announce_halfway": False, "announce_remaining": []})
    h = Harness(tmp_path, cfg)
    answer_checkin(h)
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick()))[-1] == "Let's debrief. Take a breath first."
    assert h.engine.awaiting.awaited == ("extend",)  # the breath it names (a QA pass: none on time up)
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick())) == ["Ana, what worked well?"]
    assert h.state == "debrief" and h.engine.awaiting.awaited == (*AWAITED_IN_QUESTIONS, "extend")
    h.clock.advance(8)
    assert said(h.send(Heard("add five minutes"))) == ["Added 5 minutes. 5 minutes left."]
    assert h.state == "work"
    kinds = [e["kind"] for e in h.session()["events"]]
    assert kinds[-3:] == ["debrief started", "debrief cancelled", "extend"] and h.session()["turns"][-1]["phase"] == "checkin"
    while h.state == "work":
        h.clock.advance_to(h.engine.awaiting.until)
        out = said(h.send(Tick()))
    assert out[0].startswith("Time is up.") and h.state == "debrief"
    h.clock.advance(0.5)  # "cancel that" in the breath: time up puts nothing back, the question comes
    assert said(h.send(Heard("cancel that"))) == ["There is nothing to cancel.", "Ana, what worked well?"]
    h.clock.advance(1)  # added time, as the first answer: back to work at once
    assert said(h.send(Heard("add two minutes"))) == ["Added 2 minutes. 2 minutes left."] and h.state == "work"
    while h.state == "work":
        h.clock.advance_to(h.engine.awaiting.until)
        h.send(Tick())
    h.clock.advance_to(h.engine.awaiting.until)
    h.send(Tick())  # the breath is over
    h.clock.advance(31)
    h.send(Heard("add five minutes"))
    assert h.state == "debrief" and h.session()["turns"][-1]["answer"] == "add five minutes"
    h2 = Harness(tmp_path / "breath", cfg)  # said in the breath itself
    answer_checkin(h2)
    h2.clock.advance_to(h2.engine.awaiting.until)
    assert said(h2.send(Tick()))[-1] == "Let's debrief. Take a breath first."
    h2.clock.advance(1)
    assert said(h2.send(Heard("add five minutes"))) == ["Added 5 minutes. 5 minutes left."] and h2.state == "work"


def test_questions_and_milestones_come_from_config(tmp_path):
    cfg = config(checkin={"questions": ["Ready?"]}, debrief={"questions": ["Good?"], "together": []},
                 work={"minutes": 1, "announce_halfway": False, "announce_remaining": [0.5]})
    h = Harness(tmp_path, cfg)
    assert said(h.first)[-1] == "Ana, ready?"
    h.send(Heard("yes"))
    h.send(Heard("yes"))
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick())) == ["30 seconds left."]
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick()))[-1] == "Let's debrief. Take a breath first."
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick())) == ["Ana, good?"]
    h.send(Heard("yes"))
    h.send(Heard("yes"))
    assert h.state == "done"


def test_the_next_step_is_the_answer_to_the_first_question_to_both(tmp_path):
    """Found in a QA pass: with "When do we meet next?" after "What is our next step?", the
    recap and the next greeting read "Your next step: saturday at 10." """
    cfg = config(checkin={"questions": ["Ready?"]}, debrief={"questions": ["Good?"], "together": [
        "What is our next step?", "When do we meet next?"]}, work={"minutes": 1, "announce_remaining": []})
    h = Harness(tmp_path, cfg)
    h.send(Heard("yes"))
    h.send(Heard("yes"))
    while h.state == "work" or getattr(h.engine.awaiting, "listen_for", 0):  # to time up, and through the breath
        h.clock.advance_to(h.engine.awaiting.until)
        h.send(Tick())
    for text in ("yes", "yes", "finish the fence", "saturday at ten"):
        actions = h.send(Heard(text))
    assert "Your next step: finish the fence." in said(actions)[-1]
    assert h.session()["next_step"] == "finish the fence"
    assert Harness(tmp_path, cfg, h.journal).engine.previous_next_step == "finish the fence"


def test_losing_the_microphone_pauses_until_it_is_back(tmp_path):
    from assistant.session.events import MicrophoneBack, MicrophoneLost

    h = Harness(tmp_path)
    answer_checkin(h)
    h.clock.advance(60)
    assert "I lost the microphone" in said(h.send(MicrophoneLost()))[0]
    assert h.state == "paused"
    h.clock.advance(600)  # ten minutes without a microphone do not count as work
    back = said(h.send(MicrophoneBack()))
    assert back[0] == "The microphone is back. Let's carry on." and back[-1] == "44 minutes left."
    assert h.state == "work"
    pauses = [e["detail"]["by"] for e in h.session()["events"] if e["kind"] == "pause"]
    assert pauses == ["microphone"]


def test_microphone_lost_during_a_question_asks_it_again_when_back(tmp_path):
    from assistant.session.events import MicrophoneBack, MicrophoneLost

    h = Harness(tmp_path)
    h.send(Heard("calm"))
    h.send(MicrophoneLost())
    assert said(h.send(MicrophoneBack()))[-1] == "Ana, what do you intend for today?"
    assert [t["answer"] for t in h.session()["turns"]] == ["calm"]


def test_pauses_outside_the_work_phase_do_not_touch_the_timer(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("pause"))
    h.clock.advance(300)
    h.send(Heard("resume"))
    answer_checkin(h)
    start = h.clock.now()
    assert h.engine.awaiting.until == start + 60  # first checkpoint; the timer is running
    h.clock.advance_to(start + 1350)
    assert said(h.send(Tick())) == ["Halfway there. 22 and a half minutes left."]


def test_listening_for_an_answer_names_the_next_prompt_so_it_can_be_rendered_ahead(tmp_path):
    """While a partner answers, the port may render what comes next; it must be what is said."""
    h = Harness(tmp_path)
    ahead = h.engine.awaiting.ahead
    assert len(ahead) == 1
    actions = h.send(Heard("calm and a bit tired"))
    assert said(actions) == list(ahead)  # exactly the prompt that was rendered ahead
    for _ in range(CHECKIN - 2):
        h.send(Heard("fine"))
    assert h.engine.awaiting.ahead == ()  # the last check-in answer leads into the work phase


def test_stop_in_work_asks_first_and_only_a_yes_stops(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    assert said(h.send(Heard("stop the session"))) == ["Stop the session? Say yes to stop."]
    assert said(h.send(Heard("pause"))) == ["Not stopping; carrying on."]
    assert h.state == "work"
    assert said(h.send(Heard("yes"))) == []  # a stray yes, no question open: talk
    h.send(Heard("end the session"))
    h.clock.advance(20)  # too late for the yes
    h.send(Heard("yes"))
    assert h.state == "work"
    h.send(Heard("stop the session"))
    h.clock.advance(3)
    assert h.send(Heard("yes"))[-1] == Finished("aborted")


@pytest.mark.parametrize("paused", [False, True])
def test_a_stop_question_left_without_a_yes_says_the_session_goes_on(tmp_path, paused):
    """"No, keep going" is no command: when the window closes Duet says it carries on, where it
    said nothing at all."""
    h = Harness(tmp_path)
    answer_checkin(h)
    if paused:
        h.send(Heard("pause"))
        h.clock.advance(20)  # past the undo window
        h.send(Tick())
    h.send(Heard("stop the session"))
    asked = h.clock.now()
    assert h.engine.awaiting.until == pytest.approx(asked + CONFIRM_WINDOW)
    assert h.engine.awaiting.confirming  # a yes now stops: the live port shows it
    h.clock.advance_to(asked + CONFIRM_WINDOW)
    assert said(h.send(Tick())) == ["Not stopping; carrying on."]
    assert not h.engine.awaiting.confirming
    assert h.state == ("paused" if paused else "work")
    assert said(h.send(Heard("yes"))) == [] and h.state != "ended"
    assert h.engine.awaiting.until != pytest.approx(asked + CONFIRM_WINDOW)


@pytest.mark.parametrize("reply", [None, "pause"])
def test_a_milestone_waits_for_the_stop_question_to_be_settled(tmp_path, reply):
    """A QA pass heard "Halfway there. 6 minutes left." right after "Stop the session? Say yes to
    stop.", burying the question: the milestone now comes once the question is settled."""
    h = Harness(tmp_path, config(work={"minutes": 10}))
    answer_checkin(h)
    start = h.clock.now()
    tick_until(h, start + 5 * 60 - 3)
    h.send(Heard("stop the session"))
    asked = h.clock.now()
    heard = []
    while h.engine.awaiting.until < start + 5 * 60 + 2:  # the milestone's time passes (checkpoints tick)
        h.clock.advance_to(h.engine.awaiting.until)
        heard += said(h.send(Tick()))
    assert heard == [] and h.engine.awaiting.until == pytest.approx(asked + CONFIRM_WINDOW)
    h.clock.advance_to(start + 5 * 60 + 2)
    if reply is None:
        h.clock.advance_to(asked + CONFIRM_WINDOW)
        assert said(h.send(Tick())) == ["Not stopping; carrying on.", "Halfway there. 5 minutes left."]
    else:
        assert said(h.send(Heard(reply))) == ["Not stopping; carrying on."]
        assert h.engine.awaiting.until == pytest.approx(h.clock.now())  # the milestone is due: at once
        assert said(h.send(Tick())) == ["Halfway there. 5 minutes left."]


def test_cancel_puts_back_pause_extend_note_and_debrief_and_the_journal_keeps_both(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    tick_until(h, h.clock.now() + 12 * 60)
    h.send(Heard("pause"))
    h.clock.advance(5)
    assert said(h.send(Heard("cancel that"))) == ["Cancelled the pause; carrying on."]
    assert h.state == "work" and not h.engine.timer.paused
    assert h.engine.timer.elapsed(h.clock.now()) == pytest.approx(12 * 60 + 5)  # as if never paused
    length = h.engine.timer.length
    h.send(Heard("add five minutes"))
    # with the time left as it is again (a QA pass heard "7 minutes left" undone, then no milestone)
    assert said(h.send(Heard("undo that"))) == ["Cancelled: the added time is taken off again. 33 minutes left."]
    assert h.engine.timer.length == length
    h.send(Heard("take a note buy more cobalt blue"))
    assert said(h.send(Heard("cancel that"))) == ["Cancelled that note."]
    assert h.engine.notes_taken == 0
    assert said(h.send(Heard("start the debrief"))) == ["Let's debrief. Take a breath first."]
    assert h.state == "debrief"
    # a breath before the first question, in which the command spotter hears "cancel that" (a QA
    # pass's were said on hearing the debrief begin, and stored as the first answer, misread)
    assert isinstance(h.engine.awaiting, ListenForCommands) and h.engine.awaiting.awaited == ("cancel",)
    assert h.engine.awaiting.until == h.clock.now() + BREATH
    assert h.engine.awaiting.listen_for == BREATH  # counted from the end of Duet's words, live
    h.clock.advance(2)
    actions = h.send(Heard("cancel that"))
    assert h.state == "work" and said(actions) == ["Cancelled the debrief; back to work. 33 minutes left."]
    assert not h.engine.timer.paused and h.engine.timer.elapsed(h.clock.now()) == pytest.approx(12 * 60 + 7)
    kinds = [e["kind"] for e in h.session()["events"]]
    assert kinds[1:] == ["pause", "cancel", "extend", "cancel", "cancel", "debrief started", "cancel"]
    assert [e["detail"].get("undone") for e in h.session()["events"] if e["kind"] == "cancel"] == [
        "pause", "extend", "note", "debrief"]
    assert not h.session()["turns"][CHECKIN:], "the debrief question was not answered"


def test_cancel_is_awaited_while_a_change_can_be_put_back(tmp_path):
    """For UNDO_WINDOW s after a change it can undo, the session awaits "cancel that" (the spotter
    takes it on less evidence then); listening is renewed when the window closes, without it."""
    h = Harness(tmp_path)
    answer_checkin(h)
    assert h.engine.awaiting.awaited == ()
    h.send(Heard("how much time is left"))  # changes nothing: nothing to put back
    assert h.engine.awaiting.awaited == ()
    h.clock.advance(2)
    h.send(Heard("add five minutes"))
    closes = h.clock.now() + UNDO_WINDOW
    assert h.engine.awaiting.awaited == ("cancel",) and h.engine.awaiting.until == closes
    h.clock.advance(10)
    h.send(Heard("how much time is left"))
    assert h.engine.awaiting.awaited == ("cancel",) and h.engine.awaiting.until == closes
    h.clock.advance_to(closes)
    assert said(h.send(Tick())) == []
    assert h.engine.awaiting.awaited == () and h.engine.awaiting.until > closes
    h.send(Heard("take a note the ladder is wobbly"))
    assert h.engine.awaiting.awaited == ("cancel",)
    h.send(Heard("cancel that"))
    assert h.engine.awaiting.awaited == ()  # put back: nothing left to cancel


def test_cancel_after_the_window_changes_nothing(tmp_path):
    h = Harness(tmp_path)
    answer_checkin(h)
    h.send(Heard("add five minutes"))
    length = h.engine.timer.length
    h.clock.advance(16)
    assert said(h.send(Heard("cancel that"))) == ["There is nothing to cancel."]
    assert h.engine.timer.length == length


def test_cancel_after_a_pause_was_resumed_puts_nothing_back(tmp_path):
    """A re-check: "pause", "resume", "cancel that" struck the pause from the journal (shown as
    never paused) while its seconds still did not count as work. The pause is over: nothing to cancel."""
    h = Harness(tmp_path)
    answer_checkin(h)
    h.clock.advance(60)
    h.send(Heard("pause"))
    h.clock.advance(10)
    h.send(Heard("resume"))
    h.clock.advance(4)
    assert said(h.send(Heard("cancel that"))) == ["There is nothing to cancel."]
    assert h.engine.timer.elapsed(h.clock.now()) == pytest.approx(64)
    assert [e["kind"] for e in h.session()["events"]][-2:] == ["pause", "resume"]


def test_an_answer_that_goes_on_over_the_next_question_is_joined_and_the_question_asked_again(tmp_path):
    """Barge-in: the partner went on with their answer while Duet asked the next question. What
    they said joins that answer (one turn, on disk at once), and the cut-off question comes again."""
    h = Harness(tmp_path)
    h.send(Heard("calm today", confidence=0.9))
    again = h.send(Heard("and a bit curious about the sky", confidence=0.7, continues=True))
    assert said(again) == ["Ana, what do you intend for today?"]
    assert isinstance(h.engine.awaiting, ListenForAnswer) and h.engine.awaiting.partner == "Ana"
    reread = Journal(tmp_path / "journal.json").get("last")
    assert [(t["seq"], t["answer"], t["confidence"]) for t in reread["turns"]] == \
        [(0, "calm today and a bit curious about the sky", 0.7)]
    assert [e["detail"] for e in reread["events"] if e["kind"] == "answer continued"] == [{"seq": 0}]
    h.send(Heard("paint the clouds"))
    assert [t["answer"] for t in h.session()["turns"]] == ["calm today and a bit curious about the sky",
                                                            "paint the clouds"]


def test_a_continuation_with_no_words_only_asks_again(tmp_path):
    h = Harness(tmp_path)
    h.send(Heard("calm today"))
    assert said(h.send(Heard("", continues=True))) == ["Ana, what do you intend for today?"]
    assert [t["answer"] for t in h.session()["turns"]] == ["calm today"]
    assert not [e for e in h.session()["events"] if e["kind"] == "answer continued"]


def test_welcome_back_names_the_phase_as_people_say_it():
    """`duet resume` once said "We were in the work" (and "the checkin")."""
    from assistant.session.records import PHASES
    said_back = {phase: phrasing.welcome_back(phase) for phase in PHASES}
    assert said_back["checkin"].startswith("Welcome back. We were in the check-in;")
    assert said_back["work"].startswith("Welcome back. We were in the work phase;")
    assert all(phrasing.PHASE_NAMES[phase] in text for phase, text in said_back.items())


def test_a_session_cut_off_after_its_next_step_keeps_it_when_resumed(tmp_path, monkeypatch):
    """The next step was on disk but the session had not closed (a power cut at the recap; a
    journal put back from its backup): resumed, the recap and the summary named no next step."""
    from assistant.session.clock import SimulatedClock
    from assistant.session.runner import resume_session

    h = Harness(tmp_path)
    answer_checkin(h)
    start_debrief(h)
    for i in range(DEBRIEF - 1):
        h.send(Heard(f"debrief answer {i}"))

    def power_cut(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(h.engine.log, "close", power_cut)
    with pytest.raises(OSError):
        h.send(Heard("prune the roses"))
    monkeypatch.undo()
    h.engine.log.db.close()  # the process ends: its files and its lock go with it
    h.journal.close()
    engine = resume_session(h.config, Journal(tmp_path / "journal.json"), SimulatedClock(), 1)
    assert "prune the roses" in said(engine.start())[-1]
    assert Journal(tmp_path / "journal.json").get(1)["next_step"] == "prune the roses"


def test_a_note_with_no_words_is_no_note(tmp_path):
    """A blank dictation was saved and counted ("Noted.", "took 1 note")."""
    h = Harness(tmp_path)
    answer_checkin(h)
    assert said(h.send(Heard("take a note"))) == ["Go ahead, I'm listening for your note."]
    assert said(h.send(Heard("   "))) == ["I didn't catch a note."]
    assert h.engine.notes_taken == 0 and h.session()["notes"] == []
    h.send(Heard("take a note: Buy Cobalt-Blue, café au lait"))
    assert [n["text"] for n in h.session()["notes"]] == ["Buy Cobalt-Blue, café au lait"]


def test_the_breath_before_the_debrief_waits_for_the_question_and_takes_what_replaces_an_answer(tmp_path):
    """After "start the debrief", Duet listens for commands for ``BREATH`` s, then asks; a command
    of the work phase said then waits for the question, one that replaces an answer is taken."""
    h = Harness(tmp_path)
    answer_checkin(h)
    h.send(Heard("start the debrief"))
    assert said(h.send(Heard("how much time is left"))) == [] and h.engine.awaiting.until is not None
    h.clock.advance_to(h.engine.awaiting.until)
    assert said(h.send(Tick())) == ["Ana, what worked well?"]
    assert isinstance(h.engine.awaiting, ListenForAnswer)
    h2 = Harness(tmp_path / "skip")
    answer_checkin(h2)
    h2.send(Heard("start the debrief"))
    assert said(h2.send(Heard("pause"))) == ["Paused. Say 'resume' when you are ready."]
    assert said(h2.send(Heard("resume")))[-1] == "Ana, what worked well?"
    assert [t["phase"] for t in h2.session()["turns"]] == ["checkin"] * CHECKIN


def test_cancel_said_at_a_question_with_nothing_to_cancel_is_no_answer(tmp_path):
    """A QA pass's "cancel that" at a later debrief question, heard after the debrief's undo
    window closed, was stored as the answer "cancel that"."""
    h = Harness(tmp_path)
    assert said(h.send(Heard("cancel that"))) == ["There is nothing to cancel.", "Ana, how are you feeling as we begin?"]
    assert h.session()["turns"] == [] and h.state == "checkin"


def test_cancel_after_a_debrief_answer_keeps_the_answer_and_the_debrief(tmp_path):
    """A QA pass answered the first debrief question within the 15 s after "start the debrief",
    then said "cancel that": the debrief was undone, and the answer replaced when asked again."""
    h = Harness(tmp_path)
    answer_checkin(h)
    began = h.clock.now()
    start_debrief(h)
    h.send(Heard("we finished the whole bed of tulips"))
    assert h.clock.now() - began < UNDO_WINDOW  # the window is still open
    assert said(h.send(Heard("cancel that"))) == ["There is nothing to cancel.", "Ana, what challenged us?"]
    assert h.state == "debrief" and [e for e in h.session()["events"] if e["kind"] == "cancel"] == []
    h.send(Heard("the weeds"))
    debrief = [(t["question"], t["answer"]) for t in h.session()["turns"] if t["phase"] == "debrief"]
    assert debrief == [("What worked well?", "we finished the whole bed of tulips"), ("What challenged us?", "the weeds")]


@pytest.mark.parametrize("seconds,said", [
    (28, "28 seconds"), (63, "1 minute and 5 seconds"), (121, "2 minutes"), (114, "1 minute and 55 seconds"),
    (450, "7 and a half minutes"), (3540, "59 minutes"), (3600, "1 hour"), (4500, "1 hour and 15 minutes"),
    (5400, "an hour and a half"), (9000, "2 and a half hours"), (9060, "2 hours and 31 minutes"),
])
def test_lengths_are_said_as_people_say_them(seconds, said):
    """Found in a QA pass: "150 minutes" and "2 minutes and 1 second left" sounded like a machine."""
    assert phrasing.duration(seconds) == said


@pytest.mark.parametrize("step,read", [
    ("finish the fence", ("finish the fence.", False)),
    ("I will buy paint and you clean the brushes?", ("I will buy paint and you clean the brushes.", False)),
    ("I don't know", (None, False)), ("um, not sure yet", (None, False)), ("", (None, False)),
    (" ".join(["and then we paint the fence"] * 5), (None, True)),
])
def test_a_next_step_is_read_back_only_when_it_plans_something_and_is_short(step, read):
    """Found in a QA pass: "Your next step: I don't know.", a 104-word step read in the recap and
    three greetings, and a step asked back read with a question's tone."""
    assert phrasing.step_read_back(step) == read


def test_a_command_said_for_the_next_step_is_not_read_back_as_the_plan(tmp_path):
    """Found in a QA pass: "add five minutes" stored as the answer came back as the couple's plan."""
    h = Harness(tmp_path)
    answer_checkin(h)
    start_debrief(h)
    for text in ("fine", "fine", "fine", "fine", "fine", "fine"):
        h.send(Heard(text))
    recap = said(h.send(Heard("how much time is left")))[-1]
    assert h.session()["next_step"] == "how much time is left" and "next step" not in recap
    greeting = said(Harness(tmp_path, journal=h.journal).first)[0]
    assert "next step" not in greeting
    long = phrasing.greeting(["Ana", "Ben"], "Ana", "Ben", " ".join(["we paint the fence"] * 8))
    assert "The next step you last planned is in your journal." in long


def test_the_recap_closes_in_words_that_change_from_day_to_day():
    """Found in a QA pass: the same closing ended twelve weekly sessions."""
    recaps = [phrasing.recap("Ana", "Ben", 600, 0, None, day=day) for day in range(738000, 738007)]
    assert {next(c for c in phrasing.CLOSINGS if r.endswith(c)) for r in recaps} == set(phrasing.CLOSINGS)


@pytest.mark.parametrize("question,asked", [
    ("How are you feeling?", "Ana, how are you feeling?"), ("I'd love to hear how you feel.", "Ana, I'd love to hear how you feel."),
    ("I wonder what you intend.", "Ana, I wonder what you intend."), ("NASA first?", "Ana, NASA first?"),
    ("What challenged us?", "Ana, what challenged us?"),
    # a name keeps its capital, and a question that opens with the name is asked as written (a QA pass)
    ("Ben María, how is your back?", "Ana, Ben María, how is your back?"), ("New York: how was it?", "Ana, New York: how was it?"),
    ("Ana, what is on your mind", "Ana, what is on your mind"), ("ana: anything new?", "ana: anything new?"),
    ("Anything new?", "Ana, anything new?"), ("Ready?", "Ana, ready?"), ("Ben first?", "Ana, Ben first?"),
])
def test_a_question_keeps_its_i_when_addressed(question, asked):
    """Found in QA passes: "Ana, i'd love to hear how you are feeling?" and "Welcome, Mia and
    Noah B.."."""
    assert phrasing.addressed("Ana", question, ("Ana", "Ben")) == asked
    assert phrasing.greeting(["Mia", "Noah B."], "Mia", "Noah B.", None).startswith("Welcome, Mia and Noah B. This")


def test_a_note_is_read_back_so_a_wrong_one_can_be_cancelled_at_once():
    """Found in a live QA pass: the partners' talk was kept as the note, and Duet said only
    "Noted."; a long note is not read back whole."""
    assert phrasing.noted("buy more blue") == "Noted: buy more blue."
    assert phrasing.noted(" ".join(["buy more blue"] * 5)) == "Noted."


def _cut_off(h: Harness) -> Journal:
    """The process ends mid-session (its files and lock go with it): the journal as found after."""
    h.engine.log.db.close()
    h.journal.close()
    return Journal(h.journal.path)


def test_a_resumed_session_asks_the_questions_and_works_the_length_it_began_with(tmp_path):
    """A QA pass resumed a session begun with another config (three check-in questions, --work 60)
    under the default one: its debrief answers took the numbers of check-in answers and replaced
    them, and the work phase ran the config's 45 minutes."""
    from assistant.session.clock import SimulatedClock
    from assistant.session.runner import resume_session

    began = config(checkin={"questions": ["How do you feel?", "What do you intend?", "What might get in the way?"]},
                   work={"minutes": 60})
    h = Harness(tmp_path, began)
    for answer in ("calm", "the sky", "rain"):
        h.send(Heard(answer))
    engine = resume_session(config(), _cut_off(h), SimulatedClock(), "last")  # the default config now
    assert said(engine.start())[-1] == "Ben, how do you feel?"
    assert engine.timer.length == 60 * 60 and len(engine.plan) == 6 + 7


def test_a_session_without_its_questions_is_not_resumed_with_other_ones(tmp_path):
    """Sessions begun before the questions were kept: a config that asks otherwise is refused in
    one line, and nothing is written."""
    from assistant.errors import DuetError
    from assistant.session.clock import SimulatedClock
    from assistant.session.runner import resume_session

    h = Harness(tmp_path, config(checkin={"questions": ["How do you feel?", "What do you intend?", "And now?"]}))
    for answer in ("calm", "the sky", "rain", "sunny"):
        h.send(Heard(answer))
    journal = _cut_off(h)
    journal.detail(1).drop_table("questions")  # as an older Duet wrote it
    before = journal.session_file(1).read_bytes()
    with pytest.raises(DuetError, match="question 1 was 'How do you feel[?]' of Ana, the config has "
                                        "'How are you feeling as we begin[?]' of Ana there; resume it with the config"):
        resume_session(config(), journal, SimulatedClock(), "last")
    assert journal.session_file(1).read_bytes() == before
    engine = resume_session(config(checkin={"questions": ["How do you feel?", "What do you intend?", "And now?"]}),
                            Journal(h.journal.path), SimulatedClock(), "last")
    assert said(engine.start())[-1] == "Ben, what do you intend?"
