import json

import pytest

from helpers import report


def _write(root, name, obj):
    (root / name).write_text(json.dumps(obj))


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
        "planning_top_rank_thr_1e-3_per_layer": [8, 8, 7, 8]})
    row = lambda key, x, acc: {key: x, "accuracy": acc, "ci_low": acc - 0.04, "ci_high": acc + 0.04}
    _write(folder / "demo", "03_lora.json", {"n_per_point": 500, "base": {
        "planning": [row("hops", 1, 1.0), row("hops", 2, 0.9), row("hops", 3, 0.05)],
        "reasoning": [row("shortest", 2, 0.8), row("shortest", 3, 0.3)]}, "lora": {
        "planning": {"4": [row("hops", 1, 0.98), row("hops", 2, 0.5), row("hops", 3, 0.4)],
                     "8": [row("hops", 1, 0.97), row("hops", 2, 0.6), row("hops", 3, 0.3)]},
        "reasoning": {"4": [row("shortest", 2, 0.79), row("shortest", 3, 0.31)]}}})
    return folder


def test_claims_come_from_the_results_files(results):
    rows = {r["claim"]: r for r in report.claims("demo")}
    planning = rows["LoRA adds planning accuracy over the frozen base (HashHop)"]
    assert planning["verdict"] == "partly reproduced" and "3: 0.05->0.40" in planning["ours"]
    assert "gains at [3]" in planning["ours"] and "below the base at [2]" in planning["ours"]
    assert rows["LoRA adds reasoning accuracy over the frozen base (HashChain)"]["verdict"] == "not reproduced"
    headline = rows["effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning"]
    assert headline["verdict"] == "not reproduced" and "0.90 [0.80, 1.00]" in headline["ours"]
    assert rows["same claim, entropy effective rank (not in the paper)"]["verdict"] == "reproduced"
    assert rows["planning adapter: threshold rank at 1e-3 per layer is well below the LoRA rank"]["verdict"] == "not reproduced"


def test_readme_is_rewritten_between_markers_only(results, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nOLD-TABLE\n<!-- claims:end -->\nmid\n<!-- bench:start -->\nx\n<!-- bench:end -->\nend\n")
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    assert report.main(["--profile", "demo"]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "OLD-TABLE" not in text
    assert "| claim | paper | ours | verdict |" in text
    assert json.loads((results / "claims.json").read_text())["profile"] == "demo"


def test_missing_markers_are_an_error(results, tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("no markers\n")
    monkeypatch.setattr(report, "REPO_ROOT", tmp_path)
    with pytest.raises(ValueError, match="claims:start"):
        report.main(["--profile", "demo"])
