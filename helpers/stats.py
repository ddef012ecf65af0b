"""Paired tests: two models scored on the *same* prompts.

Base and adapter are evaluated on identical held-out prompts, so their verdicts are paired; the
exact McNemar test uses only the prompts where they disagree (``b``: base right, adapter wrong;
``c``: adapter right, base wrong). Under "no difference" each disagreement is a fair coin.

>>> mcnemar([True, True, False, False], [True, False, True, True])["c"]
2
>>> round(mcnemar([False] * 20, [True] * 20)["p_value"], 7)
1.9e-06
"""
from __future__ import annotations

from math import comb


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
