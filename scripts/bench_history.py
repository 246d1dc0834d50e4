"""History write benchmark (not a test): what keeping one removal costs on SQLite and on PostgreSQL.

Times the saver's write of one removal (the experiment, its images, retention) and counts the statements it
sends: on a hosted database each statement is a round trip, so the latency a removal adds there is about
statements x round-trip time on top of the time measured here. Without --url it starts a throwaway
PostgreSQL cluster on 127.0.0.1 (Debian's postgresql, as the tests do).

    python scripts/bench_history.py [--removals 30] [--url postgresql://user:password@host/db]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ic.app import get_workbench  # noqa: E402
from ic.classifiers import DEFAULT_MODEL  # noqa: E402
from ic.experiment import EditSession  # noqa: E402
from ic.history import HistoryStore  # noqa: E402
from ic.images import decode_image  # noqa: E402
from ic.inpaint import get_inpainter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def removals(count: int) -> list:
    edit = EditSession(decode_image(ROOT / "assets/samples/camera.png"), "camera.png")
    classifier = get_workbench(Path(tempfile.mkdtemp())).classifier(DEFAULT_MODEL)
    records = []
    for i in range(count):
        mask = np.zeros(edit.shape, bool)
        mask[40 + 14 * i:52 + 14 * i, 100:140] = True
        records.append(edit.apply(mask, get_inpainter("telea"), classifier))
    return records


def measure(store: HistoryStore, records: list) -> tuple[list[float], float]:
    statements = []
    event.listen(store.db.engine, "before_cursor_execute", lambda *args: statements.append(1))
    times = []
    for record in records:
        start = time.perf_counter()
        store.experiments.add_group([record], "bench")
        store.prune("bench", 500, 0)  # what the saver does after each removal
        times.append((time.perf_counter() - start) * 1000)
    return times, len(statements) / len(records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--removals", type=int, default=30)
    parser.add_argument("--url", help="a PostgreSQL database to write to (default: a throwaway local cluster)")
    args = parser.parse_args()
    records = removals(args.removals)
    cluster = None
    if args.url is None:
        from postgres_support import Cluster, binaries

        cluster = Cluster(binaries())
        args.url = cluster.new_database()
    try:
        for name, store in (("sqlite", HistoryStore(Path(tempfile.mkdtemp()))), ("postgresql", HistoryStore(url=args.url))):
            times, statements = measure(store, records)
            print(f"{name:10} {len(times)} removals: median {statistics.median(times):.1f} ms, "
                  f"max {max(times):.1f} ms, {statements:.0f} statements each (and per transaction, BEGIN, COMMIT "
                  "and the pool's liveness check)", flush=True)
    finally:
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
