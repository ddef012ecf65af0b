"""Has a model learned the ability it is measured on? The checks every later analysis rests on.

A rank measured on an adapter that did not learn its task says nothing about the task, so the
notebooks and the claims table ask these first (thresholds as in the project's issue "Adapters that
learn what they are measured on"):

- **base** (HashHop on the base's chains): >= 0.9 at 1 hop and >= 0.75 at 2 hops; (HashChain):
  >= 0.8 at shortest length 2 and >= random chain end + 0.15 at shortest length 3;
- **planning adapter**: at every hop count it trained on, its most common answer is the hash at
  that hop (it uses the hop count), accuracy >= 0.5, and >= base + 0.2 wherever the base is below 0.7;
- **reasoning adapter**: at every shortest length >= 3 it trained on, accuracy >= random chain end
  + 0.10 and above the base.

Each check returns ``{"passed": bool, "checks": [{"point", "what", "value", "need", "ok"}]}`` so a
table can say exactly which condition failed.
"""
from __future__ import annotations

BASE_HOP = {1: 0.9, 2: 0.75}
BASE_CHAIN_SHORTEST2 = 0.8
BASE_CHAIN_MARGIN3 = 0.15
PLANNING_MIN_ACCURACY, PLANNING_GAIN, PLANNING_GAIN_BELOW = 0.5, 0.2, 0.7
REASONING_MARGIN = 0.10


def _check(point, what: str, value, need, ok: bool) -> dict:
    return {"point": point, "what": what, "value": value, "need": need, "ok": bool(ok)}


def _result(checks: list[dict]) -> dict:
    return {"passed": bool(checks) and all(c["ok"] for c in checks), "checks": checks}


def base_hashhop(accuracy: dict) -> dict:
    """``accuracy``: {hops: accuracy} on the base's chain length."""
    return _result([_check(h, "accuracy", accuracy.get(h), f">= {need}", accuracy.get(h, 0) >= need)
                    for h, need in BASE_HOP.items()])


def base_hashchain(accuracy: dict, random_end: dict) -> dict:
    """``accuracy`` and ``random_end`` (the random-chain-end baseline): {shortest: value}."""
    return _result([
        _check(2, "accuracy", accuracy.get(2), f">= {BASE_CHAIN_SHORTEST2}", accuracy.get(2, 0) >= BASE_CHAIN_SHORTEST2),
        _check(3, "accuracy - random chain end", accuracy.get(3, 0) - random_end.get(3, 1), f">= {BASE_CHAIN_MARGIN3}",
               accuracy.get(3, 0) - random_end.get(3, 1) >= BASE_CHAIN_MARGIN3)])


def planning_adapter(trained_hops: list[int], accuracy: dict, base_accuracy: dict, modal_positions: dict) -> dict:
    """``accuracy``/``base_accuracy``: {hops: accuracy}; ``modal_positions``: {hops: the adapter's most
    common answer position}."""
    checks = []
    for h in trained_hops:
        checks.append(_check(h, "most common answer position", modal_positions.get(h), f"== {h}",
                             str(modal_positions.get(h)) == str(h)))
        checks.append(_check(h, "accuracy", accuracy[h], f">= {PLANNING_MIN_ACCURACY}", accuracy[h] >= PLANNING_MIN_ACCURACY))
        if base_accuracy[h] < PLANNING_GAIN_BELOW:
            checks.append(_check(h, "accuracy - base", accuracy[h] - base_accuracy[h], f">= {PLANNING_GAIN}",
                                 accuracy[h] - base_accuracy[h] >= PLANNING_GAIN))
    return _result(checks)


def reasoning_adapter(trained_shortest: list[int], accuracy: dict, base_accuracy: dict, random_end: dict) -> dict:
    """All arguments but the first: {shortest: value}; only lengths >= 3 are checked."""
    checks = []
    for s in (s for s in trained_shortest if s >= 3):
        margin = accuracy[s] - random_end[s]
        checks.append(_check(s, "accuracy - random chain end", margin, f">= {REASONING_MARGIN}", margin >= REASONING_MARGIN))
        checks.append(_check(s, "accuracy - base", accuracy[s] - base_accuracy[s], "> 0", accuracy[s] > base_accuracy[s]))
    return _result(checks)


def failures(result: dict) -> list[str]:
    """The failed checks in words, e.g. ``"hops 3: accuracy 0.41 (need >= 0.5)"``."""
    def fmt(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    return [f"{c['point']}: {c['what']} {fmt(c['value'])} (need {c['need']})" for c in result["checks"] if not c["ok"]]
