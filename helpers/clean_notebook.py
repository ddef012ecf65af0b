"""Drop stderr streams (warnings, progress bars) from executed notebooks, so committed outputs hold only
what a cell prints on purpose (stdout), its figures and its tables. ``make figures`` runs it after
papermill::

    python -m helpers.clean_notebook notebooks/03_lora.ipynb
"""
from __future__ import annotations

import sys

import nbformat


def clean(path: str) -> int:
    """Remove every stderr stream output of the notebook at ``path`` in place; return how many."""
    nb = nbformat.read(path, as_version=4)
    removed = 0
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        kept = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        removed += len(outputs) - len(kept)
        if outputs:
            cell["outputs"] = kept
    nbformat.write(nb, path)
    return removed


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m helpers.clean_notebook NOTEBOOK...", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path}: removed {clean(path)} stderr outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
