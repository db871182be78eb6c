"""The report in a real browser: headless Chromium (Debian ``chromium``) opens the file that
``duet report`` wrote, from a file:// URL, with no network.

Checks what a person would see: the text (names and answers holding HTML and quotes shown as
written, never run), every chart drawn (a sized SVG holding its data's labels), the filter box
narrowing the sessions, a phone-width layout with no sideways scrolling, the print layout, and
that the page asked for nothing but itself. Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest

from tests.helpers import config, rehearse_on
from tests.rig import ROOT
from tests.test_cli import duet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh --test)")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

ANA = 'Ana "<b>A</b>"'
BEN = "Ben & <i>Co</i> $2$"  # two dollars: a plotting library might read math
EVIL = "<script>window.pwned = 1</script> it's \"fine\" & $5"


def session(first_feel: str, well: str, hard: str, step: str) -> str:
    lines = [first_feel, "sketch the outline", "calm", "mix colours", well, hard, "happy",
             "we laughed", "the ladder wobbled", "calm and proud", step]
    return "".join(f"- say: {json.dumps(line)}\n" for line in lines)  # JSON is YAML


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    journal = folder / "journal.json"
    cfg = config(partners=[ANA, BEN])
    rehearse_on(journal, session("excited", "the blue sky", "cobalt blue ran out", "paint the clouds"),
                "2026-06-01", cfg)
    rehearse_on(journal, session("tired", "the blue sky and clouds", EVIL, "varnish"), "2026-06-09", cfg)
    rehearse_on(journal, session("nervous", "the clouds", "the uneven wall", "Done!"), "2026-06-16", cfg)
    out = folder / "report.html"
    result = duet("report", "-o", str(out), "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                       args=CHROMIUM_ARGS,
                                                       viewport={"width": 1100, "height": 900})
        yield context
        context.close()


@pytest.fixture
def opened(browser, page_file):
    """The report opened fresh, with every request and dialog it made."""
    page = browser.new_page()
    seen = {"requests": [], "dialogs": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda err: seen["errors"].append(str(err)))
    page.goto(page_file.as_uri())
    yield page, seen
    page.close()


def test_the_page_reads_right_and_asks_for_nothing(opened, page_file):
    page, seen = opened
    text = page.inner_text("body")
    assert f"Duet journal: {ANA} and {BEN}" in text
    assert EVIL in text  # shown as written
    assert page.evaluate("window.pwned") is None and not seen["dialogs"] and not seen["errors"]
    assert page.locator("b", has_text=re.compile("^A$")).count() == 0  # a name's markup is text, not bold
    assert page.locator("i", has_text=re.compile("^Co$")).count() == 0
    titles = page.locator("article.session h3").all_inner_texts()
    assert [t.split(":")[0] for t in titles] == ["Session 3", "Session 2", "Session 1"]  # newest first
    assert "Your next step" not in text and "Done!" in text
    assert seen["requests"] == [page_file.as_uri()]  # the file itself, nothing else


@pytest.mark.parametrize("chart,labels", [
    ("weeks", ["2026-W23", "2026-W24", "2026-W25", "sessions per week"]),
    ("minutes", ["#1 06-01", "#3 06-16", "planned", "worked", "minutes per session"]),
    ("voices", [ANA, BEN, "words"]),
    ("feelings", ["calm", "joyful", "anxious", "tone"]),
    ("themes", ["blue sky", "clouds", "what worked well", "what challenged you"]),
])
def test_each_chart_is_drawn_with_its_labels(opened, chart, labels):
    page, _ = opened
    svg = page.locator(f"#chart-{chart} svg")
    box = svg.bounding_box()
    assert box and box["width"] > 250 and box["height"] > 80
    assert svg.locator("path, rect, use").count() > 5
    drawn = " ".join(svg.locator("text").all_text_contents())
    for label in labels:
        assert label in drawn, (label, drawn)


def test_the_filter_box_narrows_the_sessions(opened):
    page, _ = opened
    visible = page.locator("article.session:visible")
    assert visible.count() == 3
    page.fill("#filter", "COBALT")
    assert visible.count() == 1 and "Session 1" in visible.first.inner_text()
    assert page.inner_text("#shown") == "1"
    page.fill("#filter", "blue sky")
    assert visible.count() == 2
    page.fill("#filter", "nothing-like-this")
    assert visible.count() == 0
    page.fill("#filter", "")
    assert visible.count() == 3


@pytest.mark.parametrize("query", ["ladders", "wobbling", "clouds", "art", "ana", "sky ladder", "blue sky",
                                   "COBALT", "the", "ran"])
def test_the_filter_box_finds_the_sessions_duet_search_finds(opened, page_file, query):
    """Found in a QA pass: the box matched the page's text, across answers ("ladder" + the next
    partner's name made "ladders" match once, where search found it in every session), and any
    partner's name or a word inside another ("art" in "start") matched every session."""
    page, _ = opened
    journal = page_file.parent / "journal.json"
    hits = json.loads(duet("search", query, "--json", "--journal", str(journal)).stdout)
    page.fill("#filter", query)
    shown = {int(t.split(":")[0].removeprefix("Session ")) for t in
             page.locator("article.session:visible h3").all_inner_texts()}
    assert shown == {h["session"] for h in hits}
    assert page.inner_text("#shown") == str(len(shown))


def test_phone_and_print_layouts_with_screenshots(browser, page_file):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    page.goto(page_file.as_uri())
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    chart = page.locator("#chart-weeks").bounding_box()
    assert chart and chart["width"] <= 390
    # a QA pass measured chart text 6 px high at this width: each chart now scrolls within its box
    smallest = page.evaluate("Math.min(...[...document.querySelectorAll('figure svg text')]"
                             ".map(t => t.getBoundingClientRect().height))")
    assert smallest >= 9, smallest
    # and table headers broke inside words ("skip|ped", "sessi|ons")
    assert set(page.evaluate("[...document.querySelectorAll('th')].map(t => getComputedStyle(t).overflowWrap)")) \
        == {"normal"}
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"))
    page.emulate_media(media="print")
    assert page.locator("#filter").is_hidden() and page.locator("article.session").first.is_visible()
    typed = "q => {const box = document.getElementById('filter'); box.value = q; box.dispatchEvent(new Event('input'));}"
    page.evaluate(typed, "cobalt")  # printed while it narrows the sessions, it says so (a QA pass)
    assert page.locator("#filter").is_visible() and page.inner_text(".filter small").startswith("1 of 3 shown")
    page.evaluate(typed, "")
    assert page.locator("#filter").is_hidden()
    page.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 20_000
    shutil.copyfile(page_file, ARTIFACTS / "report.html")  # the page itself, beside its pictures


def test_an_unbroken_answer_and_a_table_keep_to_a_phone_and_the_filter_folds_accents(browser, tmp_path):
    """Found in a QA pass: an answer without spaces made the page 47,396 px wide at 390 px, the
    "Quiet moments" table 487 px, and the filter box did not find "Zoë" for "zoe"."""
    journal = tmp_path / "journal.json"
    cfg = config(partners=["Ana", "Ben"])
    unbroken = "ochre" * 200
    rehearse_on(journal, session(unbroken, "Zoë's sign", "skip", "rest"), "2026-06-01", cfg)
    rehearse_on(journal, session("calm", "the clouds", "skip", "varnish"), "2026-06-08", cfg)
    out = tmp_path / "report.html"
    assert duet("report", "-o", str(out), "--journal", str(journal)).returncode == 0
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(out.as_uri())
    assert "Quiet moments" in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    visible = page.locator("article.session:visible")
    page.fill("#filter", "zoe")
    assert visible.count() == 1
    page.fill("#filter", "ça")  # accented: only with its accent ("calm" is no match)
    assert visible.count() == 0
    page.close()
