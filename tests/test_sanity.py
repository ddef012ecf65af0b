"""``python -m helpers.sanity``: every label of N generated samples agrees with the oracle and no
prompt repeats a hash. Small N here; the 1,000,000-sample run is marked slow (``make sanity``)."""
from __future__ import annotations

import dataclasses

import pytest

from helpers import sanity
from helpers.io import read_json
from helpers.sanity import PAPER_CONFIGS, check_sample, check_task, main, repeated_hash
from helpers.tasks import HashChainConfig, HashHopConfig, Sample, config_to_dict, generate

from checks import assert_provenance


def test_small_n_passes_and_writes_result(tmp_path, capsys):
    out = tmp_path / "sanity.json"
    assert main(["--n", "2000", "--out", str(out), "--chunk", "700", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "samples/s" in printed and "all passed" in printed
    result = read_json(out)
    assert result["ok"] is True and result["n"] == 2000 and result["seed"] == 0
    assert set(result["tasks"]) == {"hashhop", "hashchain"}
    for task, r in result["tasks"].items():
        assert r["n"] == r["passed"] == 2000 and r["failed"] == 0 and r["first_failures"] == []
        assert r["config"] == config_to_dict(PAPER_CONFIGS[task])  # the paper's default configs
        assert r["samples_per_s"] > 0
    assert_provenance(result)
    assert [p.name for p in tmp_path.iterdir()] == ["sanity.json"]  # written atomically: no temp file


def test_one_task(tmp_path):
    out = tmp_path / "s.json"
    assert main(["--n", "50", "--task", "hashchain", "--out", str(out), "--no-progress"]) == 0
    assert set(read_json(out)["tasks"]) == {"hashchain"}


def test_chunks_follow_generate(monkeypatch):
    """Chunking does not change which samples are checked: the stream is generate(cfg, n, seed)."""
    seen = []
    real = sanity.check_sample

    def record(sample, cfg):
        seen.append(sample)
        return real(sample, cfg)

    monkeypatch.setattr(sanity, "check_sample", record)
    for cfg in PAPER_CONFIGS.values():
        seen.clear()
        assert check_task(cfg, 25, seed=4, chunk=7, progress=False)["passed"] == 25
        assert seen == generate(cfg, 25, 4)


def test_wrong_labels_are_caught(tmp_path, monkeypatch):
    real = sanity.hashhop_sample

    def off_by_one(cfg, rng):
        s = real(cfg, rng)
        return dataclasses.replace(s, answer="zzzz") if s.meta["hops"] == 1 else s

    monkeypatch.setattr(sanity, "hashhop_sample", off_by_one)
    out = tmp_path / "s.json"
    assert main(["--n", "200", "--task", "hashhop", "--out", str(out), "--no-progress"]) == 1
    r = read_json(out)["tasks"]["hashhop"]
    assert r["failed"] > 0 and set(r["failures_by_kind"]) == {"label"}
    assert "oracle says" in r["first_failures"][0]["problem"]


REPEATS = [
    # (prompt, config, what the message mentions)
    ("Map:\nab=>cd\ncd=>ab\nStart: ab\nHops: 1\nTarget:", HashHopConfig(3, 1, 1, 2, "abcd"), "start hash"),
    ("Map:\nab=>cd\nba=>cd\nStart: ab\nTask: shortest path\nTarget:", HashChainConfig((2, 3), (2,), None, 2, "abcd"),
     "value of two links"),
    ("Map:\nab=>cd\nab=>dc\ndc=>aa\nStart: ab\nHops: 1\nTarget:", HashHopConfig(3, 1, 1, 2, "abcd"),
     "2 outgoing links"),
    ("Map:\nab=>cd\nbb=>dd\nStart: ab\nHops: 1\nTarget:", HashHopConfig(3, 1, 1, 2, "abcd"), "neither the start"),
    ("Map:\nab=>cde\nStart: ab\nHops: 1\nTarget:", HashHopConfig(3, 1, 1, 2, "abcde"), "malformed hash"),
]


@pytest.mark.parametrize("prompt,cfg,words", REPEATS, ids=[w for _, _, w in REPEATS])
def test_repeated_hashes_are_caught(prompt, cfg, words):
    problem = repeated_hash(Sample(prompt, "x", cfg.task, {}), cfg)
    assert problem and words in problem


def test_good_samples_pass():
    for cfg in (HashHopConfig(), HashChainConfig(), HashHopConfig(5, 1, 4, 2, "abcdefgh")):
        for s in generate(cfg, 50, 1):
            assert check_sample(s, cfg) is None


@pytest.mark.parametrize("args", [["--n", "0"], ["--n", "x"], ["--n", "5", "--task", "nope"], ["--n", "5", "--chunk", "0"]])
def test_bad_arguments(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(tmp_path / "s.json")])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_one_million_samples_each(tmp_path):
    out = tmp_path / "sanity.json"
    assert main(["--n", "1000000", "--out", str(out), "--no-progress"]) == 0
    result = read_json(out)
    assert result["ok"] and all(r["passed"] == 1_000_000 for r in result["tasks"].values())
