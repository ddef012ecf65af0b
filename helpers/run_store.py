"""The committed LoRA runs: ``models/lora-runs/<hash>/``, every run notebooks 03-05 train, as its run
folder holds it once finished (adapter or model weights, the greedy answers on the evaluation prompts,
the snapshots, ``result.json``), without the training checkpoints.

``make figures`` starts from them as it starts from the committed bases: a LoRA run whose config is in
the store is loaded from there (``lora.train_lora_run``) instead of trained, so the notebooks evaluate,
diagnose and measure the committed adapters in minutes. ``REPRO_RETRAIN=1`` (``make figures RETRAIN=1``)
ignores the store and trains every run into the run cache, as a clean machine without it would.

A stored run is found by its config alone (``io.config_hash``), not by the training environment that
names a run cache folder (thread count, device): the store holds one trained run per config, made on the
machine its ``result.json`` records, and is used on any machine. Its files are checked against the
checksums of that ``result.json``; a changed config or a damaged file is not found, so it is trained.

``python -m helpers.run_store --profile small`` copies the finished runs of a profile's notebooks from the
run cache into the store (run after ``make figures RETRAIN=1``); ``--check`` lists what is missing.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .io import atomic_write_json, config_hash, read_json
from .paths import REPO_ROOT, RUNS
from .runs import RESULT_FILE as RESULT, Run, intact_result, sha256_file

STORE = REPO_ROOT / "models" / "lora-runs"


def retrain() -> bool:
    """``REPRO_RETRAIN=1``: ignore the committed runs and train every run (any other value: use them)."""
    value = os.environ.get("REPRO_RETRAIN", "").strip()
    if value not in ("", "0", "1"):
        from .errors import Refused
        raise Refused(f"REPRO_RETRAIN: allowed values are 0 and 1 (or unset), got {value!r}")
    return value == "1"


def folder(config: dict, store: Path | None = None) -> Path:
    """Where the store (``STORE`` unless given) holds ``config``'s run."""
    return Path(store or STORE) / config_hash(config)


def find(config: dict, store: Path | None = None) -> dict | None:
    """The stored result of ``config`` if the store holds it intact (same config, every file's checksum
    as its ``result.json`` records), else ``None``."""
    return intact_result(folder(config, store), config)


def stored_files(listed) -> list[str]:
    """What the store keeps of a finished run: the files its ``result.json`` lists, and beside every adapter's
    weights (the final adapter, each snapshot) its ``adapter_config.json``, without which peft cannot load it.
    Never the training checkpoints, nor peft's model cards.

    >>> stored_files(["adapter/adapter_model.safetensors", "adapter/adapter_config.json", "answers.json",
    ...               "snapshots/step-5/adapter_model.safetensors"])
    ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'answers.json', 'snapshots/step-5/adapter_config.json', 'snapshots/step-5/adapter_model.safetensors']
    """
    names = set(listed)
    names |= {name.rsplit("/", 1)[0] + "/adapter_config.json" for name in listed if name.endswith("/adapter_model.safetensors")}
    return sorted(names)


def publish(result: dict, store: Path | None = None) -> Path:
    """Copy one finished run (a result of ``lora.train_lora_run``: its ``run_dir`` and ``result.json``) into the
    store (``stored_files``), each adapter's ``base_model_name_or_path`` made the run's repo-relative base (peft
    writes the path of the machine that trained it; the project always loads the base named in the config), then
    ``result.json`` last, with the checksums of the stored files, so a copy cut short is never found."""
    source = Path(result["run_dir"])
    stored = read_json(source / RESULT)
    target = folder(stored["config"], store)
    if target.exists():
        shutil.rmtree(target)
    names = stored_files(stored["files"])
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("adapter_config.json"):
            adapter = read_json(source / name)
            atomic_write_json(target / name, dict(adapter, base_model_name_or_path=stored["config"]["base"]))
        else:
            shutil.copyfile(source / name, target / name)
    stored["files"] = {name: sha256_file(target / name) for name in names}
    atomic_write_json(target / RESULT, stored)
    if find(stored["config"], store) is None:
        raise RuntimeError(f"{target}: the copied run does not check out against its result.json")
    return target


def missing(configs: list[dict], store: Path | None = None) -> list[dict]:
    """The configs the store does not hold intact."""
    return [c for c in configs if find(c, store) is None]


def cached_runs(root: Path = RUNS) -> dict[str, Path]:
    """Every finished LoRA run in the run cache ``root``, by the hash of its config alone: whatever thread
    count trained it (the notebooks' workers train with one thread each; a process of this command has more)."""
    found: dict[str, Path] = {}
    for path in sorted((Path(root) / "lora").glob(f"*/{RESULT}")):
        try:
            result = read_json(path)
            run = Run(root, "lora", result["config"], environment=result.get("environment"))
        except (OSError, json.JSONDecodeError, KeyError):
            continue
        if run.dir == path.parent and run.finished() is not None:
            found.setdefault(config_hash(result["config"]), path.parent)
    return found


def stale(configs: list[dict], store: Path | None = None) -> list[Path]:
    """Stored runs on the bases of ``configs`` (one profile's) whose config is not among them: runs that no
    notebook asks for any more. Runs on other bases (another profile's) are not touched."""
    keep, bases, store = {config_hash(c) for c in configs}, {c["base"] for c in configs}, Path(store or STORE)
    found = []
    for path in sorted(store.glob(f"*/{RESULT}")):
        try:
            base = read_json(path)["config"]["base"]
        except (OSError, json.JSONDecodeError, KeyError):
            base = None
        if path.parent.name not in keep and base in bases:
            found.append(path.parent)
    return found


def main(argv=None) -> int:
    """``python -m helpers.run_store --profile small``: copy every finished LoRA run of notebooks 03-05 from
    the run cache into models/lora-runs/ (``--check``: only say which are missing; exit status 1 if any)."""
    from .cli import Parser, say
    from .profiles import get_profile
    from .sweep import notebook_configs

    parser = Parser(prog="python -m helpers.run_store", description=main.__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile (default small)")
    parser.add_argument("--check", action="store_true", help="list the runs the store lacks; copy nothing")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    configs = parser.run(notebook_configs, profile)
    if args.check:
        absent = missing(configs)
        say(f"{len(configs) - len(absent)} of {len(configs)} runs of the {args.profile} profile are in {STORE.relative_to(REPO_ROOT)}/")
        return 1 if absent else 0
    cache = cached_runs(RUNS)
    unfinished = 0
    for config in configs:
        run_dir = cache.get(config_hash(config))
        if run_dir is None:
            unfinished += 1
            continue
        publish({"run_dir": str(run_dir)})
    old = stale(configs)
    for p in old:  # this profile's runs that no notebook asks for any more
        shutil.rmtree(p)
    say(f"{len(configs) - unfinished} runs stored in {STORE.relative_to(REPO_ROOT)}/, {len(old)} stale removed, "
        f"{unfinished} not finished in the run cache ({RUNS})")
    return 1 if unfinished else 0


if __name__ == "__main__":
    raise SystemExit(main())
