#!/usr/bin/env python3
"""Tune the command spotter on section 3's corpus without decoding everything again.

    python scripts/spot_sweep.py collect readings.pkl [--quick]   # Whisper once (slow)
    python scripts/spot_sweep.py replay readings.pkl [--quick] [--set agree_word=0.8 ...]

To store Moonshine's scores of the 8 phrases nearest every reading without changing a decision
(for ``spot_judge.py``): ``collect ... --set rescore=8 rescore_within=1 forced=1``.

``collect`` runs section 3's spotter path (the real ``Listener`` over every command clip, talk
stretch, sound-alike stretch and real-people clip) and stores Whisper's two readings of every
utterance offered to the spotter, keyed by its audio. ``replay`` runs the same path again with
those readings (any utterance not stored is decoded), so ``CommandSpotter.judge``'s settings can
be swept in about 10 minutes on two cores (the collection takes about 35). ``--dump`` keeps
every result, with each clip's verdicts (why it was taken or turned down): reading the misses
one by one is how the last repairs were found. A development aid: the figures that count are section 3's.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_speech as bs  # noqa: E402

_CACHE: dict[str, Any] = {}
_NEW: dict[str, Any] = {}
_COST = [0.0]
_USED: list[str] = []


class _Clock:
    """``time`` for bench_speech: perf_counter also counts the stored decoding time."""

    @staticmethod
    def perf_counter() -> float:
        return time.perf_counter() + _COST[0]

    process_time = staticmethod(time.process_time)


def _init(engine: str, cache_path: str, settings: dict[str, Any], replay: bool) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if replay and cache_path:
        with open(cache_path, "rb") as f:
            _CACHE.update(pickle.load(f))
        from assistant.speech import listener

        bs.time = listener.time = _Clock  # decoding time as stored, not the lookup's
    from assistant.speech import spotter as sp

    for name in ("PAD_SECONDS", "MAX_TOKENS", "PROMPT_JOIN"):  # experiments: SPOT_PAD_SECONDS=3 ...
        if os.environ.get(f"SPOT_{name}"):
            value = os.environ[f"SPOT_{name}"]
            setattr(sp, name, value if name == "PROMPT_JOIN" else int(value))
    if os.environ.get("SPOT_MOONSHINE_PAD"):  # seconds of silence around Moonshine's audio
        from assistant.speech import asr_moonshine

        asr_moonshine.PAD_SECONDS = float(os.environ["SPOT_MOONSHINE_PAD"])
    if os.environ.get("SPOT_QUICK_SILENCE"):  # SPOT_QUICK_SILENCE=0.21: the verdict taken sooner
        from assistant.speech import listener as ls

        ls.Listener.__init__.__kwdefaults__["quick_silence"] = float(os.environ["SPOT_QUICK_SILENCE"])
    if os.environ.get("SPOT_ENGINE"):  # SPOT_ENGINE=moonshine: the spotter on another engine
        sp.ENGINE = os.environ["SPOT_ENGINE"]
    if os.environ.get("SPOT_SPECULATE_AFTER"):  # SPOT_SPECULATE_AFTER=0.25: decide at quick_silence
        from assistant.speech import listener as ls

        ls.SPECULATE_AFTER = float(os.environ["SPOT_SPECULATE_AFTER"])
    bs._worker_init(engine)
    spotter = bs._WORKER["recognizer"].inner
    if settings:
        from dataclasses import replace

        spotter.settings = replace(spotter.settings, **settings)
    real = spotter._readings

    def readings(pcm: bytes) -> Any:
        key = hashlib.sha1(pcm).hexdigest()
        _USED.append(key)
        if key in _CACHE:
            value, cost = _CACHE[key]
            _COST[0] += cost
            return value
        t0 = time.perf_counter()
        value = real(pcm)
        _NEW[key] = _CACHE[key] = (value, time.perf_counter() - t0)
        return value

    spotter._readings = readings
    real_scores = spotter._phrase_scores

    def phrase_scores(pcm: bytes, phrases: list[str], leads: int = 0) -> dict[str, float]:
        # stored as "scores:<key>" -> ({phrase: score}, cost); new phrases need the audio heard
        # (weighing, with ``leads``, as "weighed:<key>": its forms and pruning are its own)
        if leads:
            return weighed(pcm, phrases, leads)
        key = "scores:" + hashlib.sha1(pcm).hexdigest()
        stored, cost = _CACHE.get(key, ({}, 0.0))
        missing = [p for p in phrases if p not in stored]
        if missing:
            t0 = time.perf_counter()
            real(pcm)  # the reader scores the utterance it read last
            stored = {**stored, **real_scores(pcm, missing)}
            cost += time.perf_counter() - t0
            _NEW[key] = _CACHE[key] = (stored, cost)
        else:
            _COST[0] += cost
        return {p: stored[p] for p in phrases}

    def weighed(pcm: bytes, phrases: list[str], leads: int) -> dict[str, float]:
        key = weighed_key(hashlib.sha1(pcm).hexdigest(), phrases)
        if key in _CACHE:
            stored, cost = _CACHE[key]
            _COST[0] += cost
            return stored
        t0 = time.perf_counter()
        real(pcm)
        stored = real_scores(pcm, phrases, leads)
        _NEW[key] = _CACHE[key] = (stored, time.perf_counter() - t0)
        return stored

    spotter._phrase_scores = phrase_scores


def settings_from(args: list[str]) -> dict[str, float | tuple[float, ...]]:
    """Spotter settings from ``name=value`` arguments; a value with commas is a tuple
    (``shifted=0.01,0.02``, or ``shifted=`` for none)."""
    def value(text: str) -> float | tuple[float, ...]:
        return tuple(float(x) for x in text.split(",") if x) if "," in text or not text else float(text)

    return {name: value(text) for name, text in (a.split("=", 1) for a in args)}


def weighed_key(audio: str, phrases: list[str]) -> str:
    """Where weighing's scores of one utterance (``audio``: its key) are stored."""
    return f"weighed:{audio}:{hashlib.sha1(repr(phrases).encode()).hexdigest()}"


def _spot(task: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    _NEW.clear()
    _USED.clear()
    out = bs._spot(task)
    return out | {"keys": list(_USED)}, dict(_NEW)


def _chatter(task: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    _NEW.clear()
    _USED.clear()
    out = bs._chatter(task)
    return out | {"keys": list(_USED)}, dict(_NEW)


def run(corpus: dict[str, Any], cache_path: str, settings: dict[str, Any], replay: bool,
        workers: int = 2) -> dict[str, Any]:
    """Section 3's spotter results on ``corpus``; new readings are added to the cache file as
    they come (a long collection can be stopped and resumed)."""
    cache: dict[str, Any] = {}
    if Path(cache_path).exists():
        cache = pickle.loads(Path(cache_path).read_bytes())
    results: dict[str, Any] = {}
    for engine, key, func, tasks in (("spotter", "chatter", _chatter, corpus["chatter_tasks"]),
                                     ("spotter", "alike", _chatter, corpus["alike_tasks"]),
                                     ("spotter", "spotted", _spot, corpus["tasks"]),
                                     ("spotter-real", "real", _spot, corpus["real_tasks"])):
        t0 = time.perf_counter()
        out = []
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_init,
                                    initargs=(engine, cache_path, settings, replay)) as pool:
            for n, (result, new) in enumerate(pool.map(func, [dict(t) for t in tasks], chunksize=2), 1):
                out.append(result)
                cache.update(new)
                if new and n % 40 == 0:
                    Path(cache_path).write_bytes(pickle.dumps(cache))
                    print(f"  {key}: {n}/{len(tasks)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
                          flush=True)
        results[key] = out
        print(f"{key}: {len(tasks)} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        Path(cache_path).write_bytes(pickle.dumps(cache))
    return results


def summary(results: dict[str, Any], corpus: dict[str, Any]) -> list[str]:
    """The figures section 3 reports for the spotter, as lines."""
    lines = []
    cells = []
    for cond, _ in bs.CONDITIONS:
        rows = [t for t in results["spotted"] if t["condition"] == cond]
        ok = sum(bs.recognized(t) for t in rows)
        wrong = sum(1 for t in rows if t["intent_got"] and not bs.recognized(t))
        cells.append(f"{cond} {ok / len(rows):.1%} (wrong {wrong})")
    lines.append("recall: " + ", ".join(cells))
    real = results.get("real") or []
    if real:
        cells = []
        for cond, _ in bs.CONDITIONS:
            rows = [t for t in real if t["condition"] == cond]
            if rows:
                cells.append(f"{cond} {sum(t['intent_got'] == t['intent'] for t in rows) / len(rows):.0%}")
        lines.append("real people: " + ", ".join(cells))
    chatter = results["chatter"]
    minutes = sum(c["seconds"] for c in chatter) / 60
    fired = [f for c in chatter for f in c["fired"]]
    lines.append(f"false: {len(fired)} in {minutes:.1f} min = {len(fired) / minutes * 60:.1f} /h, "
                 f"upper {bs._poisson_upper(len(fired)) / minutes * 60:.1f} /h")
    ignored = [f for c in chatter for f in c.get("ignored", [])]
    lines.append(f"ignored yes: {len(ignored)}")
    for f in fired:
        lines.append(_shown(f))
    if results.get("alike"):
        alike = [f for c in results["alike"] for f in c["fired"]]
        said = sum(len(c["names"]) for c in results["alike"])
        lines.append(f"sound-alike talk: {len(alike)} of {said} utterances taken")
        for f in alike:
            lines.append(_shown(f, "alike "))
    for label, key in (("decision ready", "ready"), ("Duet acts", "latency")):
        lat = sorted(t[key] for t in results["spotted"] if bs.recognized(t) and t.get(key) is not None)
        if lat:
            lines.append(f"{label}: median {bs.median(lat) * 1000:.0f} ms, p95 {bs.bc.pct(lat, 95) * 1000:.0f} ms")
    return lines


def _shown(fired: dict[str, Any], kind: str = "") -> str:
    """One false command as a line: what it was taken for, what was read, and the line said."""
    return f"   {kind}{fired['intent']}: {fired['text']!r} heard {fired['heard']!r} (said {fired.get('said')!r})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["collect", "replay"])
    ap.add_argument("cache")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], help="spotter settings, name=value")
    ap.add_argument("--dump", help="write every result as a pickle here")
    ap.add_argument("--every", type=int, default=1, help="only every n-th command clip (a sample)")
    ap.add_argument("--talk", type=int, default=0, help="only the first n talk stretches")
    args = ap.parse_args()
    settings = settings_from(args.set)
    corpus = bs.spot_tasks(args.quick)
    corpus["tasks"] = corpus["tasks"][:: args.every]
    if args.talk:
        corpus["chatter_tasks"] = corpus["chatter_tasks"][: args.talk]
        corpus["alike_tasks"] = corpus["alike_tasks"][: args.talk]
    n = len(bs.CONDITIONS)
    corpus["real_tasks"] = [t for i, t in enumerate(corpus["real_tasks"]) if (i // n) % args.every == 0]
    results = run(corpus, args.cache, settings, args.mode == "replay")
    if args.dump:
        Path(args.dump).write_bytes(pickle.dumps(results))
    print("\n".join(summary(results, corpus)))


if __name__ == "__main__":
    main()
