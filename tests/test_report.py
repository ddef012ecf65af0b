import json

import pytest

from helpers import report


def _write(root, name, obj):
    (root / name).write_text(json.dumps(obj))


def _check(point, what, value, need, ok):
    return {"point": point, "what": what, "value": value, "need": need, "ok": ok}


def _diag(points, accs, passed, p_values=None, modal=None):
    rows = []
    for i, (p, a) in enumerate(zip(points, accs)):
        pv = (p_values or [0.5] * len(points))[i]
        rows.append({"point": p, "accuracy": a, "ci_low": a - 0.04, "ci_high": a + 0.04, "n": 500,
                     "vs_base": {"b": 1, "c": 60 if pv < 0.05 else 2, "p_value": pv},
                     "modal_position": str((modal or points)[i]),
                     "categories": {"shortest end": a, "other chain end": 0.5 - a / 2, "other hash": 0.1, "not in map": 0.0}})
    checks = [_check(points[-1], "accuracy", accs[-1], ">= 0.5", passed)]
    return {"rows": rows, "criteria": {"passed": passed, "checks": checks}}


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    (folder / "demo").mkdir(parents=True)
    monkeypatch.setattr(report, "RESULTS", folder)
    ratio = lambda rank, m, mean, lo, hi: {"rank": rank, "measure": m, "mean": mean, "low": lo, "high": hi, "n": 3}
    _write(folder / "demo", "05_rank.json", {
        "ranks": [4, 8], "headline_verdict": "not reproduced",
        "ratios": [ratio(4, "thr_1e-3", 0.9, 0.8, 1.0), ratio(8, "thr_1e-3", 1.0, 0.9, 1.1),
                   ratio(4, "entropy_rank", 0.4, 0.35, 0.45), ratio(8, "entropy_rank", 0.45, 0.4, 0.49)],
        "planning_top_rank_thr_1e-3_per_layer": [8, 8, 7, 8],
        "usable": {"thr_1e-3": [{"rank": 4, "usable": False}, {"rank": 8, "usable": True}],
                   "entropy_rank": [{"rank": 4, "usable": True}, {"rank": 8, "usable": True}]},
        "passed": {"planning": {f"r{r}-s{s}": True for r in (4, 8) for s in (0, 1)},
                   "reasoning": {"r4-s0": True, "r8-s0": False, "r4-s1": True, "r8-s1": True}},
        "attention": {"target_modules": ["attn.c_attn"], "ranks": [64], "ratios": [ratio(64, "thr_1e-3", 1.2, 1.1, 1.3)],
                      "usable": {"thr_1e-3": [{"rank": 64, "usable": True}]},
                      "passed": {"planning": {"r64-s0": True, "r64-s1": True}, "reasoning": {"r64-s0": True, "r64-s1": True}}}})
    hops, short = [1, 2, 3], [2, 3]
    per_rank = lambda key, points, accs: [{key: p, "accuracy": a, "ci_low": a - 0.05, "ci_high": a + 0.05} for p, a in zip(points, accs)]
    _write(folder / "demo", "03_lora.json", {
        "n_per_point": 500, "ranks": [4, 8], "seeds": [0, 1], "trained_points": {"planning": [1, 2, 3], "reasoning": [2, 3]},
        "base": {"planning": _diag(hops, [1.0, 0.9, 0.05], True), "reasoning": _diag(short, [0.8, 0.3], True)},
        "lora": {"planning": {f"r{r}-s{s}": _diag(hops, [1.0, 0.9, 0.6], True, [1, 1, 1e-9]) for r in (4, 8) for s in (0, 1)},
                 "reasoning": {"r4-s0": _diag(short, [0.8, 0.3], True), "r8-s0": _diag(short, [0.8, 0.31], False),
                               "r4-s1": _diag(short, [0.8, 0.3], True), "r8-s1": _diag(short, [0.8, 0.3], True)}},
        "per_rank": {"planning": {"4": per_rank("hops", hops, [1.0, 0.9, 0.6]), "8": per_rank("hops", hops, [1.0, 0.9, 0.62])},
                     "reasoning": {"4": per_rank("shortest", short, [0.8, 0.3]), "8": per_rank("shortest", short, [0.8, 0.31])}},
        "passed": {"planning": {f"r{r}-s{s}": True for r in (4, 8) for s in (0, 1)},
                   "reasoning": {"r4-s0": True, "r8-s0": False, "r4-s1": True, "r8-s1": True}}})
    return folder


def test_claims_come_from_the_results_files_and_rest_on_adapters_that_learned(results):
    rows = {r["claim"]: r for r in report.claims("demo")}
    planning = rows["LoRA adds planning ability over the frozen base (HashHop)"]
    assert planning["verdict"] == "reproduced" and "3: 0.05->0.62" in planning["ours"] and "gains at [3]" in planning["ours"]
    reasoning = rows["LoRA adds reasoning ability over the frozen base (HashChain)"]
    assert reasoning["verdict"] == "untestable here" and "r8-s0" in reasoning["ours"]
    headline = rows["effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning"]
    # where every adapter learned (r=4) the threshold count is unusable; where it is usable (r=8) one failed
    assert headline["verdict"] == "untestable here" and "where every adapter learned (r = [4])" in headline["ours"]
    entropy = rows["same claim, entropy effective rank (not in the paper)"]
    assert entropy["verdict"] == "reproduced" and "counted at r = [4]" in entropy["ours"]  # 0.40 [0.35, 0.45] at r=4
    attention = rows["effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning, on attn.c_attn "
                     "(where both tasks learn; not the paper's layer)"]
    assert attention["verdict"] == "not reproduced" and "r=64: 1.20 [1.10, 1.30]" in attention["ours"]
    saturated = rows["planning adapter: threshold rank at 1e-3 per layer is well below the LoRA rank"]
    assert saturated["verdict"] == "untestable here" and "saturated" in saturated["ours"]


def test_base_findings_and_setup_claim(results):
    check = lambda p, what, v, need, ok: {"point": p, "what": what, "value": v, "need": need, "ok": ok}
    _write(results / "demo", "02_base.json", {
        "n_per_point": 500, "train_minutes": {"hashhop": 29.0, "hashchain": 50.0}, "pretrain_minutes": 8.5,
        "targets": {"hashhop_2hop": 0.86, "hashchain_shortest2": 0.48},
        "criteria": {"hashhop": {"passed": True, "checks": [check(2, "accuracy", 0.86, ">= 0.75", True)]},
                     "hashchain": {"passed": False, "checks": [check(2, "accuracy", 0.48, ">= 0.8", False)]}}})
    lines = report.base_findings("demo")
    assert "hops 2: accuracy 0.86 (need >= 0.75): meets its targets (38 min" in lines[0]
    assert "does NOT meet" in lines[1]
    setup = next(r for r in report.claims("demo") if r["claim"].startswith("(setup)"))
    assert setup["verdict"] == "not met" and "hashchain: 2: accuracy 0.48 (need >= 0.8)" in setup["ours"]
    _write(results / "demo", "02_base_variants.json", {"variants": [
        {"variant": "hashchain seed 1", "task": "hashchain", "steps": 9000, "minutes": 51.2, "stopped_at_time_limit": False,
         "targets": {"hashchain_shortest2": 0.52, "hashchain_shortest3_random_end": 0.29}, "criteria": {"passed": False}}]})
    assert report.base_findings("demo")[2] == ("Base variant 'hashchain seed 1' (`tools.base_variants`, 9000 steps, 51 min): "
                                               "shortest 2 0.52 (committed 0.48); random chain end at shortest 3: 0.29: "
                                               "does NOT meet its targets.")


def test_findings_name_the_numbers(results):
    lines = report.lora_findings("demo")
    assert lines[0].startswith("HashHop (planning): 4 of 4 adapters pass")
    assert "hops 3: base 0.05 -> 0.62" in lines[0]
    assert lines[1].startswith("HashChain (reasoning): 3 of 4 adapters pass")


def test_an_old_results_file_is_never_trusted(results):
    _write(results / "demo", "03_lora.json", {"n_per_point": 500, "base": {}, "lora": {}})
    assert not any("LoRA adds" in r["claim"] for r in report.claims("demo"))


def test_readme_is_rewritten_between_markers_only(results, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nOLD-TABLE\n<!-- claims:end -->\nmid\n<!-- bench:start -->\nx\n"
                      "<!-- bench:end -->\n<!-- findings:start -->\nold\n<!-- findings:end -->\n"
                      "<!-- baselines:start -->\nold\n<!-- baselines:end -->\nend\n")
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    assert report.main(["--profile", "demo"]) == 0  # not the README's profile: its tables stay
    assert "OLD-TABLE" in readme.read_text() and (results / "demo" / "claims.json").exists()
    assert report.main(["--profile", "demo", "--readme"]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "OLD-TABLE" not in text
    assert "| claim | paper | ours | verdict |" in text and "- HashHop (planning)" in text
    assert "| HashHop base, 2 hops (20-hash chains) | 0.75 | 0.05 | 0.50 (hop-agnostic over hops 1-2) |" in text
    assert json.loads((results / "claims.json").read_text())["profile"] == "demo"


def test_missing_markers_are_an_error(results, tmp_path, monkeypatch, capsys):
    (tmp_path / "README.md").write_text("no markers\n")
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    with pytest.raises(SystemExit) as info:
        report.main(["--profile", "demo", "--readme"])
    assert info.value.code == 2 and "claims:start" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "no markers\n"


def test_unknown_profile_leaves_the_readme_alone(results, tmp_path, monkeypatch, capsys):
    (tmp_path / "README.md").write_text("<!-- claims:start -->\nKEEP\n<!-- claims:end -->\n")
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    with pytest.raises(SystemExit) as info:
        report.main(["--profile", "smal"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "--profile: no results/smal/" in err and "demo" in err
    assert "KEEP" in (tmp_path / "README.md").read_text()


def _arm(passed, acc3, seed=0):
    return {"seed": seed, "passed": passed, "accuracy": {"1": 1.0, "3": acc3}, "base": {"1": 1.0, "3": 0.01},
            "modal": {"1": 1, "3": 3 if passed else 2}, "failing": [] if passed else [f"3: accuracy {acc3:.2f} (need >= 0.5)"]}


@pytest.mark.parametrize("paper, other, verdict", [(False, True, "not reproduced"), (True, True, "reproduced"),
                                                   (False, False, "untestable here")])
def test_module_claim_needs_an_arm_that_learned(paper, other, verdict):
    """The paper's layer failing says something only where another LoRA learned the same task."""
    ab = {"rows": [{"ablation": "target modules", "setting": "r=64, lr 0.003"}],
          "module_abilities": {"planning": {"attn.c_attn": [_arm(other, 0.63)], "mlp.c_proj": [_arm(paper, 0.42 + 0.2 * paper)]}}}
    (row,) = report.module_claims(ab)
    assert row["verdict"] == verdict and row["notebook"] == "04"
    assert row["ours"].startswith("r=64, lr 0.003, 1 seed(s) per arm; hops trained")
    assert row["ours"].index("mlp.c_proj") < row["ours"].index("attn.c_attn")  # the paper's layer first
    if verdict == "not reproduced":
        assert "mlp.c_proj fails (3: accuracy 0.42 (need >= 0.5)) where attn.c_attn learn" in row["ours"]


def test_module_claim_counts_longer_probes_on_the_papers_layer_alone():
    """A probe arm on mlp.c_proj alone every seed of which passes makes planning reproduced; one failing seed, or an
    arm on other layers too, does not."""
    ab = {"rows": [{"ablation": "target modules", "setting": "r=64, lr 0.003"}],
          "module_abilities": {"planning": {"attn.c_attn": [_arm(True, 0.63)], "mlp.c_proj": [_arm(False, 0.42)]}}}
    probe = lambda arm, ok, acc, modules=("mlp.c_proj",): {
        "arm": arm, "target_modules": list(modules), "passed": ok, "steps": 9600,
        "points": [{"hops": 1, "accuracy": 1.0}, {"hops": 3, "accuracy": acc}]}
    (row,) = report.module_claims(ab, [probe("long", True, 0.72), probe("long", True, 0.61)])
    assert row["verdict"] == "reproduced"
    assert row["ours"].endswith("mlp.c_proj fails in these steps (3: accuracy 0.42 (need >= 0.5)) but learns given more "
                                "training (tools.planning_probe): long: 2/2 pass at 9,600 steps (3rd hop 0.72, 0.61)")
    for probes in ([probe("long", True, 0.72), probe("long", False, 0.45)],
                   [probe("all", True, 0.8, ("mlp.c_fc", "mlp.c_proj"))]):
        assert report.module_claims(ab, probes)[0]["verdict"] == "not reproduced"


def test_module_claims_skip_a_grid_without_the_papers_layer():
    ab = {"rows": [], "module_abilities": {"planning": {"attn.c_attn": [_arm(True, 0.6)]}}}
    assert report.module_claims(ab) == []


def test_arm_seed_findings_say_which_method_ranges_exceed_the_task_gap(results):
    effect = lambda gap, plan, reas: {"measure": "thr_1e-3", "rank": 64, "task_gap": gap, "seed_range": 1.0,
                                      "arm_seed_range": 0.5, "method_range": {"planning": plan, "reasoning": reas}}
    assert report.arm_seed_findings("demo") == []  # nothing stored: no line
    stored = {"layer": ["attn.c_attn"], "seeds": [0, 1, 2], "passed": {"planning": {"x r64-s0": False, "r64-s0": True},
                                                                     "reasoning": {"x r64-s0": True, "r64-s0": True}},
              "effects": [effect(2.0, 9.0, 8.0)], "effects_learned": [effect(2.0, 1.5, 8.0)]}
    _write(results / "demo", "05_arm_seeds.json", stored)
    [line] = report.arm_seed_findings("demo")
    assert "task gap 2.00" in line and "every arm: planning 9.00, reasoning 8.00" in line
    assert "learned: planning 1.50, reasoning 8.00" in line and "not every method range exceeds the task gap" in line
    assert "planning 1 of 2, reasoning 0 of 2" in line
    stored["effects_learned"] = [effect(2.0, 3.0, 8.0)]
    _write(results / "demo", "05_arm_seeds.json", stored)
    assert "the method moves it more than the task does" in report.arm_seed_findings("demo")[0]


def test_variant_lora_findings_give_the_base_the_adapters_and_the_weakest_paired_test(results):
    assert report.variant_lora_findings("demo") == []
    row = lambda point, acc, p: {"point": point, "accuracy": acc, "vs_base": {"p_value": p}}
    run = lambda a3, p3, ok: {"rows": [row(2, 1.0, 0.5), row(3, a3, p3), row(4, 0.3, 1.0)], "criteria": {"passed": ok}}
    _write(results / "demo", "03_variant_lora.json", {
        "variant": "v", "kind": "reasoning", "rank": 64, "trained_points": [2, 3],
        "variant_base_accuracy": {"2": 0.99, "3": 0.7, "4": 0.3}, "committed_base_accuracy": {"2": 0.9, "3": 0.4, "4": 0.3},
        "runs": {"r64-s0": run(0.72, 0.4, True), "r64-s1": run(0.70, 0.9, False)}})
    [line] = report.variant_lora_findings("demo")
    assert "shortest 3: base 0.70 (committed base 0.40) -> 0.71 (McNemar p >= 0.4)" in line
    assert "shortest 4" not in line and "1 of 2 adapters pass" in line


def test_base_variants_are_compared_with_the_first_stage_they_change(results):
    base = {"targets": {"hashchain_shortest2": 0.84, "hashchain_shortest3": 0.49}}
    variant = {"variant": "hashchain seed 1", "task": "hashchain", "steps": 9000, "minutes": 47.0,
               "stopped_at_time_limit": False, "criteria": {"passed": False},
               "targets": {"hashchain_shortest2": 0.50, "hashchain_shortest3": 0.29, "hashchain_shortest3_random_end": 0.29}}
    _write(results / "demo", "02_base_variants.json", {"variants": [variant]})
    [line] = report.base_variant_findings("demo", base)
    assert "shortest 2 0.50 (committed 0.84)" in line  # an older file: the committed base
    refs = {"hashchain": {"model": "models/hashchain-small-stage1",
                          "targets": {"hashchain_shortest2": 0.48, "hashchain_shortest3": 0.29}}}
    _write(results / "demo", "02_base_variants.json", {"references": refs, "variants": [variant]})
    [line] = report.base_variant_findings("demo", base)
    assert "shortest 2 0.50 (first stage 0.48), shortest 3 0.29 (first stage 0.29)" in line and "committed" not in line
    assert line.endswith("does NOT meet its targets.")


def _alone_grid(ranks, planning_thr, random_thr, passed=True, per_layer=None, usable=True, rslora=False):
    """A stored grid of tools.whole_mlp_grid on the paper's layer alone, as per_layer_claim reads it."""
    table = [{"measure": "thr_1e-3", "kind": "planning", "arm": arm, "rank": r, "mean": v}
             for r in ranks for arm, v in (("trained", planning_thr[r]), ("random", random_thr[r]))]
    grid = {"module": "mlp.c_proj", "target_modules": ["mlp.c_proj"], "ranks": ranks, "steps": 9600, "table": table,
            "passed": {"planning": {f"r{r}-s{s}": passed for r in ranks for s in (0, 1)}},
            "usable": {"thr_1e-3": [{"rank": r, "usable": usable, "why": "" if usable else "saturated"} for r in ranks]}}
    if rslora:
        grid["use_rslora"] = True
    if per_layer is not None:
        grid["per_layer_thr_1e-3"] = {"planning": per_layer}
    return grid


_FALLBACK = {"ranks": [8], "planning_top_rank_thr_1e-3_per_layer": [8, 8],
             "passed": {"planning": {"r8-s0": False}}}


@pytest.mark.parametrize("mean, verdict", [(52.6, "not reproduced"), (30.0, "reproduced")])
def test_per_layer_claim_reads_the_papers_layer_where_planning_learned(mean, verdict):
    """The per-layer claim counts the full-width grid on the paper's layer whose planning adapters all learned, at
    most half of r being 'well below'; the grid below the full width shows its saturation beside it."""
    full = _alone_grid([64], {64: mean}, {64: 63.7}, per_layer={"1": [50, 51], "0": [56, 49]})
    below = _alone_grid([4, 16], {4: 4.0, 16: 16.0}, {4: 4.0, 16: 16.0}, passed=False)
    got = report.per_layer_claim(_FALLBACK, [full, _alone_grid([64], {64: 10.0}, {64: 63.7}, rslora=True,
                                                               per_layer={"0": [9, 9]}), below])
    assert got["verdict"] == verdict
    assert "per layer 56, 49 (seed 0)" in got["ours"] and f"mean {mean:.1f} of 64 over 2 seeds" in got["ours"]
    assert "random update 63.7" in got["ours"] and "r=4: 4.0 (random 4.0), r=16: 16.0 (random 16.0)" in got["ours"]
    assert "saturated there" in got["ours"]


def test_per_layer_claim_is_untestable_where_the_measure_is_not_usable_or_planning_did_not_learn():
    unusable = _alone_grid([64], {64: 63.0}, {64: 63.7}, per_layer={"0": [63, 63]}, usable=False)
    got = report.per_layer_claim(_FALLBACK, [unusable])
    assert got["verdict"] == "untestable here" and "not usable at r=64: saturated" in got["ours"]
    # planning adapters that failed, or a grid stored before the per-layer values were kept: notebook 05's grid
    for grid in (_alone_grid([64], {64: 30.0}, {64: 63.7}, passed=False, per_layer={"0": [30, 30]}),
                 _alone_grid([64], {64: 30.0}, {64: 63.7})):
        got = report.per_layer_claim(_FALLBACK, [grid])
        assert got["verdict"] == "untestable here" and got["ours"].startswith("r=8: 8, 8; saturated")


def _with_long_adapters(folder, planning_passed=True):
    """notebook 03's results with its diagnostics of the committed 16x adapters (``paper_layer_16x``)."""
    lora = json.loads((folder / "demo" / "03_lora.json").read_text())
    lora["paper_layer_16x"] = {
        "steps": 9600, "rank": 64, "seed": 0, "adapters": {"planning": "models/adapters/p", "reasoning": "models/adapters/r"},
        "grid_passed": {"planning": {"r64-s0": planning_passed, "r64-s1": True, "r64-s2": True},
                        "reasoning": {"r64-s0": True, "r64-s1": True, "r64-s2": False}},
        "lora": {"planning": _diag([1, 2, 3], [1.0, 0.95, 0.72], planning_passed, [1, 0.01, 1e-60], modal=[1, 2, 3]),
                 "reasoning": _diag([2, 3], [0.5, 0.55], True, [1e-9, 1e-9])}}
    # the reasoning adapter answers fewer shortest-2 prompts than the base (0.8): a significant loss there
    lora["paper_layer_16x"]["lora"]["reasoning"]["rows"][0]["vs_base"] = {"b": 90, "c": 5, "p_value": 1e-9}
    _write(folder / "demo", "03_lora.json", lora)


def test_the_papers_layer_trained_longer_carries_its_own_claim_and_finding(results):
    _with_long_adapters(results)
    rows = {r["claim"]: r for r in report.claims("demo")}
    planning = rows["LoRA adds planning ability over the frozen base (HashHop), on the paper's layer trained 16x longer"]
    assert planning["verdict"] == "reproduced"
    assert "3: 0.05->0.72" in planning["ours"] and "gains at [2, 3]" in planning["ours"] and "3 of 3 of the grid's" in planning["ours"]
    reasoning = rows["LoRA adds reasoning ability over the frozen base (HashChain), on the paper's layer trained 16x longer"]
    assert reasoning["verdict"] == "partly reproduced" and "losses at [2]" in reasoning["ours"]
    assert "2 of 3 of the grid's reasoning adapters" in reasoning["ours"]
    lines = [l for l in report.lora_findings("demo") if "trained 16x longer" in l]
    assert len(lines) == 2 and "passes the ability criteria" in lines[0] and "hops 3 (trained): base 0.05 -> 0.72" in lines[0]
    assert "most common answer position per hop 1->1, 2->2, 3->3" in lines[0]


def test_a_long_adapter_that_fails_its_criteria_leaves_the_claim_untestable(results):
    _with_long_adapters(results, planning_passed=False)
    rows = {r["claim"]: r for r in report.claims("demo")}
    planning = rows["LoRA adds planning ability over the frozen base (HashHop), on the paper's layer trained 16x longer"]
    assert planning["verdict"] == "untestable here" and "this adapter fails them: 3: accuracy" in planning["ours"]


def test_snapshot_finding_names_the_papers_layer_alone():
    rows = [{"step": s, "thr_1e-3": t, "accuracy": a, "passed": p} for s, t, a, p in ((400, 50.0, 0.4, False),
                                                                                      (9600, 52.6, 0.72, True))]
    got = report.snapshot_finding({"rank": 64, "seed": 0, "module": "mlp.c_proj", "target_modules": ["mlp.c_proj"],
                                   "steps": 9600, "device": "CPU", "curves": {"planning": rows}})
    assert got.startswith("Rank over training on mlp.c_proj alone, 9,600 steps (r=64, seed 0, trained on CPU)")
    assert "planning step 400: 50.0, 0.40 -> step 9600: 52.6, 0.72, first passes the ability criteria at step 9600" in got


def test_snapshot_finding_gives_the_interval_over_seeds_where_stored():
    """tools.whole_mlp_grid --snapshots --seeds: the finding adds each seed's first-passing steps and the ratio's
    mean and t-interval over the seeds; one seed alone adds nothing."""
    from helpers.rank_study import first_passing_seeds
    row = lambda step, ok, t: {"step": step, "thr_1e-3": t, "entropy_rank": t / 2, "energy_90": t / 4, "accuracy": 0.6,
                               "passed": ok}
    seed_curves = {str(s): {"planning": [row(400, False, 40.0), row(3200, True, 48.0 + s)],
                            "reasoning": [row(400, True, 50.0 - s)]} for s in range(3)}
    snaps = {"rank": 64, "seed": 0, "module": "m", "device": "CPU", "curves": seed_curves["0"]}
    alone = report.snapshot_finding(snaps)
    assert "over seeds" not in alone and report.snapshot_finding(dict(snaps, seed_curves={"0": seed_curves["0"]})) == alone
    got = report.snapshot_finding(dict(snaps, seed_curves=seed_curves))
    assert got.startswith(alone[:-1] + ". The same over seeds 0, 1, 2 (each seed's planning run paired with its reasoning run)")
    ratio = first_passing_seeds(seed_curves, ["thr_1e-3"])["ratios"]["thr_1e-3"]
    assert ratio["values"] == [50 / 48, 49 / 49, 48 / 50]
    assert f"thr_1e-3 {ratio['mean']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]" in got
    assert "seed 2: planning step 3,200, reasoning step 400 (its first saved step)" in got


def test_the_rank_claim_reads_notebook_03s_planning_sweep(results):
    """Per rank the accuracy averaged over hops, over seeds; ranks whose intervals are apart do not reproduce 'barely
    depends', and a rank whose adapters fail while the largest rank's learn is part of that answer."""
    lora = json.loads((results / "demo" / "03_lora.json").read_text())
    lora["steps"] = {"planning": 9600, "reasoning": 600}
    lora["lora"]["planning"]["r4-s0"] = _diag([1, 2, 3], [1.0, 0.9, 0.2], False)
    lora["lora"]["planning"]["r4-s1"] = _diag([1, 2, 3], [1.0, 0.9, 0.22], False)
    _write(results / "demo", "03_lora.json", lora)
    row = next(r for r in report.claims("demo") if r["claim"] == "HashHop accuracy barely depends on the LoRA rank")
    assert row["verdict"] == "not reproduced" and row["notebook"] == "03"
    assert "4: 0.703 [0.661, 0.746] (0 of 2 learn)" in row["ours"] and "8: 0.833 [0.833, 0.833] (2 of 2 learn)" in row["ours"]
    assert "2 seeds, 9,600 steps" in row["ours"] and "intervals apart" in row["ours"]
    lora["lora"]["planning"]["r8-s1"] = _diag([1, 2, 3], [1.0, 0.9, 0.2], False)  # the largest rank did not all learn
    _write(results / "demo", "03_lora.json", lora)
    row = next(r for r in report.claims("demo") if r["claim"] == "HashHop accuracy barely depends on the LoRA rank")
    assert row["verdict"] == "untestable here" and "1 of 2 planning adapters fail" in row["ours"]
    assert "base->r=8 mean of 2 seeds, 9,600 steps" in \
        next(r for r in report.claims("demo") if r["claim"] == "LoRA adds planning ability over the frozen base (HashHop)")["ours"]


def test_the_longer_adapters_are_read_only_for_the_kinds_notebook_03_stored(results):
    _with_long_adapters(results)
    lora = json.loads((results / "demo" / "03_lora.json").read_text())
    del lora["paper_layer_16x"]["lora"]["planning"]  # planning's sweep already trains as long as the grid
    _write(results / "demo", "03_lora.json", lora)
    claims = [r["claim"] for r in report.claims("demo") if "16x longer" in r["claim"]]
    assert claims == ["LoRA adds reasoning ability over the frozen base (HashChain), on the paper's layer trained 16x longer"]
    assert [l.split(" (")[0] for l in report.lora_findings("demo") if "16x longer" in l] == ["HashChain"]
