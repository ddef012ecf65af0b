"""Assertions several test modules share (not a test module: pytest collects nothing here)."""
from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors.torch import load_file

from helpers.runs import PACKAGES


def assert_provenance(record: dict) -> None:
    """``record["provenance"]`` names every package version, the Python version and the git commit."""
    prov = record["provenance"]
    assert set(PACKAGES) <= set(prov["packages"])
    for name in PACKAGES:
        assert isinstance(prov["packages"][name], str) and prov["packages"][name], name
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", prov["python"])
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", prov["commit"] or ""), prov["commit"]


def strip_times(curve: list[dict]) -> list[dict]:
    """A learning curve without its wall-clock column (the only field allowed to differ)."""
    return [{k: v for k, v in point.items() if k != "seconds"} for point in curve]


def tensors_equal(a: Path, b: Path) -> None:
    ta, tb = load_file(str(a)), load_file(str(b))
    assert sorted(ta) == sorted(tb)
    for key in ta:
        assert ta[key].dtype == tb[key].dtype and torch.equal(ta[key], tb[key]), key
