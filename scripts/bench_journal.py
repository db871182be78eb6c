"""Section 6 of the benchmarks: what the journal costs as it grows.

A journal of N sessions is built from one real session: the session is recorded through the
real ``Journal`` API (turns with word timings, notes, events, progress), then its file is copied
N times and N index entries are inserted through the journal's own TinyDB table in one write
(building 5,000 sessions answer by answer would take some 100,000 fsyncs). On that journal the
real API then opens, begins a session, records every answer, closes it, and reads sessions back.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section, Table, fmt, median, verdict  # noqa: E402

ANSWER = ("I feel calm and a little tired but I really want to finish the blue sky and the two "
          "trees on the left before lunch")


def _turn(seq: int, question: Any) -> Any:
    from assistant.session.records import Turn, TurnStatus

    words = [{"text": w, "start": round(0.4 * i, 3), "end": round(0.4 * i + 0.35, 3), "confidence": 0.93}
             for i, w in enumerate(ANSWER.split())]
    return Turn(seq=seq, phase=question.phase, partner=question.partner, question=question.text,
                answer=ANSWER, status=TurnStatus.ANSWERED, asked_at="2026-05-01T10:00:00+00:00",
                answered_at="2026-05-01T10:00:09+00:00", confidence=0.91, words=words)


def _record_session(journal: Any, config: Any, timings: dict[str, list[float]] | None = None) -> int:
    """One whole session through the API: every answer, 3 notes, the usual events, progress."""
    from assistant.session.engine import question_plan, rotate_roles
    from assistant.session.records import Note, SessionEvent

    roles = rotate_roles(config.partners, journal.last_leader())

    def timed(kind: str, call: Any) -> None:
        t0 = time.perf_counter()
        call()
        if timings is not None:
            timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    recorder = journal.begin(config.partners, roles, "2026-05-01T10:00:00+00:00", 2700.0)
    if timings is not None:
        timings.setdefault("begin", []).append((time.perf_counter() - t0) * 1000)
    plan = question_plan(config, roles)
    work = {"phase": "work", "next_seq": 4, "notes_taken": 0,
            "work": {"length": 2700.0, "elapsed": 0.0, "announced": []}}
    for seq, question in enumerate(plan):
        if question.phase == "debrief" and seq and plan[seq - 1].phase == "checkin":
            for k, kind in enumerate(["work started", "milestone", "pause", "resume", "milestone",
                                      "milestone", "debrief started"]):
                timed("event", lambda kind=kind: recorder.record_event(
                    SessionEvent(kind=kind, time="2026-05-01T10:10:00+00:00", detail={"k": k})))
                timed("progress", lambda: recorder.save_progress(work))
            for n in range(3):
                timed("note", lambda n=n: recorder.record_note(
                    Note(text=f"buy more cobalt blue and a wider brush, number {n}", at=600.0 + n,
                         time="2026-05-01T10:20:00+00:00")))
        timed("answer", lambda seq=seq, question=question: recorder.record_turn(_turn(seq, question)))
    t0 = time.perf_counter()
    recorder.close("done", {"ended_at": "2026-05-01T11:00:00+00:00", "worked": 2700.0,
                            "next_step": "finish the sky", "notes_taken": 3})
    if timings is not None:
        timings.setdefault("close", []).append((time.perf_counter() - t0) * 1000)
    return recorder.session_id


def _disk_bytes(paths: list[Path]) -> int:
    """Bytes on disk, each inode once (backups are hard links)."""
    seen, total = set(), 0
    for p in paths:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if st.st_ino not in seen:
            seen.add(st.st_ino)
            total += st.st_blocks * 512
    return total


def _disk_floor(folder: Path, payload: bytes, times: int) -> list[float]:
    """The disk's own cost of one durable replace: temp file, write, fsync, rename, fsync of the
    folder (what any crash-safe write needs), without TinyDB."""
    out = []
    target = folder / "floor.json"
    for _ in range(times):
        t0 = time.perf_counter()
        tmp = folder / "floor.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, payload)
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, target)
        dfd = os.open(folder, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _build(folder: Path, n: int, template_index: dict[str, Any], template_file: Path,
           dates: list[str] | None = None) -> Path:
    from tinydb.table import Document

    from assistant.journal import Journal

    path = folder / "journal.json"
    journal = Journal(path)
    leaders = template_index["partners"]
    docs = [Document(dict(template_index, leader=leaders[i % 2], logistics=leaders[(i + 1) % 2],
                          **({"started_at": dates[i - 1]} if dates else {})), doc_id=i)
            for i in range(1, n + 1)]
    journal.sessions.insert_multiple(docs)
    journal.folder.mkdir(mode=0o700, exist_ok=True)
    for i in range(1, n + 1):
        target = journal.session_file(i)
        shutil.copyfile(template_file, target)
        os.chmod(target, 0o600)
    journal.close()
    return path


def journal_sizes(sizes: list[int], repeats: int, reads: int) -> dict[str, Any]:
    from assistant.config import load_config
    from assistant.journal import Journal

    config = load_config()
    out: dict[str, Any] = {"sizes": []}
    with tempfile.TemporaryDirectory(prefix="duet-bench-journal-") as tmp:
        tmp_path = Path(tmp)
        template = Journal(tmp_path / "template" / "journal.json")
        sid = _record_session(template, config)
        index_doc = dict(template.sessions.get(doc_id=sid))
        template_file = template.session_file(sid)
        template.close()
        out["session_file_bytes"] = template_file.stat().st_size
        out["turns_per_session"] = len(Journal(tmp_path / "template" / "journal.json").get(sid)["turns"])
        paths = {}
        for n in sizes:
            folder = tmp_path / f"n{n}"
            folder.mkdir()
            t0 = time.perf_counter()
            paths[n] = _build(folder, n, index_doc, template_file)
            out["sizes"].append({"sessions": n, "build_s": time.perf_counter() - t0, "open_ms": [], "timings": {},
                                 "get_ms": [], "list_ms": []})
        floor: list[float] = []
        payload = template_file.read_bytes()
        for _ in range(repeats):  # round-robin over the sizes, so the machine's load hits all alike
            for entry in out["sizes"]:
                path = paths[entry["sessions"]]
                t0 = time.perf_counter()
                journal = Journal(path)
                entry["open_ms"].append((time.perf_counter() - t0) * 1000)
                _record_session(journal, config, entry["timings"])
                journal.close()
                floor += _disk_floor(tmp_path, payload, 11)
        for entry in out["sizes"]:
            n, path = entry["sessions"], paths[entry["sessions"]]
            journal = Journal(path)
            for k in range(reads):
                target = 1 + (k * 7919) % n
                t0 = time.perf_counter()
                session = journal.get(target)
                entry["get_ms"].append((time.perf_counter() - t0) * 1000)
                assert len(session["turns"]) == out["turns_per_session"]
            for _ in range(3):
                t0 = time.perf_counter()
                listed = journal.list_sessions()
                entry["list_ms"].append((time.perf_counter() - t0) * 1000)
            assert len(listed) == n + repeats
            journal.close()
            files = [path, path.with_name(path.name + ".bak"), *journal.folder.iterdir()]
            entry["index_bytes"] = path.stat().st_size
            entry["disk_bytes"] = _disk_bytes(files)
        out["floor_ms"] = floor
    return out


def _spread_dates(n: int) -> list[str]:
    """n session dates, 2 to 9 days apart (a fixed pattern), like a couple's calendar over years."""
    from datetime import datetime, timedelta, timezone

    day, out = datetime(2016, 1, 4, 10, tzinfo=timezone.utc), []
    for i in range(n):
        out.append(day.isoformat())
        day += timedelta(days=2 + (i * 7919) % 8)
    return out


def insights_timing(sessions: int, repeats: int) -> dict[str, Any]:
    """``duet insights --json`` and ``duet report`` on a journal of N sessions, as a user runs them
    (a fresh Python each time, startup and imports included), and where the time goes."""
    import resource
    import subprocess
    from datetime import date

    from assistant.config import load_config
    from assistant.journal import Journal
    from assistant.journal.insights import analyse
    from assistant.journal.report import render_report

    out: dict[str, Any] = {"sessions": sessions}
    with tempfile.TemporaryDirectory(prefix="duet-bench-insights-") as tmp:
        tmp_path = Path(tmp)
        template = Journal(tmp_path / "template" / "journal.json")
        sid = _record_session(template, load_config())
        index_doc = dict(template.sessions.get(doc_id=sid))
        template_file = template.session_file(sid)
        template.close()
        (tmp_path / "n").mkdir()
        path = _build(tmp_path / "n", sessions, index_doc, template_file, _spread_dates(sessions))
        env = {**os.environ, "PYTHONPATH": str(bc.ROOT)}
        for name, args in (("insights", ["insights", "--json"]), ("report", ["report", "-o", str(tmp_path / "r.html")]),
                           ("sessions", ["sessions", "--json"])):
            times, cpu = [], []
            for _ in range(repeats):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "assistant", *args, "--journal", str(path)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=bc.ROOT)
                times.append(time.perf_counter() - t0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            out[f"{name}_s"], out[f"{name}_cpu_s"] = times, cpu
        out["report_bytes"] = (tmp_path / "r.html").stat().st_size
        t = time.process_time()
        with Journal(path) as journal:
            journal.summaries()  # what `duet insights` reads: the index, with each session's digest
        t0 = time.process_time()
        with Journal(path) as journal:
            history = journal.history()
        t1 = time.process_time()
        result = analyse(history, date.today(), {s["id"]: s["tone"] for s in history if "tone" in s})
        t2 = time.process_time()
        render_report(history, result)
        t3 = time.process_time()
        out["parts_s"] = {"index": t0 - t, "read": t1 - t0, "analyse": t2 - t1, "render": t3 - t2}
    return out


def one_file_design(sizes: list[int], inserts: int) -> dict[str, Any]:
    """For comparison: every session in one TinyDB file (Duet's first design), one answer's cost."""
    from tinydb import TinyDB

    from assistant.journal.storage import DurableJSONStorage

    out = []
    with tempfile.TemporaryDirectory(prefix="duet-bench-onefile-") as tmp:
        turn = _turn(0, type("Q", (), {"phase": "checkin", "partner": "Alex", "text": "How are you?"})).to_json()
        for n in sizes:
            path = Path(tmp) / f"one{n}.json"
            turns = {str(i): dict(turn, session=i // 11) for i in range(1, n * 11 + 1)}
            DurableJSONStorage(path).write({"turns": turns})
            db = TinyDB(path, storage=DurableJSONStorage)
            times = []
            for _ in range(inserts):
                t0 = time.perf_counter()
                db.table("turns").insert(turn)
                times.append((time.perf_counter() - t0) * 1000)
            db.close()
            out.append({"sessions": n, "answer_ms": times, "bytes": path.stat().st_size})
    return {"one_file": out}


def section_6(quick: bool) -> Section:
    s = Section(6, "Journal")
    sizes = [10, 100, 1000] if quick else [10, 100, 1000, 5000]
    repeats = 2 if quick else 5
    data = bc.run_child("bench_journal", "journal_sizes", {"sizes": sizes, "repeats": repeats, "reads": 10},
                        timeout=600)
    compare = None if quick else bc.run_child("bench_journal", "one_file_design",
                                              {"sizes": [10, 100, 1000], "inserts": 3}, timeout=300)
    turns = data["turns_per_session"]
    s.method = [
        f"A real session (the default plan: {turns} answers with word timings, 3 notes, 7 events "
        f"with progress saves) is recorded through `Journal`/`SessionRecorder`; a journal of N "
        f"sessions is made of N copies of its file plus N index entries inserted through the "
        f"journal's TinyDB table. Then, on each journal in turn (round-robin, {repeats} round(s), so "
        f"the shared machine's load falls on every size alike), the real API opens it, begins a "
        f"new session, records every answer, note and event (each durable: temp file, fsync, "
        f"rename), and closes it; then reads sessions back with `get()` (10 reads) and "
        f"`list_sessions()` (3). Medians; times in ms.",
    ]
    table = Table("Journal operations by size (median ms; p90 in brackets for answers)",
                  ["sessions", "record one answer", "note", "event", "begin session", "close session",
                   "get() one session", "list_sessions()", "open journal", "index file", "on disk"])
    for entry in data["sizes"]:
        t = entry["timings"]
        table.rows.append([
            entry["sessions"], f"{median(t['answer']):.2f} ({bc.pct(t['answer'], 90):.2f})",
            fmt(median(t["note"])), fmt(median(t["event"])), fmt(median(t["begin"])), fmt(median(t["close"])),
            fmt(median(entry["get_ms"])), fmt(median(entry["list_ms"]), 1), fmt(median(entry["open_ms"]), 1),
            _size(entry["index_bytes"]), _size(entry["disk_bytes"])])
        if entry["sessions"] == 1000:
            answer = median(t["answer"])
            s.row("Record one answer, 1,000 sessions in the journal", "<= 5 ms", f"{answer:.2f} ms",
                  verdict(answer <= 5.0))
        else:
            s.row(f"Record one answer, {entry['sessions']:,} sessions", "(info)", f"{median(t['answer']):.2f} ms",
                  "info")
    for entry in data["sizes"]:
        s.row(f"Read back one session (get), {entry['sessions']:,} sessions", "(info)",
              f"{median(entry['get_ms']):.2f} ms", "info")
    s.tables.append(table)
    _insights_rows(s, quick)
    floor = data["floor_ms"]
    s.row("The disk alone: one durable replace of a session file (write, fsync, rename, fsync folder)",
          "(info)",
          f"{median(floor):.2f} ms (p90 {bc.pct(floor, 90):.2f})", "info")
    if compare:
        one = Table("For comparison: one TinyDB file for everything (the first design), one answer",
                    ["sessions", "record one answer (median ms)", "file"])
        for entry in compare["one_file"]:
            one.rows.append([entry["sessions"], fmt(median(entry["answer_ms"]), 1), _size(entry["bytes"])])
        s.tables.append(one)
        s.notes.append("TinyDB rewrites the whole file on every write, so with everything in one file an "
                       "answer costs time in proportion to the whole journal (table above). Duet keeps one "
                       "TinyDB file per session plus a small index, so an answer rewrites only its own "
                       "session's file: its cost does not grow with the number of sessions.")
    s.notes.append(f"One session's file is {_size(data['session_file_bytes'])} "
                   f"({turns} answers of {len(ANSWER.split())} words with word timings). Beginning and closing "
                   "a session rewrite the index, so they grow with the number of sessions; they happen "
                   "twice per session, not per answer.")
    return s


def _insights_rows(s: Section, quick: bool) -> None:
    """`duet insights` and `duet report` on 1,000 sessions, end to end."""
    data = bc.run_child("bench_journal", "insights_timing", {"sessions": 1000, "repeats": 1 if quick else 5},
                        timeout=900)
    for name, label, target in (("insights", "`duet insights --json`", 1.0), ("report", "`duet report`", 5.0)):
        wall, cpu = median(data[f"{name}_s"]), median(data[f"{name}_cpu_s"])
        s.row(f"{label}, 1,000 sessions (the whole command, as run)", f"<= {target:g} s",
              f"{wall:.2f} s ({cpu:.2f} s of CPU)", verdict(wall <= target))
    s.row("`duet sessions --json`, 1,000 sessions (Python startup and the index alone, for scale)", "(info)",
          f"{median(data['sessions_s']):.2f} s ({median(data['sessions_cpu_s']):.2f} s of CPU)", "info")
    parts = data["parts_s"]
    s.notes.append(
        f"Insights and report: a journal of 1,000 copies of the session above, 2 to 9 days apart (about "
        f"{1000 * 5.5 / 365:.0f} years of sessions), each command run as a user runs it (a fresh Python: startup "
        f"and imports included; on this shared machine wall time exceeds CPU time when others' work runs). "
        f"CPU inside: reading the index with every session's digest (all `duet insights` reads) "
        f"{parts['index']:.2f} s; reading every session whole (the report's transcripts) "
        f"{parts['read']:.2f} s (about 20 MB of JSON, mostly word timings), "
        f"the analysis {parts['analyse']:.2f} s, the page with its five charts {parts['render']:.2f} s "
        f"({data['report_bytes'] / 1e6:.1f} MB). Each session's digest (what insights need of its answers: words "
        "per partner, feeling words, themes, tone...) is made once when it closes and kept in the index, so "
        "`duet insights` reads the index alone; `duet report` also reads every session, for the transcripts.")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.1f} KB"


if __name__ == "__main__" and "--child" in sys.argv:
    bc.child_main({"journal_sizes": journal_sizes, "one_file_design": one_file_design,
                   "insights_timing": insights_timing})
