"""``duet rehearse --date``, ``duet insights``, ``duet search`` and ``duet report``, run as a user
runs them (subprocesses on a real journal)."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.test_cli import SCRIPT, duet
from tests.test_schedule import duet as duet_at


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """Two sessions rehearsed a week apart."""
    folder = tmp_path_factory.mktemp("dated")
    script = folder / "script.yaml"
    script.write_text(SCRIPT)
    journal = str(folder / "journal.json")
    first = duet("rehearse", str(script), "--date", "2026-05-04", "--journal", journal)
    second = duet("rehearse", str(script), "--date", "2026-05-12", "--journal", journal)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    return {"journal": journal, "folder": folder, "first": first.stdout, "second": second.stdout}


def test_rehearse_date_holds_the_session_on_that_day_and_celebrates(dated):
    rows = json.loads(duet("sessions", "--json", "--journal", dated["journal"]).stdout)
    assert [r["started_at"][:10] for r in rows] == ["2026-05-04", "2026-05-12"]
    assert "That was your first session together" in dated["first"]
    assert "That makes 2 weeks in a row with a session." in dated["second"]
    assert "Last time Alex said this worked well: we shared the brushes well." in dated["second"]


def test_rehearsals_dated_one_day_follow_one_another_and_the_lead_rotates(tmp_path):
    """Found in a QA pass: three rehearsals dated one day were all held at 10:00, none before
    another, so Alex led all three; and one dated today at 8:00 was held two hours ahead."""
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    journal = str(tmp_path / "journal.json")
    for day in ["2026-05-04"] * 3 + ["2026-12-07"]:
        held = duet_at("rehearse", str(script), "--date", day, "--journal", journal, now="2026-12-07T08:00")
        assert held.returncode == 0, held.stderr
    rows = json.loads(duet("sessions", "--json", "--journal", journal).stdout)
    starts = [datetime.fromisoformat(r["started_at"]) for r in rows]
    berlin = ZoneInfo("Europe/Berlin")  # the zone duet_at runs Duet in
    assert starts[0] == datetime(2026, 5, 4, 10, tzinfo=berlin)
    assert all(datetime.fromisoformat(a["ended_at"]) < b for a, b in zip(rows[:2], starts[1:3]))
    assert {s.astimezone(berlin).date().isoformat() for s in starts[:3]} == {"2026-05-04"}
    assert starts[3] == datetime(2026, 12, 7, 8, tzinfo=berlin)  # today, before 10:00: now
    assert [r["leader"] for r in rows] == ["Alex", "Sam", "Alex", "Sam"]


def test_sessions_are_listed_in_the_order_they_were_held(tmp_path):
    """Found in a QA pass: a session rehearsed with an earlier --date was listed last."""
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    journal = str(tmp_path / "journal.json")
    for day in ("2026-05-12", "2026-05-04"):
        assert duet("rehearse", str(script), "--date", day, "--journal", journal).returncode == 0
    rows = json.loads(duet("sessions", "--json", "--journal", journal).stdout)
    assert [(r["id"], r["started_at"][:10]) for r in rows] == [(2, "2026-05-04"), (1, "2026-05-12")]
    table = duet("sessions", "--journal", journal).stdout.splitlines()
    assert table[1].lstrip().startswith("2  2026-05-04") and table[2].lstrip().startswith("1  2026-05-12")


def test_insights_json_traces_every_figure_to_sessions(dated):
    result = duet("insights", "--json", "--journal", dated["journal"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sessions"] == [1, 2]
    assert [(w["week"], w["sessions"]) for w in data["rhythm"]["weeks"]] == [("2026-W19", [1]), ("2026-W20", [2])]
    assert data["leadership"]["led"] == {"Alex": {"count": 1, "sessions": [1]}, "Sam": {"count": 1, "sessions": [2]}}
    assert {t["term"]: t["sessions"] for t in data["themes"]["challenges"]}["mixing colours"] == [1, 2]
    later = json.loads(duet("insights", "--json", "--since", "2026-05-10", "--journal", dated["journal"]).stdout)
    assert later["sessions"] == [2]
    text = duet("insights", "--journal", dated["journal"]).stdout
    assert "Rhythm" in text and "longest streak         2 weeks, 2026-W19 to 2026-W20" in text
    assert "\n  last session           2026-05-12, " in text and " ago [2]\n" in text  # how long since
    assert "\n  quiet moment, Sam: \"What worked well?\" 1 skipped [1]\n" in text  # not "Sam left ...": blame
    later = duet("insights", "--since", "2026-06-01", "--journal", dated["journal"]).stdout
    assert later == f"No sessions since 2026-06-01 in {dated['journal']}.\n"  # not "run duet run first"
    one = duet("insights", "--since", "2026-05-10", "--journal", dated["journal"]).stdout
    assert one.startswith("Duet insights: 1 session, 2026-W20 (as of")  # not "2026-W20 to 2026-W20"
    assert "longest streak         1 week, 2026-W20\n" in one
    assert [line for line in (text + one).splitlines() if line != line.rstrip()] == []  # a QA pass found "0 " rows


def test_search_gives_session_date_partner_and_question(dated):
    hits = json.loads(duet("search", "cobalt", "--json", "--journal", dated["journal"]).stdout)
    assert [(h["session"], h["date"], h["kind"], h["text"]) for h in hits] == [
        (1, "2026-05-04", "note", "buy more cobalt blue"), (2, "2026-05-12", "note", "buy more cobalt blue")]
    text = duet("search", "shared", "brushes", "--journal", dated["journal"]).stdout
    assert "session 1  2026-05-04  Alex, What worked well?" in text and "2 found in 2 sessions." in text


def test_report_is_written_private(dated):
    out = dated["folder"] / "report.html"
    result = duet("report", "-o", str(out), "--journal", dated["journal"])
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    page = out.read_text()
    assert page.count("<article class=session") == 2 and page.count("<figure") == 5
    # the newest session's next step has had no later session to be followed in, the one before
    # only one of the two that may follow it (pending, unless followed): neither is counted
    steps = json.loads(duet("insights", "--json", "--journal", dated["journal"]).stdout)["next_steps"]
    followed = sum(row["status"] == "followed" for row in steps)
    assert [row["status"] for row in steps] in (["pending", "no later session"], ["followed", "no later session"])
    assert f"<span class=muted>next steps followed</span><b>{followed} of {followed}</b>" in page


def test_a_report_of_part_of_the_journal_says_so(dated):
    out = dated["folder"] / "since.html"
    assert duet("report", "-o", str(out), "--since", "2026-05-10", "--journal", dated["journal"]).returncode == 0
    assert "from 1 session (those since 2026-05-10 only);" in out.read_text()


def test_report_replaces_an_earlier_report_and_no_other_file_unasked(dated):
    out = dated["folder"] / "again.html"
    assert duet("report", "-o", str(out), "--journal", dated["journal"]).returncode == 0
    assert duet("report", "-o", str(out), "--journal", dated["journal"]).returncode == 0  # made anew
    other = dated["folder"] / "letter.html"
    other.write_text("<p>our own page</p>")
    refused = duet("report", "-o", str(other), "--journal", dated["journal"])
    assert refused.returncode == 2 and "exists and is not a Duet report: add --force" in refused.stderr
    assert other.read_text() == "<p>our own page</p>" and len(refused.stderr.strip().splitlines()) == 1
    assert duet("report", "-o", str(other), "--force", "--journal", dated["journal"]).returncode == 0
    assert "<meta name=generator content=duet-report>" in other.read_text()
    folder = duet("report", "-o", str(dated["folder"]), "--journal", dated["journal"])
    assert folder.returncode == 2 and "is a folder: give a file name in it with -o" in folder.stderr


def test_an_empty_journal_says_so(tmp_path, dated):
    journal = str(tmp_path / "journal.json")
    assert "No sessions" in duet("insights", "--journal", journal).stdout
    result = duet("report", "-o", str(tmp_path / "r.html"), "--journal", journal)
    assert result.returncode == 0 and "No sessions yet" in (tmp_path / "r.html").read_text()
    # a journal with none in the period is not empty (a QA pass was told "No sessions yet")
    later = duet("report", "-o", str(tmp_path / "later.html"), "--since", "2026-06-01", "--journal", dated["journal"])
    page = (tmp_path / "later.html").read_text()
    assert later.returncode == 0 and "No sessions since 2026-06-01." in page and "yet" not in page


@pytest.mark.parametrize("args,expected", [
    (["rehearse", "SCRIPT", "--date", "May 4"], "'May 4' is not a day: write it as YYYY-MM-DD"),
    (["rehearse", "SCRIPT", "--date", "2062-05-04"], "--date 2062-05-04 is still to come"),  # a typo for 2026
    (["rehearse", "SCRIPT", "--date", "0001-01-01"], "--date 0001-01-01 is before 1970"),
    (["search", "?!"], "search for at least one word"),
    (["report", "-o", "/nonexistent/dir/r.html"], "cannot write /nonexistent/dir/r.html"),
])
def test_bad_input_is_one_line_and_exit_2(dated, args, expected):
    args = [str(dated["folder"] / "script.yaml") if a == "SCRIPT" else a for a in args]
    result = duet(*args, "--journal", dated["journal"])
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_text_says_when_a_list_is_cut_short(tmp_path):
    """The text shows the last eight next steps (the JSON and the report all): it says how many
    more there are, where it once left them out without a word."""
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    journal = str(tmp_path / "journal.json")
    for day in range(1, 11):
        assert duet("rehearse", str(script), "--date", f"2026-05-{day:02d}", "--journal", journal).returncode == 0
    text = duet("insights", "--journal", journal)
    assert text.returncode == 0, text.stderr
    steps = text.stdout.split("Next steps")[1]
    assert "... and 2 earlier (all of them: duet insights --json, or duet report)" in steps
    assert steps.count("paint the clouds") == 8
    # one more step is shown, not hidden behind a line of its own (a QA pass)
    nine = duet("insights", "--since", "2026-05-02", "--journal", journal).stdout.split("Next steps")[1]
    assert "earlier" not in nine and nine.count("paint the clouds") == 9


def test_the_current_streak_reaches_back_past_since(dated):
    """The current streak is a fact about today: with --since inside it, a QA pass was told 3
    weeks where the couple's recap had said 4. The longest is at least as long."""
    args = ("--journal", dated["journal"], "--json")
    whole = json.loads(duet_at("insights", *args, now="2026-05-13T12:00").stdout)["rhythm"]["streak"]
    part = json.loads(duet_at("insights", "--since", "2026-05-10", *args, now="2026-05-13T12:00").stdout)["rhythm"]["streak"]
    assert whole["current"] == part["current"] == {"weeks": 2, "from": "2026-W19", "to": "2026-W20", "sessions": [1, 2]}
    assert part["longest"] == part["current"]  # never shorter than the current one (a re-check)
    lapsed = duet_at("insights", "--journal", dated["journal"], now="2026-07-01T12:00").stdout
    assert "\n  current streak         none\n" in lapsed  # not "0 weeks"


NOTE_CANCELLED = """\
- say: calm
- say: paint the sky
- say: fine
- say: mix the blues
- {at: '2:00', say: take a note}
- say: buy more ochre paint
- {at: '3:00', say: take a note}
- say: call the garden centre about compost
- {at: '3:10', say: cancel that}
- {at: '6:00', say: start the debrief}
"""


def test_a_cancelled_note_is_shown_struck_out_and_not_found(tmp_path):
    """Found in a QA pass: a note put back by "cancel that" was listed, exported and found by
    search as any other, though the recap said "took 1 note"."""
    script = tmp_path / "script.yaml"
    script.write_text(NOTE_CANCELLED)
    journal = str(tmp_path / "journal.json")
    assert duet("rehearse", str(script), "--work", "10", "--date", "2026-05-04", "--journal", journal).returncode == 0
    shown = duet("show", "last", "--journal", journal).stdout
    assert "buy more ochre paint\n" in shown and "call the garden centre about compost (cancelled)" in shown
    md = duet("export", "last", "--format", "md", "--journal", journal).stdout
    assert "~~call the garden centre about compost~~ (cancelled)" in md
    notes = json.loads(duet("export", "last", "--format", "json", "--journal", journal).stdout)["notes"]
    assert [(n["text"], n["cancelled"]) for n in notes] == [
        ("buy more ochre paint", False), ("call the garden centre about compost", True)]
    assert "Nothing" in duet("search", "compost", "--journal", journal).stdout
    assert "1 found" in duet("search", "ochre", "--journal", journal).stdout


def test_a_session_stopped_in_its_check_in_is_a_false_start_not_a_session_held(tmp_path):
    """Found in QA passes: a session stopped in its check-in was counted as led (Alex led the
    next one too), kept the planned time over the session held a minute later (then called
    unplanned), added planned minutes, plotted its one answer as the lowest tone, and used up one
    of a next step's two chances to be followed."""
    stopped, whole = tmp_path / "stop.yaml", tmp_path / "script.yaml"
    stopped.write_text("- say: calm\n- say: stop the session\n- say: 'yes'\n")
    whole.write_text(SCRIPT)
    journal = str(tmp_path / "journal.json")
    now = "2026-05-12T12:00"
    assert duet_at("schedule", "add", "monday 10:00", "--every", "week", "--journal", journal,
                   now="2026-05-01T09:00").returncode == 0
    for script, day in ((whole, "2026-05-04"), (stopped, "2026-05-11"), (whole, "2026-05-11")):
        held = duet_at("rehearse", str(script), "--date", day, "--journal", journal, now=now)
        assert held.returncode == 0, held.stderr
        assert "\nSession 2 stopped; saved in" in held.stdout or script == whole
    # the couple's word, not "aborted" (a QA pass found it harsh); --json keeps the stored one. A
    # false start says where it stopped: it led no turn (a QA pass counted it among the leaders)
    table = duet_at("sessions", "--journal", journal, now=now).stdout.splitlines()
    assert table[2].endswith("  stopped in the check-in") and table[3].endswith("  done"), table
    assert "  Status:    stopped in the check-in\n" in duet_at("show", "2", "--journal", journal, now=now).stdout
    assert json.loads(duet_at("sessions", "--json", "--journal", journal, now=now).stdout)[1]["status"] == "aborted"
    data = json.loads(duet_at("insights", "--json", "--journal", journal, now=now).stdout)
    lead = data["leadership"]
    assert lead["led"] == {"Alex": {"count": 1, "sessions": [1]}, "Sam": {"count": 1, "sessions": [3]}}
    assert lead["stopped_early"] == [2] and lead["not_rotated"] == []
    assert data["rhythm"]["sessions"] == 2 and data["rhythm"]["minutes_planned"] == 2 * 45
    assert [row["session"] for row in data["feelings"]["tone"]] == [1, 3]
    assert 2 in {row["session"] for row in data["feelings"]["timeline"]}  # what was said still counts
    assert [(row["session"], row["status"]) for row in data["next_steps"]] == [(1, "pending"), (3, "no later session")]
    history = json.loads(duet_at("schedule", "--history", "--json", "--journal", journal, now=now).stdout)
    assert [(o["session"], o["status"]) for o in history["occurrences"]] == [(1, "kept"), (3, "kept")]
    assert history["unplanned"] == []
    text = duet_at("insights", "--journal", journal, now=now).stdout
    assert "  Alex                   led 1 [1]\n  Sam                    led 1 [3]\n" \
           "  stopped in the check-in, no turn to lead [2]\n" in text
    assert "\n\nPlan (duet schedule)\n  planned sessions so far  2: kept 2, moved 0, missed 0\n" in text
    assert text.startswith("Duet insights: 2 sessions (1 more stopped in the check-in), 2026-W19 to 2026-W20")
    page = tmp_path / "report.html"
    assert duet_at("report", "-o", str(page), "--journal", journal, now=now).returncode == 0
    assert ("<h3>Planned times</h3><p>2 planned sessions so far: 2 kept, 0 moved, 0 missed; 0 unplanned sessions. "
            "Kept: started within 60 minutes of the plan; moved: within 2 days.</p>") in page.read_text()
    assert "<td>2026-05-11 10:00</td><td>kept (session 3)</td>" in page.read_text()
    assert "in 2 of 2 weeks; 1 more stopped in the check-in</small>" in page.read_text()
    assert "of 1.5 planned (" in page.read_text()  # "8.8 of 8.8 planned" read as all of it (a QA pass)


def test_the_plan_section_says_when_it_shows_only_the_latest_times():
    """Found in a QA pass: "planned sessions so far 11" listed 6 dates and did not say so."""
    from assistant.cli.insights import render_plan

    rows = [{"start": f"2026-10-{day:02d}T10:00:00+00:00", "status": "kept", "session": i}
            for i, day in enumerate(range(1, 29, 3), 1)]
    text = render_plan({"occurrences": rows, "unplanned": []})
    assert "  ... and 4 earlier (all of them: duet schedule --history)\n  2026-10-13 10:00  kept     session 5\n" in text
    assert "earlier" not in render_plan({"occurrences": rows[:6], "unplanned": []})


def test_a_theme_of_one_endless_word_is_cut_in_the_text(tmp_path):
    """A QA pass's 700-letter "word" was a top theme, printed whole on one line (the report cut it)."""
    script = tmp_path / "long.yaml"
    endless = "ochre" * 140
    script.write_text(SCRIPT.replace('"we shared the brushes well"', f'"{endless}"')
                      .replace('"mixing colours"', f'"{endless}"'))
    journal = str(tmp_path / "journal.json")
    assert duet("rehearse", str(script), "--journal", journal).returncode == 0
    text = duet("insights", "--journal", journal).stdout
    assert endless not in text and "ochreochre" in text
    assert max(len(line) for line in text.splitlines()) < 120


def test_feeling_words_past_three_are_counted_not_dropped():
    """A QA pass missed "peaceful": the fourth word a feeling was named with was cut without a sign."""
    from assistant.cli.insights import _feeling_words

    assert _feeling_words({"words": {"calm": 3, "content": 1}}) == "calm, content"
    assert _feeling_words({"words": {"calm": 3, "content": 1, "relaxed": 1, "peaceful": 1}}) == \
        "calm, content, relaxed and 1 other"


def test_dash_as_the_output_is_stdout(dated, tmp_path):
    """A QA pass's "-o -" wrote a file named "-": it is stdout, as for most tools."""
    page = duet("report", "-o", "-", "--journal", dated["journal"], cwd=tmp_path)
    assert page.returncode == 0 and page.stdout.startswith("<!doctype html>"), page.stderr
    md = duet("export", "last", "-o", "-", "--journal", dated["journal"], cwd=tmp_path)
    assert md.returncode == 0 and md.stdout.startswith("# Duet session 2"), md.stderr
    assert not (tmp_path / "-").exists()
