"""The schedule as an iCalendar file (RFC 5545), for both partners' phone calendars.

One VEVENT per plan: its first start with the plan's time zone (``TZID`` and a ``VTIMEZONE``
built from the zone database by ``icalendar``), its length (work plus check-in and debrief),
the same ``RRULE`` Duet expands itself (``rhythm.recurrence_rule``), ending (``UNTIL``) when the
plan was removed (``STATUS:CANCELLED`` when it was removed before its first session), and a
``VALARM`` ten minutes before. The UID is the plan's, so importing a
newer export updates the events instead of doubling them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from icalendar import Alarm, Calendar, Event, vRecur

from assistant.journal.rhythm import Plan, recurrence_rule

PRODID = "-//Duet//Duet session schedule//EN"
"""Names Duet as the calendar's maker: an existing file holding it may be replaced by a new export."""

REMIND_BEFORE = timedelta(minutes=10)
"""When the calendar's alarm rings, like ``duet remind``."""

TIMEZONE_YEARS = 20
"""Years of daylight-saving changes written into each VTIMEZONE."""


def calendar(plans: Iterable[Plan], partners: list[str], now: datetime) -> Calendar:
    """The plans as a calendar (``now`` stamps the events)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Duet sessions")
    plans = list(plans)
    for plan in plans:
        cal.add_component(_event(plan, partners, now))
    if plans:
        first = min(p.start for p in plans).date() - timedelta(days=1)
        cal.add_missing_timezones(first_date=first, last_date=date(first.year + TIMEZONE_YEARS, 1, 1))
    return cal


def written_for(text: str, plans: Iterable[Plan]) -> bool:
    """Whether ``text`` is a calendar Duet exported of these plans (and so may be replaced by a
    newer export): Duet's ``PRODID``, and no event but theirs. A QA pass had one journal's
    export replace another's, which lost the first couple's events from it."""
    try:
        found = Calendar.from_ical(text)
    except ValueError:
        return False
    ours = {uid(plan) for plan in plans}
    return str(found.get("prodid", "")) == PRODID and all(str(e.get("uid")) in ours for e in found.walk("VEVENT"))


def uid(plan: Plan) -> str:
    """The plan's event's UID (older plans have none of their own)."""
    return plan.uid or f"duet-plan-{plan.id}@duet"


def _event(plan: Plan, partners: list[str], now: datetime) -> Event:
    event = Event()
    event.add("uid", uid(plan))
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("summary", f"Duet session ({partners[0]} and {partners[1]})")
    event.add("description", f"Check-in, {plan.minutes:g} minutes of work together, debrief. "
                             "Start it with: duet run")
    event.add("dtstart", plan.start)
    event.add("duration", plan.length)
    rule = recurrence_rule(plan)
    if rule is not None:
        recur = vRecur.from_ical(rule)
        if plan.removed_at is not None:
            recur["UNTIL"] = plan.removed_at.astimezone(timezone.utc)
        event.add("rrule", recur)
    if plan.removed_at is not None and plan.start >= plan.removed_at:  # removed before it came
        event.add("status", "CANCELLED")  # an import cancels the event the phone has of it
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "Your Duet session starts in ten minutes")
    alarm.add("trigger", -REMIND_BEFORE)
    event.add_component(alarm)
    return event
