"""Sweeps (ranks x seeds x tasks) as independent jobs.

On one machine ``run_jobs`` runs them in a pool of worker processes, one torch thread each where
cores are few (two one-thread jobs beat one two-thread job on a 2-core CPU: see tools.bench). The
run cache (``runs.Run``) keeps a sweep idempotent: rerunning it loads every finished job.

Past one machine, use a real scheduler: ``write_job_files`` stores each job's config and returns one
independent shell command per job (``python -m helpers.lora --config FILE``), ready for a SLURM array,
Ray, or GNU parallel. Inside one job, training runs under ``accelerate launch`` for data parallelism.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from .ablations import design
from .cli import Parser, check_output_folder
from .io import atomic_write_text, config_hash, json_text
from .profiles import get_profile


def _init_worker(threads: int) -> None:
    import torch

    from . import model  # noqa: F401  (its import quiets transformers' and peft's notices in this worker)
    torch.set_num_threads(threads)


def _run_one(config: dict, root=None) -> dict:
    from .lora import train_lora_run
    from .paths import RUNS
    return train_lora_run(config, root=root or RUNS, progress=False)


def run_jobs(configs: list[dict], workers: int = 1, progress: bool = True, root: Path | None = None) -> list[dict]:
    """Run LoRA jobs, ``workers`` at a time; results come back in the order of ``configs``. A config
    listed twice runs once (two workers must never write the same run folder)."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    unique = {config_hash(c): c for c in configs}
    if len(unique) < len(configs):
        done = dict(zip(unique, run_jobs(list(unique.values()), workers, progress, root)))
        return [done[config_hash(c)] for c in configs]
    if workers == 1 or len(configs) <= 1:
        return [_run_one(c, root) for c in tqdm(configs, desc="runs", disable=not progress)]
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch thread pools
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        # longest first, so that no worker is left with one long run while the others idle
        futures = {i: pool.submit(_run_one, configs[i], root) for i in longest_first(configs)}
        results = []
        for i in tqdm(range(len(configs)), desc=f"runs ({workers} workers)", disable=not progress):
            results.append(futures[i].result())
    return results


def expected_cost(config: dict) -> float:
    """A run's training work, for ordering runs: steps x batch size x the mean prompt length (in
    characters) of a few of its task's prompts. HashChain prompts are about twice HashHop's.

    >>> hop = {"steps": 10, "batch_size": 2, "task": {"task": "hashhop", "chain_length": 3, "min_hops": 1,
    ...        "max_hops": 1, "hash_length": 2, "alphabet": "abcd"}}
    >>> expected_cost(dict(hop, steps=20)) == 2 * expected_cost(hop)
    True
    """
    from .tasks import config_from_dict, generate
    prompts = generate(config_from_dict(config["task"]), 16, seed=0)
    return config["steps"] * config["batch_size"] * sum(len(s.prompt) for s in prompts) / len(prompts)


def longest_first(configs: list[dict]) -> list[int]:
    """Indices of ``configs`` by decreasing ``expected_cost`` (ties keep their order)."""
    costs = [expected_cost(c) for c in configs]
    return sorted(range(len(configs)), key=lambda i: -costs[i])


def run_all(profile: dict, configs: list[dict], progress: bool = True) -> list[dict]:
    """Notebooks 03-05: run ``configs`` with the profile's number of worker processes (a run the run cache
    lacks is loaded from the committed runs, ``helpers.run_store``, unless ``REPRO_RETRAIN=1``)."""
    from .run_store import retrain
    retrain()  # a bad REPRO_RETRAIN is refused before any run
    return run_jobs(configs, workers=profile["workers"], progress=progress)


def notebook_configs(profile: dict, train_bases: bool = False) -> list[dict]:
    """Every LoRA run that notebooks 03-05 train, once each: notebook 03's sweep (``experiments.sweep_configs``),
    notebook 04's ablation grid, then notebook 05's runs (``rank_study.study_configs``: its rank grid holds notebook
    03's ranks and seeds at ``lora.steps``, with the controls, the attention grid, the arms and the snapshot runs)."""
    from .experiments import KINDS, sweep_configs
    from .rank_study import study_configs
    configs = [c for kind in KINDS for c in sweep_configs(profile, kind, train_bases=train_bases)]
    configs += [c["config"] for c in design(profile, train_bases=train_bases)] + study_configs(profile)
    return list({config_hash(c): c for c in configs}.values())


def write_job_files(configs: list[dict], folder: Path) -> list[str]:
    """One JSON file per job and the shell command that runs it, for any external scheduler."""
    folder = Path(folder)
    commands = []
    for config in configs:
        path = folder / f"{config_hash(config)}.json"
        atomic_write_text(path, json_text(config))
        commands.append(f"python -m helpers.lora --config {path}")
    return commands


def main(argv=None) -> int:
    """``python -m helpers.sweep --profile small --jobs-dir jobs/``: write every run of notebooks 03-05
    (the ablation grid, which contains notebook 03's runs) as one JSON file each and print one shell
    command per job, for a SLURM array, Ray, or ``parallel``. Finished runs are no-ops (run cache).
    It only writes job files: a base that is not trained yet is refused unless ``--train-bases``."""
    import sys


    parser = Parser(prog="python -m helpers.sweep", description=main.__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile (default small)")
    parser.add_argument("--jobs-dir", type=Path, required=True, help="folder for the job files")
    parser.add_argument("--train-bases", action="store_true",
                        help="train the profile's base models first if they are missing (can take hours)")
    args = parser.parse_args(argv)
    parser.run(check_output_folder, args.jobs_dir, "--jobs-dir")
    profile = parser.run(get_profile, args.profile)
    configs = parser.run(notebook_configs, profile, train_bases=args.train_bases)
    for command in write_job_files(configs, args.jobs_dir):
        print(command)
    print(f"# {len(configs)} jobs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
