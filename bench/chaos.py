"""Reliability figures: Hub tried as an attacker and an unlucky operator would, each scenario counted.

    python bench/chaos.py --records 50000 --kills 20

Scenarios (each in a module of its own, run against the real `hub` command and real processes):

* tamper  (bench/chaos_tamper.py): forged, re-chained, removed, reordered and appended audit events and a
  forged checkpoint; detected = `hub audit verify --since-checkpoint` exits non-zero naming the right seq.
* scope   (bench/chaos_scope.py): a user limited to her own records probes for another user's by value
  and by id; leaked = answers that differ from those for a value nobody holds, or that show his data.
* ssrf    (bench/chaos_ssrf.py): internal hosts, address tricks and internal proxies; refused by the guard,
  and the internal listener receives nothing.
* files   (bench/chaos_files.py): hostile CSV through `hub import`, hostile XML through the CAMT.053
  parser, formula injection through `hub export`; handled without traceback or partial commit.
* kills   (bench/chaos_kills.py): `hub worker --beat` killed with SIGKILL ``--kills`` times during a run of
  ``--records`` records on PostgreSQL and Redis; records lost and duplicated, orphaned processes.

Ends with one line: RESULT tamper_tried=... tamper_detected=... probes=... leaked=... ssrf_tried=...
ssrf_refused=... proxies_tried=... proxies_refused=... hostile_tried=... hostile_handled=...
injections_tried=... injections_neutralised=... kills=... lost=... duplicated=... orphans=...
Exit status 0 when every figure is as it must be (all detected, refused, handled; nothing leaked, lost,
duplicated or orphaned), else 1.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import chaos_files, chaos_kills, chaos_scope, chaos_ssrf, chaos_tamper  # noqa: E402

SCENARIOS = ("tamper", "scope", "ssrf", "files", "kills")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records of the run the kills land in")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--db-url", default=os.environ.get("HUB_TEST_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server (a database chaos_kills is dropped and made there)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11", help="Redis database (flushed)")
    parser.add_argument("--seed", type=int, default=None, help="for repeatable kill moments")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: unknown scenario(s) {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)

    figures: dict[str, int] = {}
    problems: list[str] = []
    ok = True

    def timed(name: str) -> float:
        print(f"== {name}", file=sys.stderr, flush=True)
        return time.monotonic()

    if "tamper" in only:
        t = timed("tamper")
        r = chaos_tamper.run()
        figures.update(tamper_tried=r.tried, tamper_detected=r.detected)
        problems += r.problems
        ok &= r.detected == r.tried
        print(f"   {r.detected} of {r.tried} detected ({time.monotonic() - t:.0f} s)", file=sys.stderr)
    if "scope" in only:
        t = timed("scope")
        s = chaos_scope.run()
        figures.update(probes=s.tried, leaked=s.leaked)
        problems += s.problems
        ok &= s.leaked == 0
        print(f"   {s.leaked} of {s.tried} probes leaked ({time.monotonic() - t:.0f} s)", file=sys.stderr)
    if "ssrf" in only:
        t = timed("ssrf")
        g = chaos_ssrf.run()
        figures.update(ssrf_tried=g.tried, ssrf_refused=g.refused, proxies_tried=g.proxy_tried,
                       proxies_refused=g.proxy_refused)
        problems += g.problems
        ok &= g.refused == g.tried and g.proxy_refused == g.proxy_tried and g.leaked_bytes == 0
        print(f"   {g.refused} of {g.tried} targets and {g.proxy_refused} of {g.proxy_tried} proxies refused "
              f"({time.monotonic() - t:.0f} s)", file=sys.stderr)
    if "files" in only:
        t = timed("files")
        f = chaos_files.run()
        figures.update(hostile_tried=f.csv_tried + f.xml_tried, hostile_handled=f.csv_handled + f.xml_refused,
                       injections_tried=f.injections_tried, injections_neutralised=f.injections_neutralised)
        problems += f.problems
        ok &= f.csv_handled == f.csv_tried and f.xml_refused == f.xml_tried \
            and f.injections_neutralised == f.injections_tried
        print(f"   CSV {f.csv_handled} of {f.csv_tried} handled, XML {f.xml_refused} of {f.xml_tried} refused, "
              f"injections {f.injections_neutralised} of {f.injections_tried} neutralised "
              f"({time.monotonic() - t:.0f} s)", file=sys.stderr)
    if "kills" in only:
        t = timed(f"kills ({args.records} records, {args.kills} kills, seed {seed})")
        k = chaos_kills.run(args.db_url, args.redis, args.records, args.kills, seed)
        figures.update(kills=k.kills, lost=k.lost, duplicated=k.duplicated, orphans=k.orphans)
        ok &= k.status == "succeeded" and k.lost == 0 and k.duplicated == 0 and k.orphans == 0
        if k.status != "succeeded":
            problems.append(f"kills: the run ended {k.status}")
        print(f"   run {k.status} after {k.kills} kills in {k.seconds:.0f} s", file=sys.stderr)

    for p in problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in figures.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
