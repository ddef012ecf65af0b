"""The conda environment and the pip requirements name the same packages at the same versions; the
install picks the CPU or the CUDA build of torch; `make lab` opens JupyterLab from the project's venv."""
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_conda_and_pip_pins_agree():
    pip = _pins((ROOT / "requirements.txt").read_text().splitlines())
    yml = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(yml) if line.strip() == "- pip:")
    conda = _pins(yml[start + 1:])
    assert pip, "requirements.txt pins nothing"
    assert pip == conda


def test_torch_is_pinned_to_the_cpu_build():
    pip = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert pip["torch"] == "2.13.0"


def _make_dry_run(*args, path=None):
    env = dict(os.environ, PATH=path) if path is not None else None
    make = shutil.which("make")
    return subprocess.run([make, "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60).stdout


def test_torch_build_follows_the_gpu_or_torch_index_url(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python3", "sh", "bash", "env", "make"):  # a PATH with no nvidia-smi
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    no_gpu = _make_dry_run(".venv/.installed", path=str(bin_dir))
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in no_gpu
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    gpu = _make_dry_run(".venv/.installed", path=str(bin_dir))
    assert "torch==2.13.0 --index-url" not in gpu and "pip install --quiet torch==2.13.0" in gpu
    chosen = _make_dry_run(".venv/.installed", "TORCH_INDEX_URL=https://example.org/whl/cu126")
    assert "--index-url https://example.org/whl/cu126" in chosen


def test_make_figures_retrain_reaches_the_notebooks_and_refuses_other_values():
    assert "REPRO_RETRAIN=0 .venv/bin/papermill" in _make_dry_run("figures")  # the committed runs by default
    assert "REPRO_RETRAIN=1 .venv/bin/papermill" in _make_dry_run("figures", "RETRAIN=1")
    got = subprocess.run([shutil.which("make"), "-n", "figures", "RETRAIN=yes"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert got.returncode != 0 and "RETRAIN: allowed values are 0 and 1, got 'yes'" in got.stderr


def test_make_lab_opens_jupyterlab_from_the_venv():
    assert ".venv/bin/jupyter lab --notebook-dir=notebooks" in _make_dry_run("lab")


def test_readme_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "helpers").glob("*.py")):
        if path.stem != "__init__":
            assert f"`helpers.{path.stem}`" in readme, path
    for path in sorted((ROOT / "tools").glob("*.py")):
        if path.stem != "__init__":
            assert f"`{path.stem}`" in readme, path


def test_make_test_runs_every_tools_doctest():
    """`make test` collects tests/ and helpers/ (pyproject's testpaths) and names the tools modules with doctests one
    by one: a tools module that gains a doctest and is left off the command would never run it."""
    command = next(line for line in _make_dry_run("test").splitlines() if "--nbval-lax" in line)
    with_doctests = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tools").glob("*.py") if ">>> " in p.read_text())
    assert with_doctests and [p for p in with_doctests if f" {p} " not in command] == []
