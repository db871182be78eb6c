"""The couple's rhythm: planned session times, their recurrences, and planned against held.

Pure: no files, no clock. Every function takes ``now`` (an aware datetime) from its caller, so
a test can stand on any day of the year, across a daylight-saving change, without sleeping.

Times are wall-clock times in a named time zone (IANA, ``zoneinfo``): "Saturday 10:00" stays
10:00 on both sides of a daylight-saving change, as in a phone calendar. A recurrence is one
RFC 5545 ``RRULE`` string (``recurrence_rule``): the same string goes into the iCalendar export
and is expanded here by python-dateutil, so Duet and the couple's calendars agree. Month ends:
a monthly session on the 29th, 30th or 31st falls on the month's last day when the month is
shorter (Jan 31 -> Feb 28 -> Mar 31), written as ``BYMONTHDAY=28,..,31;BYSETPOS=-1``. A time
that a daylight-saving change skips (02:30 on the night clocks go forward) is moved on by the
length of the gap, and one that happens twice is the first of the two, as RFC 5545 says.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from assistant.errors import DuetError
from assistant.session.records import was_held

EVERY = ("week", "2weeks", "month")
"""The recurrences ``--every`` offers."""

NEAR = timedelta(hours=1)
"""A session started this close to a planned time is that planned session: it takes the
planned length, hears "this is your planned session", and counts as kept."""

MOVED = timedelta(days=2)
"""A session started this close to a planned time (but not within ``NEAR``) moved it."""

TALK_MINUTES = 15
"""Check-in and debrief, added to the work minutes for the calendar event's length."""

EXAMPLES = "'saturday 10:00', 'sat 7pm', 'tomorrow 9:00' or 'YYYY-MM-DD 18:30'"

FURTHEST_YEARS = 5
"""How far ahead a plan may start: a session years away is a typo, and the calendar's own
limits (year 9999) are no place to find that out."""
FURTHEST = timedelta(days=366 * FURTHEST_YEARS + 1)
"""How far ahead ``upcoming`` looks: as far as a plan may start (a QA pass planned a session
two years on, and `duet schedule` said none was ahead)."""

WEEKDAYS = {
    **{name: i for i, name in enumerate(
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])},
    **{name: i for i, name in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}


class WhenError(DuetError):
    """A time Duet cannot read, or one it could read two ways; the message shows how to write one."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"'{text}' is not a time Duet can plan: {reason}; for example {EXAMPLES}")


# ---- the plan


@dataclass(frozen=True)
class Plan:
    """One planned session, maybe recurring."""

    id: int
    """Its number in the schedule (``duet schedule remove ID``)."""
    start: datetime
    """The first session: an aware datetime in the plan's zone (a ``ZoneInfo``)."""
    every: str | None
    """``week``, ``2weeks``, ``month``, or None for a single session."""
    minutes: float
    """Work-phase length (``duet run`` takes it for the planned session)."""
    uid: str = ""
    """Stable identifier in exported calendars (so a new export updates the old event)."""
    removed_at: datetime | None = None
    """When ``duet schedule remove`` ended it: earlier sessions still count as planned."""
    on_weekday: bool = False
    """A monthly plan made from a weekday ("saturday 10:00"): it keeps that weekday of the month
    (the second Saturday; the last, from a fifth), not the date, which would drift through the
    week (a QA pass's Saturday plan fell on a Tuesday the next month)."""

    @property
    def zone(self) -> ZoneInfo:
        assert isinstance(self.start.tzinfo, ZoneInfo)
        return self.start.tzinfo

    @property
    def length(self) -> timedelta:
        """The whole session, as blocked in the calendar: work plus check-in and debrief."""
        return timedelta(minutes=self.minutes + TALK_MINUTES)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "start": self.start.replace(tzinfo=None).isoformat(timespec="minutes"),
            "timezone": self.zone.key, "every": self.every, "minutes": self.minutes, "uid": self.uid,
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
            "on_weekday": self.on_weekday,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Plan":
        zone = ZoneInfo(data["timezone"])
        removed = data.get("removed_at")
        return cls(
            id=int(data["id"]), start=datetime.fromisoformat(data["start"]).replace(tzinfo=zone),
            every=data.get("every"), minutes=float(data["minutes"]), uid=str(data.get("uid", "")),
            removed_at=datetime.fromisoformat(removed) if removed else None,
            on_weekday=bool(data.get("on_weekday", False)),
        )


@dataclass(frozen=True)
class Occurrence:
    """One planned session on the calendar."""

    plan: Plan
    start: datetime
    """Aware, in the plan's zone."""

    @property
    def end(self) -> datetime:
        """When the session's time is up: its length in elapsed time, on the plan's clock (a
        01:30 session on the night the clocks go back ends at 01:30 again, not 02:30: a QA pass)."""
        return (self.start.astimezone(timezone.utc) + self.plan.length).astimezone(self.plan.zone)

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan.id, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "minutes": self.plan.minutes}


# ---- reading a time


def local_zone() -> ZoneInfo:
    """The user's time zone: ``TZ`` if set, else the system's (``/etc/localtime``)."""
    import tzlocal

    name = os.environ.get("TZ", "").removeprefix(":")
    try:
        if name and not name.startswith("/"):  # tzlocal would quietly fall back to the system's
            return ZoneInfo(name)
        return ZoneInfo(tzlocal.get_localzone_name() or "UTC")
    except (ZoneInfoNotFoundError, ValueError, LookupError) as err:
        raise DuetError(f"the local time zone ({name or err}) is not one Duet knows: "
                        "set TZ to a zone name such as Europe/Berlin") from None


_HALF = r"(am|pm|a\.m\.|p\.m\.)"
_TIME = re.compile(rf"^(\d{{1,2}})(?::(\d{{2}}))?\s*{_HALF}?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CLOCK_WORD = re.compile(rf"\d{{1,2}}(?::\d{{2}})?{_HALF}?|{_HALF}|noon|midday|midnight")
"""A word of a time of day ("10:00", "7pm", "7", "pm", "noon"): any other word is a mistake."""


def parse_when(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The next time that ``text`` names, in ``zone``: "saturday 10:00" is the coming Saturday
    (today if it is Saturday and 10:00 is still ahead), "tomorrow 9:00", "2027-06-05 18:30".

    Raises ``WhenError`` for anything else, for a time in the past, and for a clock time that a
    daylight-saving change skips or repeats on that day.
    """
    words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w and w != "at"]
    if not words:
        raise WhenError(text, "it is empty")
    joined = next((w for w in words if re.fullmatch(r"\d{4}-\d{2}-\d{2}t\S+", w)), None)
    if joined:  # ISO's "2026-12-12T10:00" was told to "say one day" (a QA pass)
        raise WhenError(text, f"write the date and the time apart, '{joined[:10]} {joined[11:]}'")
    odd = next((w for w in words if "/" in w or re.fullmatch(r"\d{1,2}\.\d{1,2}(\.\d+)?", w)), None)
    if odd:
        raise WhenError(text, f"'{odd}' could be read more than one way: write dates as YYYY-MM-DD, times as HH:MM")
    local_now = now.astimezone(zone)
    day_words = [w for w in words if w in WEEKDAYS or w in ("today", "tomorrow") or _DATE.match(w)]
    time_words = [w for w in words if w not in day_words]
    if len(day_words) != 1:
        raise WhenError(text, "say one day (a weekday, today, tomorrow or a YYYY-MM-DD date)"
                        if not day_words else "it names more than one day")
    stray = next((w for w in time_words if not _CLOCK_WORD.fullmatch(w)), None)
    if stray is not None:  # "next saturday 10:00" said "'next 10:00' is not a time of day"
        raise WhenError(text, f"'{stray}' is neither a day nor a time")
    clock = _parse_clock(text, " ".join(time_words))
    naive = datetime.combine(_parse_day(text, day_words[0], local_now.date()), clock)
    if day_words[0] not in WEEKDAYS and naive.replace(tzinfo=zone) <= now:  # before "happens twice" (a re-check)
        raise WhenError(text, f"{naive:%A %Y-%m-%d %H:%M} is in the past")
    start = _wall_checked(text, naive, zone)
    if day_words[0] in WEEKDAYS and start <= now:
        start = _wall_checked(text, datetime.combine(start.date() + timedelta(days=7), clock), zone)
    if start <= now:
        raise WhenError(text, f"{start:%A %Y-%m-%d %H:%M} is in the past")
    if start.date() > _years_on(local_now.date(), FURTHEST_YEARS):  # not by calendar year (a QA pass)
        raise WhenError(text, f"{start:%Y-%m-%d} is more than {FURTHEST_YEARS} years away")
    return start


def _years_on(day: date, years: int) -> date:
    """The same day ``years`` on (29 February: the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def names_weekday(text: str) -> bool:
    """Whether a time ``parse_when`` reads names its day by weekday ("sat 7pm")."""
    return any(w in WEEKDAYS for w in re.split(r"[\s,]+", text.strip().lower()))


def _parse_day(text: str, word: str, today: date) -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[word] - today.weekday()) % 7)
    year, month, day = (int(g) for g in _DATE.match(word).groups())  # type: ignore[union-attr]
    try:
        return date(year, month, day)
    except ValueError as err:
        raise WhenError(text, f"{word} is not a date ({err})") from None


def _parse_clock(text: str, words: str) -> time:
    if not words:
        raise WhenError(text, "it has no time of day")
    if words in ("noon", "midday"):
        return time(12, 0)
    if words == "midnight":  # "saturday midnight": the night into Saturday, or out of it?
        raise WhenError(text, "'midnight' could begin or end that day: write 0:00 (its start) or 23:59")
    match = _TIME.match(words)
    if not match:
        raise WhenError(text, f"'{words}' is not a time of day")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").replace(".", "")
    if not half and match.group(2) is None:
        raise WhenError(text, f"'{words}' could be morning or evening: write {hour}:00, {hour}am or {hour}pm")
    if half:
        if not 1 <= hour <= 12:
            raise WhenError(text, f"'{words}': with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise WhenError(text, f"'{words}' is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


def _wall_checked(text: str, naive: datetime, zone: ZoneInfo) -> datetime:
    """``naive`` in ``zone``, refusing a clock time that the zone skips or repeats that day."""
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        skipped = _wall(naive, zone).replace(tzinfo=None) != naive
        what = "does not exist (the clocks go forward)" if skipped else "happens twice (the clocks go back)"
        raise WhenError(text, f"{naive:%Y-%m-%d %H:%M} {what} in {zone.key}")
    return earlier


def _wall(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time as RFC 5545 reads it: a skipped time moves on by the gap, a repeated
    time is the first of the two (``fold=0``, normalized through UTC)."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc).astimezone(zone)


# ---- recurrences


def recurrence_rule(plan: Plan) -> str | None:
    """The RFC 5545 RRULE value for a plan (None for a single session)."""
    if plan.every is None:
        return None
    if plan.every == "week":
        return "FREQ=WEEKLY"
    if plan.every == "2weeks":
        return "FREQ=WEEKLY;INTERVAL=2"
    if plan.every == "month" and plan.on_weekday:
        return f"FREQ=MONTHLY;BYDAY={week_of_month(plan.start.date())}{_RRULE_DAYS[plan.start.weekday()]}"
    if plan.every == "month":
        day = plan.start.day
        if day <= 28:
            return "FREQ=MONTHLY"
        # the 29th, 30th or 31st, or the month's last day when the month is shorter
        return f"FREQ=MONTHLY;BYMONTHDAY={','.join(str(d) for d in range(28, day + 1))};BYSETPOS=-1"
    raise ValueError(f"unknown recurrence {plan.every!r}")


_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def week_of_month(day: date) -> int:
    """Which of its weekday the month's ``day`` is: 1 to 4, or -1 for a fifth (the last: not
    every month has one)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def occurrences(plan: Plan, after: datetime, before: datetime) -> Iterator[Occurrence]:
    """The plan's sessions starting in ``[after, before)``, in order (none after its removal)."""
    if plan.removed_at is not None:
        before = min(before, plan.removed_at)
    rule = recurrence_rule(plan)
    first = plan.start.replace(tzinfo=None)
    if rule is None:
        starts: Iterable[datetime] = [first]
    else:
        # a day either side covers any zone offset; exact bounds are checked on aware times
        low = after.astimezone(plan.zone).replace(tzinfo=None) - timedelta(days=1)
        high = before.astimezone(plan.zone).replace(tzinfo=None) + timedelta(days=1)
        starts = rrulestr(rule, dtstart=first).between(max(low, first), high, inc=True)
    for naive in starts:
        start = _wall(naive, plan.zone)
        if after <= start < before:
            yield Occurrence(plan, start)


def upcoming(plans: Iterable[Plan], now: datetime, count: int = 3, horizon: timedelta = FURTHEST) -> list[Occurrence]:
    """The next ``count`` planned sessions starting after ``now``, across all plans."""
    found = [o for p in plans for o in _first(occurrences(p, now, now + horizon), count)]
    return sorted(found, key=lambda o: o.start)[:count]


def near(plans: Iterable[Plan], now: datetime, within: timedelta = NEAR) -> Occurrence | None:
    """The planned session starting closest to ``now``, if one starts within ``within`` of it."""
    found = [o for p in plans for o in occurrences(p, now - within, now + within + timedelta(seconds=1))]
    return min(found, key=lambda o: abs(o.start - now), default=None)


def _first(items: Iterator[Occurrence], count: int) -> list[Occurrence]:
    return [o for _, o in zip(range(count), items)]


# ---- planned against held


@dataclass
class PlannedVsHeld:
    """How the plan went: each planned session past, and what became of it."""

    occurrences: list[dict[str, Any]] = field(default_factory=list)
    """One per planned session up to now: plan, start, status, session (id or None), offset_minutes."""
    unplanned: list[int] = field(default_factory=list)
    """Sessions held that matched no planned time."""

    def count(self, status: str) -> int:
        return sum(o["status"] == status for o in self.occurrences)

    def to_json(self) -> dict[str, Any]:
        return {
            "kept": self.count("kept"), "moved": self.count("moved"), "missed": self.count("missed"),
            "pending": self.count("pending"), "unplanned": self.unplanned, "occurrences": self.occurrences,
            "rules": {"kept_within_minutes": NEAR.total_seconds() / 60, "moved_within_days": MOVED.days},
        }


def planned_vs_held(plans: Iterable[Plan], sessions: Iterable[dict[str, Any]], now: datetime) -> PlannedVsHeld:
    """Planned sessions up to ``now`` against the journal's sessions (``Journal.list_sessions``).

    - kept: a session started within ``NEAR`` (an hour) of the planned time;
    - moved: otherwise, a session started within ``MOVED`` (two days) of it, before or after;
    - missed: no session either way once those two days are over;
    - pending: not yet missed (the two days are not over, and no session took its place).

    Each session counts for one planned time at most: kept matches first, nearest first, then
    moved ones. Any session held counts, whatever its status (one stopped in its work phase was
    held), but not a false start (``records.was_held``): it neither keeps a planned time from the
    session held just after it nor is unplanned.
    """
    held = sorted(((int(s["id"]), at) for s in sessions
                   if was_held(s) and (at := instant(s.get("started_at"))) is not None), key=lambda s: s[1])
    planned = sorted((o for p in plans for o in occurrences(p, p.start - timedelta(seconds=1), now + timedelta(seconds=1))),
                     key=lambda o: o.start)
    times = [at for _, at in held]
    match: dict[int, tuple[int, str]] = {}
    used: set[int] = set()
    for status, window in (("kept", NEAR), ("moved", MOVED)):
        pairs = sorted(((abs(at - o.start), i, sid) for i, o in enumerate(planned)
                        for sid, at in held[bisect_left(times, o.start - window):bisect_right(times, o.start + window)]),
                       key=lambda pair: pair[0])
        for _, i, sid in pairs:
            if i not in match and sid not in used:
                match[i] = (sid, status)
                used.add(sid)
    result = PlannedVsHeld(unplanned=[sid for sid, _ in held if sid not in used])
    started = dict(held)
    for i, occurrence in enumerate(planned):
        sid, status = match.get(i, (None, "missed" if now > occurrence.start + MOVED else "pending"))
        offset = None if sid is None else round((started[sid] - occurrence.start).total_seconds() / 60)
        result.occurrences.append({"plan": occurrence.plan.id, "start": occurrence.start.isoformat(),
                                   "status": status, "session": sid, "offset_minutes": offset})
    return result


def instant(text: Any) -> datetime | None:
    """A session's start or end as an aware datetime (a naive one is UTC, as the journal writes)."""
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
