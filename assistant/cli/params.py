"""Click parameter types the commands share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import click

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Day(click.ParamType):
    """A calendar day written YYYY-MM-DD, as a ``datetime`` at midnight.

    Click's own ``DateTime`` calls an impossible day ("2026-02-30") a format error, which sends
    the user to fix a format that was right; this says which of the two it is."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if not _DAY.fullmatch(text):
            self.fail(f"{text!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-03-14", param, ctx)
        try:
            day = date.fromisoformat(text)
        except ValueError as err:
            self.fail(f"{text} is not a day in the calendar ({err}): give one that exists", param, ctx)
        return datetime(day.year, day.month, day.day)


DAY = Day()
