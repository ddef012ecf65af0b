"""Every path is resolved from the repository root, never from the current directory, so a notebook
run by papermill from anywhere writes to the same places. Figures and results go to a folder per
profile (``figures/small/...``): a CI run in the ``smoke`` profile never overwrites the committed
``small`` figures, and ``paper`` results sit beside them."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES = REPO_ROOT / "figures"      # every figure a notebook draws
RESULTS = REPO_ROOT / "results"      # machine-readable numbers the notebooks write
BASES = REPO_ROOT / "models"         # the small trained base models the notebooks start from (committed)
RUNS = REPO_ROOT / "runs"            # run cache: checkpoints, adapters (ignored by git)


def figure_path(profile: str, name: str) -> Path:
    folder = FIGURES / profile
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def results_path(profile: str, name: str) -> Path:
    folder = RESULTS / profile
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
