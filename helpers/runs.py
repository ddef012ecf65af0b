"""Runs as data: a run is its config. The config's hash names the run's folder; a finished run has a
``result.json`` (written last, atomically) whose recorded hash must match, so an interrupted run is
never mistaken for a finished one and a changed config is never silently reused."""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .io import atomic_write_json, read_json
from .paths import REPO_ROOT

PACKAGES = ("torch", "transformers", "peft", "tokenizers", "safetensors", "numpy")


def config_hash(config: dict) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    """What a results file records besides its numbers: package versions, Python, git commit."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"packages": versions, "python": platform.python_version(), "commit": git_commit()}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Run:
    """A folder ``root/<kind>/<hash>`` holding one run's files and, once finished, ``result.json``."""

    def __init__(self, root: Path, kind: str, config: dict):
        self.config = config
        self.hash = config_hash(config)
        self.dir = Path(root) / kind / self.hash
        self.result_file = self.dir / "result.json"

    def finished(self) -> dict | None:
        """The stored result if this exact config finished and its files are intact, else ``None``."""
        if not self.result_file.exists():
            return None
        try:
            result = read_json(self.result_file)
        except (OSError, json.JSONDecodeError):
            return None
        if result.get("config_hash") != self.hash or result.get("config") != json.loads(json.dumps(self.config)):
            return None
        for name, digest in result.get("files", {}).items():
            path = self.dir / name
            if not path.exists() or sha256_file(path) != digest:
                return None
        return result

    def finish(self, result: dict, files: list[str] = ()) -> dict:
        """Write ``result.json`` last, with checksums of the run's files, so it marks completion."""
        result = dict(result, config=self.config, config_hash=self.hash, provenance=provenance(),
                      files={name: sha256_file(self.dir / name) for name in files})
        atomic_write_json(self.result_file, result)
        return result


def save_results(profile: str, name: str, data: dict) -> Path:
    """A notebook's numbers as ``results/<profile>/<name>``, with provenance, written atomically."""
    from .paths import results_path
    path = results_path(profile, name)
    atomic_write_json(path, dict(data, provenance=provenance()))
    return path
