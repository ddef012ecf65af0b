"""The JSONL export command line (``python -m helpers.tasks``) and ``read_jsonl``."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.tasks import (
    HashChainConfig,
    HashHopConfig,
    build_parser,
    config_to_dict,
    generate,
    read_jsonl,
)

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"prompt", "answer", "task", "meta", "config", "seed", "index"}


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.tasks", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def export(tmp_path: Path, task: str, n: int, seed: int, *extra, name="out.jsonl") -> Path:
    out = tmp_path / name
    r = cli(task, "--n", n, "--seed", seed, "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"wrote {n} {task} samples" in r.stderr
    return out


# ----------------------------------------------------------------------------- successful export
@pytest.mark.parametrize("task,cfg,extra", [
    ("hashhop", HashHopConfig(), []),
    ("hashchain", HashChainConfig(), []),
    ("hashhop", HashHopConfig(8, 2, 5, 2, "abcdefgh"),
     ["--chain-length", 8, "--min-hops", 2, "--max-hops", 5, "--hash-length", 2, "--alphabet", "abcdefgh"]),
    ("hashchain", HashChainConfig((2, 3, 5), (2, 3), 3, 3, "xyz"),
     ["--chain-lengths", "2,3,5", "--num-chains", "2-3", "--shortest", 3, "--hash-length", 3, "--alphabet", "xyz"]),
], ids=["hashhop-default", "hashchain-default", "hashhop-options", "hashchain-options"])
def test_export_writes_n_samples(tmp_path, task, cfg, extra):
    out = export(tmp_path, task, 7, 42, *extra)
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 7
    expected = generate(cfg, 7, 42)
    for i, (line, sample) in enumerate(zip(lines, expected)):
        obj = json.loads(line)
        assert set(obj) == KEYS
        assert obj["index"] == i
        assert obj["seed"] == 42
        assert obj["task"] == task
        assert obj["config"] == config_to_dict(cfg)
        assert (obj["prompt"], obj["answer"], obj["meta"]) == (sample.prompt, sample.answer, sample.meta)
    assert read_jsonl(out) == expected
    # nothing else left in the folder (no temp file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_export_zero_samples(tmp_path):
    out = export(tmp_path, "hashhop", 0, 1)
    assert out.read_bytes() == b""
    assert read_jsonl(out) == []


def test_export_creates_folders_and_overwrites(tmp_path):
    out = export(tmp_path, "hashchain", 3, 1, name="a/b/c.jsonl")
    first = out.read_bytes()
    export(tmp_path, "hashchain", 2, 9, name="a/b/c.jsonl")
    assert out.read_bytes() != first
    assert len(out.read_text().splitlines()) == 2
    assert sorted(p.name for p in out.parent.iterdir()) == ["c.jsonl"]


@pytest.mark.parametrize("task", ["hashhop", "hashchain"])
def test_same_seed_byte_identical(tmp_path, task):
    a = export(tmp_path, task, 20, 5, name="a.jsonl")
    b = export(tmp_path, task, 20, 5, name="b.jsonl")
    c = export(tmp_path, task, 20, 6, name="c.jsonl")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_chain_lengths_forms_are_equivalent(tmp_path):
    a = export(tmp_path, "hashchain", 5, 3, "--chain-lengths", "2-6", "--num-chains", "3,4", name="a.jsonl")
    b = export(tmp_path, "hashchain", 5, 3, "--chain-lengths", "2,3,4,5,6", "--num-chains", "3-4", name="b.jsonl")
    c = export(tmp_path, "hashchain", 5, 3, name="c.jsonl")
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


# ----------------------------------------------------------------------------- help
def _subparser_options(task: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "task")
    return {o for a in sub.choices[task]._actions for o in a.option_strings if o.startswith("--")} - {"--help"}


EXPECTED_OPTIONS = {
    "hashhop": {"--n", "--seed", "--out", "--hash-length", "--alphabet", "--chain-length", "--min-hops", "--max-hops"},
    "hashchain": {"--n", "--seed", "--out", "--hash-length", "--alphabet", "--chain-lengths", "--num-chains",
                  "--shortest"},
}


@pytest.mark.parametrize("task", ["hashhop", "hashchain"])
def test_help_mentions_every_option(task):
    assert _subparser_options(task) == EXPECTED_OPTIONS[task]
    r = cli(task, "--help")
    assert r.returncode == 0
    for option in EXPECTED_OPTIONS[task]:
        assert re.search(re.escape(option) + r"\b(?!-)", r.stdout), option


def test_top_level_help_lists_subcommands():
    r = cli("--help")
    assert r.returncode == 0
    assert "hashhop" in r.stdout and "hashchain" in r.stdout and "JSONL" in r.stdout


# ----------------------------------------------------------------------------- invalid options
INVALID = [
    (["hashhop", "--max-hops", 30, "--chain-length", 20], "max[-_]hops"),
    (["hashhop", "--max-hops", 20], "max[-_]hops"),
    (["hashhop", "--min-hops", 0], "min[-_]hops"),
    (["hashhop", "--min-hops", 6, "--max-hops", 5], "min[-_]hops"),
    (["hashhop", "--chain-length", 1, "--max-hops", 1], "chain[-_]length"),
    (["hashhop", "--hash-length", 1, "--alphabet", "ab"], "hash[-_]length"),
    (["hashhop", "--alphabet", "aab"], "alphabet"),
    (["hashhop", "--alphabet", "ABC"], "alphabet"),
    (["hashchain", "--chain-lengths", 3], "chain[-_]lengths"),
    (["hashchain", "--chain-lengths", "1,3"], "chain[-_]lengths"),
    (["hashchain", "--chain-lengths", "x"], "chain[-_]lengths"),
    (["hashchain", "--chain-lengths", "2-"], "chain[-_]lengths"),
    (["hashchain", "--num-chains", 1], "num[-_]chains"),
    (["hashchain", "--shortest", 6], "shortest"),
    (["hashchain", "--hash-length", 1, "--alphabet", "ab"], "hash[-_]length"),
    (["hashhop", "--n", -1], "--n\\b|\\bn:"),
    (["hashchain", "--n", -1], "--n\\b|\\bn:"),
    (["hashhop", "--n", "x"], "--n\\b"),
    (["hashhop", "--seed", "x"], "--seed"),
    (["hashhop", "--hash-length", "x"], "--hash-length"),
    (["hashhop", "--bogus", 1], "--bogus"),
    (["hashchain", "--min-hops", 1], "--min-hops"),  # a hashhop option
    (["hashmap"], "hashmap"),  # unknown subcommand
]


@pytest.mark.parametrize("args,pattern", INVALID, ids=[" ".join(map(str, a)) for a, _ in INVALID])
def test_invalid_options_exit_2_without_output(tmp_path, args, pattern):
    folder = tmp_path / "out"
    out = folder / "x.jsonl"
    task, *rest = args
    full = [task]
    if task in ("hashhop", "hashchain"):
        given = {a for a in rest if isinstance(a, str) and a.startswith("--")}
        for opt, value in (("--n", 5), ("--seed", 0)):
            if opt not in given:
                full += [opt, value]
        full += ["--out", out]
    else:
        full += ["--n", 5, "--seed", 0, "--out", out]
    r = cli(*full, *rest)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert r.stderr.endswith("\n")
    assert "error" in lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert not folder.exists() or list(folder.iterdir()) == []
    assert list(tmp_path.iterdir()) in ([], [folder])


def test_missing_required_options(tmp_path):
    r = cli("hashhop", "--n", 3)
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1
    assert "--seed" in r.stderr and "--out" in r.stderr
    r = cli()
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1


def test_failed_export_keeps_existing_file(tmp_path):
    out = export(tmp_path, "hashhop", 3, 1)
    before = out.read_bytes()
    r = cli("hashhop", "--n", 3, "--seed", 1, "--out", out, "--max-hops", 30)
    assert r.returncode == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


# ----------------------------------------------------------------------------- read_jsonl
def test_read_jsonl_round_trip(tmp_path):
    out = export(tmp_path, "hashchain", 12, 77)
    samples = read_jsonl(out)
    assert samples == generate(HashChainConfig(), 12, 77)
    assert [s.task for s in samples] == ["hashchain"] * 12


@pytest.mark.parametrize("cut_line", [1, 3, 5])
def test_read_jsonl_truncated_file(tmp_path, cut_line):
    out = export(tmp_path, "hashhop", 5, 3)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = "".join(lines[:cut_line - 1]) + lines[cut_line - 1][: len(lines[cut_line - 1]) // 2]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(keep, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line {cut_line}\b"):
        read_jsonl(bad)


@pytest.mark.parametrize("content,line", [
    ('{"prompt": "p", "answer": "a", "task": "hashhop", "meta": {}}\n[1, 2]\n', 2),
    ('{"prompt": "p", "answer": "a", "task": "hashhop"}\n', 1),
    ('{"prompt": "p", "answer": "a", "task": "hashhop", "meta": {}}\n\n', 2),
    ('"text"\n', 1),
])
def test_read_jsonl_malformed_lines(tmp_path, content, line):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line {line}\b"):
        read_jsonl(bad)
