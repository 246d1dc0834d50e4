"""The numbers a sweep reports: flip rates with bootstrap intervals, and exact McNemar tests between models.

Both are plain functions of 0/1 outcomes, so a hand-made case with a known answer checks them.
"""

from __future__ import annotations

from math import comb

import numpy as np

RESAMPLES = 2000
SEED = 0


def bootstrap_interval(outcomes, *, resamples: int = RESAMPLES, seed: int = SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `outcomes` (0/1 flips, or drops), resampling images with
    replacement `resamples` times from a fixed seed: the same data always give the same interval."""
    values = np.asarray(list(outcomes), dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: images where only A flipped, and where only
    B did. Under the null each discordant image is a fair coin; with none, there is no evidence (p = 1)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2 ** n
    return float(min(1.0, 2 * tail))


def paired_flips(a: dict, b: dict) -> tuple[int, int, int]:
    """(images both judged on, flipped only under A, flipped only under B) from {image_sha: flipped}."""
    shared = sorted(set(a) & set(b))
    a_only = sum(1 for key in shared if a[key] and not b[key])
    b_only = sum(1 for key in shared if b[key] and not a[key])
    return len(shared), a_only, b_only
