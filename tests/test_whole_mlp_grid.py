"""tools.whole_mlp_grid: notebook 05's rank grid on the whole MLP, its measures read on the paper's layer alone."""
from __future__ import annotations

import json

import pytest

from helpers import rank_study
from helpers.tasks import TaskConfigError
from helpers.lora import train_lora_run
from helpers.paths import RESULTS
from helpers.profiles import get_profile
from helpers.rank import analyze_adapter, summarize
from tools import whole_mlp_grid
from tools.arm_seeds import SEEDS, learned_rows
from tools.planning_probe import arm_configs

WHOLE_MLP = ["mlp.c_fc", "mlp.c_proj"]


def test_rank_order_puts_the_widest_first_then_a_spread():
    assert whole_mlp_grid.rank_order([2, 4, 8, 16, 32, 64]) == [64, 16, 4, 32, 8, 2]
    assert whole_mlp_grid.rank_order([8, 2, 4]) == [8, 2, 4]
    assert whole_mlp_grid.rank_order([4]) == [4]


def test_the_whole_mlp_grid_is_the_rank_grid_on_the_whole_mlp():
    """Every rank of rank_analysis.whole_mlp, the seeds and controls of the other grids, 4x the steps at lora.lr;
    the planning probe's whole-MLP arm at 4x the steps is the same run (one config)."""
    profile = get_profile("small")
    ra, wm = profile["rank_analysis"], profile["rank_analysis"]["whole_mlp"]
    cells = rank_study.layer_grid_cells(profile)
    for kind in ("planning", "reasoning"):
        for arm, seeds in (("trained", ra["seeds"]), ("shuffled", ra["control_seeds"])):
            got = sorted((c["rank"], c["seed"]) for c in cells if c["kind"] == kind and c["arm"] == arm)
            assert got == sorted((r, s) for r in wm["ranks"] for s in seeds), (kind, arm)
    for c in cells:
        cfg = c["config"]
        assert cfg["target_modules"] == WHOLE_MLP and cfg["steps"] == 4 * profile["lora"]["steps"]
        assert cfg["lr"] == profile["lora"]["lr"] and cfg["alpha"] == profile["lora"]["alpha_ratio"] * cfg["rank"]
        assert (cfg.get("targets") == "shuffled") == (c["arm"] == "shuffled")
    probe = [cfg for name, _, cfg in arm_configs(profile) if name == "5-hash chains, whole MLP, 4x steps"]
    assert probe and all(cfg in [c["config"] for c in cells] for cfg in probe)


@pytest.mark.parametrize("grid, steps_x, rslora, probe_arm", [
    ("paper_layer", 16, False, "5-hash chains, mlp.c_proj, 16x steps"),
    ("paper_layer_rslora", 4, True, "5-hash chains, mlp.c_proj, rsLoRA, 4x steps")])
def test_the_paper_layer_grids_are_the_rank_grid_on_mlp_c_proj_alone(grid, steps_x, rslora, probe_arm):
    """rank_analysis.paper_layer(_rslora): the paper's layer alone at its ranks with every grid's seeds and controls,
    16x the steps at the paper's scaling or 4x with rsLoRA; the planning probe's arm of the same setting is the grid's
    planning adapters (one config each)."""
    profile = get_profile("small")
    ra, pl = profile["rank_analysis"], profile["rank_analysis"][grid]
    cells = rank_study.layer_grid_cells(profile, grid)
    assert len(cells) == 2 * len(pl["ranks"]) * (len(ra["seeds"]) + len(ra["control_seeds"]))
    for c in cells:
        cfg = c["config"]
        assert cfg["target_modules"] == ["mlp.c_proj"] == profile["lora"]["target_modules"]
        assert cfg.get("use_rslora", False) is rslora and cfg["lr"] == profile["lora"]["lr"]
        assert cfg["steps"] == steps_x * profile["lora"]["steps"] and cfg["alpha"] == profile["lora"]["alpha_ratio"] * cfg["rank"]
    probe = [cfg for name, _, cfg in arm_configs(profile) if name == probe_arm]
    grid_runs = [c["config"] for c in cells if c["kind"] == "planning" and c["arm"] == "trained" and c["rank"] == 64]
    assert len(probe) == 3 and probe == grid_runs


def test_the_paper_layer_ranks_grid_is_the_paper_layer_grid_below_the_full_width():
    """rank_analysis.paper_layer_ranks: the paper_layer grid's runs (16x the steps, alpha = r/2) at the ranks below
    its full width, nothing else changed: with it, every power of two from 2 to the layer's width, most of them
    with an r/width inside the paper's (8/768 to 256/768)."""
    profile = get_profile("small")
    width = profile["model"]["n_embd"]
    ranks = profile["rank_analysis"]["paper_layer_ranks"]["ranks"]
    together = sorted(ranks + profile["rank_analysis"]["paper_layer"]["ranks"])
    assert together == [2 ** k for k in range(1, width.bit_length())] and together[-1] == width
    assert len([r for r in ranks if 8 / 768 <= r / width <= 256 / 768]) >= 3 and max(ranks) < width
    full = {(c["kind"], c["seed"], c["arm"]): c["config"] for c in rank_study.layer_grid_cells(profile, "paper_layer")}
    cells = rank_study.layer_grid_cells(profile, "paper_layer_ranks")
    assert sorted({c["rank"] for c in cells}) == sorted(ranks) and len(cells) == len(ranks) * len(full)
    for c in cells:
        same = full[(c["kind"], c["seed"], c["arm"])]
        assert c["config"] == dict(same, rank=c["rank"], alpha=same["alpha"] * c["rank"] / same["rank"])


def test_per_layer_values_are_the_widest_ranks_trained_adapters_layer_by_layer(lora_config, tmp_path):
    results = [train_lora_run(lora_config(target_modules=WHOLE_MLP, rank=r, seed=s), root=tmp_path / "runs", progress=False)
               for r, s in ((2, 0), (4, 0), (4, 1))]
    cells = [{"kind": "planning", "rank": r, "seed": s, "arm": "trained"} for r, s in ((2, 0), (4, 0), (4, 1))]
    cells.append({"kind": "planning", "rank": 4, "seed": 0, "arm": "shuffled"})
    got = rank_study.per_layer_values(cells, results + [results[1]], "mlp.c_proj")
    assert list(got) == ["planning"] and sorted(got["planning"]) == ["0", "1"]
    for seed, res in (("0", results[1]), ("1", results[2])):
        proj = [l["thr_1e-3"] for l in analyze_adapter(res["adapter_dir"]) if l["layer"].endswith(".mlp.c_proj")]
        assert got["planning"][seed] == proj and 1 <= len(proj) and max(proj) <= 4


def test_layer_grid_settings_refuse_an_unknown_grid():
    profile = get_profile("small")
    # the whole-MLP grid's configs are unchanged by the scaling key (its default is never stored)
    assert all("use_rslora" not in c["config"] for c in rank_study.layer_grid_cells(profile))
    with pytest.raises(ValueError, match="grid: allowed values are \\['whole_mlp', 'paper_layer', 'paper_layer_rslora', 'paper_layer_ranks'\\], got 'mlp'"):
        rank_study.layer_grid_settings(profile, "mlp")


def test_layer_summary_reads_the_named_module_alone(lora_config, tmp_path):
    result = train_lora_run(lora_config(target_modules=WHOLE_MLP), root=tmp_path / "runs", progress=False)
    layers = analyze_adapter(result["adapter_dir"])
    proj = [l for l in layers if l["layer"].endswith(".mlp.c_proj")]
    assert len(proj) == len(layers) // 2 >= 1
    got = rank_study.layer_summary(result["adapter_dir"], "mlp.c_proj")
    assert got == summarize(proj) and got["n_layers"] == len(proj)
    assert rank_study.layer_summary(result["adapter_dir"]) == summarize(layers)
    assert got["norm_delta"] != summarize([l for l in layers if l["layer"].endswith(".mlp.c_fc")])["norm_delta"]
    with pytest.raises(ValueError, match="module: .* adapts no layer named \\*.attn.c_attn"):
        rank_study.layer_summary(result["adapter_dir"], "attn.c_attn")


def test_random_controls_read_the_module_alone(lora_config, tmp_path):
    config = lora_config(target_modules=WHOLE_MLP)
    result = train_lora_run(config, root=tmp_path / "runs", progress=False)
    cells = [{"kind": "planning", "rank": config["rank"], "seed": 0, "arm": "trained", "config": config}]
    (every,) = rank_study.random_controls(cells, [result], tmp_path / "all")
    (proj,) = rank_study.random_controls(cells, [result], tmp_path / "proj", module="mlp.c_proj")
    assert proj["n_layers"] * 2 == every["n_layers"]
    assert proj["norm_delta"] == pytest.approx(
        rank_study.layer_summary(tmp_path / "proj" / f"planning-r{config['rank']}", "mlp.c_proj")["norm_delta"])


@pytest.mark.parametrize("grid", ["whole_mlp", "paper_layer"])
def test_the_snapshot_runs_are_the_grids_widest_first_seed_cells_saving_over_training(grid):
    """The same run as the grid's cell (same config but for the snapshots), its snapshots at the profile's steps
    times steps_x, all inside the run."""
    profile = get_profile("small")
    ra, wm = profile["rank_analysis"], profile["rank_analysis"][grid]
    cells = {c["kind"]: c["config"] for c in rank_study.layer_grid_cells(profile, grid)
             if c["arm"] == "trained" and c["rank"] == max(wm["ranks"]) and c["seed"] == ra["seeds"][0]}
    snaps = rank_study.layer_grid_snapshot_configs(profile, grid)
    assert set(snaps) == set(cells) == {"planning", "reasoning"}
    for kind, cfg in snaps.items():
        assert cfg["snapshots"] == [n * wm["steps_x"] for n in ra["snapshots"]] and max(cfg["snapshots"]) < cfg["steps"]
        assert {k: v for k, v in cfg.items() if k != "snapshots"} == cells[kind]
    seed = ra["seeds"][1]  # --seeds: the same cell at another of the grid's seeds
    other = {c["kind"]: c["config"] for c in rank_study.layer_grid_cells(profile, grid)
             if c["arm"] == "trained" and c["rank"] == max(wm["ranks"]) and c["seed"] == seed}
    for kind, cfg in rank_study.layer_grid_snapshot_configs(profile, grid, seed).items():
        assert cfg["snapshots"] == snaps[kind]["snapshots"]
        assert {k: v for k, v in cfg.items() if k != "snapshots"} == other[kind]
    with pytest.raises(ValueError, match="seed: allowed values are the grid's seeds"):
        rank_study.layer_grid_snapshot_configs(profile, grid, 99)


def test_snapshot_summaries_read_the_named_module_at_every_saved_step(lora_config, tmp_path):
    from pathlib import Path
    result = train_lora_run(lora_config(target_modules=WHOLE_MLP, snapshots=[4, 8]), root=tmp_path / "runs", progress=False)
    rows = rank_study.snapshot_summaries(result, 12, "mlp.c_proj")
    assert [r["step"] for r in rows] == [4, 8, 12]
    assert rows[-1] == {"step": 12, **rank_study.layer_summary(result["adapter_dir"], "mlp.c_proj")}
    assert rows[0] == {"step": 4, **rank_study.layer_summary(Path(result["run_dir"]) / "snapshots" / "step-4", "mlp.c_proj")}
    assert rows[0]["norm_delta"] != rows[-1]["norm_delta"]
    assert rows[0]["n_layers"] * 2 == rank_study.snapshot_summaries(result, 12)[0]["n_layers"]


def test_a_rank_that_would_not_fit_is_left_out(monkeypatch):
    """Each rank takes 2 simulated minutes: with 5 minutes, the widest two are trained, the rest recorded as left out."""
    clock = {"t": 0.0}
    monkeypatch.setattr(whole_mlp_grid.time, "time", lambda: clock["t"])

    def fake_jobs(configs, workers, progress):
        clock["t"] += 120
        return [{"cached": False, "config": c} for c in configs]

    import helpers.sweep
    monkeypatch.setattr(helpers.sweep, "run_jobs", fake_jobs)
    cells = [{"kind": "planning", "rank": r, "seed": 0, "arm": "trained", "config": {"rank": r}} for r in (2, 4, 8, 16, 32, 64)]
    monkeypatch.setattr(rank_study, "layer_grid_cells", lambda profile, grid="whole_mlp": cells)
    got = whole_mlp_grid.train(get_profile("small"), workers=2, max_minutes=5, progress=False)
    assert got["ranks"] == [16, 64] and got["skipped"] == [2, 4, 8, 32]
    assert [c["rank"] for c in got["cells"]] == [64, 16] and len(got["results"]) == 2
    assert got["minutes"] == {64: 2.0, 16: 2.0}


def test_bad_arguments_are_refused_before_training(capsys):
    for argv, what in ((["--workers", "0"], "--workers"), (["--max-minutes", "-1"], "--max-minutes"),
                       (["--profile", "nope"], "nope"), (["--arms", "--snapshots"], "--arms, --snapshots, --full"),
                       (["--grid", "paper_layer", "--arms"], "--grid paper_layer"), (["--grid", "mlp"], "--grid"),
                       (["--seeds", "1"], "--seeds: only with --snapshots"),
                       (["--snapshots", "--full", "--seeds", "1"], "--seeds: only with --snapshots"),
                       (["--snapshots", "--seeds", "0"], "--seeds: allowed values"),
                       (["--snapshots", "--seeds", "1", "1"], "--seeds: allowed values")):
        with pytest.raises(SystemExit) as err:
            whole_mlp_grid.main(argv)
        assert err.value.code == 2 and what in capsys.readouterr().err


def _stored(grid: str = "whole_mlp") -> dict:
    path = RESULTS / "small" / whole_mlp_grid.GRIDS[grid][0]
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    return json.loads(path.read_text())


@pytest.mark.parametrize("grid", list(whole_mlp_grid.GRIDS))
def test_the_stored_grid_is_the_profiles_and_complete(grid):
    stored, profile = _stored(grid), get_profile("small")
    wm = profile["rank_analysis"][grid]
    assert stored["ranks"] == wm["ranks"] and stored["ranks_skipped"] == []
    assert stored["device"] == whole_mlp_grid.calls_device(whole_mlp_grid.calls_of(stored))  # every call's device named
    assert stored["target_modules"] == wm["target_modules"] and stored["module"] == wm["module"]
    assert stored["steps"] == wm["steps_x"] * profile["lora"]["steps"] and stored["lr"] == profile["lora"]["lr"]
    assert stored.get("use_rslora", False) == wm.get("use_rslora", False)
    assert stored["runs"] == len(rank_study.layer_grid_cells(profile, grid))
    trained = [s for s in stored["summaries"] if s["arm"] == "trained"]
    assert len(trained) == 2 * len(wm["ranks"]) * len(profile["rank_analysis"]["seeds"])
    # every measure is the paper's layer alone: one mlp.c_proj per block
    assert {s["n_layers"] for s in stored["summaries"]} == {profile["model"]["n_layer"]}


@pytest.mark.parametrize("grid", list(whole_mlp_grid.GRIDS))
def test_the_stored_verdicts_follow_from_the_stored_rows(grid):
    """The table, the ratios and the verdicts recompute from the stored per-adapter summaries and abilities."""
    stored = _stored(grid)
    table = [row for m in rank_study.MEASURES for row in rank_study.measure_table(stored["summaries"], m)]
    assert len(table) == len(stored["table"])
    for got, want in zip(table, stored["table"]):
        assert {k: got[k] for k in ("kind", "arm", "rank", "measure", "n")} == {k: want[k] for k in ("kind", "arm", "rank", "measure", "n")}
        assert got["mean"] == pytest.approx(want["mean"])
    ratios = rank_study.ratios([s for s in stored["summaries"] if s["arm"] == "trained"])
    assert [(r["rank"], r["measure"]) for r in ratios] == [(r["rank"], r["measure"]) for r in stored["ratios"]]
    assert [r["mean"] for r in ratios] == pytest.approx([r["mean"] for r in stored["ratios"]])
    for m in rank_study.MEASURES:
        rows = [r for r in stored["ratios"] if r["measure"] == m]
        verdict, why = rank_study.claim_verdict(rows, rank_study.usable_ranks(stored["table"], m), stored["passed"])
        assert stored["verdicts"][m] == {"verdict": verdict, "why": why}, m


def test_the_widest_first_seed_adapters_are_exported_with_their_device(lora_config, tmp_path, monkeypatch):
    import helpers.paths
    monkeypatch.setattr(helpers.paths, "BASES", tmp_path / "models")
    monkeypatch.setattr(helpers.paths, "REPO_ROOT", tmp_path)
    profile = get_profile("small")
    config = lora_config(target_modules=WHOLE_MLP)
    result = train_lora_run(config, root=tmp_path / "runs", progress=False)
    cells = [{"kind": k, "rank": r, "seed": s, "arm": a, "config": config} for k, r, s, a in (
        ("planning", 2, 0, "trained"), ("planning", 1, 0, "trained"), ("planning", 2, 1, "trained"),
        ("planning", 2, 0, "shuffled"), ("reasoning", 2, 0, "trained"))]
    got = whole_mlp_grid.export_widest(profile, cells, [result] * len(cells), "some GPU")
    assert got == {"planning": "models/adapters/planning-small-mlp-r2", "reasoning": "models/adapters/reasoning-small-mlp-r2"}
    info = json.loads((tmp_path / got["planning"] / "adapter_info.json").read_text())
    assert info["trained_on"] == "some GPU" and info["training"]["target_modules"] == WHOLE_MLP


@pytest.mark.parametrize("study", ["arm_study", "snapshot_study"])
def test_the_arms_and_snapshots_need_the_grids_results_first(study, tmp_path, monkeypatch):
    import helpers.paths
    from helpers.errors import MissingFileError
    monkeypatch.setattr(helpers.paths, "results_path", lambda profile, name: tmp_path / name)
    with pytest.raises(MissingFileError, match="05_whole_mlp.json: the grid's results are needed first"):
        getattr(whole_mlp_grid, study)(get_profile("small"), workers=1, progress=False)


def test_the_stored_arms_follow_from_their_rows_and_the_grids_defaults():
    path = RESULTS / "small" / "05_whole_mlp_arms.json"
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    arms, grid, profile = json.loads(path.read_text()), _stored(), get_profile("small")
    rank = profile["rank_analysis"]["arm_rank"]
    assert arms["rank"] == rank and arms["module"] == grid["module"]
    assert {r["arm"] for r in arms["rows"]} == set(profile["rank_analysis"]["arms"])
    assert {r["n_layers"] for r in arms["rows"]} == {profile["model"]["n_layer"]}  # the paper's layer alone
    for kind in ("planning", "reasoning"):
        assert set(arms["passed"][kind]) == {rank_study.adapter_name(r) for r in arms["rows"] if r["kind"] == kind}
    default = [s for s in grid["summaries"] if s["arm"] == "trained" and s["rank"] == rank]
    assert arms["effects"] == [rank_study.arm_effects(default + arms["rows"], m, rank) for m in rank_study.GRID_MEASURES]
    # three seeds per arm, and the table over only the arms that learned recomputes from the verdicts
    assert arms["seeds"] == SEEDS and len(arms["rows"]) == 2 * len(profile["rank_analysis"]["arms"]) * len(SEEDS)
    learned = learned_rows(default + arms["rows"], {k: dict(v, **grid["passed"][k]) for k, v in arms["passed"].items()})
    assert sorted({(r["kind"], r["arm"]) for r in learned}) == [tuple(a) for a in arms["learned_arms"]]
    assert arms["effects_learned"] == [rank_study.arm_effects(learned, m, rank) for m in rank_study.GRID_MEASURES]


@pytest.mark.parametrize("grid_key", ["whole_mlp", "paper_layer"])
def test_the_stored_snapshots_are_the_profiles_runs(grid_key):
    path = RESULTS / "small" / rank_study.study_file(grid_key, "snapshots")
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    stored, grid, profile = json.loads(path.read_text()), _stored(grid_key), get_profile("small")
    configs = rank_study.layer_grid_snapshot_configs(profile, grid_key)
    for kind, cfg in configs.items():
        assert (stored["rank"], stored["seed"], stored["steps"], stored["snapshots"]) == (
            cfg["rank"], cfg["seed"], cfg["steps"], cfg["snapshots"])
        rows = stored["curves"][kind]
        assert [r["step"] for r in rows] == cfg["snapshots"] + [cfg["steps"]]
        assert {r["n_layers"] for r in rows} == {profile["model"]["n_layer"]}  # the paper's layer alone
        assert all(0 <= r["accuracy"] <= 1 and isinstance(r["passed"], bool) for r in rows)
        same = [s for s in grid["summaries"] if s["kind"] == kind and s["arm"] == "trained" and s["rank"] == cfg["rank"]
                and s["seed"] == cfg["seed"]]
        assert stored["grid_final"][kind] == same[0]
        assert stored["grid_final_accuracy"][kind] == grid["accuracy"][kind][f"r{cfg['rank']}-s{cfg['seed']}"]
    for seed, curves in (stored.get("seed_curves") or {}).items():  # --seeds: more seeds of the same cell
        if int(seed) == stored["seed"]:
            assert curves == stored["curves"]
            continue
        for kind, rows in curves.items():
            assert [r["step"] for r in rows] == stored["snapshots"] + [stored["steps"]]
            same = next(s for s in grid["summaries"] if s["kind"] == kind and s["arm"] == "trained"
                        and s["rank"] == stored["rank"] and s["seed"] == int(seed))
            for m in rank_study.GRID_MEASURES:  # its last step is the grid's adapter of that seed (same config)
                assert rows[-1][m] == pytest.approx(same[m], rel=0.02), (seed, kind, m)
            assert rows[-1]["accuracy"] == pytest.approx(grid["accuracy"][kind][f"r{stored['rank']}-s{seed}"], abs=0.02)


def test_more_snapshot_seeds_join_the_stored_first_seed(monkeypatch):
    """--snapshots --seeds: the stored first seed's curves stay as they are, each new seed's curves (one run per task,
    on the grid's cell of that seed) join them under seed_curves, in seed order, with the device each trained on."""
    profile = get_profile("small")
    stored = {"seed": 0, "device": "GPU", "curves": {"planning": ["p0"], "reasoning": ["r0"]}, "rank": 64}
    trained = []
    monkeypatch.setattr(whole_mlp_grid, "stored_grid", lambda profile, grid, study: stored)
    monkeypatch.setattr(whole_mlp_grid, "device_name", lambda: "CPU")
    monkeypatch.setattr(rank_study, "layer_grid_snapshot_configs",
                        lambda profile, grid, seed: {kind: {"kind": kind, "seed": seed} for kind in ("planning", "reasoning")})
    monkeypatch.setattr("helpers.sweep.run_jobs", lambda configs, workers, progress: trained.extend(configs) or list(configs))
    monkeypatch.setattr(rank_study, "snapshot_curves",
                        lambda profile, configs, results, module: {k: [f"{k[0]}{r['seed']}"] for k, r in results.items()})
    got = whole_mlp_grid.snapshot_seed_study(profile, workers=2, grid_key="paper_layer", seeds=(2, 1))
    assert [c["seed"] for c in trained] == [2, 2, 1, 1]  # every run in one pool
    assert got["seed_curves"] == {"0": stored["curves"], "1": {"planning": ["p1"], "reasoning": ["r1"]},
                                  "2": {"planning": ["p2"], "reasoning": ["r2"]}}
    assert got["seed_devices"] == {"0": "GPU", "1": "CPU", "2": "CPU"}
    assert got["curves"] == stored["curves"] and got["seed"] == 0  # the first seed's study as it was


def test_the_stored_full_snapshots_are_the_references_runs():
    """tools.whole_mlp_grid --full --snapshots: the reference's first-seed run per task with the grid's snapshot steps;
    its final step is the reference's model of that cell (same config and seed, one thread: the same weights), and the
    LoRA curves beside it are the stored grid's rank over training."""
    path = RESULTS / "small" / rank_study.study_file("paper_layer", "full_snapshots")
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    stored, profile = json.loads(path.read_text()), get_profile("small")
    full = json.loads((RESULTS / "small" / rank_study.study_file("paper_layer", "full")).read_text())
    lora = json.loads((RESULTS / "small" / rank_study.study_file("paper_layer", "snapshots")).read_text())
    configs = rank_study.layer_grid_full_snapshot_configs(profile, "paper_layer")
    assert stored["method"] == "full" and stored["rank"] == full["width"] and stored["lora_curves"] == lora["curves"]
    for kind, cfg in configs.items():
        assert (stored["seed"], stored["steps"], stored["snapshots"], stored["lr"]) == (
            cfg["seed"], cfg["steps"], cfg["snapshots"], cfg["lr"])
        rows = stored["curves"][kind]
        assert [r["step"] for r in rows] == cfg["snapshots"] + [cfg["steps"]]
        assert {r["n_layers"] for r in rows} == {profile["model"]["n_layer"]}
        final = {k: v for k, v in rows[-1].items() if k not in ("step", "accuracy", "passed")}
        assert final == {k: v for k, v in stored["grid_final"][kind].items() if k in final}
        assert rows[-1]["accuracy"] == stored["grid_final_accuracy"][kind]


def test_stored_layer_grid_is_none_until_its_results_and_adapters_exist(tmp_path, monkeypatch):
    from helpers import paths
    monkeypatch.setattr(paths, "OUTPUTS", tmp_path)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    profile = get_profile("smoke")
    assert rank_study.stored_layer_grid(profile, "paper_layer") is None
    stored = {"ranks": [4], "exported": {"planning": "models/adapters/p"}}
    path = paths.results_path(profile, "05_paper_layer.json")
    path.write_text(json.dumps(stored))
    assert rank_study.stored_layer_grid(profile, "paper_layer") is None  # its adapter is missing
    (tmp_path / "models/adapters/p").mkdir(parents=True)
    (tmp_path / "models/adapters/p/adapter_config.json").write_text("{}")
    assert rank_study.stored_layer_grid(profile, "paper_layer") == stored
    with pytest.raises(ValueError, match="grid: allowed values are"):
        rank_study.stored_layer_grid(profile, "x16")


@pytest.mark.parametrize("grid", ["paper_layer", "whole_mlp"])
def test_the_full_fine_tuning_reference_is_the_grids_runs_without_lora(grid):
    profile = get_profile("small")
    cells = rank_study.layer_grid_full_cells(profile, grid)
    lora = rank_study.layer_grid_cells(profile, grid)
    pairs = lambda got, arm: sorted({(c["kind"], c["seed"]) for c in got if c["arm"] == arm})
    assert pairs(cells, "full") == pairs(lora, "trained") and pairs(cells, "shuffled") == pairs(lora, "shuffled")
    assert all(c["config"].get("targets", "task") == ("shuffled" if c["arm"] == "shuffled" else "task") for c in cells)
    for c in cells:
        same = next(x["config"] for x in lora if x["kind"] == c["kind"] and x["seed"] == c["seed"])
        assert c["config"]["method"] == "full" and c["config"]["trainable"] == "target_modules"
        assert c["config"]["lr"] == profile["ablations"]["full_lr"] and c["rank"] is None
        assert {k: c["config"][k] for k in ("target_modules", "steps", "task", "base", "seed", "eval_points")} == \
               {k: same[k] for k in ("target_modules", "steps", "task", "base", "seed", "eval_points")}


def test_the_full_reference_over_training_is_its_first_seed_run_with_the_grids_snapshots():
    profile = get_profile("small")
    ra = profile["rank_analysis"]
    configs = rank_study.layer_grid_full_snapshot_configs(profile, "paper_layer")
    full = {c["kind"]: c["config"] for c in rank_study.layer_grid_full_cells(profile, "paper_layer")
            if c["arm"] == "full" and c["seed"] == ra["seeds"][0]}
    for kind, cfg in configs.items():
        assert cfg["snapshots"] == [n * ra["paper_layer"]["steps_x"] for n in ra["snapshots"]]
        assert {k: v for k, v in cfg.items() if k != "snapshots"} == full[kind]
        # the same steps as the grid's own rank over training
        assert cfg["snapshots"] == rank_study.layer_grid_snapshot_configs(profile, "paper_layer")[kind]["snapshots"]


def test_the_full_study_needs_the_grids_results_first(tmp_path, monkeypatch):
    import helpers.paths
    from helpers.errors import MissingFileError
    monkeypatch.setattr(helpers.paths, "results_path", lambda profile, name: tmp_path / name)
    with pytest.raises(MissingFileError, match="05_paper_layer.json: the grid's results are needed first"):
        whole_mlp_grid.full_study(get_profile("small"), workers=1, progress=False)
    with pytest.raises(MissingFileError, match="05_paper_layer_full.json: the full fine-tuning reference is needed first"):
        whole_mlp_grid.full_snapshot_study(get_profile("small"), workers=1, progress=False)
    with pytest.raises(SystemExit) as err:
        whole_mlp_grid.main(["--full", "--arms"])
    assert err.value.code == 2


def test_the_stored_full_reference_is_the_profiles_and_its_verdicts_follow_from_its_rows():
    path = RESULTS / "small" / rank_study.study_file("paper_layer", "full")
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    stored, profile = json.loads(path.read_text()), get_profile("small")
    cells = rank_study.layer_grid_full_cells(profile, "paper_layer")
    assert stored["runs"] == len(cells) and stored["steps"] == cells[0]["config"]["steps"]
    assert stored["lr"] == profile["ablations"]["full_lr"] and stored["target_modules"] == ["mlp.c_proj"]
    assert stored["width"] == profile["model"]["n_embd"]
    for arm, stored_arm in (("full", "trained"), ("shuffled", "shuffled")):
        rows = [s for s in stored["summaries"] if s["arm"] == stored_arm]
        assert sorted((s["kind"], s["seed"]) for s in rows) == sorted((c["kind"], c["seed"]) for c in cells if c["arm"] == arm)
    assert {s["n_layers"] for s in stored["summaries"]} == {profile["model"]["n_layer"]}
    grid = _stored("paper_layer")  # the LoRA adapters it is set beside are the stored grid's widest rank
    assert stored["lora"] == [r for r in grid["table"] if r["arm"] == "trained" and r["rank"] == max(grid["ranks"])]
    for m in rank_study.MEASURES:
        rows = [r for r in stored["ratios"] if r["measure"] == m]
        verdict, why = rank_study.claim_verdict(rows, rank_study.usable_ranks(stored["table"], m), stored["passed"])
        assert stored["verdicts"][m] == {"verdict": verdict, "why": why}, m
    # where the updates point: every pair update_overlaps compares, for the full models and the grid's LoRA adapters, at
    # k = 1, 2, 4, ... 64 of the layer's 64 outputs, each against the random-subspace expectation k / 64
    top = max(grid["ranks"])
    assert sorted(stored["overlap"]) == sorted(
        ["full fine-tuning: planning vs reasoning, seed 0"] + [f"full fine-tuning{what}" for kind in ("planning", "reasoning")
         for what in (f", {kind}: seed 0 vs seed 1", f", {kind}: trained vs shuffled targets, seed 0", f" vs LoRA r={top}, {kind}: seed 0")])
    assert sorted(stored["lora_overlap"]) == sorted(
        [f"LoRA r={top}: planning vs reasoning, seed 0"] + [f"LoRA r={top}, {kind}: {what}" for kind in ("planning", "reasoning")
                                                            for what in ("seed 0 vs seed 1", "trained vs shuffled targets, seed 0")])
    width = stored["width"]
    for by_k in list(stored["overlap"].values()) + list(stored["lora_overlap"].values()):
        assert sorted(by_k, key=int) == [str(k) for k in (1, 2, 4, 8, 16, 32, 64)]
        assert all(0 <= phi <= 1 + 1e-9 and rnd == int(k) / width for k, (phi, rnd) in by_k.items())


def test_without_a_time_limit_every_rank_shares_one_pool(monkeypatch):
    """No --max-minutes: one pool over every chosen rank's runs, widest rank first (no worker idles at a rank's end)."""
    calls = []

    def fake_jobs(configs, workers, progress):
        calls.append([c["rank"] for c in configs])
        return [{"cached": False, "config": c} for c in configs]

    import helpers.sweep
    monkeypatch.setattr(helpers.sweep, "run_jobs", fake_jobs)
    cells = [{"kind": k, "rank": r, "seed": 0, "arm": "trained", "config": {"rank": r}}
             for r in (2, 4, 8, 16) for k in ("planning", "reasoning")]
    monkeypatch.setattr(rank_study, "layer_grid_cells", lambda profile, grid="whole_mlp": cells)
    got = whole_mlp_grid.train(get_profile("small"), workers=16, progress=False, ranks=[2, 8])
    assert calls == [[8, 8, 2, 2]] and got["ranks"] == [2, 8] and list(got["minutes"]) == ["all"]
    assert [c["rank"] for c in got["cells"]] == [8, 8, 2, 2] and len(got["results"]) == 4


def _only_ranks(grid: dict, ranks: list[int]) -> dict:
    """A grid's results as if a call had trained only ``ranks`` (its summaries, abilities and verdicts)."""
    rows = [s for s in grid["summaries"] if s["rank"] in ranks]

    def of(key):
        return {kind: {n: v for n, v in runs.items() if int(n[1:].split("-")[0]) in ranks} for kind, runs in grid[key].items()}
    passed = of("passed")
    judged = rank_study.judged([s for s in rows if s["arm"] != "random"], [s for s in rows if s["arm"] == "random"], passed)
    grid = {k: v for k, v in grid.items() if k != "calls"}  # one call
    return {**grid, "ranks": ranks, "ranks_skipped": [], "summaries": rows, "passed": passed, "accuracy": of("accuracy"), **judged,
            "runs": sum(s["arm"] != "random" for s in rows), "exported": {"planning": f"r{max(ranks)}"},
            "per_layer_thr_1e-3": {"planning": {"0": [max(ranks)]}}}


def test_added_ranks_give_the_grid_that_one_call_would_have_given():
    """Splitting the stored grid into two calls' results and adding one to the other gives back its table, ratios,
    verdicts and abilities; the exported adapters and layer-by-layer values stay the widest rank's."""
    stored = _stored("paper_layer_ranks")
    low, high = sorted(stored["ranks"])[:-1], sorted(stored["ranks"])[-1:]
    for kept, new in ((low, high), (high, low)):
        got = whole_mlp_grid.add_ranks({**_only_ranks(stored, kept), "device": "a CPU"}, {**_only_ranks(stored, new), "device": "a GPU"})
        assert got["device"] == f"a CPU (r = {', '.join(map(str, kept))}) and a GPU (r = {', '.join(map(str, new))})"
        assert got["ranks"] == stored["ranks"] and got["runs"] == stored["runs"]
        for key in ("passed", "accuracy", "usable", "verdicts"):
            assert got[key] == stored[key], key
        assert [(r["rank"], r["measure"]) for r in got["ratios"]] == [(r["rank"], r["measure"]) for r in stored["ratios"]]
        assert [r["mean"] for r in got["ratios"]] == pytest.approx([r["mean"] for r in stored["ratios"]])
        assert [r["mean"] for r in got["table"]] == pytest.approx([r["mean"] for r in stored["table"]])
        assert got["exported"] == {"planning": f"r{max(stored['ranks'])}"}
        assert got["per_layer_thr_1e-3"] == {"planning": {"0": [max(stored["ranks"])]}}
        assert [c["ranks"] for c in got["calls"]] == [kept, new] and got["calls"][1]["device"] == "a GPU"
    # a grid made by several calls keeps each call's ranks that are not trained again
    again = whole_mlp_grid.add_ranks(stored, {**_only_ranks(stored, low[:1]), "device": "a GPU"})
    calls = [(c["ranks"], c["device"]) for c in again["calls"]]
    want = [([r for r in c["ranks"] if r not in low[:1]], c["device"]) for c in whole_mlp_grid.calls_of(stored)]
    assert calls == [w for w in want if w[0]] + [(low[:1], "a GPU")]


def test_ranks_are_added_only_to_a_grid_of_the_same_settings():
    stored = _stored("paper_layer_ranks")
    with pytest.raises(TaskConfigError, match="--ranks: the stored grid was trained with other settings \\(steps\\)"):
        whole_mlp_grid.add_ranks(stored, {**stored, "steps": 1, "ranks": [2]})


def test_bad_ranks_are_refused_before_training(capsys, monkeypatch):
    allowed = get_profile("small")["rank_analysis"]["paper_layer_ranks"]["ranks"]
    for argv, what in ((["--grid", "paper_layer_ranks", "--ranks", "3"], f"allowed values are the paper_layer_ranks grid's ranks {allowed}"),
                       (["--grid", "paper_layer_ranks", "--ranks", "2", "2"], "each once"),
                       (["--ranks", "2", "--full"], "--ranks: only for training the grid itself")):
        with pytest.raises(SystemExit) as err:
            whole_mlp_grid.main(argv)
        assert err.value.code == 2 and what in capsys.readouterr().err
    monkeypatch.setattr(whole_mlp_grid, "stored_grid", lambda profile, grid: {"steps": 1})
    monkeypatch.setattr(whole_mlp_grid, "study", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(SystemExit) as err:
        whole_mlp_grid.main(["--grid", "paper_layer_ranks", "--ranks", "2"])
    assert err.value.code == 2 and "other settings" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["snapshots", "full_snapshots"])
def test_the_rank_over_training_compares_each_task_where_it_first_passes(name):
    """snapshot_lines' first-passing line: each task at its first saved step that passes the criteria (flagged where that is
    the first saved step, so it may have learned earlier) and the reasoning/planning ratio there; no such line unless
    both tasks passed somewhere."""
    from helpers.tables import snapshot_lines
    path = RESULTS / "small" / rank_study.study_file("paper_layer", name)
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    got = json.loads(path.read_text())
    first = rank_study.first_passing(got["curves"])
    for kind, rows in got["curves"].items():
        at = rows.index(first["points"][kind])
        assert rows[at]["passed"] and not any(r["passed"] for r in rows[:at])
        assert first["first_saved"][kind] == (at == 0)
    p, r = first["points"]["planning"], first["points"]["reasoning"]
    assert first["ratios"]["energy_90"] == pytest.approx(r["energy_90"] / p["energy_90"])
    line = next(l for l in snapshot_lines(got) if l.startswith("each task where"))
    assert line.startswith("each task where it first passes the criteria: planning step ") and f"step {r['step']}" in line
    never = {kind: [dict(row, passed=False) for row in rows] if kind == "planning" else rows
             for kind, rows in got["curves"].items()}
    assert rank_study.first_passing(never)["ratios"] == {}
    assert not any(l.startswith("each task where") for l in snapshot_lines(dict(got, curves=never)))


def test_an_earlier_call_keeps_only_the_ranks_not_trained_again():
    call = {"ranks": [4, 16], "minutes_per_rank": {"4": 4.3, "16": 4.4}, "device": "GPU", "workers": 8}
    assert whole_mlp_grid.kept_call(call, [16]) == {**call, "ranks": [16], "minutes_per_rank": {"16": 4.4}}
    pooled = {"ranks": [2, 8], "minutes_per_rank": {"all": 4.6}}
    assert whole_mlp_grid.kept_call(pooled, [8]) == {"ranks": [8], "minutes_per_rank": {"all": 4.6}}
