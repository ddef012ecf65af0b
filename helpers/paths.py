"""Every path is resolved from the repository root, never from the current directory, so a notebook
run by papermill from anywhere writes to the same places. Figures and results go to a folder per
profile (``figures/small/...``): a CI run in the ``smoke`` profile never overwrites the committed
``small`` figures, and ``paper`` results sit beside them."""
import os
from pathlib import Path

from .io import config_hash

REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES = REPO_ROOT / "figures"      # every figure a notebook draws
RESULTS = REPO_ROOT / "results"      # machine-readable numbers the notebooks write
BASES = REPO_ROOT / "models"         # the small trained base models the notebooks start from (committed)
# run cache: checkpoints, adapters (ignored by git); REPRO_RUNS moves it (tests point it at a temporary folder)
RUNS = Path(os.environ.get("REPRO_RUNS") or REPO_ROOT / "runs")


def output_name(profile) -> str:
    """The folder name of a profile's figures and results: its name, or for a profile dict with
    ``overrides`` its name plus a hash of them (``small-custom-1a2b3c4d``), so a notebook run with
    OVERRIDES never writes over the profile's own (committed) figures and results."""
    if isinstance(profile, str):
        return profile
    overrides = profile.get("overrides") or {}
    if not overrides:
        return profile["name"]
    return f"{profile['name']}-custom-{config_hash(overrides)[:8]}"


# Where notebooks write figures and results: the repository, unless REPRO_OUTPUTS names another root
# (CI executes notebooks 01-02 in the small profile with it set, so make test never rewrites the
# committed files). Committed inputs (e.g. the pretraining ablation's results) are read from RESULTS.
OUTPUTS = Path(os.environ.get("REPRO_OUTPUTS") or REPO_ROOT)


def figure_path(profile, name: str) -> Path:
    """``figures/<output_name(profile)>/<name>``; ``profile`` is a profile dict (or a profile name)."""
    folder = OUTPUTS / "figures" / output_name(profile)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def results_path(profile, name: str) -> Path:
    """``results/<output_name(profile)>/<name>``; ``profile`` is a profile dict (or a profile name)."""
    folder = OUTPUTS / "results" / output_name(profile)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def repo_relative(path) -> str:
    """``path`` as results files store it: relative to the repository, or ``runs/...`` for anything in
    the run cache wherever ``REPRO_RUNS`` puts it, so no stored result holds a machine's path."""
    path = Path(path).resolve()
    for root, prefix in ((RUNS.resolve(), "runs"), (REPO_ROOT, None)):
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue
        return f"{prefix}/{rel}" if prefix else rel
    return str(path)
