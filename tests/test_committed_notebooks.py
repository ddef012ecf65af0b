"""The committed notebooks 03-05 (small profile) print what their committed results say. nbval re-executes
notebooks 01-02 in CI and compares every output; 03-05 need their LoRA runs (about 26 minutes on 2 cores),
so here every table they print that is a function of their saved results (results/small/03-05_*.json) is
re-rendered by the same code and compared with the cell's stored output: the findings (the claims table's
rows, `report.finding_lines` / `report.lora_findings`), notebook 04's ablation rows and notebook 05's
headline ratios. A notebook re-run without its results (or results regenerated without the notebook) fails here."""
import json

import pytest

from helpers.ablations import row_line
from helpers.paths import REPO_ROOT, RESULTS
from helpers.rank_study import ratio_line
from helpers.report import finding_lines, lora_findings

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


def test_notebook_03_prints_the_readme_findings():
    _results("03_lora.json")
    assert _printed("03_lora.ipynb", "lora_findings(PROFILE)") == "".join(f"{line}\n" for line in lora_findings("small"))


@pytest.mark.parametrize("notebook, number", [("04_ablations.ipynb", "04"), ("05_rank_analysis.ipynb", "05")])
def test_notebooks_04_05_end_with_their_claims_table_rows(notebook, number):
    lines = finding_lines("small", number)
    assert lines, f"no claim rests on notebook {number}'s results"
    assert _printed(notebook, "finding_lines(PROFILE") == "".join(f"{line}\n" for line in lines)


def test_notebook_04_prints_the_saved_ablation_rows():
    rows = _results("04_ablations.json")["rows"]
    assert _printed("04_ablations.ipynb", "row_line(r)") == "".join(f"{row_line(r)}\n" for r in rows)


def test_notebook_05_prints_the_saved_headline_ratios():
    saved = _results("05_rank.json")
    headline = [r for r in saved["ratios"] if r["measure"] == "thr_1e-3"]
    expected = "".join(f"{ratio_line(r)}\n" for r in headline) + f"verdict on the 2-3x claim: {saved['headline_verdict']}\n"
    assert _printed("05_rank_analysis.ipynb", "ratio_line(r)") == expected
