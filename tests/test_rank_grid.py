"""Issue 11's rank grid: the init and scaling arms as peft flags in a run's config, PiSSA saved as the
update it made, the fused GELU of loaded models, the answers a run stores for the notebooks, and the
rank-study pieces that decide where a measure can count (saturation, separation from the random
control, the full fine-tuning update, task vs method)."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

from helpers import plotting, rank_study
from helpers.errors import Refused
from helpers.evaluation import evaluate_points
from helpers.io import config_hash
from helpers.lora import _resolve, _task, load_adapter, stored_answers, train_lora_run
from helpers.model import load_pretrained, use_fused_activation
from helpers.rank import analyze_adapter, summarize, updates_of


# ---------------------------------------------------------------- fused GELU
def test_the_fused_gelu_is_the_same_function():
    torch.manual_seed(0)
    plain = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50))
    fused = GPT2LMHeadModel(copy.deepcopy(plain.config))
    fused.load_state_dict(plain.state_dict())
    assert use_fused_activation(fused) == "gelu_pytorch_tanh" and plain.config.activation_function == "gelu_new"
    plain.eval(), fused.eval()  # GPT2Config's default dropout
    x = torch.randint(0, 50, (4, 20))
    with torch.no_grad():
        diff = (plain(x).logits - fused(x).logits).abs().max().item()
    assert 0 < diff < 1e-4  # not the same kernel, the same function


def test_other_activations_are_left_alone():
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10, activation_function="relu"))
    assert use_fused_activation(model) == "relu" and type(model.transformer.h[0].mlp.act).__name__ == "ReLU"


def test_loaded_models_run_the_fused_kernel_and_runs_record_it(tiny_base, lora_config, tmp_path, monkeypatch):
    model, _ = load_pretrained(tiny_base)
    assert model.config.activation_function == "gelu_pytorch_tanh"
    import helpers.model
    monkeypatch.setattr(helpers.model, "FUSE_ACTIVATION", False)  # tools.activation_bench's "before" arm
    assert load_pretrained(tiny_base)[0].config.activation_function == "gelu_new"
    monkeypatch.undo()
    result = train_lora_run(lora_config(), root=tmp_path, progress=False)
    assert result["environment"]["activation"] == "fused-gelu"


# ---------------------------------------------------------------- stored answers
def test_a_run_stores_its_answers_and_they_are_the_models(lora_config, tmp_path):
    from helpers.diagnostics import answer_points
    config = lora_config()
    result = train_lora_run(config, root=tmp_path, progress=False)
    stored = stored_answers(result["adapter_dir"], config["eval_points"], config["eval_n"])
    model, tokenizer = load_adapter(_resolve(config["base"]), result["adapter_dir"])
    fresh = answer_points(model, tokenizer, _task(config["task"]), config["eval_points"], config["eval_n"])
    assert stored == {p: got["answers"] for p, got in fresh.items()}
    assert sum(sum(a == s.answer for a, s in zip(got["answers"], got["samples"])) for got in fresh.values()) \
        == sum(r["correct"] for r in result["accuracy"])
    # other points or another prompt count: not these answers, recompute
    assert stored_answers(result["adapter_dir"], config["eval_points"], config["eval_n"] + 1) is None
    assert stored_answers(result["adapter_dir"], config["eval_points"][:1], config["eval_n"]) is None
    assert "answers.json" in result["files"]  # checksummed: a damaged file makes the run unfinished


# ---------------------------------------------------------------- init and scaling arms
def test_default_init_and_scaling_never_enter_a_config(lora_config):
    plain = lora_config()
    assert lora_config(init="default", use_rslora=False) == plain and "init" not in plain
    hashes = {config_hash(c) for c in (plain, lora_config(init="gaussian"), lora_config(init="pissa"),
                                       lora_config(use_rslora=True))}
    assert len(hashes) == 4


@pytest.mark.parametrize("key,value,match", [("init", "kaiming", r"init: allowed values are \('default', 'gaussian', 'pissa'\)"),
                                             ("use_rslora", "yes", "use_rslora: allowed values are true or false"),
                                             ("use_rslora", 1, "use_rslora: allowed values are true or false")])
def test_bad_arms_are_refused_before_training(lora_config, key, value, match):
    with pytest.raises(Refused, match=match):
        lora_config(**{key: value})


def test_full_fine_tuning_has_no_lora_init(lora_config):
    with pytest.raises(Refused, match="only LoRA runs have them"):
        lora_config(method="full", rank=None, alpha=None, init="gaussian")


def test_the_arms_reach_peft(lora_config, tmp_path):
    gauss = train_lora_run(lora_config(init="gaussian", steps=0), root=tmp_path, progress=False)
    rs = train_lora_run(lora_config(use_rslora=True, steps=0), root=tmp_path, progress=False)
    assert json.load(open(f"{rs['adapter_dir']}/adapter_config.json"))["use_rslora"] is True
    from safetensors.torch import load_file
    a = [t for k, t in load_file(f"{gauss['adapter_dir']}/adapter_model.safetensors").items() if "lora_A" in k]
    std = torch.cat([t.flatten() for t in a]).std().item()
    assert abs(std - 1 / 2) < 0.15  # peft's "gaussian": A ~ N(0, 1/r), r = 2 here


def test_pissa_is_saved_as_the_update_it_made(lora_config, tmp_path):
    """PiSSA moves the base weight's top directions into A and B (peft subtracts them from the base);
    the run saves peft's conversion: a plain LoRA of rank 2r on the original base, whose B @ A is the
    update. Loaded on the original base it gives the trained model's answers exactly."""
    config = lora_config(init="pissa", steps=8)
    result = train_lora_run(config, root=tmp_path, progress=False)
    saved = json.load(open(f"{result['adapter_dir']}/adapter_config.json"))
    assert saved["r"] == 2 * config["rank"] and saved["init_lora_weights"] is True
    model, tokenizer = load_adapter(_resolve(config["base"]), result["adapter_dir"])
    table = evaluate_points(model, tokenizer, _task(config["task"]), config["eval_points"], config["eval_n"])
    assert [r["correct"] for r in table] == [r["correct"] for r in result["accuracy"]]
    layers = analyze_adapter(result["adapter_dir"])
    assert all(0 < layer["thr_1e-3"] <= 2 * config["rank"] for layer in layers)
    untrained = train_lora_run(lora_config(init="pissa", steps=0), root=tmp_path, progress=False)
    assert all(layer["norm_delta"] < 1e-5 for layer in analyze_adapter(untrained["adapter_dir"]))  # no step, no update


# ---------------------------------------------------------------- where a measure can count
def _row(kind, arm, mean, half=0.5, n=3, rank=8, measure="m"):
    return {"kind": kind, "arm": arm, "rank": rank, "measure": measure, "mean": mean, "low": mean - half,
            "high": mean + half, "n": n}


def test_a_measure_counts_only_unsaturated_and_apart_from_its_control():
    usable = [_row("planning", "trained", 5.0), _row("reasoning", "trained", 3.0),
              _row("planning", "random", 7.0), _row("reasoning", "random", 7.0)]
    assert rank_study.usable_ranks(usable, "m") == [{"rank": 8, "measure": "m", "usable": True, "why": ""}]
    saturated = [_row("planning", "trained", 8.0)] + usable[1:]
    got = rank_study.usable_ranks(saturated, "m")[0]
    assert not got["usable"] and got["why"].startswith("saturated")
    on_control = [usable[0], _row("reasoning", "trained", 7.2)] + usable[2:]
    got = rank_study.usable_ranks(on_control, "m")[0]
    assert not got["usable"] and "not separated" in got["why"]
    one_seed = [dict(r, n=1, low=r["mean"], high=r["mean"]) for r in usable]
    got = rank_study.usable_ranks(one_seed, "m")[0]
    assert not got["usable"] and "one seed" in got["why"]


def test_measure_table_gives_seed_intervals():
    rows = [{"kind": "planning", "arm": "trained", "rank": 4, "seed": s, "m": v} for s, v in enumerate((2.0, 3.0, 4.0))]
    (row,) = rank_study.measure_table(rows, "m")
    assert row["mean"] == 3.0 and row["n"] == 3 and row["low"] < 3.0 < row["high"]


def test_full_update_layers_sees_the_rank_of_the_change(tmp_path):
    rng = np.random.default_rng(0)
    base = {f"transformer.h.{i}.mlp.c_proj.weight": torch.tensor(rng.normal(size=(16, 8)), dtype=torch.float32)
            for i in range(2)}
    delta = torch.tensor(rng.normal(size=(16, 3)) @ rng.normal(size=(3, 8)), dtype=torch.float32)  # rank 3
    tuned = {k: v + delta for k, v in base.items()}
    (tmp_path / "base").mkdir()
    (tmp_path / "tuned").mkdir()
    save_file(base, str(tmp_path / "base" / "model.safetensors"))
    save_file(tuned, str(tmp_path / "tuned" / "model.safetensors"))
    layers = rank_study.full_update_layers(str(tmp_path / "base"), tmp_path / "tuned")
    assert [layer["thr_1e-3"] for layer in layers] == [3, 3] and layers[0]["shape"] == [16, 8]


def test_the_figures_draw():
    table = [_row(k, a, v, rank=r) for r in (2, 4) for k, a, v in
             (("planning", "trained", 1.5), ("reasoning", "trained", 1.2), ("planning", "random", 1.9),
              ("reasoning", "random", 1.9), ("planning", "shuffled", 1.4), ("reasoning", "shuffled", 1.3))]
    fig = plotting.rank_grid_figure(table, ["m"], {"planning": {"m": 3.0}, "reasoning": {"m": 2.0}})
    assert len(fig.axes) == 1
    effect = {"measure": "m", "rank": 4, "default": {"planning": 2.0, "reasoning": 1.0},
              "arms": {"x": {"planning": 3.0, "reasoning": 1.5}}}
    assert len(plotting.arm_figure([effect, effect]).axes) == 2


def test_the_rank_over_training_figure_draws_curves_beside_others_dashed():
    rows = lambda v: [{"step": n, "m": v + n, "accuracy": 0.5, "passed": n > 1} for n in (1, 2)]
    curves = {"planning": rows(10.0), "reasoning": rows(8.0)}
    fig = plotting.rank_over_training_figure(curves, ["m"], 64)
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 2]  # 2 tasks + the ceiling; the accuracy panel
    fig = plotting.rank_over_training_figure(curves, ["m"], 64, beside={"planning": rows(2.0)}, ceiling="width 64",
                                             labels=("full", "LoRA"))
    lines = fig.axes[0].get_lines()
    assert [l.get_label() for l in lines] == ["planning full", "reasoning full", "planning LoRA", "width 64"]
    assert lines[2].get_linestyle() == "--" and list(lines[2].get_ydata()) == [3.0, 4.0]
    # other seeds: drawn first, thin and pale, one legend entry for all of them, on every panel
    fig = plotting.rank_over_training_figure(curves, ["m"], 64, others=[{"planning": rows(20.0), "reasoning": rows(30.0)},
                                                                       {"planning": rows(40.0)}])
    lines = fig.axes[0].get_lines()
    labels = [l.get_label() for l in lines]
    assert labels[0] == "other seeds" and all(l.startswith("_") for l in labels[1:3]) and labels[3] == "planning"
    assert [list(l.get_ydata()) for l in lines[:3]] == [[21.0, 22.0], [31.0, 32.0], [41.0, 42.0]]
    assert lines[0].get_alpha() == 0.45 and lines[0].get_linewidth() == 1
    assert len(fig.axes[1].get_lines()) == 3 + 2  # the accuracy panel too


def test_the_arm_figure_dots_every_adapter_and_hatches_an_arm_that_failed():
    effect = {"measure": "m", "rank": 4, "default": {"planning": 2.0, "reasoning": 1.0},
              "arms": {"x": {"planning": 3.0, "reasoning": 1.5}}}
    rows = [{"kind": k, "arm": a, "rank": 4, "seed": s, "m": v} for k, a, s, v in (
        ("planning", "trained", 0, 2.0), ("planning", "trained", 1, 2.0), ("reasoning", "trained", 0, 1.0),
        ("planning", "x", 0, 2.5), ("planning", "x", 1, 3.5), ("reasoning", "x", 0, 1.5))]
    passed = {"planning": {"r4-s0": True, "r4-s1": True, "x r4-s0": True, "x r4-s1": False},
              "reasoning": {"r4-s0": True, "x r4-s0": True}}
    (ax,) = plotting.arm_figure([effect], rows, passed).axes
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(rows)
    hatched = [(round(p.get_x() + p.get_width() / 2, 2), p.get_height()) for p in ax.patches if p.get_hatch()]
    assert hatched == [(1 - 0.19, 3.0)]  # planning's bar of arm x, the only arm with a failing adapter
    assert not any(p.get_hatch() for p in plotting.arm_figure([effect], rows).axes[0].patches)


# ---------------------------------------------------------------- the claims table
def test_rank_claims_need_learned_adapters_and_a_usable_rank(tmp_path, monkeypatch):
    from helpers import report
    ratio = [{"rank": 8, "measure": m, "mean": 0.4, "low": 0.35, "high": 0.45, "n": 3}
             for m in ("thr_1e-3", "entropy_rank", "energy_90")]
    rank = {"ranks": [8], "ratios": ratio, "planning_top_rank_thr_1e-3_per_layer": [5, 6],
            "usable": {"thr_1e-3": [{"rank": 8, "usable": True, "why": ""}],
                       "entropy_rank": [{"rank": 8, "usable": False, "why": "saturated (...)"}]},
            "passed": {"planning": {"r8-s0": True}, "reasoning": {"r8-s0": True}}}
    monkeypatch.setattr(report, "_load", lambda profile, name: rank if name == "05_rank.json" else None)
    rows = {r["claim"]: r for r in report.claims("x")}
    assert rows["effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning"]["verdict"] == "reproduced"
    entropy = rows["same claim, entropy effective rank (not in the paper)"]
    assert entropy["verdict"] == "untestable here" and "not usable at r = [8] (saturated" in entropy["ours"]
    assert rows["same claim, 90%-energy rank (not in the paper)"]["verdict"] == "untestable here"  # no usability known
    rank["passed"]["reasoning"]["r8-s0"] = False
    rows = {r["claim"]: r for r in report.claims("x")}
    head = rows["effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning"]
    assert head["verdict"] == "untestable here" and "reasoning 0 of 1" in head["ours"]


def test_verdicts_count_only_ranks_where_every_adapter_learned():
    passed = {"planning": {"r32-s0": True, "r32-s1": False, "r64-s0": True, "r64-s1": True},
              "reasoning": {"r32-s0": True, "r32-s1": True, "r64-s0": True, "r64-s1": True}}
    assert rank_study.learned_ranks(passed) == [64]
    rows = [{"rank": 32, "n": 2, "low": 0.2, "high": 0.4}, {"rank": 64, "n": 2, "low": 0.9, "high": 1.1}]
    usable = [{"rank": 32, "usable": True}, {"rank": 64, "usable": True}]
    assert rank_study.claim_verdict(rows, usable, passed) == ("not reproduced", "counted at r = [64]")  # r=32's 0.2-0.4 ignored
    verdict, why = rank_study.claim_verdict(rows, [{"rank": 32, "usable": True}, {"rank": 64, "usable": False}], passed)
    assert verdict == "untestable here" and "r = [64]" in why and "saturated" in why
    assert rank_study.learned_ranks({"planning": {"r8-s0": True}}) == []  # a task without adapters never counts


def test_the_attention_grid_is_the_same_grid_on_the_layer_where_both_tasks_learn():
    from helpers import ablations
    from helpers.profiles import get_profile
    profile = get_profile("small")
    ra, at = profile["rank_analysis"], profile["rank_analysis"]["attention"]
    cells = rank_study.attention_cells(profile)
    assert all(c["config"]["target_modules"] == at["target_modules"] and c["config"]["lr"] == at["lr"] for c in cells)
    for kind in rank_study.KINDS:
        mine = [c for c in cells if c["kind"] == kind]
        assert sorted((c["rank"], c["seed"]) for c in mine if c["arm"] == "trained") == \
            sorted((r, s) for r in at["ranks"] for s in ra["seeds"])
        assert sorted(c["rank"] for c in mine if c["arm"] == "shuffled") == sorted(at["ranks"] * len(ra["control_seeds"]))
    configs = rank_study.study_configs(profile)
    assert all(c["config"] in configs for c in cells)
    # its full-width cells are notebook 04's attention arm: one run in the run cache, not two
    arm = [c["config"] for c in ablations.design(profile) if c["ablation"] == "target modules" and c["x"] == "attn.c_attn"]
    assert len(arm) == 2 and all(a in [c["config"] for c in cells] for a in arm)


# ---------------------------------------------------------------- rank over training
def test_snapshots_are_the_same_training_saved_along_the_way(lora_config, tmp_path):
    plain = train_lora_run(lora_config(), root=tmp_path, progress=False)
    snap = train_lora_run(lora_config(snapshots=[3, 6]), root=tmp_path, progress=False)
    assert snap["run_dir"] != plain["run_dir"] and "snapshots" not in plain["config"]
    assert sha(plain["adapter_dir"]) == sha(snap["adapter_dir"])  # saving along the way changes nothing
    rows = rank_study.snapshot_summaries(snap, 12)
    assert [r["step"] for r in rows] == [3, 6, 12] and all(r["thr_1e-3"] >= 1 for r in rows)
    assert "snapshots/step-3/adapter_model.safetensors" in snap["files"]


@pytest.mark.parametrize("value", [[0], [12], "3", [2.5]])
def test_bad_snapshots_are_refused(lora_config, value):
    with pytest.raises(Refused, match=r"snapshots: give a non-empty list of steps in 1\.\.11"):
        lora_config(snapshots=value)


def sha(adapter_dir):
    from helpers.runs import sha256_file
    return sha256_file(f"{adapter_dir}/adapter_model.safetensors")


def test_random_controls_carry_how_far_a_moved(lora_config, tmp_path):
    """One control per (kind, rank) from the first seed's adapter, with A's movement under training
    (notebook 05 reads it there instead of building the control twice)."""
    config = lora_config()
    result = train_lora_run(config, root=tmp_path / "runs", progress=False)
    cells = [{"kind": "planning", "rank": config["rank"], "seed": s, "arm": "trained", "config": config} for s in (0, 1)]
    (row,) = rank_study.random_controls(cells, [result, result], tmp_path / "controls")
    a_change = rank_study.control_adapter(config, result["adapter_dir"], tmp_path / "again")
    assert row["arm"] == "random" and row["seed"] == 0
    assert row["A_relative_change"] == pytest.approx(sum(a_change.values()) / len(a_change)) and row["A_relative_change"] > 0
    assert row["thr_1e-3"] == summarize(analyze_adapter(tmp_path / "again"))["thr_1e-3"]


def test_rank_findings_name_both_grids(monkeypatch):
    from helpers import report
    table = [_row(k, a, v, rank=64) for k, a, v in (("planning", "trained", 20.0), ("reasoning", "trained", 30.0),
                                                     ("planning", "random", 60.0), ("reasoning", "random", 60.0))]
    table = [dict(r, measure=m) for r in table for m in ("thr_1e-3", "energy_90", "entropy_rank")]
    usable = {m: [{"rank": 64, "usable": True}] for m in ("thr_1e-3", "energy_90", "entropy_rank")}
    grid = {"ranks": [64], "table": table, "usable": usable}
    rank = dict(grid, seeds=[0, 1], attention=dict(grid, target_modules=["attn.c_attn"]))
    monkeypatch.setattr(report, "_load", lambda profile, name: rank if name == "05_rank.json" else None)
    lines = report.rank_findings("x")
    assert lines[0].startswith("Rank grid, thr_1e-3 (ranks [64], 2 seeds): usable (unsaturated and apart from the random control) at r = [64]")
    assert "planning trained 20.0, planning random 60.0, reasoning trained 30.0" in lines[0]
    assert lines[3].startswith("Rank grid on attn.c_attn, thr_1e-3 (ranks [64], 2 seeds)")


def test_notebooks_03_to_05_share_one_run_for_the_rank_over_training():
    """The grid's largest-rank, first-seed run saves its snapshots; notebook 04's run of the same setting is that
    very run (one config, so one run in the cache), and so is notebook 03's where its sweep trains ``lora.steps``
    (reasoning; planning's sweep trains 16x longer); no other run saves snapshots."""
    from helpers import ablations
    from helpers.experiments import sweep_configs, sweep_steps
    from helpers.profiles import get_profile
    profile = get_profile("small")
    ra = profile["rank_analysis"]
    snaps = rank_study.snapshot_configs(profile)
    for kind, config in snaps.items():
        assert config["snapshots"] == ra["snapshots"] and config["rank"] == max(ra["ranks"]) and config["seed"] == ra["seeds"][0]
        assert (config in sweep_configs(profile, kind)) == (sweep_steps(profile, kind) == profile["lora"]["steps"])
        assert config in [c["config"] for c in rank_study.rank_cells(profile)]
        assert config in [c["config"] for c in ablations.design(profile) if c["kind"] == kind]
    others = [c["config"] for c in rank_study.rank_cells(profile) + rank_study.attention_cells(profile) + rank_study.arm_cells(profile)]
    assert sum("snapshots" in c for c in others) == 2  # the two above, nothing else


def test_the_attention_rank_over_training_is_the_attention_grid_cell_with_snapshots():
    """Same settings as the attention grid's largest-rank, first-seed cell (so its final adapter is that cell's),
    plus the snapshots; notebook 05's pool trains it."""
    from helpers.profiles import get_profile
    profile = get_profile("small")
    ra = profile["rank_analysis"]
    grid = {c["kind"]: c["config"] for c in rank_study.attention_cells(profile)
            if c["arm"] == "trained" and c["rank"] == max(ra["attention"]["ranks"]) and c["seed"] == ra["seeds"][0]}
    snaps = rank_study.snapshot_configs(profile, attention=True)
    assert set(snaps) == set(grid) == {"planning", "reasoning"}
    for kind, config in snaps.items():
        assert config["snapshots"] == ra["snapshots"] and "snapshots" not in grid[kind]
        assert {k: v for k, v in config.items() if k != "snapshots"} == grid[kind]
        assert config in rank_study.study_configs(profile)


# ---------------------------------------------------------------- full fine-tuning of the target modules alone
def test_trainable_target_modules_trains_only_those_weights(lora_config, tmp_path):
    from safetensors.torch import load_file
    config = lora_config(method="full", rank=None, alpha=None, lr=1e-2, trainable="target_modules", last_n_blocks=1)
    result = train_lora_run(config, root=tmp_path, progress=False)
    tuned = load_file(f"{result['run_dir']}/model/model.safetensors")
    base = load_file(f"{_resolve(config['base'])}/model.safetensors")
    changed = sorted(k for k, v in tuned.items() if not torch.equal(v, base.get(k, base.get(k.replace("transformer.", "", 1)))))
    last = load_pretrained(_resolve(config["base"]))[0].config.n_layer - 1
    assert changed == [f"transformer.h.{last}.mlp.c_proj.weight"]
    # the default (every weight) is never written into a config: full fine-tuning runs keep their identity
    assert lora_config(method="full", rank=None, alpha=None, trainable="all") == lora_config(method="full", rank=None, alpha=None)


@pytest.mark.parametrize("overrides, match", [({"trainable": "mlp"}, "trainable: allowed values are"),
                                              ({"trainable": "target_modules", "method": "lora"}, "only for method 'full'")])
def test_a_bad_trainable_is_refused_before_training(lora_config, overrides, match):
    settings = {"method": "full", "rank": None, "alpha": None, **overrides}
    if settings["method"] == "lora":
        settings.update(rank=2, alpha=1.0)
    with pytest.raises(Refused, match=match):
        lora_config(**settings)


def test_analyze_full_reads_the_update_as_a_full_width_grid(lora_config, tmp_path, monkeypatch):
    cells, results = [], []
    for kind in rank_study.KINDS:
        for seed in (0, 1):
            config = lora_config(method="full", rank=None, alpha=None, lr=1e-2, trainable="target_modules", seed=seed)
            cells.append({"kind": kind, "rank": None, "seed": seed, "arm": "full", "config": config})
            results.append(train_lora_run(config, root=tmp_path, progress=False))
    seen = {}
    monkeypatch.setattr(rank_study, "abilities", lambda profile, c, r: seen.setdefault("cells", (c, r)) and (
        {k: {rank_study.adapter_name(x): True for x in c if x["kind"] == k and x["arm"] != "shuffled"} for k in rank_study.KINDS}, {}))
    got = rank_study.analyze_full(None, cells, results)
    layers = rank_study.full_update_layers(cells[0]["config"]["base"], f"{results[0]['run_dir']}/model")
    width = min(layers[0]["shape"])
    assert got["width"] == width and got["passed"]["planning"] == {f"r{width}-s0": True, f"r{width}-s1": True}
    assert seen["cells"][1][0]["adapter_dir"].endswith("/model")
    assert got["per_layer_thr_1e-3"]["planning"]["0"] == [l["thr_1e-3"] for l in layers]
    random = next(r for r in got["table"] if r["arm"] == "random" and r["measure"] == "thr_1e-3")
    assert random["mean"] == width  # a Gaussian matrix has full rank
    assert {u["rank"] for u in got["usable"]["thr_1e-3"]} == {width}
    assert {r["measure"] for r in got["ratios"]} == set(rank_study.MEASURES) and got["ratios"][0]["n"] == 2
    # a shuffled-target run joins the table as a control: not checked, not in the ratios or the per-layer values
    shuffled = dict(cells[0], arm="shuffled", config=dict(cells[0]["config"], targets="shuffled"))
    more = rank_study.analyze_full(None, cells + [shuffled], results + [train_lora_run(shuffled["config"], root=tmp_path, progress=False)])
    assert more["ratios"] == got["ratios"] and more["per_layer_thr_1e-3"] == got["per_layer_thr_1e-3"]
    assert any(r["arm"] == "shuffled" for r in more["table"]) and len(more["passed"]["planning"]) == 2


def test_a_full_run_saves_its_model_along_the_way_and_snapshot_curves_measure_its_update(lora_config, tmp_path, monkeypatch):
    """A full fine-tuning run with snapshots trains like the same run without (same final weights) and saves its model at
    each saved step; snapshot_curves measures the update of the named module at each and at the end, as analyze_full
    measures the final one, with the accuracy and criteria per step (abilities, stubbed: its own tests)."""
    settings = dict(method="full", rank=None, alpha=None, lr=1e-2, trainable="target_modules")
    plain = train_lora_run(lora_config(**settings), root=tmp_path, progress=False)
    config = lora_config(snapshots=[4, 8], **settings)
    snap = train_lora_run(config, root=tmp_path, progress=False)
    assert "snapshots/step-4/model.safetensors" in snap["files"] and snap["run_dir"] != plain["run_dir"]
    assert (Path(snap["run_dir"]) / "model/model.safetensors").read_bytes() == \
           (Path(plain["run_dir"]) / "model/model.safetensors").read_bytes()
    seen = []

    def fake_abilities(profile, cells, results):
        seen.append([r["adapter_dir"] for r in results])
        names = [rank_study.adapter_name(c) for c in cells]
        return {"planning": dict.fromkeys(names, True)}, {"planning": {n: 0.5 for n in names}}
    monkeypatch.setattr(rank_study, "abilities", fake_abilities)
    curves = rank_study.snapshot_curves(None, {"planning": config}, {"planning": snap}, "mlp.c_proj")
    rows = curves["planning"]
    assert [r["step"] for r in rows] == [4, 8, 12] and all(r["passed"] and r["accuracy"] == 0.5 for r in rows)
    assert seen[0][-1].endswith("/model") and seen[0][0].endswith("snapshots/step-4")
    final = summarize(rank_study.full_update_layers(config["base"], f"{snap['run_dir']}/model"))
    assert {k: v for k, v in rows[-1].items() if k not in ("step", "accuracy", "passed")} == final
    assert rows[0] != rows[-1]  # the model at step 4 is not the final one
    with pytest.raises(ValueError, match="module: name the layer"):
        rank_study.snapshot_curves(None, {"planning": config}, {"planning": snap})


def test_update_overlaps_compare_where_the_updates_point(lora_config, tmp_path):
    """rank.updates_of reads a full run's update (transposed to (out, in)) and a LoRA's alike, keyed by the same layer
    names; an update overlaps itself fully at every k; update_overlaps names each pair it compares."""
    from safetensors.torch import load_file
    settings = dict(method="full", rank=None, alpha=None, lr=1e-2, trainable="target_modules")
    cells, results = [], []
    for kind, arm, seed in (("planning", "full", 0), ("planning", "full", 1), ("reasoning", "full", 0),
                            ("reasoning", "full", 1), ("planning", "shuffled", 0)):
        config = lora_config(seed=seed, **settings, **({"targets": "shuffled"} if arm == "shuffled" else {}))
        cells.append({"kind": kind, "rank": None, "seed": seed, "arm": arm, "config": config})
        results.append(train_lora_run(config, root=tmp_path, progress=False))
    base = cells[0]["config"]["base"]
    full = updates_of(Path(results[0]["run_dir"]) / "model", _resolve(base), "mlp.c_proj")
    tuned = load_file(f"{results[0]['run_dir']}/model/model.safetensors")
    layer, (width, delta) = next(iter(full.items()))
    raw = tuned[f"{layer}.weight"].double() - load_file(f"{_resolve(base)}/model.safetensors")[f"{layer}.weight"].double()
    assert np.allclose(delta, raw.numpy().T) and width == min(raw.shape)
    itself = rank_study.updates_overlap(full, full)
    assert all(abs(phi - 1) < 1e-9 for phi, _ in itself.values()) and itself[str(width)][1] == 1.0
    lora_run = train_lora_run(lora_config(rank=2, alpha=1.0), root=tmp_path, progress=False)
    lora = updates_of(lora_run["adapter_dir"], module="mlp.c_proj")
    assert set(lora) == set(full) and {r for r, _ in lora.values()} == {2}
    assert list(rank_study.updates_overlap(full, lora)) == ["1", "2"]  # up to the smaller rank
    with pytest.raises(ValueError, match="different layers"):
        rank_study.updates_overlap(full, {"elsewhere": full[layer]})
    got = rank_study.update_overlaps(cells, results, {"planning": lora_run["adapter_dir"]})
    assert list(got) == ["full fine-tuning: planning vs reasoning, seed 0", "full fine-tuning, planning: seed 0 vs seed 1",
                         "full fine-tuning, planning: trained vs shuffled targets, seed 0",
                         "full fine-tuning vs LoRA r=2, planning: seed 0", "full fine-tuning, reasoning: seed 0 vs seed 1"]
    # the same task, config and seed: the same update
    assert all(abs(phi - 1) < 1e-9 for phi, _ in got["full fine-tuning: planning vs reasoning, seed 0"].values())
    # LoRA cells alike, named by their rank
    lora_cells = [dict(c, rank=2, arm="trained" if c["arm"] == "full" else c["arm"],
                       config=dict(lora_config(rank=2, alpha=1.0, seed=c["seed"]), **({"targets": "shuffled"} if c["arm"] == "shuffled" else {})))
                  for c in cells]
    lora_results = [train_lora_run(c["config"], root=tmp_path, progress=False) for c in lora_cells]
    assert list(rank_study.update_overlaps(lora_cells, lora_results)) == [
        "LoRA r=2: planning vs reasoning, seed 0", "LoRA r=2, planning: seed 0 vs seed 1",
        "LoRA r=2, planning: trained vs shuffled targets, seed 0", "LoRA r=2, reasoning: seed 0 vs seed 1"]
    named = rank_study.update_overlaps(lora_cells, lora_results, method="LoRA r=2 on mlp.c_proj")
    assert next(iter(named)) == "LoRA r=2 on mlp.c_proj: planning vs reasoning, seed 0"


def test_the_rank_command_measures_a_fully_fine_tuned_model_against_its_base(lora_config, tmp_path, capsys):
    """python -m helpers.rank MODEL_DIR --base BASE: the update of every weight matrix that changed (here mlp.c_proj
    alone: trainable target_modules), measured as notebook 05 measures the reference; --compare with an adapter."""
    from helpers.rank import main
    config = lora_config(method="full", rank=None, alpha=None, lr=1e-2, trainable="target_modules")
    model_dir = Path(train_lora_run(config, root=tmp_path, progress=False)["run_dir"]) / "model"
    base = _resolve(config["base"])
    assert main([str(model_dir), "--base", base, "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)
    expected = rank_study.full_update_layers(config["base"], model_dir)
    assert [l["layer"] for l in layers] == [e["module"] for e in expected]  # only what changed: the target modules
    assert [l["thr_1e-3"] for l in layers] == [e["thr_1e-3"] for e in expected]
    assert {l["r"] for l in layers} == {min(expected[0]["shape"])}
    assert main([str(model_dir), "--base", base, "--module", "mlp.c_proj"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:2] == ["layer", "r"] and "norm_A" not in table and "mean" in table
    adapter = train_lora_run(lora_config(rank=2, alpha=1.0), root=tmp_path, progress=False)["adapter_dir"]
    assert main([str(model_dir), "--base", base, "--compare", adapter, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(layers) and all(r["k"] == [1, 2] and r["r"][1] == 2 for r in rows)
    for argv, match in (([str(model_dir)], "adapter_config.json"),
                        ([str(model_dir), "--base", str(tmp_path)], "model.safetensors does not exist"),
                        ([str(model_dir), "--base", base, "--module", "attn.nothing"], "no weight matrix named")):
        with pytest.raises(SystemExit) as err:
            main(argv)
        assert err.value.code == 2 and match in capsys.readouterr().err


def test_the_full_reference_figure_draws_every_measure():
    rows = [{"kind": k, "arm": a, "rank": 8, "measure": "m", "mean": v, "low": v - 1, "high": v + 1}
            for k, a, v in (("planning", "trained", 5.0), ("reasoning", "trained", 6.0), ("planning", "random", 8.0),
                            ("reasoning", "random", 8.0))]
    full = {"table": rows, "lora": [dict(rows[0], mean=4.0, low=3.0, high=5.0)], "lora_rank": 8, "width": 8,
            "module": "x", "steps": 10}
    fig = plotting.full_reference_figure(full, ["m", "m"])
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 5  # 3 planning bars, 2 reasoning (no LoRA row)
