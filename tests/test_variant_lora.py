"""tools.variant_lora: notebook 03's largest-rank runs, with a base variant's model as their base."""
from __future__ import annotations

import pytest

from helpers.errors import MissingFileError
from helpers.experiments import sweep_configs
from helpers.profiles import get_profile
from helpers.runs import sha256_file
from tools.base_variants import VARIANTS, slug
from tools.variant_lora import KIND_OF_TASK, variant_configs


def test_the_runs_are_notebook_03s_with_the_variant_as_their_base(tmp_path, monkeypatch):
    from helpers import paths
    monkeypatch.setattr(paths, "RUNS", tmp_path)
    profile = get_profile("small")
    name = next(n for n, spec in VARIANTS.items() if spec["task"] == "hashchain")
    with pytest.raises(MissingFileError, match="--variant: .* is not trained"):
        variant_configs(profile, name)
    model = tmp_path / "base-variants" / slug(name) / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"stand-in bytes")
    kind, configs = variant_configs(profile, name)
    assert kind == KIND_OF_TASK["hashchain"] == "reasoning"
    lp = profile["lora"]
    notebook = [c for c in sweep_configs(profile, kind) if c["rank"] == max(lp["ranks"])]
    assert len(configs) == len(notebook) == len(lp["seeds"])
    for ours, theirs in zip(configs, notebook):
        assert ours["base"] == str(model) and ours["base_checksum"] == sha256_file(model / "model.safetensors")
        assert {k: v for k, v in ours.items() if k not in ("base", "base_checksum")} == \
            {k: v for k, v in theirs.items() if k not in ("base", "base_checksum", "snapshots")}


def test_a_committed_base_folder_may_stand_in_for_a_variant():
    from helpers.paths import BASES
    from tools.variant_lora import committed_model
    assert committed_model("models/hashchain-small-stage1") == ("reasoning", (BASES / "hashchain-small-stage1").resolve())
    assert committed_model("models/hashhop-small")[0] == "planning"
    profile = get_profile("small")
    kind, configs = variant_configs(profile, "models/hashchain-small-stage1")
    assert kind == "reasoning" and {c["base"] for c in configs} == {"models/hashchain-small-stage1"}
    for bad in ("models/pretrained-small", "models", "helpers", "models/no-such-base", "hashchain seed 2"):
        with pytest.raises(MissingFileError, match="--variant"):
            committed_model(bad)
