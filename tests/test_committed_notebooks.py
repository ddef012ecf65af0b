"""The committed notebooks 03-05 (small profile) print what their committed results say. nbval re-executes
notebooks 01-02 in CI and compares every output; 03-05 need their LoRA runs (about 26 minutes on 2 cores),
so here every table they print that is a function of their saved results (results/small/03-05_*.json) is
re-rendered by the same code and compared with the cell's stored output: the findings (the claims table's
rows, `report.finding_lines` / `report.lora_findings`), notebook 03's paired tests and ability criteria,
notebook 04's ablation rows, notebook 05's headline ratios, control, attention grid and stored whole-MLP and paper-layer grids (`helpers.tables`). A notebook re-run without its results (or results regenerated without the notebook) fails here."""
import json

import pytest

from helpers.paths import REPO_ROOT, RESULTS
from helpers.report import finding_lines, lora_findings, rank_findings
from helpers.profiles import get_profile
from helpers.rank_study import GRID_MEASURES, LAYER_GRIDS
from helpers.tables import (ablation_row, arm_lines, arm_seed_lines, control_lines, criteria_lines, full_lines, grid_lines,
                            lora_setup_lines, paired_lines, ratio_row, snapshot_lines)

NOTEBOOKS = REPO_ROOT / "notebooks"


def _printed(notebook: str, call: str) -> str:
    """The stdout of the one code cell of ``notebook`` whose source contains ``call``."""
    cells = [c for c in json.loads((NOTEBOOKS / notebook).read_text())["cells"]
             if c["cell_type"] == "code" and call in "".join(c["source"])]
    assert len(cells) == 1, f"{notebook}: {len(cells)} cells call {call}"
    return "".join("".join(o["text"]) for o in cells[0]["outputs"] if o.get("output_type") == "stream")


def _results(name: str) -> dict:
    path = RESULTS / "small" / name
    if not path.exists():
        pytest.skip(f"{path} is not committed")
    return json.loads(path.read_text())


def test_notebook_03_prints_the_readme_findings_and_its_claims_table_rows():
    _results("03_lora.json")
    assert finding_lines("small", "03"), "no claim rests on notebook 03's results"
    assert _printed("03_lora.ipynb", "lora_findings(PROFILE)") == \
        "".join(f"{line}\n" for line in lora_findings("small") + finding_lines("small", "03"))


@pytest.mark.parametrize("notebook, number", [("04_ablations.ipynb", "04"), ("05_rank_analysis.ipynb", "05")])
def test_notebooks_04_05_end_with_their_claims_table_rows(notebook, number):
    lines = finding_lines("small", number)
    assert lines, f"no claim rests on notebook {number}'s results"
    if number == "05":  # then what the rank grid measured, as the README's findings list it
        lines += rank_findings("small")
    assert _printed(notebook, "finding_lines(PROFILE") == "".join(f"{line}\n" for line in lines)


def test_notebook_04_prints_the_saved_ablation_rows():
    rows = _results("04_ablations.json")["rows"]
    assert _printed("04_ablations.ipynb", "ablation_row(r)") == "".join(f"{ablation_row(r)}\n" for r in rows)


def test_notebook_05_prints_the_saved_headline_ratios():
    saved = _results("05_rank.json")
    headline = [r for r in saved["ratios"] if r["measure"] == "thr_1e-3"]
    assert _printed("05_rank_analysis.ipynb", "ratio_row(r)") == "".join(f"{ratio_row(r)}\n" for r in headline)
    printed = _printed("05_rank_analysis.ipynb", "save_results(").splitlines()
    assert printed[0].startswith("ratio at the usable ranks: ") and printed[1:] == [f"verdict on the 2-3x claim: {saved['headline_verdict']}"]


def test_notebook_03_prints_the_saved_paired_tests_and_criteria():
    saved = _results("03_lora.json")
    head = tuple(saved["headline"])
    paired, crit = [], []
    for kind, key in (("planning", "hops"), ("reasoning", "shortest")):
        paired += paired_lines(kind, key, head, saved["n_per_point"], saved["base"][kind]["rows"],
                               saved["lora"][kind][f"r{head[0]}-s{head[1]}"]["rows"], saved["trained_points"][kind])
        runs = {tuple(int(v) for v in name[1:].split("-s")): d["criteria"] for name, d in saved["lora"][kind].items()}
        crit += criteria_lines(kind, runs)
    assert _printed("03_lora.ipynb", 'diag[kind][HEAD]["rows"], TRAINED[kind]') == "".join(f"{line}\n" for line in paired)
    assert _printed("03_lora.ipynb", 'tables.criteria_lines(kind, {key: d["criteria"]') == "".join(f"{line}\n" for line in crit)


def test_notebook_03_prints_the_saved_diagnostics_of_the_papers_layer_trained_longer():
    """The committed adapters of tools.whole_mlp_grid --grid paper_layer against the base, as notebook 03 saved them
    (03_lora.json's paper_layer_16x): the paired tests and the criteria it prints, for the kinds its sweep trains
    shorter than the grid (reasoning; planning's sweep holds the grid's runs)."""
    saved = _results("03_lora.json")
    long = saved["paper_layer_16x"]
    assert long is not None, "notebook 03 ran without the stored paper_layer grid"
    assert sorted(long["lora"]) == [k for k in ("planning", "reasoning") if saved["steps"][k] != long["steps"]] == ["reasoning"]
    head, lines = (long["rank"], long["seed"]), []
    for kind, key in (("reasoning", "shortest"),):
        lines += paired_lines(kind, key, head, saved["n_per_point"], saved["base"][kind]["rows"], long["lora"][kind]["rows"],
                              saved["trained_points"][kind])
        lines += criteria_lines(kind, {head: long["lora"][kind]["criteria"]})
    assert _printed("03_lora.ipynb", 'long_diag[kind]["rows"]') == "".join(f"{line}\n" for line in lines)
    stored = _results("05_paper_layer.json")
    assert long["adapters"] == stored["exported"] and long["grid_passed"] == stored["passed"]


def test_notebook_03_prints_the_saved_setup():
    saved = _results("03_lora.json")
    lp = get_profile("small")["lora"]
    tasks = {kind: lp[kind] for kind in ("planning", "reasoning")}  # the profile's key order (the JSON's is sorted)
    assert tasks == saved["tasks"]
    lines = lora_setup_lines(tasks, saved["trained_points"],
                             {"planning": lp["eval_hops"], "reasoning": lp["eval_shortest"]},
                             saved["ranks"], saved["seeds"], saved["n_per_point"], saved["steps"])
    assert _printed("03_lora.ipynb", "tables.lora_setup_lines(") == "".join(f"{line}\n" for line in lines)


def test_notebook_05_prints_the_saved_control():
    saved = _results("05_rank.json")
    assert _printed("05_rank_analysis.ipynb", "control_lines(") == "".join(f"{line}\n" for line in control_lines(saved["control"]))


def test_notebook_05_prints_the_saved_attention_grid():
    saved = _results("05_rank.json")
    assert _printed("05_rank_analysis.ipynb", "grid_lines(attention") == \
        "".join(f"{line}\n" for line in grid_lines(saved["attention"], GRID_MEASURES))


def test_notebook_05_prints_the_stored_whole_mlp_arms():
    stored = _results("05_whole_mlp_arms.json")
    lines = [f"arms trained on {stored['device']}, the grid's default adapters on {stored['grid_device']}"]
    lines += arm_seed_lines(stored)
    assert _printed("05_rank_analysis.ipynb", "arm_seed_lines(whole_mlp_arms") == "".join(f"{line}\n" for line in lines)


@pytest.mark.parametrize("name, call", [("05_whole_mlp_snapshots.json", "snapshot_lines(whole_mlp_snaps"),
                                        ("05_paper_layer_snapshots.json", "snapshot_lines(paper_snaps"),
                                        ("05_paper_layer_full_snapshots.json", "snapshot_lines(paper_full_snaps")])
def test_notebook_05_prints_the_stored_snapshots(name, call):
    """tools.whole_mlp_grid --snapshots (the whole MLP, and the paper's layer alone with --grid paper_layer; its full
    fine-tuning reference with --full --snapshots)."""
    stored = _results(name)
    assert _printed("05_rank_analysis.ipynb", call) == "".join(f"{line}\n" for line in snapshot_lines(stored))


def test_notebook_05_prints_the_stored_full_fine_tuning_reference():
    """tools.whole_mlp_grid --full --grid paper_layer (05_paper_layer_full.json)."""
    stored = _results("05_paper_layer_full.json")
    assert _printed("05_rank_analysis.ipynb", "full_lines(paper_full") == "".join(f"{line}\n" for line in full_lines(stored))


def test_notebook_05_prints_the_stored_whole_mlp_grid():
    """tools.whole_mlp_grid's results (05_whole_mlp.json), as notebook 05 draws them."""
    stored = _results("05_whole_mlp.json")
    where = f"{stored['module']} inside a LoRA on {' + '.join(stored['target_modules'])}, {stored['steps']} steps"
    lines = [f"{stored['runs']} adapters ({where}), trained on {stored['device']}"] + grid_lines(stored, GRID_MEASURES)
    assert _printed("05_rank_analysis.ipynb", "grid_lines(whole_mlp") == "".join(f"{line}\n" for line in lines)


def test_notebook_05_prints_the_stored_paper_layer_grids():
    """tools.whole_mlp_grid --grid paper_layer / paper_layer_rslora / paper_layer_ranks's results, the per-layer
    threshold rank of the planning adapters where a grid keeps it, and each grid's planning/reasoning overlap, as notebook
    05 prints them; the overlaps are the ones 05_rank.json keeps."""
    saved, lines = _results("05_rank.json"), []
    for grid_key in ("paper_layer", "paper_layer_rslora", "paper_layer_ranks"):
        path = RESULTS / "small" / LAYER_GRIDS[grid_key][0]
        if not path.exists():
            lines.append(f"no stored {grid_key} grid for this profile: python -m tools.whole_mlp_grid --grid {grid_key} "
                         "--profile small")
            continue
        g = json.loads(path.read_text())
        how = "rsLoRA (alpha/sqrt(r))" if g.get("use_rslora") else "alpha = r/2"
        lines.append(f"{g['runs']} adapters ({g['module']} alone, {how}, {g['steps']} steps), trained on {g['device']}")
        lines += grid_lines(g, GRID_MEASURES)
        lines += [f"planning, seed {seed}: thr_1e-3 per layer at r={max(g['ranks'])}: {values}"
                  for seed, values in g.get("per_layer_thr_1e-3", {}).get("planning", {}).items()]
        name = f"mlp.c_proj alone, {how}, {g['steps']} steps: planning vs reasoning, r={max(g['ranks'])}"
        by_k = saved["overlap"][name]
        lines.append(f"{name}: " + ", ".join(f"k={k}: {by_k[k][0]:.2f} (random {by_k[k][1]:.2f})" for k in sorted(by_k, key=int)) + "\n")
    assert _printed("05_rank_analysis.ipynb", "grid_lines(g, GRID_MEASURES)") == "".join(f"{line}\n" for line in lines)


def test_notebook_05_prints_the_saved_init_and_scaling_arms():
    saved = _results("05_rank.json")
    for call, grid in (("arm_lines(effects, arm_passed)", saved), ("arm_lines(att_effects, att_arm_passed)", saved["attention"])):
        assert _printed("05_rank_analysis.ipynb", call) == "".join(f"{line}\n" for line in arm_lines(grid["arms"], grid["arm_passed"]))


def test_notebook_05_prints_the_stored_arm_seeds():
    stored = _results("05_arm_seeds.json")
    assert _printed("05_rank_analysis.ipynb", "arm_seed_lines(json") == "".join(f"{line}\n" for line in arm_seed_lines(stored))


def test_notebook_04_results_hold_every_target_module_arm_of_the_profile():
    """A target-module arm added to (or dropped from) the small profile needs notebook 04 re-executed: its saved
    ability check and ablation rows must name exactly the profile's arms, for both tasks."""
    saved = _results("04_ablations.json")
    arms = set(get_profile("small")["ablations"]["target_modules"])
    for kind in ("planning", "reasoning"):
        assert set(saved["module_abilities"][kind]) == arms, kind
        assert {r["x"] for r in saved["rows"] if r["ablation"] == "target modules" and r["kind"] == kind} == arms, kind
