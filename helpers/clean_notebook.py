"""Drop stderr streams (warnings, progress bars) from executed notebooks, so committed outputs hold only
what a cell prints on purpose (stdout), its figures and its tables. ``make figures`` runs it after
papermill::

    python -m helpers.clean_notebook notebooks/03_lora.ipynb
"""
from __future__ import annotations

import sys
from pathlib import Path

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
    from .cli import Parser

    parser = Parser(prog="python -m helpers.clean_notebook", description="Strip stderr streams from executed notebooks.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", type=Path, help="an .ipynb file, rewritten in place")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"NOTEBOOK: {path} is not a file")
        try:
            removed = clean(path)
        except (ValueError, OSError) as err:  # nbformat's validation errors are ValueErrors
            parser.error(f"NOTEBOOK: {path} is not a readable notebook ({type(err).__name__})")
        print(f"{path}: removed {removed} stderr outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
