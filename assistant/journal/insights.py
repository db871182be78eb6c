"""What the journal says over time: rhythm, leadership, voices, feelings, themes, next steps.

Pure: every function takes sessions and returns plain data, so the terminal, ``--json``, the HTML
report and the spoken celebration all read the same figures. Nothing is invented: each figure
carries the ids of the sessions it was counted from.

What the sections need from a session's answers, notes and events is its ``digest`` (a few hundred
bytes: words per partner, quiet questions, feeling words, theme terms, the stems a next step is
matched against, resumed or not, the tone). The journal keeps each finished session's digest in its
index (``pack``ed as one JSON string), written when the session closes, so insights over a thousand
sessions read the index, not 20 MB of answers with their word timings. A session given whole (with ``turns``) and without a
valid digest is digested here; ``DIGEST_VERSION`` changes with the lexicons and stop words (and by
hand when the digest's meaning changes), so an older digest is never trusted.

Decisions where the record alone has to decide:

- Time is local (the machine's time zone); weeks are ISO weeks (Monday to Sunday). The current
  streak is alive while this week or last week has a session.
- "Worked" is the work phase only (debrief time is not work time), as the journal records it.
- Answers to the question asked of ``both`` partners are counted as ``both``, not as either voice.
- Themes come from the questions about what worked well and what challenged (found by their
  words: "worked well"/"went well", and "challeng"/"difficult"/"hard"), whatever their exact text.
- Feeling words count wherever they stand in answers to the questions about feelings (found by
  "feel"), and in other answers only where they say how someone feels ("I was so happy", not "the
  happy accident"; ``words.feeling_words``).
- A next step is *followed* by a later session (one of the next ``FOLLOW_WINDOW``, by date) when
  at least half of the step's content words (stemmed; at least one) come back in that session's
  answers or notes. The words that matched are kept, so a reader can judge.
- A session stopped in its check-in (``records.was_held``) is a false start: its words count
  (voices, feelings, themes), but it has no rhythm (minutes, weeks), no tone, and it is none of
  the sessions that may follow a next step.
- A session's tone is the mean VADER compound score of its partners' answers. The trend is the
  least-squares slope across sessions, times the sessions it spans (their number less one): "rising" or "falling" past +-0.2, else
  "steady"; it needs at least three scored sessions.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from itertools import chain
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from assistant.journal import words as w
from assistant.session.phrasing import plans_nothing
from assistant.session.records import was_held

FOLLOW_WINDOW = 2
"""How many later sessions may pick up a next step for it to count as followed."""
TREND_THRESHOLD = 0.2
"""Change in tone across the whole span that counts as rising or falling."""
THEME_LIMIT = 12
"""Themes listed per kind."""

WORKED_WELL = ("worked well", "went well")
CHALLENGED = ("challeng", "difficult", "hard")
FEELING_QUESTIONS = ("feel",)
THEME_KINDS = (("worked_well", WORKED_WELL), ("challenges", CHALLENGED))

DIGEST_VERSION = "3." + format(zlib.crc32(repr((
    sorted(w.STOP_WORDS), w.FEELINGS, sorted(w.NEGATIONS), sorted(w.AMBIGUOUS_FEELINGS), w.WORD.pattern, THEME_KINDS)).encode()), "08x")
"""Bump the number by hand when what a digest holds, or how it is made (``digest``, ``words.stem``,
``words.phrases``...), changes; the checksum follows the word lists by itself. A digest of another
version is made again from the session's answers, never trusted."""


@dataclass
class Insights:
    """Every figure of ``duet insights``, each with the sessions it comes from."""

    as_of: str
    """The day the streak is counted to (ISO date, local)."""
    sessions: list[int]
    """Ids of the sessions analysed, oldest first."""
    rhythm: dict[str, Any]
    """Sessions per week, streaks, minutes worked against planned, interrupted sessions."""
    leadership: dict[str, Any]
    """Who led how often; runs of sessions where the leader did not rotate, and why."""
    voices: dict[str, Any]
    """Each partner's words and share; skipped and unanswered questions per partner."""
    feelings: dict[str, Any]
    """Feeling words named per partner and session; each session's tone and the trend."""
    themes: dict[str, Any]
    """Words and phrases that come back in what worked well and what challenged."""
    next_steps: list[dict[str, Any]]
    """Each planned next step and the session that followed it, if one did."""

    def to_json(self) -> dict[str, Any]:
        """The fields as they are (already plain data: no deep copy, which took seconds at 1,000)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---- helpers


def local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone().date()


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def chronological(sessions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """In the order held (a session rehearsed later with an earlier ``--date`` goes before)."""
    return sorted(sessions, key=lambda s: (str(s.get("started_at", "")), s["id"]))


def answered(session: dict[str, Any], partner: str | None = None) -> list[dict[str, Any]]:
    return [t for t in session.get("turns", [])
            if t["status"] == "answered" and t.get("answer") and (partner is None or t["partner"] == partner)]


def asks(question: str, keys: tuple[str, ...]) -> bool:
    q = question.lower()
    return any(k in q for k in keys)


def digest(session: dict[str, Any]) -> dict[str, Any]:
    """What the insights need from a whole session's answers, notes and events (see the module's
    docstring); plain JSON, kept in the journal's index."""
    words: Counter[str] = Counter()
    quiet: list[list[str]] = []
    feels: dict[str, list[str]] = defaultdict(list)
    terms: dict[str, Counter[str]] = {kind: Counter() for kind, _ in THEME_KINDS}
    split: list[list[str]] = []
    answers: list[str] = []
    for t in sorted(session.get("turns", []), key=_seq):
        if t["status"] == "answered":
            toks = w.tokens(t.get("answer") or "")
            words[t["partner"]] += len(toks)
            if not t.get("answer"):
                continue
            answers.append(t["answer"])
            feels[t["partner"]] += [word for word, _ in w.feeling_words(toks, asks(t["question"], FEELING_QUESTIONS))]
            for kind, keys in THEME_KINDS:
                if asks(t["question"], keys):
                    terms[kind].update(_one_form_each(w.phrases(toks)))
            if t["partner"] != "both":
                split.append(toks)
        elif t["status"] in ("skipped", "no answer"):
            quiet.append([t["partner"], t["question"], t["status"]])
    split += [w.tokens(n["text"]) for n in session.get("notes", []) if not n.get("cancelled")]
    return {
        "v": DIGEST_VERSION,
        "words": dict(words),
        "quiet": quiet,
        "feelings": dict(feels),
        "themes": {kind: dict(c) for kind, c in terms.items()},
        "stems": sorted({w.stem(word) for toks in split for word in w.content_words(toks)}),
        "resumed": any(e.get("kind") == "resumed" for e in session.get("events", [])),
        "tone": w.tone(answers) if answers else None,
    }


def _one_form_each(terms: set[str]) -> set[str]:
    """One form of each theme in an answer (the shortest): an answer saying "one tomato and two
    tomatoes" counts once for the theme, not twice (a QA pass)."""
    forms: dict[str, str] = {}
    for term in sorted(terms, key=lambda t: (len(t), t)):
        forms.setdefault(w.theme_key(term), term)
    return set(forms.values())


def _seq(turn: dict[str, Any]) -> tuple[int, int]:
    seq = turn.get("seq")
    return (0, seq) if type(seq) is int else (1, 0)


def valid_digest(d: object) -> bool:
    """A digest of this version, in shape (an index edited by hand is digested again, not trusted).
    Checked with C-speed type scans: it runs for every session of every ``duet insights``."""
    if type(d) is not dict or d.get("v") != DIGEST_VERSION:
        return False
    words, quiet, feels, themes, stems, tone = (d.get(k) for k in ("words", "quiet", "feelings", "themes", "stems",
                                                                   "tone"))
    if not (type(words) is dict and type(quiet) is list and type(feels) is dict and type(themes) is dict
            and type(stems) is list and type(d.get("resumed")) is bool):
        return False
    terms = [themes.get(kind) for kind, _ in THEME_KINDS]
    if not (set(map(type, feels.values())) <= {list} and set(map(type, terms)) <= {dict}
            and set(map(type, quiet)) <= {list} and all(len(q) == 3 for q in quiet)):
        return False
    texts = chain(words, feels, chain.from_iterable(feels.values()), chain.from_iterable(quiet), stems, *terms)
    counts = chain(words.values(), *(t.values() for t in terms))
    return (set(map(type, texts)) <= {str} and set(map(type, counts)) <= {int}
            and (tone is None or (type(tone) in (int, float) and math.isfinite(tone))))


def pack(d: dict[str, Any]) -> str:
    """A digest as the index keeps it: one JSON string. Parsing a thousand digests as objects was
    ten times the index's own cost, paid by every command that opens the journal (a session's
    begin and close included); as strings they cost about nothing until insights unpack them."""
    import orjson

    return orjson.dumps(d).decode()


def unpack(stored: object) -> dict[str, Any] | None:
    """The digest an index entry holds, when it is one of this version, in shape; else None."""
    import orjson

    if not isinstance(stored, str):
        return None
    try:
        d = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None
    return d if valid_digest(d) else None


def with_digests(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sessions (shallow copies) each with a valid ``digest``, made once for every section."""
    return [s if valid_digest(s.get("digest")) else s | {"digest": digest(s)} for s in sessions]


def since(sessions: list[dict[str, Any]], day: date | None) -> list[dict[str, Any]]:
    return [s for s in sessions if day is None or local_day(s["started_at"]) >= day]


def partners_of(sessions: list[dict[str, Any]]) -> list[str]:
    """Every partner named in these sessions, in the order they first appear."""
    seen: dict[str, None] = {}
    for s in sessions:
        for p in s["partners"]:
            seen.setdefault(p, None)
    return list(seen)


# ---- the sections
#
# Each takes the sessions in date order, each with its valid digest (as ``with_digests`` gives them).


def analyse(sessions: list[dict[str, Any]], today: date, tones: dict[int, float | None] | None = None,
            earlier: list[dict[str, Any]] = ()) -> Insights:
    """All sections for these sessions (any order; analysed by date). Each session is an index
    entry with its ``digest``, or whole (with ``turns``, ``notes``, ``events``: digested here).
    ``tones`` may hold tones to use instead of the digests' (``None`` for a session: no tone).
    ``earlier``: the sessions before a ``--since`` day, whose weeks only carry the current streak
    back (a fact about today: a QA pass was told 3 weeks where the couple's recap had said 4)."""
    ordered = with_digests(chronological(sessions))
    held = [s for s in ordered if was_held(s)]  # a false start has no rhythm, tone or follow-up
    before = [s for s in chronological(earlier) if was_held(s)]
    return Insights(
        as_of=today.isoformat(),
        sessions=[s["id"] for s in ordered],
        rhythm=rhythm(held, today, before),
        leadership=leadership(ordered),
        voices=voices(ordered),
        feelings=feelings(ordered, tones),
        themes=themes(ordered),
        next_steps=next_steps(held),
    )


def weeks(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every ISO week from the first session's to the last's, with the sessions held in it."""
    if not sessions:
        return []
    by_week: dict[str, list[int]] = defaultdict(list)
    days = [local_day(s["started_at"]) for s in sessions]
    for s, day in zip(sessions, days):
        by_week[week_of(day)].append(s["id"])
    monday = min(days) - timedelta(days=min(days).weekday())
    out = []
    while monday <= max(days):
        key = week_of(monday)
        out.append({"week": key, "monday": monday.isoformat(), "sessions": by_week.get(key, [])})
        monday += timedelta(days=7)
    return out


def streaks(week_rows: list[dict[str, Any]], today: date, all_weeks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Current and longest run of consecutive weeks with at least one session. ``all_weeks``:
    the weeks of every session, not only these (the current streak runs back past a cut-off)."""
    longest = max(_runs(week_rows), key=len, default=[])
    runs = _runs(week_rows if all_weeks is None else all_weeks)
    this_monday = today - timedelta(days=today.weekday())
    alive = {week_of(this_monday), week_of(this_monday - timedelta(days=7))}
    current = runs[-1] if runs and runs[-1][-1]["week"] in alive else []
    longest = max(longest, current, key=len)  # never shorter than the current one (a re-check: 2 and 6)

    def describe(run: list[dict[str, Any]]) -> dict[str, Any]:
        return {"weeks": len(run), "from": run[0]["week"] if run else None, "to": run[-1]["week"] if run else None,
                "sessions": [sid for row in run for sid in row["sessions"]]}

    return {"current": describe(current), "longest": describe(longest)}


def _runs(week_rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The runs of consecutive weeks with a session, in order."""
    runs: list[list[dict[str, Any]]] = []
    for i, row in enumerate(week_rows):
        if row["sessions"]:
            if runs and i and runs[-1][-1] is week_rows[i - 1]:
                runs[-1].append(row)
            else:
                runs.append([row])
    return runs


def rhythm(sessions: list[dict[str, Any]], today: date, earlier: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """``earlier``: held sessions before these, for the current streak only (``analyse``)."""
    week_rows = weeks(sessions)
    worked = sum(s.get("worked") or 0.0 for s in sessions)
    planned = sum(s.get("planned_work") or 0.0 for s in sessions)
    n = len(sessions)
    by_status: dict[str, list[int]] = defaultdict(list)
    for s in sessions:
        by_status[s["status"]].append(s["id"])
    return {
        "sessions": n,
        "weeks": week_rows,
        "weeks_with_sessions": sum(1 for row in week_rows if row["sessions"]),
        "streak": streaks(week_rows, today, weeks([*earlier, *sessions]) if earlier else None),
        "minutes_worked": round(worked / 60, 1),
        "minutes_planned": round(planned / 60, 1),
        "average_worked": round(worked / 60 / n, 1) if n else None,
        "average_planned": round(planned / 60 / n, 1) if n else None,
        "worked_share_of_planned": round(worked / planned, 3) if planned else None,
        "per_session": [{"session": s["id"], "date": local_day(s["started_at"]).isoformat(),
                         "worked": round((s.get("worked") or 0) / 60, 1),
                         "planned": round((s.get("planned_work") or 0) / 60, 1), "status": s["status"]}
                        for s in sessions],
        "status": dict(by_status),
        "interrupted": by_status.get("interrupted", []),
        "resumed": [s["id"] for s in sessions if s["digest"]["resumed"]],
        "last": last_held(sessions, today),
    }


def last_held(sessions: list[dict[str, Any]], today: date) -> dict[str, Any] | None:
    """The last session held and how many weeks ago (calendar weeks: 0 this week, 1 last week).
    The weeks counted stop at the last session ("8 of 8" hid the six weeks since it in a QA
    pass); this says how long it has been."""
    if not sessions:
        return None
    day = local_day(sessions[-1]["started_at"])
    mondays = (today - timedelta(days=today.weekday())) - (day - timedelta(days=day.weekday()))
    return {"session": sessions[-1]["id"], "date": day.isoformat(), "weeks_ago": max(mondays.days // 7, 0)}


def leadership(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Who led; runs where the leader stayed the same from one session to the next that took its
    turn to lead (by date, as rotation goes: ``records.was_held``), with why (a forgotten
    session in between, changed partners); sessions resumed after an interruption (they keep the
    leader they began with). A session stopped in its check-in took no turn, so it is not counted
    as led (``stopped_early``): rotation gave the next session the same leader."""
    led: dict[str, list[int]] = defaultdict(list)
    for s in sessions:
        if was_held(s):
            led[s["leader"]].append(s["id"])
    held = [s for s in chronological(sessions) if was_held(s)]
    runs: list[list[dict[str, Any]]] = []
    for prev, cur in zip(held, held[1:]):
        if cur["leader"] == prev["leader"]:
            if runs and runs[-1][-1] is prev:
                runs[-1].append(cur)
            else:
                runs.append([prev, cur])
    return {
        "led": {p: {"count": len(ids), "sessions": ids} for p, ids in led.items()},
        "not_rotated": [{"leader": run[0]["leader"], "sessions": [s["id"] for s in run],
                         "why": _why(run, {s["id"] for s in sessions})} for run in runs],
        "stopped_early": [s["id"] for s in sessions if not was_held(s)],
        "resumed": [s["id"] for s in sessions if s["digest"]["resumed"]],
    }


def _why(run: list[dict[str, Any]], known: set[int]) -> str:
    """Why the leader did not rotate, as far as the journal can tell (``known``: the ids of the
    sessions the journal still holds)."""
    reasons = []
    for prev, cur in zip(run, run[1:]):
        if gap := [i for i in range(prev["id"] + 1, cur["id"]) if i not in known]:
            reasons.append(f"session{'s' * (len(gap) > 1)} {', '.join(map(str, gap))} "
                           f"{'were' if len(gap) > 1 else 'was'} forgotten")
        elif set(cur["partners"]) != set(prev["partners"]):
            reasons.append(f"the partners changed in session {cur['id']}")
        elif cur["id"] < prev["id"]:  # ``prev`` added afterwards for an earlier day (``rehearse --date``)
            reasons.append(f"session {prev['id']} was added later for {local_day(prev['started_at'])}, "
                           f"with the leader session {cur['id']} had")  # not "4 kept the leader of 12" (a QA pass)
        else:
            reasons.append(f"session {cur['id']} kept the leader of session {prev['id']}")
    return "; ".join(dict.fromkeys(reasons))


def voices(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Words per partner in their answers, in all and session by session (``by_session``: a QA
    pass could not see a partner go from 83 words to 2); skipped and unanswered questions per
    partner."""
    count: Counter[str] = Counter()
    spoke_in: dict[str, list[int]] = defaultdict(list)
    quiet: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: {"skipped": [], "no answer": []})
    for s in sessions:
        d = s["digest"]
        for partner, n in d["words"].items():
            count[partner] += n
            if n:
                spoke_in[partner].append(s["id"])
        for partner, question, status in d["quiet"]:
            if status in ("skipped", "no answer"):
                quiet[(partner, question)][status].append(s["id"])
    partners = [p for p in partners_of(sessions)]
    spoken = sum(count[p] for p in partners)
    return {
        "words": {p: count[p] for p in partners} | ({"both": count["both"]} if count["both"] else {}),
        "share": {p: (round(count[p] / spoken, 3) if spoken else None) for p in partners},
        "sessions": {p: spoke_in.get(p, []) for p in partners},
        "by_session": [{"session": s["id"], "words": {p: s["digest"]["words"].get(p, 0) for p in s["partners"]}}
                       for s in sessions],
        "quiet": sorted(
            ({"partner": p, "question": q, "skipped": len(v["skipped"]), "unanswered": len(v["no answer"]),
              "sessions": sorted(set(v["skipped"] + v["no answer"]))} for (p, q), v in quiet.items()),
            key=lambda r: (-(r["skipped"] + r["unanswered"]), r["partner"], r["question"])),
    }


def feelings(sessions: list[dict[str, Any]], tones: dict[int, float | None] | None = None) -> dict[str, Any]:
    """Feeling words per partner and session (by group: every word said counts), and each held
    session's tone with the trend."""
    partners = partners_of(sessions)
    timeline = []
    groups: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in partners}
    tone_rows = []
    for s in sessions:
        d = s["digest"]
        for p in partners:
            named = [word for word in d["feelings"].get(p, ()) if word in w.FEELING_GROUP]
            if not named:
                continue
            counted = Counter(named)
            timeline.append({"session": s["id"], "date": local_day(s["started_at"]).isoformat(), "partner": p,
                             "words": named, "groups": sorted({w.FEELING_GROUP[word] for word in counted})})
            for word, n in counted.items():
                group = w.FEELING_GROUP[word]
                row = groups[p].get(group)
                if row is None:
                    row = groups[p][group] = {"count": 0, "words": Counter(), "sessions": []}
                row["count"] += n
                row["words"][word] += n
                if not row["sessions"] or row["sessions"][-1] != s["id"]:
                    row["sessions"].append(s["id"])
        score = tones[s["id"]] if tones is not None and s["id"] in tones else d["tone"]
        if score is not None and was_held(s):  # a false start's "a bit tired" is no session's tone
            tone_rows.append({"session": s["id"], "date": local_day(s["started_at"]).isoformat(), "tone": score})
    return {
        "lexicon": {g: list(ws) for g, ws in w.FEELINGS.items()},
        "by_partner": {p: {g: {"count": r["count"], "words": dict(r["words"].most_common()), "sessions": r["sessions"]}
                           for g, r in sorted(groups[p].items(), key=lambda kv: -kv[1]["count"])}
                       for p in partners},
        "timeline": timeline,
        "tone": tone_rows,
        "trend": trend([r["tone"] for r in tone_rows]),
    }


def session_tone(session: dict[str, Any]) -> float | None:
    """The session's tone from its partners' answers (see ``words.tone``)."""
    return w.tone([t["answer"] for t in answered(session)])


def trend(values: list[float]) -> dict[str, Any]:
    """rising / falling / steady from the least-squares slope; None below three values."""
    n = len(values)
    if n < 3:
        return {"direction": None, "change": None, "sessions": n}
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values)) / sum((i - mean_x) ** 2 for i in range(n))
    change = slope * (n - 1)
    direction = "rising" if change >= TREND_THRESHOLD else "falling" if change <= -TREND_THRESHOLD else "steady"
    return {"direction": direction, "change": round(change, 3), "sessions": n}


def themes(sessions: list[dict[str, Any]], limit: int = THEME_LIMIT) -> dict[str, Any]:
    """Words and two-word phrases that come back across sessions, per kind of question; a
    theme's forms count as one (``words.theme_key``), shown as said most often."""
    out = {}
    for kind, _ in THEME_KINDS:
        where: dict[str, list[int]] = defaultdict(list)
        said: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for s in sessions:
            for term, answers in s["digest"]["themes"][kind].items():  # a term: the answers it is in
                key = w.theme_key(term)
                said[key] += answers
                forms[key][term] += answers
                if s["id"] not in where[key]:
                    where[key].append(s["id"])
        named = {key: min(found, key=lambda term: (-found[term], len(term), term)) for key, found in forms.items()}
        out[kind] = _top_terms(where, said, named, limit)
    return out


def _top_terms(where: dict[str, list[int]], said: Counter[str], named: dict[str, str],
               limit: int) -> list[dict[str, Any]]:
    """Most sessions first, then most answers; a phrase before its words when they tie; a word
    left out when a phrase holding it came from the very same answers (it says nothing more).
    ``where`` and ``said`` are by theme key, ``named`` the form each is shown as."""
    ranked = sorted(where.items(), key=lambda kv: (-len(kv[1]), -said[kv[0]], -kv[0].count(" "), named[kv[0]]))
    shown: list[dict[str, Any]] = []
    for key, ids in ranked:
        if " " not in key and any(key in row["key"].split() and row["sessions"] == ids
                                  and row["answers"] == said[key] for row in shown):
            continue
        shown.append({"key": key, "term": named[key], "sessions": ids, "count": len(ids), "answers": said[key]})
        if len(shown) == limit:
            break
    return [{k: v for k, v in row.items() if k != "key"} for row in shown]


def next_steps(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each planned next step and the first later session (within ``FOLLOW_WINDOW``) that followed it:
    its status "followed", "not followed", "pending" (sessions of the window are still to come)
    or "no later session".

    A session's words are its digest's ``stems``: the stemmed content words of its partners'
    answers (not those of both together, where the step itself is planned) and of its notes."""
    out = []
    for i, s in enumerate(sessions):
        step = (s.get("next_step") or "").strip()
        if plans_nothing(step):  # "I don't know" is no plan to follow, as Duet does not read it back
            continue
        wanted = {w.stem(word) for word in w.content_words(step)}
        row: dict[str, Any] = {"session": s["id"], "date": local_day(s["started_at"]).isoformat(), "step": step,
                               "followed_in": None, "followed_on": None, "matched": [], "status": "no later session"}
        later = list(range(i + 1, min(i + 1 + FOLLOW_WINDOW, len(sessions))))
        if later:  # "pending" while the window has sessions to come (found in a QA pass)
            row["status"] = "not followed" if len(later) == FOLLOW_WINDOW else "pending"
        need = max(1, math.ceil(len(wanted) / 2))
        for j in later:
            matched = wanted.intersection(sessions[j]["digest"]["stems"])
            if wanted and len(matched) >= need:
                said = sorted({word for word in w.content_words(step) if w.stem(word) in matched})  # not "trelli"
                row.update(followed_in=sessions[j]["id"], followed_on=local_day(sessions[j]["started_at"]).isoformat(),
                           matched=said, status="followed")
                break
        out.append(row)
    return out


# ---- search


def searched(session: dict[str, Any]) -> list[tuple[str, str | None, str | None, str]]:
    """What search reads of a session (``duet search`` and the report's filter box alike): each
    answer (kind, partner, question, text), then each note not cancelled."""
    items: list[tuple[str, str | None, str | None, str]] = [
        ("answer", t["partner"], t["question"], t["answer"]) for t in answered(session)]
    return items + [("note", None, None, n["text"]) for n in session.get("notes", []) if not n.get("cancelled")]


def search(sessions: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Answers and notes holding every word of the query (``words.holds``: case and accents
    aside, a word matches the start of a word, so "brush" finds "brushes"), oldest session first."""
    wanted = w.search_tokens(query)
    if not wanted:
        return []
    hits = []
    for s in chronological(sessions):
        day = local_day(s["started_at"]).isoformat()
        for kind, partner, question, text in searched(s):
            if w.holds(text, wanted):
                hits.append({"session": s["id"], "date": day, "kind": kind, "partner": partner,
                             "question": question, "text": text})
    return hits
