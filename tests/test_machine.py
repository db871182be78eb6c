import pytest

from assistant.session.machine import STATES, TRANSITIONS, MachineError, attach


class Model:
    def __init__(self) -> None:
        self.before = ""

    def remember_phase(self) -> None:
        self.before = self.state

    def was_checkin(self) -> bool:
        return self.before == "checkin"

    def was_work(self) -> bool:
        return self.before == "work"

    def was_debrief(self) -> bool:
        return self.before == "debrief"


def test_the_happy_path_visits_every_phase_in_order():
    m = Model()
    attach(m)
    visited = [m.state]
    for trigger in ["begin_checkin", "begin_work", "begin_debrief", "begin_recap", "finish"]:
        getattr(m, trigger)()
        visited.append(m.state)
    assert visited == ["idle", "checkin", "work", "debrief", "recap", "done"]


@pytest.mark.parametrize("phase", ["checkin", "work", "debrief"])
def test_pause_returns_to_the_phase_it_came_from(phase):
    m = Model()
    attach(m, initial=phase)
    m.pause()
    assert m.state == "paused"
    m.resume()
    assert m.state == phase


@pytest.mark.parametrize("state", ["idle", "checkin", "work", "paused", "debrief", "recap"])
def test_every_unfinished_state_can_abort(state):
    m = Model()
    attach(m, initial=state)
    m.abort()
    assert m.state == "aborted"


@pytest.mark.parametrize(
    "state,trigger",
    [("done", "abort"), ("aborted", "begin_checkin"), ("recap", "pause"), ("idle", "pause"),
     ("checkin", "begin_debrief"), ("work", "finish"), ("paused", "begin_work"), ("idle", "resume")],
)
def test_moves_outside_the_table_are_refused(state, trigger):
    m = Model()
    attach(m, initial=state)
    with pytest.raises(MachineError):
        getattr(m, trigger)()
    assert m.state == state


def test_table_names_only_known_states():
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        assert set(sources) <= set(STATES) and t["dest"] in STATES
