"""Answer structure, structural baselines, the paired test and the ability criteria."""
import random

from helpers import criteria
from helpers.diagnostics import (CHAIN_CATEGORIES, NOT_IN_MAP, category_shares, chain_category, chain_ends,
                                 hashhop_chain, hop_agnostic, hop_position, modal_position, position_histogram,
                                 random_chain_end)
from helpers.oracle import solve
from helpers.stats import mcnemar
from helpers.tasks import HashChainConfig, HashHopConfig, generate

HOP = HashHopConfig(chain_length=10, min_hops=1, max_hops=4, hash_length=2, alphabet="abcdefgh")
CHAIN = HashChainConfig(chain_lengths=(2, 3, 4, 5, 6), num_chains=(3, 4), hash_length=2, alphabet="abcdefgh")


def test_hop_positions_follow_the_chain():
    for s in generate(HOP, 200, seed=0):
        chain = hashhop_chain(s)
        assert len(chain) == 10 and chain[s.meta["hops"]] == s.answer == solve(s.prompt)
        assert hop_position(s, s.answer) == s.meta["hops"]
        assert hop_position(s, "zz") == NOT_IN_MAP


def test_chain_ends_and_categories():
    for s in generate(CHAIN, 200, seed=1):
        ends = chain_ends(s)
        assert len(ends) == s.meta["num_chains"] and s.answer in ends
        assert chain_category(s, s.answer) == "shortest end"
        other = [e for e in ends if e != s.answer]
        assert chain_category(s, other[0]) == "other chain end"
        interior = [h for line in s.prompt.splitlines() if "=>" in line for h in line.split("=>")
                    if h not in ends and h != hashhop_start(s)]
        if interior:
            assert chain_category(s, interior[0]) == "other hash"
        assert chain_category(s, "zz") == NOT_IN_MAP


def hashhop_start(s):
    return next(l.split(": ")[1] for l in s.prompt.splitlines() if l.startswith("Start: "))


def test_histograms_and_shares_count_every_answer():
    hop = generate(HOP, 100, seed=2)
    answers = [hashhop_chain(s)[1] for s in hop]          # a model that always answers position 1
    hist = position_histogram(hop, answers)
    assert hist == {"1": 100} and modal_position(hist) == "1"
    chain = generate(CHAIN, 100, seed=3)
    rng = random.Random(0)
    answers = [rng.choice(chain_ends(s)) for s in chain]  # a random-chain-end guesser
    shares = category_shares(chain, answers)
    assert set(shares) == set(CHAIN_CATEGORIES) and abs(sum(shares.values()) - 1) < 1e-9
    assert abs(shares["shortest end"] - random_chain_end(chain)) < 0.15
    assert 1 / 4 <= random_chain_end(chain) <= 1 / 3
    assert hop_agnostic([1, 2, 3]) == 1 / 3


def test_mcnemar_is_symmetric_and_exact():
    a = [True] * 30 + [False] * 10
    b = [True] * 20 + [False] * 10 + [True] * 10
    r = mcnemar(a, b)
    assert (r["b"], r["c"]) == (10, 10) and r["p_value"] == 1.0 and r["change"] == 0
    r = mcnemar([False] * 10, [True] * 10)
    assert r["c"] == 10 and abs(r["p_value"] - 2 / 1024) < 1e-12
    assert mcnemar([True, False], [False, True])["p_value"] == mcnemar([False, True], [True, False])["p_value"]


def test_planning_criteria_catch_a_hedge_and_pass_a_real_gain():
    base = {1: 0.95, 2: 0.8, 3: 0.1}
    hedge = criteria.planning_adapter([1, 2, 3], {1: 0.6, 2: 0.45, 3: 0.45}, base, {1: "1", 2: "3", 3: "3"})
    assert not hedge["passed"]
    assert any("most common answer" in f for f in criteria.failures(hedge))
    real = criteria.planning_adapter([1, 2, 3], {1: 0.95, 2: 0.8, 3: 0.6}, base, {1: "1", 2: "2", 3: "3"})
    assert real["passed"]
    small_gain = criteria.planning_adapter([3], {3: 0.55}, {3: 0.4}, {3: "3"})
    assert not small_gain["passed"]  # >= 0.5 but only +0.15 over a base below 0.7


def test_reasoning_and_base_criteria():
    random_end = {2: 0.3, 3: 0.3, 4: 0.3}
    assert criteria.reasoning_adapter([2, 3, 4], {2: 0.9, 3: 0.45, 4: 0.41}, {3: 0.3, 4: 0.3}, random_end)["passed"]
    assert not criteria.reasoning_adapter([2, 3], {2: 0.9, 3: 0.38}, {3: 0.3}, random_end)["passed"]
    assert not criteria.reasoning_adapter([3], {3: 0.5}, {3: 0.55}, random_end)["passed"]  # below the base
    assert criteria.base_hashhop({1: 0.95, 2: 0.8})["passed"] and not criteria.base_hashhop({1: 0.95, 2: 0.7})["passed"]
    assert criteria.base_hashchain({2: 0.85, 3: 0.5}, {3: 0.3})["passed"]
    assert not criteria.base_hashchain({2: 0.85, 3: 0.4}, {3: 0.3})["passed"]


def test_ability_row_says_what_the_adapter_answers_and_why_it_fails():
    from helpers.tables import ability_row
    run = {"seed": 0, "passed": False, "accuracy": {3: 0.42}, "base": {3: 0.01}, "modal": {3: 2},
           "failing": ["3: most common answer position 2 (need == 3)"]}
    assert ability_row("planning", "mlp.c_proj", run) == ("planning  mlp.c_proj  seed 0: 3: 0.01->0.42 (most common answer "
                                                          "position 3->2)  fails: 3: most common answer position 2 (need == 3)")
    assert ability_row("reasoning", "all linear", dict(run, passed=True, modal={})).endswith("PASSES the ability criteria")


def test_module_ability_figure_labels_who_passes():
    import matplotlib
    matplotlib.use("Agg")
    from helpers.plotting import module_ability_figure
    run = {"seed": 0, "accuracy": {3: 0.6}, "base": {3: 0.01}, "modal": {3: 3}, "failing": []}
    fig = module_ability_figure({"planning": {"mlp.c_proj": [dict(run, passed=False)], "attn.c_attn": [dict(run, passed=True)]}}, 0.5)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"mlp.c_proj (fails)", "attn.c_attn (passes)", "base", "criterion: >= 0.5"} <= set(labels)
