"""No code path unpickles anything, and everything the code writes to hold tensors is safetensors.

Unpickling runs arbitrary code from the file; weights here are read only through safetensors
(``load_file``, ``load_model``, ``from_pretrained(use_safetensors=True)``, peft adapters)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from safetensors import safe_open

from helpers.lora import train_lora_run
from helpers.paths import REPO_ROOT

THIS = Path(__file__).resolve()
FORBIDDEN = {
    "torch.load": re.compile(r"\btorch\.load\s*\("),
    "pickle.load/loads": re.compile(r"\b(?:c?[pP]ickle|dill|cloudpickle)\.loads?\s*\("),
    "joblib.load": re.compile(r"\bjoblib\.load\s*\("),
    "np.load(allow_pickle=True)": re.compile(r"\b(?:np|numpy)\.load\s*\([^)]*allow_pickle\s*=\s*True", re.S),
    "pandas.read_pickle": re.compile(r"\b(?:pd|pandas)\.read_pickle\s*\("),
}
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz"}


def sources() -> list[tuple[str, str]]:
    """``(name, code)`` for every .py file under helpers/, tools/, tests/ (this file
    excepted) and every notebook's code cells."""
    out = []
    for folder in ("helpers", "tools", "tests"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path.resolve() != THIS:
                out.append((str(path.relative_to(REPO_ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                out.append((f"{path.relative_to(REPO_ROOT)} cell {i}", "".join(cell["source"])))
    return out


def findings(code: str) -> list[str]:
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(code)]


def test_scanner_finds_what_it_looks_for():
    planted = ["torch.load(path)", "x = pickle.loads(blob)", "pickle.load(fh)", "joblib.load('m.joblib')",
               "np.load(f,\n        allow_pickle=True)", "numpy.load('a.npy', allow_pickle = True)"]
    for code in planted:
        assert findings(code), code
    for code in ["np.load('a.npy')", "np.load(f, allow_pickle=False)", "load_file(path)", "# no pickles here"]:
        assert not findings(code), code


def test_sources_found():
    names = [name for name, _ in sources()]
    assert any(n.startswith("helpers/") for n in names) and any(n.startswith("tests/") for n in names)
    assert any(".ipynb cell" in n for n in names)


def test_no_unpickling_anywhere():
    hits = [f"{name}: {what}" for name, code in sources() for what in findings(code)]
    assert hits == []


def _written_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _assert_safetensors_only(folder: Path) -> list[str]:
    files = _written_files(folder)
    assert files
    bad = [str(p) for p in files if p.suffix in PICKLE_SUFFIXES]
    assert bad == []
    for path in files:
        if path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt") as fh:  # a valid safetensors header
                assert list(fh.keys())
            continue
        head = path.read_bytes()[:2]
        assert not head.startswith(b"PK"), f"{path}: a zip archive (torch.save's format)"
        assert not (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5), f"{path}: a pickle"
    assert {p.suffix for p in files} <= {".safetensors", ".json", ".md"}, {p.suffix for p in files}
    return [str(p.relative_to(folder)) for p in files]


def test_base_run_writes_safetensors_only(tiny_base):
    names = _assert_safetensors_only(tiny_base.parent)
    for expected in ("model/model.safetensors", "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors"):
        assert expected in names


@pytest.mark.parametrize("method", ["lora", "full"])
def test_finetuning_runs_write_safetensors_only(tmp_path, lora_config, method):
    """Steps past 100, so the mid-run checkpoint (weights + optimizer state) is written too."""
    overrides = {"steps": 101} if method == "lora" else {"steps": 101, "method": "full", "rank": None, "alpha": None}
    result = train_lora_run(lora_config(**overrides), root=tmp_path, progress=False)
    names = _assert_safetensors_only(Path(result["run_dir"]))
    weights = "adapter/adapter_model.safetensors" if method == "lora" else "model/model.safetensors"
    checkpoint = "checkpoint/adapter_model.safetensors" if method == "lora" else "checkpoint/model.safetensors"
    for expected in (weights, checkpoint, "optimizer.safetensors", "result.json"):
        assert expected in names, names
