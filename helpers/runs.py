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

from .io import atomic_write_json, config_hash, read_json
from .paths import REPO_ROOT

PACKAGES = ("torch", "transformers", "peft", "tokenizers", "safetensors", "numpy")


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


def training_environment() -> dict:
    """What besides the config decides a trained run's bytes: torch's CPU thread count (matrix products
    split their sums by thread, so 1 and 2 threads give weights that differ in the last bits). It is
    part of a training run's identity: a run cached with 2 threads is not reused by a 1-thread process.
    So is the number of data-parallel processes when there are several (``torchrun``)."""
    import os

    import torch
    from .training import training_device
    env = {"torch_threads": torch.get_num_threads()}
    device = training_device().type
    if device != "cpu":  # a GPU's sums differ from the CPU's: another run (CPU identities unchanged)
        env["device"] = device
    world = int(os.environ.get("WORLD_SIZE", "1"))  # set by torchrun / accelerate launch
    if world > 1:  # data-parallel over several processes averages gradients differently: another run
        env["processes"] = world
    return env


def set_aside(folder: Path, names, err: Exception) -> Path:
    """Move a run's unreadable saved state (``names`` inside ``folder``) to ``folder/corrupt-<n>/``,
    say so in one line, and let the run start over. Nothing is deleted: the files stay for a look."""
    from .cli import say
    folder = Path(folder)
    n = 1
    while (folder / f"corrupt-{n}").exists():
        n += 1
    target = folder / f"corrupt-{n}"
    target.mkdir(parents=True)
    for name in names:
        if (folder / name).exists():
            (folder / name).rename(target / name)
    say(f"{folder}: saved state unreadable ({type(err).__name__}: {str(err)[:120]}); moved to {target.name}/, starting over")
    return target


RESULT_FILE = "result.json"  # written last: a finished run's mark


def intact_result(folder: Path, config: dict, run_hash: str | None = None) -> dict | None:
    """``folder/result.json`` if it records ``config`` (and ``run_hash``, where given) and every file it lists still
    has the recorded checksum, else ``None``: a finished run, in the run cache or among the committed runs."""
    path = Path(folder) / RESULT_FILE
    if not path.exists():
        return None
    try:
        result = read_json(path)
    except (OSError, json.JSONDecodeError):
        return None
    if run_hash is not None and result.get("config_hash") != run_hash:
        return None
    if result.get("config") != json.loads(json.dumps(config)):
        return None
    for name, digest in result.get("files", {}).items():
        if not (Path(folder) / name).is_file() or sha256_file(Path(folder) / name) != digest:
            return None
    return result


class Run:
    """A folder ``root/<kind>/<hash>`` holding one run's files and, once finished, ``result.json``.
    ``environment`` (e.g. ``training_environment()``) joins the config in the hash, not in the config."""

    def __init__(self, root: Path, kind: str, config: dict, environment: dict | None = None):
        self.config = config
        self.environment = environment
        self.hash = config_hash({"config": config, "environment": environment}) if environment else config_hash(config)
        self.dir = Path(root) / kind / self.hash
        self.result_file = self.dir / RESULT_FILE

    def finished(self) -> dict | None:
        """The stored result if this exact config finished and its files are intact, else ``None``."""
        return intact_result(self.dir, self.config, self.hash)

    def finish(self, result: dict, files: list[str] = ()) -> dict:
        """Write ``result.json`` last, with checksums of the run's files, so it marks completion."""
        result = dict(result, config=self.config, config_hash=self.hash, provenance=provenance(),
                      **({"environment": self.environment} if self.environment else {}),
                      files={name: sha256_file(self.dir / name) for name in files})
        atomic_write_json(self.result_file, result)
        return result


def save_results(profile, name: str, data: dict) -> Path:
    """A notebook's numbers as ``results/<output_name(profile)>/<name>``, written atomically with
    provenance and the profile's overrides (``profile`` is the profile dict; a name means none)."""
    from .paths import results_path
    path = results_path(profile, name)
    overrides = {} if isinstance(profile, str) else profile.get("overrides") or {}
    atomic_write_json(path, dict(data, overrides=overrides, provenance=provenance()))
    return path
