"""``duet report``: the whole journal as one self-contained HTML page.

One file that opens in any browser with no network: the style and the small filter script are
inline, the charts are inline SVG written by ``charts`` (text kept as text, so it scales, prints
and can be searched; matplotlib drew them once, at a second and a half for 1,000 sessions), and a
Content-Security-Policy forbids the page to load anything at all. Every name, question and answer
is HTML- (and in the charts XML-) escaped. A chart with nothing to draw is left out and the page
says why, so an empty journal gives a page that says so, not empty axes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from assistant.journal import charts, export
from assistant.journal import words as w
from assistant.journal.insights import Insights, searched
from assistant.session import phrasing

QUIET_SHOWN, STEPS_SHOWN, THEMES_CHARTED = 10, 20, 8
"""Quiet moments and next steps listed (the newest), themes of each kind charted (the first)."""
PALETTE = ["#3b6ea5", "#d9822b", "#5a9e6f", "#b8505a", "#7d6bb0", "#8a8a8a"]
SESSION_BARS = 40
"""Up to this many sessions, minutes are drawn per session; beyond, per week (or month, year)."""
MAX_BARS = 60
"""Most bars in a chart over time: beyond, weeks are grouped by month, then by year."""

CSS = """
:root{--ink:#222;--muted:#666;--line:#ddd;--accent:#3b6ea5;--bg:#fff}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);
 margin:0 auto;padding:1rem;max-width:60rem;line-height:1.5;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:.2rem 0}.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:.5rem;padding:.6rem}.card b{display:block;font-size:1.4rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem}
figure{margin:0;border:1px solid var(--line);border-radius:.5rem;padding:.5rem}
figcaption{font-weight:600;margin-bottom:.3rem}figure svg{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{text-align:left;padding:.25rem .4rem;
 border-bottom:1px solid var(--line);vertical-align:top}th{overflow-wrap:normal}
.filter{position:sticky;top:0;background:var(--bg);padding:.5rem 0;z-index:1}
.filter input{width:100%;font-size:1rem;padding:.5rem;border:1px solid #999;border-radius:.4rem}
article.session{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem;margin:.8rem 0}
article.session dl{display:grid;grid-template-columns:max-content 1fr;gap:0 .8rem;margin:.3rem 0}
article.session dt{color:var(--muted)}article.session dd{margin:0}
.turn{margin:.4rem 0}.turn q{display:block;margin:.1rem 0 0 1rem;padding-left:.6rem;border-left:3px solid var(--line);
 quotes:none}.skipped{color:var(--muted);font-style:italic}
@media (max-width:40rem){body{padding:.6rem}.charts{grid-template-columns:1fr}h1{font-size:1.3rem}
 figure{overflow-x:auto}figure svg{min-width:34rem}table{font-size:.85rem}td,th{padding:.2rem .25rem}}
@media print{.filter{display:none}.filter.on{display:block;position:static}body{max-width:none;padding:0}figure,article.session,.card{break-inside:avoid}
 h2{break-after:avoid}a{color:inherit;text-decoration:none}}
"""

SCRIPT = """
(function(){
  var STOP=new Set(%(stop)s),INFLECTIONS=%(inflections)s,UNSPACED=new RegExp(%(unspaced)s,'u');
  var WORD=/[\\p{L}\\p{N}]+(?:'[\\p{L}\\p{N}]+)*/gu;
  var box=document.getElementById('filter'),shown=document.getElementById('shown');
  var items=Array.prototype.slice.call(document.querySelectorAll('article.session'));
  function bare(t){return t.normalize('NFKD').replace(/\\p{M}/gu,'');}
  // each article's answers and notes, each as its words (words.search_tokens, made by Duet)
  var said=items.map(function(a){return a.dataset.said?a.dataset.said.split('|').map(function(item){
    var have=item.split(' ');return {have:have,bare:have.map(bare)};}):[];});
  function content(t){return !STOP.has(t)&&t.length>1&&!/^[0-9]+$/.test(t);}
  function bases(q){  // words.base_forms
    if(!/^[a-z]+$/.test(q))return [];
    for(var i=0;i<INFLECTIONS.length;i++){var end=INFLECTIONS[i][0];
      if(q.endsWith(end)&&!(end==='s'&&q.endsWith('ss'))){var stem=q.slice(0,-end.length);
        return INFLECTIONS[i][1].map(function(b){return stem+b;}).filter(function(f){return f.length>=3&&content(f);});}}
    return [];}
  function found(q,it){  // words.holds, for one word of the query
    var plain=bare(q);
    if(UNSPACED.test(q))return it.have.some(function(h,i){return h.indexOf(q)>=0||(plain===q&&it.bare[i].indexOf(q)>=0);});
    var forms=bases(q);
    return it.have.some(function(h,i){return h.startsWith(q)||(plain===q&&it.bare[i].startsWith(q))||it.bare[i]===plain||
      forms.some(function(f){return h.startsWith(f);});});}
  box.addEventListener('input',function(){
    var words=box.value.toLowerCase().replace(/\u00df/g,'ss').replace(/\u2019/g,"'").normalize('NFKC').match(WORD)||[],n=0;
    items.forEach(function(a,i){
      var ok=!words.length||said[i].some(function(it){return words.every(function(q){return found(q,it);});});
      a.hidden=!ok;if(ok)n++;});
    shown.textContent=n;
    box.parentNode.classList.toggle('on',words.length>0);  // printed while it narrows the sessions
  });
})();
"""
"""The filter box: a session shows when one of its answers or notes holds every word typed, by
``words.holds``' rule, so it finds the sessions ``duet search`` finds (a QA pass found it
matching the page's text across answers: "ladders" found 1 session where search found 8, and a
partner's name every session). The word lists it reads come from the same constants."""


def _script() -> str:
    return SCRIPT % {"stop": json.dumps(sorted(w.STOP_WORDS)), "inflections": json.dumps(w.INFLECTIONS),
                     "unspaced": json.dumps(w.UNSPACED.pattern)}


CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
       "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")


def e(value: object) -> str:
    return export.escape_html(value)


def render_report(sessions: list[dict[str, Any]], result: Insights, now: datetime | None = None,
                  since: date | None = None, plan: dict[str, Any] | None = None) -> str:
    """The page: summary, charts, patterns, then every session, newest first; ``since``: the
    first day the page covers (it says so: a part of the journal read as all of it misleads);
    ``plan``: the planned times and what became of them (``PlannedVsHeld.to_json``), if any."""
    now = now or datetime.now().astimezone()
    partners = list(result.voices["share"])
    title = "Duet journal" + (f": {_listed(partners)}" if partners else "")
    body = [f"<header><h1>{e(title)}</h1><p class=muted>Made {e(now.strftime('%Y-%m-%d %H:%M'))} from "
            f"{len(sessions)} session{'s' * (len(sessions) != 1)}"
            + (f" (those since {since.isoformat()} only)" if since else "")
            + "; nothing on this page comes from anywhere "
            "but the journal.</p></header>"]
    if not sessions and since:  # the journal may hold earlier ones (a QA pass was told "No sessions yet")
        body.append(f"<p>No sessions since {since.isoformat()}. Make the report without <code>--since</code> "
                    "to see the earlier ones.</p>")
    elif not sessions:
        body.append("<p>No sessions yet. Hold one with <code>duet run</code> (or try <code>duet rehearse</code>), "
                    "then make this report again.</p>")
    else:
        body += [_cards(result), _charts(result), _patterns(result), _plan(plan), _sessions(sessions)]
    return (f"<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<meta name=generator content={GENERATOR}>"
            f"<meta http-equiv=Content-Security-Policy content=\"{CSP}\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body)
            + (f"<script>{_script()}</script>" if sessions else "") + "\n</body></html>\n")


# ---- summary


GENERATOR = "duet-report"
"""Marks a page as Duet's report: ``duet report`` replaces such a file, and no other unasked."""
OLDER_REPORT = "nothing on this page comes from anywhere but the journal"
"""What every report before the mark said in its header."""


def is_report(path: Path) -> bool:
    """Whether ``path`` holds a page ``duet report`` wrote (so writing a new one loses nothing)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(1 << 18)
    except OSError:
        return False
    return f"<meta name=generator content={GENERATOR}>" in head or OLDER_REPORT in head


def _listed(names: list[str]) -> str:
    """'Alex and Sam'; 'Alex, Sam, Zoë and José' when the partners changed over the journal (a
    QA pass's title read 'Alex and Sam and Zoë and José')."""
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def _cards(result: Insights) -> str:
    r, trend = result.rhythm, result.feelings["trend"]
    followed = sum(row["status"] == "followed" for row in result.next_steps)
    due = sum(row["status"] in ("followed", "not followed") for row in result.next_steps)  # the newest can't be yet
    stopped = len(result.leadership["stopped_early"])
    share = r["worked_share_of_planned"]
    cards = [
        ("sessions", r["sessions"], f"in {r['weeks_with_sessions']} of {phrasing.counted(len(r['weeks']), 'week')}"
         + (f"; {stopped} more stopped in the check-in" if stopped else "")),
        ("hours worked", f"{r['minutes_worked'] / 60:.1f}", f"of {r['minutes_planned'] / 60:.1f} planned"
         + (f" ({share * 100:.0f} %)" if share is not None else "")),
        ("current streak", f"{r['streak']['current']['weeks']} wk", f"longest {r['streak']['longest']['weeks']} wk; "
         f"last session {phrasing.weeks_ago(r['last']['weeks_ago'])}"),
        ("interrupted", len(r["interrupted"]), f"{len(r['resumed'])} resumed"),
        ("next steps followed", f"{followed} of {due}", "see below"),
        ("tone", trend["direction"] or "-", "from answers (VADER)"),
    ]
    return "<section class=cards>" + "".join(
        f"<div class=card><span class=muted>{e(label)}</span><b>{e(value)}</b><small>{e(note)}</small></div>"
        for label, value, note in cards) + "</section>"


def _patterns(result: Insights) -> str:
    out = ["<h2>Patterns</h2>", "<h3>Leadership</h3><table><tr><th>partner</th><th>led</th><th>sessions</th></tr>"]
    out += [f"<tr><td>{e(p)}</td><td>{v['count']}</td><td>{e(_ids(v['sessions']))}</td></tr>"
            for p, v in result.leadership["led"].items()]
    out.append("</table>")
    for run in result.leadership["not_rotated"]:
        out.append(f"<p>No rotation: {e(run['leader'])} led sessions {e(_ids(run['sessions']))} ({e(run['why'])}).</p>")
    if stopped := result.leadership["stopped_early"]:
        out.append(f"<p>Stopped in the check-in, no turn to lead: {e(_ids(stopped))}.</p>")
    quiet = result.voices["quiet"]
    if quiet:
        out.append("<h3>Quiet moments</h3><table><tr><th>partner</th><th>question</th><th>skipped</th>"
                   "<th>no answer</th><th>sessions</th></tr>")
        out += [f"<tr><td>{e(q['partner'])}</td><td>{e(q['question'])}</td><td>{q['skipped']}</td>"
                f"<td>{q['unanswered']}</td><td>{e(_ids(q['sessions']))}</td></tr>" for q in quiet[:QUIET_SHOWN]]
        out.append("</table>" + _left_out(len(quiet) - QUIET_SHOWN, "more quiet moment"))
    if result.next_steps:
        out.append("<h3>Next steps</h3><table><tr><th>planned</th><th>step</th><th>what came of it</th></tr>")
        for row in reversed(result.next_steps[-STEPS_SHOWN:]):
            fate = (f"followed in session {row['followed_in']} ({row['followed_on']}; words: "
                    f"{', '.join(row['matched'])})" if row["status"] == "followed" else row["status"])
            out.append(f"<tr><td>{e(row['date'])} (session {row['session']})</td><td>{e(row['step'])}</td>"
                       f"<td>{e(fate)}</td></tr>")
        out.append("</table>" + _left_out(len(result.next_steps) - STEPS_SHOWN, "earlier next step"))
    return "\n".join(out)


def _left_out(hidden: int, what: str) -> str:
    """A line under a table that shows only some rows: how many more, and where all of them are
    (a re-check found the 11th quiet moment left out without a word)."""
    return (f"<p class=muted>... and {phrasing.counted(hidden, what)}: <code>duet insights --json</code> "
            "lists them all.</p>") if hidden > 0 else ""


PLAN_ROWS = 20
"""Planned times listed in the report, newest first (the counts cover them all)."""


def _plan(plan: dict[str, Any] | None) -> str:
    """Planned against held: the regular times the couple set themselves and how they kept them
    (a QA pass found the report without it, where ``duet insights`` has it)."""
    if plan is None:
        return ""
    rows, rules = plan["occurrences"], plan["rules"]
    counts = {s: sum(o["status"] == s for o in rows) for s in ("kept", "moved", "missed", "pending")}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n or status != "pending")
    out = [f"<h3>Planned times</h3><p>{phrasing.counted(len(rows), 'planned session')} so far: {e(summary)}; "
           f"{phrasing.counted(len(plan['unplanned']), 'unplanned session')}"
           + (f" ({e(_ids(plan['unplanned']))})" if plan["unplanned"] else "")
           + f". Kept: started within {rules['kept_within_minutes']:g} minutes of the plan; moved: within "
           f"{phrasing.counted(rules['moved_within_days'], 'day')}.</p>"]
    if rows:
        out.append("<table><tr><th>planned</th><th>what came of it</th></tr>")
        out += [f"<tr><td>{e(o['start'][:16].replace('T', ' '))}</td><td>{e(o['status'])}"
                + (f" (session {o['session']})" if o.get("session") else "") + "</td></tr>"
                for o in reversed(rows[-PLAN_ROWS:])]
        out.append("</table>")
        if len(rows) > PLAN_ROWS:
            out.append(f"<p class=muted>... and {len(rows) - PLAN_ROWS} earlier (all of them: "
                       "<code>duet schedule --history</code>)</p>")
    return "\n".join(out)


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids[:12])) + (f" and {len(ids) - 12} more" if len(ids) > 12 else "")


# ---- sessions


def _sessions(sessions: list[dict[str, Any]]) -> str:
    out = ["<h2 id=sessions>Sessions</h2>",
           "<div class=filter><input id=filter type=search placeholder='Filter sessions by any words' "
           "aria-label='Filter sessions'><small class=muted><span id=shown>"
           f"{len(sessions)}</span> of {len(sessions)} shown</small></div>"]
    for s in sorted(sessions, key=lambda s: (s["started_at"], s["id"]), reverse=True):
        out.append(_session(s))
    return "\n".join(out)


def _session(s: dict[str, Any]) -> str:
    said = "|".join(" ".join(w.search_tokens(text)) for *_, text in searched(s))
    out = [f"<article class=session id=session-{s['id']} data-said=\"{e(said)}\"><h3>Session {s['id']}: {e(export.local_time(s['started_at']))}"
           f"</h3><dl>"]
    out += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in export.header_lines(s)[1:]]
    out.append("</dl>")
    for title, turns in export._sections(s):
        if turns:
            out.append(f"<h4>{title}</h4>")
            for t in turns:
                answer = (f"<q>{e(t['answer'])}</q>" if t["status"] == "answered"
                          else f"<q class=skipped>({e(t['status'])})</q>")
                out.append(f"<div class=turn><b>{e(t['partner'])}</b>: <i>{e(t['question'])}</i>{answer}</div>")
    out += export.notes_html(s, "h4") + export.overheard_html(s, "h4")
    out.append("</article>")
    return "".join(out)


# ---- charts


def _charts(result: Insights) -> str:
    figures: list[tuple[str, str, Callable[[Insights], Any]]] = [
        ("weeks", "Sessions over time", _chart_weeks),
        ("minutes", "Minutes worked", _chart_minutes),
        ("voices", "Share of the words spoken", _chart_voices),
        ("feelings", "Feelings and tone", _chart_feelings),
        ("themes", "Top themes", _chart_themes),
    ]
    out, missing = ["<h2>Over time</h2><div class=charts>"], []
    for key, caption, draw in figures:
        svg = draw(result)
        if svg is None:
            missing.append(caption.lower())
            continue
        out.append(f"<figure id=chart-{key}><figcaption>{e(caption)}</figcaption>{svg}</figure>")
    out.append("</div>")
    if missing:
        out.append(f"<p class=muted>Not drawn yet, for want of answers: {e(', '.join(missing))}.</p>")
    return "\n".join(out)


def buckets(result: Insights) -> tuple[str, list[tuple[str, list[int]]]]:
    """Sessions by week, or by month or year when there are too many weeks to draw as bars:
    (unit, [(label, session ids)])."""
    weeks = result.rhythm["weeks"]
    if len(weeks) <= MAX_BARS:
        return "week", [(row["week"], row["sessions"]) for row in weeks]
    by_month: dict[str, list[int]] = {}
    for row in weeks:  # a week belongs to the month its Monday is in
        by_month.setdefault(row["monday"][:7], []).extend(row["sessions"])
    if len(by_month) <= MAX_BARS:
        return "month", list(by_month.items())
    by_year: dict[str, list[int]] = {}
    for month, ids in by_month.items():
        by_year.setdefault(month[:4], []).extend(ids)
    return "year", list(by_year.items())


def _slanted_room(labels: list[str]) -> float:
    """Height that labels slanted at 40 degrees need below an axis."""
    return 18 + 0.65 * max((charts.text_width(x) for x in labels), default=0)


def _chart_weeks(result: Insights) -> str | None:
    if not result.rhythm["weeks"]:
        return None
    unit, rows = buckets(result)
    labels = [label for label, _ in rows]
    c = charts.Canvas(600, 300, "weeks chart")
    charts.vertical_bars(c, (52, 14, 590, 300 - _slanted_room(labels)), labels,
                         [charts.Series("sessions", [len(ids) for _, ids in rows], PALETTE[0], one="session")],
                         f"sessions per {unit}", integer=True)
    return c.svg()


def _chart_minutes(result: Insights) -> str | None:
    per = result.rhythm["per_session"]
    if not per:
        return None
    unit = "session"
    if len(per) <= SESSION_BARS:
        labels = [f"#{p['session']} {p['date'][5:]}" for p in per]
        worked, planned = [p["worked"] for p in per], [p["planned"] for p in per]
    else:
        unit, rows = buckets(result)
        index = {p["session"]: p for p in per}
        labels = [label for label, _ in rows]
        worked = [round(sum(index[i]["worked"] for i in ids), 1) for _, ids in rows]
        planned = [round(sum(index[i]["planned"] for i in ids), 1) for _, ids in rows]
    c = charts.Canvas(600, 300, "minutes chart")
    series = [charts.Series("planned", planned, "#d6dde6"), charts.Series("worked", worked, PALETTE[2], 0.4)]
    charts.legend(c, 56, 12, series)
    charts.vertical_bars(c, (56, 26, 590, 300 - _slanted_room(labels)), labels, series, f"minutes per {unit}")
    return c.svg()


def _chart_voices(result: Insights) -> str | None:
    share = {p: s for p, s in result.voices["share"].items() if s is not None}
    if not share:
        return None
    words = result.voices["words"]
    names = list(share)
    left = 12 + max(charts.text_width(charts.short(p)) for p in names)
    c = charts.Canvas(600, 44 + 34 * len(names), "voices chart")
    charts.horizontal_bars(c, (left, 6, 470, 6 + 34 * len(names)), [charts.short(p) for p in names],
                           [charts.Series("share", [round(share[p] * 100, 1) for p in names], PALETTE[0],
                                          colors=PALETTE[: len(names)])],
                           "% of the words in answers", top_value=100,
                           ends=[[f"{share[p] * 100:.0f} % ({words[p]} words)" for p in names]])
    return c.svg()


def _chart_feelings(result: Insights) -> str | None:
    f = result.feelings
    groups = [g for g in f["lexicon"] if any(g in f["by_partner"][p] for p in f["by_partner"])]
    tone = f["tone"]
    if not groups and not tone:
        return None
    partners = list(f["by_partner"])
    height = max(240, 50 + len(groups) * (10 + 9 * len(partners)))
    c = charts.Canvas(650, height, "feelings chart")
    width = 650 / (int(bool(groups)) + int(bool(tone)))
    if groups:
        series = [charts.Series(charts.short(p, 20), [f["by_partner"][p].get(g, {}).get("count", 0) for g in groups],
                                PALETTE[k % len(PALETTE)]) for k, p in enumerate(partners)]
        charts.legend(c, 8, 12, series)
        charts.horizontal_bars(c, (78, 24, width - 14, height - 34), groups, series, "times named", integer=True)
    if tone:
        x0 = 650 - width
        direction = f["trend"]["direction"]
        c.text(x0 + width / 2 + 20, 12, f"trend: {direction}" if direction else "tone per session", anchor="middle")
        charts.line_chart(c, (x0 + 50, 24, 640, height - 16 - _slanted_room([f"#{t['session']}" for t in tone])),
                          [f"#{t['session']}" for t in tone], [t["tone"] for t in tone], PALETTE[3],
                          "tone of the answers (-1 .. +1)", -1.0, 1.0)
    return c.svg()


def _chart_themes(result: Insights) -> str | None:
    kinds = [(k, t, result.themes[k][:THEMES_CHARTED]) for k, t in (("worked_well", "what worked well"),
                                                     ("challenges", "what challenged you")) if result.themes[k]]
    if not kinds:
        return None
    rows_most = max(len(r) for _, _, r in kinds)
    height = 60 + 24 * rows_most
    c = charts.Canvas(650, height, "themes chart")
    width = 650 / len(kinds)
    for n, ((key, title, rows), color) in enumerate(zip(kinds, (PALETTE[2], PALETTE[1]))):
        x0 = n * width
        labels = [charts.short(r["term"], 24) for r in rows]
        left = x0 + min(width * 0.5, 10 + max(charts.text_width(x) for x in labels))
        c.text(x0 + width / 2, 12, title, anchor="middle", bold=True)
        charts.horizontal_bars(c, (left, 22, x0 + width - 36, 22 + 24 * len(rows)), labels,
                               [charts.Series("sessions", [r["count"] for r in rows], color, one="session")], "sessions",
                               ends=[[str(r["count"]) for r in rows]], integer=True)
    return c.svg()
