"""The conda environment and the pip requirements must name the same packages at the same versions."""
import re
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
