"""The sweep statistics' speed (not a test): McNemar's exact p-value at 2,000 / 9,700 / 20,000 discordant pairs,
through scipy.stats.binomtest (what ic/sweeps/stats.py uses) beside the binomial tail summed with math.comb
(what it used before), measured in the same run; and a Clopper-Pearson interval.

    python scripts/bench_stats.py [--pairs 2000,9700,20000]
"""

import argparse
import sys
import time
from math import comb
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ic.sweeps.stats import mcnemar_exact, proportion_interval  # noqa: E402


def summed_tail(a_only: int, b_only: int) -> float:
    """The earlier implementation: the exact binomial tail as a sum of big integers."""
    n = a_only + b_only
    k = min(a_only, b_only)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def timed(function, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", default="2000,9700,20000")
    args = parser.parse_args()
    for n in (int(v) for v in args.pairs.split(",")):
        a_only = int(n * 0.48)  # close to an even split: the longest tail, the slowest case for the sum
        now_s, now = timed(mcnemar_exact, a_only, n - a_only)
        before_s, before = timed(summed_tail, a_only, n - a_only)
        print(f"McNemar, {n:6d} discordant pairs: binomtest {now_s * 1000:9.1f} ms, summed tail {before_s * 1000:9.1f} ms,"
              f" p {now:.6g} vs {before:.6g}", flush=True)
    seconds, interval = timed(proportion_interval, 6, 6)
    print(f"Clopper-Pearson 6 of 6: {interval[0]:.3f}-{interval[1]:.3f} in {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
