"""Every statistic of the project in one place: the Wilson interval of an accuracy, the t-interval
across seeds, and the paired test of two models on the same prompts.

Paired tests: two models scored on the *same* prompts.

Base and adapter are evaluated on identical held-out prompts, so their verdicts are paired; the
exact McNemar test uses only the prompts where they disagree (``b``: base right, adapter wrong;
``c``: adapter right, base wrong). Under "no difference" each disagreement is a fair coin.

>>> mcnemar([True, True, False, False], [True, False, True, True])["c"]
2
>>> round(mcnemar([False] * 20, [True] * 20)["p_value"], 7)
1.9e-06
"""
from __future__ import annotations

import math
from math import comb
from statistics import mean, stdev


def mcnemar(first: list[bool], second: list[bool]) -> dict:
    """Exact two-sided McNemar test of ``second`` vs ``first`` (paired verdicts on the same prompts);
    returns the discordant counts, the change in accuracy and the p-value."""
    if len(first) != len(second) or not first:
        raise ValueError(f"paired verdicts: need two equally long non-empty lists, got {len(first)} and {len(second)}")
    b = sum(1 for x, y in zip(first, second) if x and not y)
    c = sum(1 for x, y in zip(first, second) if y and not x)
    n = b + c
    p = 1.0 if n == 0 else min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)
    return {"n": len(first), "b": b, "c": c, "change": (c - b) / len(first), "p_value": p}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion (sound at 0 and 1, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # clamp: at p = 0 or 1 rounding can put the bound a hair on the wrong side of p
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


# Student's t 97.5% quantiles for 1..30 degrees of freedom (n seeds -> n - 1 degrees).
T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def seed_interval(values: list[float]) -> dict:
    """Mean and 95% t-interval across seeds (n < 2: no interval)."""
    n = len(values)
    m = mean(values)
    if n < 2:
        return {"mean": m, "low": m, "high": m, "n": n, "values": values}
    t = T_975[n - 2] if n - 2 < len(T_975) else 1.96
    half = t * stdev(values) / n ** 0.5
    return {"mean": m, "low": m - half, "high": m + half, "n": n, "values": values}
