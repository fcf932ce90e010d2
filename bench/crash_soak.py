"""Crash soak: kill -9 the Celery worker again and again during one inbound run; nothing lost or doubled.

One run of the file connector reads ``--records`` contacts (JSON Lines, four files) into a fresh
PostgreSQL database through a real worker (``python -m celery ... worker --pool=solo --beat``) on Redis.
While it runs the worker is killed with SIGKILL ``--kills`` times at random moments and started again;
the run resumes each time from its last committed checkpoint once its lease (3 s) has run out. At the
end every source record must be there exactly once with its content (sha256 over sorted external id,
e-mail and last name).

    python bench/crash_soak.py --records 50000 --kills 20
ends with one line: RESULT records=... kills=... lost=0 duplicated=0 seconds=...

Settings: --db-url (default: HUB_TEST_PG_URL's server, database ``crash_soak``, dropped and created),
--redis (default redis://127.0.0.1:6379/12, flushed), --seed for repeatable kill moments.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.core.migrate import upgrade  # noqa: E402
from hub.sync import dispatch  # noqa: E402
from hub.testing.databases import fresh_database  # noqa: E402
from tests.sync.conftest import (  # noqa: E402
    CONTACTS_SPEC,
    FINISHED,
    LEASE_SECONDS,
    WorkerPool,
    configure,
    count,
    digest,
    files_config,
    flush_redis,
    landed,
    make_store,
    point_celery_at,
    run_row,
    source_digest,
    wait_for,
    wait_run,
    worker_env,
    write_contact_files,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--db-url", default=os.environ.get("HUB_TEST_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--db-name", default="crash_soak")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-wait", type=float, default=900.0, help="seconds to wait for the run to finish")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    rnd = random.Random(seed)
    url = fresh_database(args.db_url, args.db_name)
    upgrade(url)
    store = make_store(url)
    flush_redis(args.redis)
    point_celery_at(args.redis)

    with tempfile.TemporaryDirectory(prefix="crash-soak-") as tmp:
        base = Path(tmp)
        rows = write_contact_files(base / "data", args.records, files=4)
        configure(store, "src", "files", files_config(base / "data"), "src_contacts",
                  CONTACTS_SPEC.format(name="src_contacts"), batch_size=args.batch_size, max_attempts=args.kills + 5)
        pool = WorkerPool(base / "workers", worker_env(url, args.redis, base / "var"))
        try:
            worker = pool.start()
            started = time.monotonic()
            run = dispatch.start(store, "src", "contacts")
            kills = 0
            # Random points spread over the whole run: a random number of committed records, then a
            # random fraction of a batch, so kills land inside batch transactions and between them.
            for target in sorted(rnd.sample(range(max(args.kills, args.records - 6 * args.batch_size)), args.kills)):
                pid = worker.pid

                def moment(pid: int = pid, target: int = target) -> str | None:
                    """"finished"; "due" once this worker holds the run past ``target`` records; else None."""
                    r = run_row(store, run.id)
                    if r.status in FINISHED:
                        return "finished"
                    mine = r.status == "running" and f":{pid}:" in (r.lease_owner or "")
                    return "due" if mine and r.read >= target else None

                if wait_for(moment, 120 + LEASE_SECONDS, f"the run to pass {target} records",
                            interval=0.02) == "finished":
                    print(f"the run finished after {kills} kills", file=sys.stderr)
                    break
                time.sleep(rnd.uniform(0.0, 0.15))
                committed = run_row(store, run.id).read
                pool.kill(worker)
                kills += 1
                print(f"kill {kills}: {committed} records committed", file=sys.stderr)
                worker = pool.start(beat=worker.beat)
            done = wait_run(store, run.id, args.max_wait, describe=lambda: pool.logs(4000))
            seconds = time.monotonic() - started
        except BaseException:
            print(pool.logs(), file=sys.stderr)
            raise
        finally:
            pool.close()

    got = landed(store.engine, "src")
    ids = [ext for ext, _, _ in got]
    expected = {str(r["id"]) for r in rows}
    lost = len(expected - set(ids))
    contacts = count(store.engine, "SELECT count(*) FROM contacts")
    duplicated = (len(ids) - len(set(ids))) + max(0, contacts - len(set(ids)))
    same = digest(got) == source_digest(rows)
    print(f"run {done.id}: {done.status}, attempts {done.attempts}, read {done.read}, created {done.created}, "
          f"updated {done.updated}, quarantined {done.quarantined}, content {'equal' if same else 'DIFFERENT'}, "
          f"seed {seed}", file=sys.stderr)
    print(f"RESULT records={args.records} kills={kills} lost={lost} duplicated={duplicated} seconds={seconds:.1f}")
    ok = done.status == "succeeded" and lost == 0 and duplicated == 0 and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
