"""The session's states and the moves between them, as one declarative table.

``transitions`` enforces the table: a trigger that is not allowed from the current state raises
``MachineError`` instead of quietly doing something odd. Draw it with
``python -m assistant.session.machine out.png`` (needs the graphviz extras of ``transitions``).

    idle -> checkin -> work -> debrief -> recap -> done
    checkin | work | debrief -> paused -> back to where it was
    any unfinished state -> aborted
"""

from __future__ import annotations

import sys
from typing import Any

from transitions import Machine, MachineError

__all__ = ["STATES", "TRANSITIONS", "Machine", "MachineError", "attach"]

STATES = ["idle", "checkin", "work", "paused", "debrief", "recap", "done", "aborted"]
PAUSABLE = ["checkin", "work", "debrief"]
UNFINISHED = ["idle", "checkin", "work", "paused", "debrief", "recap"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "begin_checkin", "source": "idle", "dest": "checkin"},
    {"trigger": "begin_work", "source": ["idle", "checkin"], "dest": "work"},
    {"trigger": "begin_debrief", "source": ["idle", "work"], "dest": "debrief"},
    {"trigger": "cancel_debrief", "source": "debrief", "dest": "work"},
    {"trigger": "begin_recap", "source": ["idle", "debrief"], "dest": "recap"},
    {"trigger": "finish", "source": "recap", "dest": "done"},
    {"trigger": "pause", "source": PAUSABLE, "dest": "paused", "before": "remember_phase"},
    *(
        {"trigger": "resume", "source": "paused", "dest": phase, "conditions": f"was_{phase}"}
        for phase in PAUSABLE
    ),
    {"trigger": "abort", "source": UNFINISHED, "dest": "aborted"},
]
"""From ``idle`` a resumed session may enter any phase directly."""


def attach(model: Any, initial: str = "idle") -> Machine:
    """Give ``model`` the session's states and triggers (``model.state``, ``model.pause()``...).

    The model must provide ``remember_phase()`` and ``was_checkin/was_work/was_debrief()``.
    """
    return Machine(
        model=model,
        states=STATES,
        transitions=TRANSITIONS,
        initial=initial,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


if __name__ == "__main__":  # pragma: no cover - a drawing aid
    from transitions.extensions import GraphMachine

    class _Model:
        def remember_phase(self) -> None: ...

    graph = GraphMachine(model=_Model(), states=STATES, transitions=TRANSITIONS, initial="idle",
                         auto_transitions=False)
    graph.get_graph().draw(sys.argv[1] if len(sys.argv) > 1 else "session.png", prog="dot")
