"""The notebooks are papermill- and nbval-ready: one `parameters` cell that reads the profile from the
environment, no stored injected-parameters cell (it would override the smoke profile under nbval), and
no `<Figure size ...>` reprs in stored outputs."""
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_five_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_papermill_and_nbval_ready(path):
    nb = nbformat.read(path, 4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1
    assert not any("injected-parameters" in t for t in tags)
    params = next(c for c, t in zip(nb.cells, tags) if "parameters" in t)
    assert 'os.environ.get("REPRO_PROFILE", "small")' in params.source and "OVERRIDES" in params.source
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        for out in cell.get("outputs", []):  # a figure's own display_data carries that text as its fallback
            if out.get("output_type") == "execute_result":
                assert "<Figure size" not in str(out.get("data", {}).get("text/plain", ""))
