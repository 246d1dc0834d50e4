"""The numbers a sweep reports: flip rates with exact (Clopper-Pearson) intervals, mean drops with percentile
bootstrap intervals, and exact McNemar tests between models.

A flip rate is a proportion: its interval is Clopper-Pearson's (exact, never narrower than the data allow: 6 of
6 flipped gives 54-100%, where a percentile bootstrap gave 100-100%). McNemar's exact test is a two-sided
binomial test on the discordant pairs (scipy.stats.binomtest: the same value as summing the binomial tail, in
milliseconds at any size). Each is a plain function of 0/1 outcomes or counts, so a hand-made case with a known
answer checks it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

RESAMPLES = 2000
SEED = 0
# Below this many values the percentile bootstrap of a mean covers far less than it claims (of one value it
# gives a zero-width interval): no interval is given, and the page and the CLI say why.
MIN_BOOTSTRAP = 10
TOO_FEW = f"no interval: under {MIN_BOOTSTRAP} objects a bootstrap is falsely narrow"


def drop_interval(drops) -> list[float] | None:
    """The bootstrap interval of the mean drop, or None for fewer than MIN_BOOTSTRAP values."""
    values = list(drops)
    return list(bootstrap_interval(values)) if len(values) >= MIN_BOOTSTRAP else None


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


def proportion_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a proportion: `successes` of `n`. Of zero width only when n is 0
    (then nan): 6 of 6 gives (0.541, 1.0), 0 of 1 gives (0.0, 0.975)."""
    if n == 0:
        return float("nan"), float("nan")
    found = binomtest(int(successes), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(found.low), float(found.high)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: images where only A flipped, and where only
    B did. Under the null each discordant image is a fair coin; with none, there is no evidence (p = 1)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    return float(min(1.0, binomtest(min(a_only, b_only), n, 0.5, alternative="two-sided").pvalue))


def paired_flips(a: dict, b: dict) -> tuple[int, int, int]:
    """(images both judged on, flipped only under A, flipped only under B) from {image_sha: flipped}."""
    shared = sorted(set(a) & set(b))
    a_only = sum(1 for key in shared if a[key] and not b[key])
    b_only = sum(1 for key in shared if b[key] and not a[key])
    return len(shared), a_only, b_only
