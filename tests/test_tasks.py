"""Generators of HashHop / HashChain: format, uniqueness, labels (checked against the oracle and
against the map rebuilt by hand), metadata, seeding, and config validation."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.oracle import solve
from helpers.tasks import (
    PAPER_ALPHABET,
    HashChainConfig,
    HashHopConfig,
    Sample,
    TaskConfigError,
    chance_level,
    config_from_dict,
    config_to_dict,
    generate,
    sample_hashes,
)

SETTINGS = settings(max_examples=50, deadline=None)


# ----------------------------------------------------------------------------- helpers
def parse_map(prompt: str, alphabet: str, hash_length: int, tail: list[str]):
    """Checks the exact line structure and returns the links and the start hash.

    ``tail`` is the list of lines expected after ``Start:`` (without it)."""
    assert not prompt.endswith("\n") and not prompt.startswith("\n")
    lines = prompt.split("\n")
    assert lines[0] == "Map:"
    assert lines[-1] == "Target:"
    n_tail = 1 + len(tail)
    assert lines[-n_tail + 1:] == tail
    start_line = lines[-n_tail]
    hash_re = f"[{re.escape(alphabet)}]{{{hash_length}}}"
    m = re.fullmatch(f"Start: ({hash_re})", start_line)
    assert m, start_line
    links = []
    for line in lines[1:-n_tail]:
        lm = re.fullmatch(f"({hash_re})=>({hash_re})", line)
        assert lm, f"bad map line {line!r}"
        links.append((lm.group(1), lm.group(2)))
    return links, m.group(1)


def check_hashhop(sample: Sample, cfg: HashHopConfig) -> None:
    assert sample.task == "hashhop"
    hops = sample.meta["hops"]
    assert sample.meta == {"hops": hops, "chain_length": cfg.chain_length}
    assert cfg.min_hops <= hops <= cfg.max_hops
    links, start = parse_map(sample.prompt, cfg.alphabet, cfg.hash_length, [f"Hops: {hops}", "Target:"])
    assert len(links) == cfg.chain_length - 1
    keys = [k for k, _ in links]
    values = [v for _, v in links]
    hashes = set(keys) | set(values)
    # every hash distinct: chain_length distinct hashes, each key/value once
    assert len(hashes) == cfg.chain_length
    assert len(set(keys)) == len(keys) and len(set(values)) == len(values)
    assert start in keys and start not in values
    # rebuild the chain by hand
    nxt = dict(links)
    chain = [start]
    while chain[-1] in nxt:
        chain.append(nxt[chain[-1]])
    assert len(chain) == cfg.chain_length
    assert sample.answer == chain[hops]
    assert re.fullmatch(f"[{re.escape(cfg.alphabet)}]{{{cfg.hash_length}}}", sample.answer)
    assert solve(sample.prompt) == sample.answer
    assert sample.text == sample.prompt + " " + sample.answer


def check_hashchain(sample: Sample, cfg: HashChainConfig) -> None:
    assert sample.task == "hashchain"
    meta = sample.meta
    assert set(meta) == {"shortest", "chain_lengths", "num_chains"}
    lengths = meta["chain_lengths"]
    assert lengths == sorted(lengths)
    assert meta["num_chains"] == len(lengths)
    assert meta["num_chains"] in cfg.num_chains
    assert all(x in cfg.chain_lengths for x in lengths)
    assert meta["shortest"] == min(lengths)
    assert lengths.count(meta["shortest"]) == 1  # unique shortest
    assert all(x > meta["shortest"] for x in lengths[1:])
    assert meta["shortest"] in cfg.chain_lengths[:-1]
    if cfg.shortest is not None:
        assert meta["shortest"] == cfg.shortest

    links, start = parse_map(sample.prompt, cfg.alphabet, cfg.hash_length, ["Task: shortest path", "Target:"])
    assert len(links) == sum(x - 1 for x in lengths)
    keys = [k for k, _ in links]
    values = [v for _, v in links]
    hashes = set(keys) | set(values)
    assert len(hashes) == len(links) + 1  # all hashes distinct
    assert len(set(values)) == len(values)  # every hash but the start reached once
    assert start not in values
    assert keys.count(start) == len(lengths)
    others = [k for k in keys if k != start]
    assert len(set(others)) == len(others)  # no branching except at the start
    # rebuild the chains by hand
    nxt = {k: v for k, v in links if k != start}
    chains = []
    for k, v in links:
        if k == start:
            chain = [start, v]
            while chain[-1] in nxt:
                chain.append(nxt[chain[-1]])
            chains.append(chain)
    assert sorted(len(c) for c in chains) == lengths
    (shortest_chain,) = [c for c in chains if len(c) == meta["shortest"]]
    assert sample.answer == shortest_chain[-1]
    assert solve(sample.prompt) == sample.answer
    assert sample.text == sample.prompt + " " + sample.answer


# ----------------------------------------------------------------------------- strategies
@st.composite
def alphabets(draw, min_size=2):
    chars = draw(st.lists(st.sampled_from(PAPER_ALPHABET), min_size=min_size, max_size=len(PAPER_ALPHABET),
                          unique=True))
    return "".join(chars)


def _hash_length_for(draw, alphabet: str, needed: int) -> int:
    minimal = 1
    while len(alphabet) ** minimal < needed:
        minimal += 1
    return draw(st.integers(minimal, max(minimal, 5)))


@st.composite
def hashhop_configs(draw):
    chain_length = draw(st.integers(2, 30))
    max_hops = draw(st.integers(1, chain_length - 1))
    min_hops = draw(st.integers(1, max_hops))
    alphabet = draw(alphabets())
    hash_length = _hash_length_for(draw, alphabet, chain_length)
    return HashHopConfig(chain_length, min_hops, max_hops, hash_length, alphabet)


@st.composite
def hashchain_configs(draw):
    lengths = tuple(draw(st.lists(st.integers(2, 9), min_size=2, max_size=6, unique=True)))
    counts = tuple(draw(st.lists(st.integers(2, 6), min_size=1, max_size=3, unique=True)))
    shortest = draw(st.none() | st.sampled_from(sorted(lengths)[:-1]))
    alphabet = draw(alphabets())
    hash_length = _hash_length_for(draw, alphabet, 1 + max(counts) * (max(lengths) - 1))
    return HashChainConfig(lengths, counts, shortest, hash_length, alphabet)


# ----------------------------------------------------------------------------- docstring examples
def test_hashhop_paper_defaults():
    cfg = HashHopConfig()
    assert (cfg.chain_length, cfg.min_hops, cfg.max_hops, cfg.hash_length, cfg.alphabet) == (20, 1, 10, 4, PAPER_ALPHABET)
    assert cfg.task == "hashhop"
    for s in generate(cfg, 20, seed=0):
        check_hashhop(s, cfg)


def test_hashchain_paper_defaults():
    cfg = HashChainConfig()
    assert cfg.chain_lengths == (2, 3, 4, 5, 6) and cfg.num_chains == (3, 4) and cfg.shortest is None
    assert cfg.task == "hashchain"
    for s in generate(cfg, 20, seed=0):
        check_hashchain(s, cfg)


def test_chain_lengths_are_normalised_sorted_unique():
    cfg = HashChainConfig([5, 2, 3, 3], [4, 3, 3])
    assert cfg.chain_lengths == (2, 3, 5)
    assert cfg.num_chains == (3, 4)


# ----------------------------------------------------------------------------- property tests
@SETTINGS
@given(cfg=hashhop_configs(), seed=st.integers(0, 2**32), n=st.integers(1, 8))
def test_hashhop_property(cfg, seed, n):
    for s in generate(cfg, n, seed):
        check_hashhop(s, cfg)


@SETTINGS
@given(cfg=hashchain_configs(), seed=st.integers(0, 2**32), n=st.integers(1, 8))
def test_hashchain_property(cfg, seed, n):
    for s in generate(cfg, n, seed):
        check_hashchain(s, cfg)


@SETTINGS
@given(cfg=hashhop_configs(), seed=st.integers(0, 2**32), data=st.data())
def test_with_hops_fixes_hops(cfg, seed, data):
    hops = data.draw(st.integers(1, cfg.chain_length - 1))
    fixed = cfg.with_hops(hops)
    assert (fixed.min_hops, fixed.max_hops) == (hops, hops)
    assert (fixed.chain_length, fixed.hash_length, fixed.alphabet) == (cfg.chain_length, cfg.hash_length, cfg.alphabet)
    for s in generate(fixed, 5, seed):
        assert s.meta["hops"] == hops
        check_hashhop(s, fixed)


@SETTINGS
@given(cfg=hashchain_configs(), seed=st.integers(0, 2**32), data=st.data())
def test_with_shortest_fixes_shortest(cfg, seed, data):
    shortest = data.draw(st.sampled_from(cfg.chain_lengths[:-1]))
    fixed = cfg.with_shortest(shortest)
    assert fixed.shortest == shortest
    assert (fixed.chain_lengths, fixed.num_chains, fixed.hash_length, fixed.alphabet) == \
           (cfg.chain_lengths, cfg.num_chains, cfg.hash_length, cfg.alphabet)
    for s in generate(fixed, 5, seed):
        assert s.meta["shortest"] == shortest
        check_hashchain(s, fixed)


@SETTINGS
@given(cfg=st.one_of(hashhop_configs(), hashchain_configs()), seed=st.integers(0, 2**32))
def test_same_seed_same_samples_and_prefix_stable(cfg, seed):
    ten = generate(cfg, 10, seed)
    assert generate(cfg, 10, seed) == ten
    assert generate(cfg, 5, seed) == ten[:5]
    assert generate(cfg, 0, seed) == []


@SETTINGS
@given(cfg=st.one_of(hashhop_configs(), hashchain_configs()))
def test_config_dict_round_trip(cfg):
    d = config_to_dict(cfg)
    assert d["task"] == cfg.task
    assert config_from_dict(d) == cfg
    # survives JSON (tuples become lists)
    again = config_from_dict(json.loads(json.dumps(d)))
    assert again == cfg and type(again) is type(cfg)
    assert config_to_dict(again) == d


@SETTINGS
@given(alphabet=alphabets(), hash_length=st.integers(1, 4), data=st.data(), seed=st.integers(0, 2**32))
def test_sample_hashes_distinct(alphabet, hash_length, data, seed):
    import random
    k = data.draw(st.integers(0, min(50, len(alphabet) ** hash_length)))
    hashes = sample_hashes(random.Random(seed), alphabet, hash_length, k)
    assert len(hashes) == k == len(set(hashes))
    assert all(len(h) == hash_length and set(h) <= set(alphabet) for h in hashes)


def test_whole_hash_space_can_be_used():
    # exactly as many hashes as the space holds: every hash used once
    cfg = HashHopConfig(chain_length=4, min_hops=1, max_hops=3, hash_length=2, alphabet="ab")
    for s in generate(cfg, 20, seed=3):
        check_hashhop(s, cfg)
        links, _ = parse_map(s.prompt, "ab", 2, [f"Hops: {s.meta['hops']}", "Target:"])
        assert {h for link in links for h in link} == {"aa", "ab", "ba", "bb"}
    cfg = HashChainConfig((2, 3), (2,), hash_length=1, alphabet="abcde")  # needs 1 + 2*2 = 5
    for s in generate(cfg, 20, seed=3):
        check_hashchain(s, cfg)


# ----------------------------------------------------------------------------- seeds / distributions
@pytest.mark.parametrize("cfg", [HashHopConfig(), HashChainConfig()], ids=["hashhop", "hashchain"])
def test_different_seed_different_samples(cfg):
    a, b = generate(cfg, 5, seed=0), generate(cfg, 5, seed=1)
    assert all(x.prompt != y.prompt for x, y in zip(a, b))


def test_links_are_shuffled():
    def in_order(s):
        links = [line.split("=>") for line in s.prompt.split("\n") if "=>" in line]
        return all(a[1] == b[0] for a, b in zip(links, links[1:]))
    samples = generate(HashHopConfig(), 20, seed=0)
    assert sum(in_order(s) for s in samples) < 2


def test_drawn_values_cover_the_allowed_ranges():
    hops = Counter(s.meta["hops"] for s in generate(HashHopConfig(), 2000, seed=0))
    assert set(hops) == set(range(1, 11))
    chains = generate(HashChainConfig(), 2000, seed=0)
    assert set(Counter(s.meta["shortest"] for s in chains)) == {2, 3, 4, 5}
    assert set(Counter(s.meta["num_chains"] for s in chains)) == {3, 4}
    assert set(x for s in chains for x in s.meta["chain_lengths"]) == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("cfg,check", [(HashHopConfig(), check_hashhop), (HashChainConfig(), check_hashchain)],
                         ids=["hashhop", "hashchain"])
def test_ten_thousand_samples_agree_with_oracle(cfg, check):
    samples = generate(cfg, 10_000, seed=12345)
    assert len(samples) == 10_000
    for s in samples:
        hashes = [h for line in s.prompt.split("\n")[1:-1] if "=>" in line for h in line.split("=>")]
        # each hash appears once as a value: no hash shared between links except key = previous value
        values = [line.split("=>")[1] for line in s.prompt.split("\n") if "=>" in line]
        assert len(set(values)) == len(values)
        assert len(set(hashes)) == len(values) + 1
        assert solve(s.prompt) == s.answer
    for s in samples[:200]:
        check(s, cfg)


# ----------------------------------------------------------------------------- chance level
def test_chance_level():
    hop = generate(HashHopConfig(), 3, seed=0)
    assert all(chance_level(s) == pytest.approx(1 / 19) for s in hop)
    for s in generate(HashChainConfig(), 50, seed=0):
        n_links = sum(x - 1 for x in s.meta["chain_lengths"])
        assert chance_level(s) == pytest.approx(1 / n_links)
    doc = Sample("Map:\ns=>b\nb=>c\ns=>a\nStart: s\nTask: shortest path\nTarget:", "a", "hashchain", {})
    assert chance_level(doc) == pytest.approx(1 / 3)
    doc = Sample("Map:\nk3=>k4\nk1=>k2\nk2=>k3\nStart: k1\nHops: 2\nTarget:", "k3", "hashhop", {})
    assert chance_level(doc) == pytest.approx(1 / 3)


# ----------------------------------------------------------------------------- validation
def _raises(param: str, make) -> None:
    with pytest.raises(TaskConfigError) as info:
        make()
    assert str(info.value).startswith(param + ":"), str(info.value)


INVALID_HASHHOP = [
    ("min_hops", dict(min_hops=0)),
    ("min_hops", dict(min_hops=-1)),
    ("max_hops", dict(min_hops=1, max_hops=0)),
    ("max_hops", dict(min_hops=1, max_hops=-3)),
    ("min_hops", dict(min_hops=5, max_hops=3)),
    ("max_hops", dict(chain_length=20, max_hops=20)),
    ("max_hops", dict(chain_length=20, max_hops=30)),
    ("max_hops", dict(chain_length=5, min_hops=1, max_hops=5)),
    ("chain_length", dict(chain_length=1, min_hops=1, max_hops=1)),
    ("chain_length", dict(chain_length=0)),
    ("chain_length", dict(chain_length=2.5)),
    ("min_hops", dict(min_hops=1.5)),
    ("hash_length", dict(hash_length=1, alphabet="ab")),
    ("hash_length", dict(chain_length=5, max_hops=4, hash_length=2, alphabet="ab")),  # 4 < 5
    ("hash_length", dict(hash_length=0)),
    ("alphabet", dict(alphabet="a")),
    ("alphabet", dict(alphabet="")),
    ("alphabet", dict(alphabet="aab")),
    ("alphabet", dict(alphabet="abC")),
    ("alphabet", dict(alphabet="ab-")),
    ("alphabet", dict(alphabet="ab c")),
    ("alphabet", dict(alphabet="ab=")),
]


@pytest.mark.parametrize("param,kwargs", INVALID_HASHHOP, ids=[f"{p}-{kw}" for p, kw in INVALID_HASHHOP])
def test_invalid_hashhop_config(param, kwargs):
    _raises(param, lambda: HashHopConfig(**kwargs))


INVALID_HASHCHAIN = [
    ("chain_lengths", dict(chain_lengths=(3,))),
    ("chain_lengths", dict(chain_lengths=(3, 3))),
    ("chain_lengths", dict(chain_lengths=())),
    ("chain_lengths", dict(chain_lengths=(1, 3))),
    ("chain_lengths", dict(chain_lengths=(0, 4))),
    ("chain_lengths", dict(chain_lengths="23")),
    ("chain_lengths", dict(chain_lengths=(2.0, 3.0))),
    ("num_chains", dict(num_chains=(1,))),
    ("num_chains", dict(num_chains=(1, 3))),
    ("num_chains", dict(num_chains=())),
    ("num_chains", dict(num_chains=(0,))),
    ("shortest", dict(shortest=6)),  # the largest length: no longer chain possible
    ("shortest", dict(shortest=7)),
    ("shortest", dict(shortest=1)),
    ("hash_length", dict(hash_length=4, alphabet="ab")),  # 16 < 1 + 4*5
    ("hash_length", dict(chain_lengths=(2, 3), num_chains=(2,), hash_length=1, alphabet="abcd")),  # 4 < 5
    ("alphabet", dict(alphabet="aa")),
    ("alphabet", dict(alphabet="xyZ")),
    ("alphabet", dict(alphabet="x")),
]


@pytest.mark.parametrize("param,kwargs", INVALID_HASHCHAIN, ids=[f"{p}-{kw}" for p, kw in INVALID_HASHCHAIN])
def test_invalid_hashchain_config(param, kwargs):
    _raises(param, lambda: HashChainConfig(**kwargs))


def test_invalid_fixed_values():
    _raises("min_hops", lambda: HashHopConfig().with_hops(0))
    _raises("max_hops", lambda: HashHopConfig().with_hops(20))
    _raises("shortest", lambda: HashChainConfig().with_shortest(6))
    _raises("shortest", lambda: HashChainConfig().with_shortest(1))


@pytest.mark.parametrize("n", [-1, -10, 2.5, "3", None])
def test_invalid_n(n):
    _raises("n", lambda: generate(HashHopConfig(), n, seed=0))
    _raises("n", lambda: generate(HashChainConfig(), n, seed=0))


def test_config_from_dict_rejects_unknown_task():
    _raises("task", lambda: config_from_dict({"task": "other"}))
    _raises("task", lambda: config_from_dict({}))
    d = config_to_dict(HashHopConfig())
    d["max_hops"] = 99
    _raises("max_hops", lambda: config_from_dict(d))


def test_config_error_is_value_error():
    assert issubclass(TaskConfigError, ValueError)
