"""LoRA on a frozen base through ``peft``, as the paper does: adapters on ``mlp.c_proj`` of the last
N blocks by default, loss on the answer tokens only, AdamW with warm-up and linear decay.

A run is its config (``runs.Run``): asking for a finished run loads its adapter instead of
retraining; an interrupted run resumes from its last checkpoint (adapter + optimizer state in
safetensors); ``result.json`` is written last, so a half-finished run is never loaded.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from accelerate import Accelerator
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file, load_model, save_file, save_model
from tqdm import tqdm

from .encoding import check_tokenizer_covers, collate, encode
from .errors import BaseMismatchError, Refused, RunStateError
from .evaluation import answers_table, point_config, point_samples
from .io import atomic_write_json, finite_json, read_json
from .model import load_pretrained
from .diagnostics import answer_points
from .paths import REPO_ROOT, RUNS
from .profiles import LORA_CHECKPOINT_EVERY, SEED_OFFSETS, lora_run_defaults
from . import run_store
from .runs import Run, sha256_file, training_environment
from .training import (adamw, check_fits, load_optimizer_tensors, optimizer_tensors, resume_or_set_aside, schedule,
                       train_step, training_device)
from .tasks import MAX_SEED, TaskConfigError, config_from_dict, generate, shuffled_targets

# Loaded bases run GPT-2's GELU as one fused kernel (helpers.model.use_fused_activation): part of a run's identity
ACTIVATION_KERNEL = "fused-gelu"
LORA_DEFAULTS = lora_run_defaults()  # the small profile's settings; method "full" trains every weight (the control)
METHODS = ("lora", "full")


def _blocks(model) -> int:
    return model.config.n_layer


def validate_lora(model, target_modules: list[str], last_n_blocks: int | None, rank: int) -> None:
    """Refuse, before any training, target modules the model lacks, ``last_n_blocks`` out of range
    and ranks larger than the smallest adapted layer."""
    if not isinstance(rank, int) or rank < 1:
        raise TaskConfigError(f"rank: must be an integer >= 1, got {rank!r}")
    n = _blocks(model)
    if last_n_blocks is not None and not (isinstance(last_n_blocks, int) and 1 <= last_n_blocks <= n):
        raise TaskConfigError(f"last_n_blocks: allowed values are None (all) or 1..{n}, got {last_n_blocks!r}")
    if not target_modules:
        raise TaskConfigError("target_modules: give at least one module name, e.g. ['mlp.c_proj']")
    modules = dict(model.named_modules())
    for target in target_modules:
        hits = [m for name, m in modules.items() if name == target or name.endswith("." + target)]
        if not hits or not all(hasattr(m, "weight") and m.weight.dim() == 2 for m in hits):
            suffixes = sorted({".".join(name.split(".")[-2:]) for name, m in modules.items()
                               if hasattr(m, "weight") and getattr(m.weight, "dim", lambda: 0)() == 2 and ".h." in name})
            raise TaskConfigError(f"target_modules: {target!r} matches no linear layer of this model; "
                                  f"allowed values are {suffixes}")
        largest = min(min(m.weight.shape) for m in hits)
        if rank > largest:
            raise TaskConfigError(f"rank: {rank} is larger than layer {target!r} allows "
                                  f"(min(in, out) = {largest}); allowed values are 1..{largest}")


def add_lora(model, target_modules: list[str], last_n_blocks: int | None, rank: int, alpha: float,
             dropout: float = 0.0, seed: int = 0, init: str = "default", use_rslora: bool = False):
    """Wrap ``model`` in a peft LoRA model; base weights are frozen by peft. ``init`` is one of ``INITS``
    (peft's ``init_lora_weights``); ``use_rslora`` scales by alpha/sqrt(r) (peft's flag)."""
    if init not in INITS:
        raise TaskConfigError(f"init: allowed values are {INITS}, got {init!r}")
    validate_lora(model, target_modules, last_n_blocks, rank)
    n = _blocks(model)
    layers = list(range(n - last_n_blocks, n)) if last_n_blocks else None
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules),
                        layers_to_transform=layers, layers_pattern="h" if layers else None,
                        fan_in_fan_out=True, bias="none", task_type="CAUSAL_LM",
                        init_lora_weights=PEFT_INIT[init], use_rslora=use_rslora)
    torch.manual_seed(seed)  # lora_A's random init
    with _pissa_converted():
        return get_peft_model(model, config)


def train_only_targets(model, target_modules: list[str], last_n_blocks: int | None) -> list[str]:
    """Freeze every weight but the weight matrices of ``target_modules`` (in the last ``last_n_blocks`` blocks, or
    all): a full fine-tuning run of the layers a LoRA would adapt (``trainable: "target_modules"``). Returns the
    names of the trained weights; target modules the model lacks are refused like ``add_lora`` refuses them."""
    validate_lora(model, target_modules, last_n_blocks, 1)
    n = _blocks(model)
    blocks = set(range(n - last_n_blocks, n)) if last_n_blocks else set(range(n))
    model.requires_grad_(False)
    trained = []
    for name, module in model.named_modules():
        parts = name.split(".")
        block = next((int(p) for prev, p in zip(parts, parts[1:]) if prev == "h" and p.isdigit()), None)
        if block in blocks and any(name.endswith("." + t) for t in target_modules):
            module.weight.requires_grad_(True)
            trained.append(f"{name}.weight")
    return trained


@contextmanager
def _pissa_converted():
    """peft's advice to convert a PiSSA adapter into a plain LoRA, silenced where we do exactly that
    (``train_lora_run`` saves PiSSA runs converted)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PiSSA changes the base weights")
        yield


def _task(cfg: dict):
    return config_from_dict(cfg)


def _epoch_samples(task, n: int, seed: int, epoch: int, targets: str = "task"):
    samples = generate(task, n, seed=SEED_OFFSETS["lora_epochs"] * (seed + 1) + epoch)
    if targets == "shuffled":  # the control: the same prompts, each answer a random hash of its own map
        return shuffled_targets(samples, SEED_OFFSETS["shuffled_targets"] * (seed + 1) + epoch)
    return samples


def _save_training_state(folder: Path, model, optimizer, step: int) -> None:
    """The adapter (or whole model) and AdamW state; ``progress.json``, written last, marks it whole."""
    (folder / "progress.json").unlink(missing_ok=True)
    if isinstance(model, PeftModel):
        model.save_pretrained(folder / "checkpoint")
    else:
        (folder / "checkpoint").mkdir(parents=True, exist_ok=True)
        save_model(model, str(folder / "checkpoint" / "model.safetensors"))
    save_file(optimizer_tensors(model, optimizer), folder / "optimizer.safetensors")
    atomic_write_json(folder / "progress.json", {"step": step})


STATE_FILES = ("progress.json", "checkpoint", "optimizer.safetensors")


def _load_training_state(folder: Path, model, optimizer) -> int:
    """The step to resume from (0: nothing saved). Saved state that cannot be read (a truncated
    checkpoint, a malformed ``progress.json``) is set aside in one line and the run starts over."""
    if not (folder / "progress.json").exists():
        return 0
    return resume_or_set_aside(folder, STATE_FILES, model, optimizer, _read_training_state, empty=0)


def _read_training_state(folder: Path, model, optimizer) -> int:
    step = read_json(folder / "progress.json")["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise RunStateError(f"progress.json: step must be an integer >= 1, got {step!r}")
    if isinstance(model, PeftModel):
        set_peft_model_state_dict(model, load_file(folder / "checkpoint" / "adapter_model.safetensors"))
    else:
        load_model(model, str(folder / "checkpoint" / "model.safetensors"))
    load_optimizer_tensors(model, optimizer, load_file(folder / "optimizer.safetensors"))
    return step


def _portable(base) -> str:
    """A base inside the repo is recorded relative to it, so run hashes do not depend on the clone's path."""
    path = Path(base)
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix() if path.exists() else str(base)
    except ValueError:
        return str(base)


def _resolve(base: str) -> str:
    path = REPO_ROOT / base
    return str(path) if not Path(base).is_absolute() and path.exists() else base


RUN_KEYS = ("base", "base_checksum", "task", "eval_points", "eval_n")  # a run config: LORA_DEFAULTS' keys + these
# What the run trains on: "task" (the default, never written into a config, so every run keeps its identity) or
# "shuffled" (the control of issue 11: each training answer replaced by a random hash of the same map).
TARGETS = ("task", "shuffled")
# How LoRA's factors start (peft's ``init_lora_weights``): "default" (peft's: A Kaiming-uniform, B = 0; never
# written into a config), "gaussian" (the reference's: A ~ N(0, 1/r), B = 0) or "pissa" (data-aware: A and B
# from the base weight's top singular directions, which peft subtracts from the base weight). ``use_rslora``:
# scaling alpha/sqrt(r) instead of alpha/r (rsLoRA; False is the default and never written).
INITS = ("default", "gaussian", "pissa")
PEFT_INIT = {"default": True, "gaussian": "gaussian", "pissa": "pissa"}
# ``snapshots``: steps at which the adapter (a full fine-tuning run: the model) is also saved (``snapshots/step-<n>/``,
# for the rank over training);
# training is the same, but the run is its own (its folder holds the snapshots). [] is the default.
# ``trainable`` (method "full" only): which weights a full fine-tuning run trains: "all" (the default, never written)
# or "target_modules" (only the weight matrices of ``target_modules`` in the blocks ``last_n_blocks`` selects: what
# a LoRA of those modules adapts, without the rank constraint).
TRAINABLE = ("all", "target_modules")
OPTIONAL_KEYS = ("targets", "init", "use_rslora", "snapshots", "trainable")  # run-config keys written only when they differ from the default
OPTIONAL_DEFAULTS = {"targets": "task", "init": "default", "use_rslora": False, "snapshots": [], "trainable": "all"}


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf")


def check_lora_config(config: dict) -> None:
    """Refuse a run config before any model is loaded or any file written: missing or unknown keys,
    values out of range, a task or evaluation point the generators refuse, a base directory that
    does not exist. (Whether target modules, ``last_n_blocks`` and the rank fit the model is
    checked by ``validate_lora`` right after the base is loaded, still before training.)"""
    if not isinstance(config, dict):
        raise TaskConfigError(f"config: expected a JSON object, got {type(config).__name__}")
    expected = set(LORA_DEFAULTS) | set(RUN_KEYS)
    unknown = sorted(set(config) - expected - set(OPTIONAL_KEYS))
    if unknown:
        raise TaskConfigError(f"lora: unknown settings {unknown}; allowed keys are {sorted(expected)}")
    missing = sorted(expected - set(config) - {"method"})  # configs from before "method" existed are LoRA runs
    if missing:
        raise TaskConfigError(f"config: missing keys {missing}")
    method = config.get("method", "lora")
    if method not in METHODS:
        raise TaskConfigError(f"method: allowed values are {METHODS}, got {method!r}")
    if "targets" in config and config["targets"] != "shuffled":  # "task" is the default and is never stored
        raise TaskConfigError(f"targets: allowed values are {TARGETS} ('task' is the default), got {config['targets']!r}")
    if "init" in config and config["init"] not in INITS[1:]:
        raise TaskConfigError(f"init: allowed values are {INITS} ('default' is peft's), got {config['init']!r}")
    if "use_rslora" in config and config["use_rslora"] is not True:
        raise TaskConfigError(f"use_rslora: allowed values are true or false (false is the default), got {config['use_rslora']!r}")
    if "snapshots" in config and not (isinstance(config["snapshots"], list) and config["snapshots"]
                                      and all(_is_int(n, 1) and n < config["steps"] for n in config["snapshots"])):
        raise TaskConfigError(f"snapshots: give a non-empty list of steps in 1..{config['steps'] - 1} (steps is "
                              f"{config['steps']}), got {config['snapshots']!r}")
    if method == "full" and ("init" in config or "use_rslora" in config):
        raise TaskConfigError("init / use_rslora: only LoRA runs have them (method is 'full')")
    if "trainable" in config and (config["trainable"] != "target_modules" or method != "full"):
        raise TaskConfigError(f"trainable: allowed values are {TRAINABLE} ('all' is the default), and only for "
                              f"method 'full'; got {config['trainable']!r} with method {method!r}")
    if method == "lora":
        if not _is_int(config["rank"], 1):
            raise TaskConfigError(f"rank: must be an integer >= 1, got {config['rank']!r}")
        if not (_is_number(config["alpha"]) and config["alpha"] > 0):
            raise TaskConfigError(f"alpha: must be a number > 0, got {config['alpha']!r}")
        targets = config["target_modules"]
        if not (isinstance(targets, list) and targets and all(isinstance(t, str) and t for t in targets)):
            raise TaskConfigError(f"target_modules: give a non-empty list of module names, e.g. ['mlp.c_proj'], got {targets!r}")
        if config["last_n_blocks"] is not None and not _is_int(config["last_n_blocks"], 1):
            raise TaskConfigError(f"last_n_blocks: allowed values are None (all) or an integer >= 1, "
                                  f"got {config['last_n_blocks']!r}")
    if not (_is_number(config["dropout"]) and 0 <= config["dropout"] < 1):
        raise TaskConfigError(f"dropout: must be a number in [0, 1), got {config['dropout']!r}")
    if not (_is_number(config["lr"]) and config["lr"] > 0):
        raise TaskConfigError(f"lr: must be a number > 0, got {config['lr']!r}")
    for key, low in (("batch_size", 1), ("steps", 0), ("warmup_steps", 0), ("samples_per_epoch", 1), ("eval_n", 1)):
        if not _is_int(config[key], low):
            raise TaskConfigError(f"{key}: must be an integer >= {low}, got {config[key]!r}")
    if not _is_int(config["seed"], 0) or config["seed"] > MAX_SEED:
        raise TaskConfigError(f"seed: must be an integer in 0..{MAX_SEED}, got {config['seed']!r}")
    if not isinstance(config["fresh_each_epoch"], bool):
        raise TaskConfigError(f"fresh_each_epoch: must be true or false, got {config['fresh_each_epoch']!r}")
    task = config_from_dict(config["task"])
    points = config["eval_points"]
    if not (isinstance(points, list) and points and all(_is_int(p, 0) for p in points)):
        raise TaskConfigError(f"eval_points: give a non-empty list of integers, got {points!r}")
    for point in points:
        try:
            point_config(task, point)
        except TaskConfigError as err:
            what = "hop count" if task.task == "hashhop" else "shortest chain length"
            raise TaskConfigError(f"eval_points: {point} is not a valid {what} for this task ({err})") from None
    base = config["base"]
    if not isinstance(base, str) or not base:
        raise TaskConfigError(f"base: expected a model directory or id, got {base!r}")
    if Path(base).is_absolute() and not Path(base).is_dir():
        raise TaskConfigError(f"base: {base} is not a directory (no such base model)")
    local = Path(_resolve(base))
    if local.is_dir() and not (local / "config.json").is_file():
        raise TaskConfigError(f"base: {base} is a folder but not a model (no config.json; "
                              f"expected a save_pretrained directory such as models/hashhop-small)")
    checksum = config["base_checksum"]
    if not isinstance(checksum, str):
        raise TaskConfigError(f"base_checksum: expected a string (sha256 of the base's model.safetensors), got {checksum!r}")


def check_base_checksum(config: dict) -> None:
    """Refuse a run whose base on disk is not the one its config records (``base_checksum`` is the
    sha256 of ``model.safetensors``; for a hub id it is the id itself and there is nothing to compare)."""
    weights = Path(_resolve(config["base"])) / "model.safetensors"
    if not weights.is_file():
        return
    found = sha256_file(weights)
    if found != config["base_checksum"]:
        raise BaseMismatchError(f"base_checksum: {config['base']}/model.safetensors has sha256 {found[:12]}..., "
                                f"but the run config records {str(config['base_checksum'])[:12]}...; the base changed "
                                f"after the config was written: rebuild the configs (e.g. rerun the notebook or "
                                f"`python -m helpers.sweep --jobs-dir`)")


def load_base(config: dict):
    """``(model, tokenizer)`` of the run's base; a base that cannot be loaded is refused naming it."""
    try:
        return load_pretrained(_resolve(config["base"]))
    except (OSError, ValueError) as err:
        raise TaskConfigError(f"base: cannot load {config['base']!r} as a model ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''})") from None


def lora_run_config(base_dir: Path, base_checksum: str, task: dict, eval_points: list[int], eval_n: int,
                    **overrides) -> dict:
    unknown = set(overrides) - set(LORA_DEFAULTS) - set(OPTIONAL_KEYS)
    if unknown:
        raise TaskConfigError(f"lora: unknown settings {sorted(unknown)}; allowed keys are {sorted([*LORA_DEFAULTS, *OPTIONAL_KEYS])}")
    for key, default in OPTIONAL_DEFAULTS.items():  # a default is never stored (check_lora_config refuses other values)
        if key in overrides and overrides[key] == default and type(overrides[key]) is type(default):
            del overrides[key]
    cfg = dict(LORA_DEFAULTS, **overrides)
    if cfg["method"] not in METHODS:
        raise TaskConfigError(f"method: allowed values are {METHODS}, got {cfg['method']!r}")
    cfg.update(base=_portable(base_dir), base_checksum=base_checksum, task=task, eval_points=list(eval_points), eval_n=eval_n)
    check_lora_config(cfg)
    return cfg


def _check_fits(model, tokenizer, samples, what: str) -> None:
    """Refuse prompts longer than the base's positions (else: an IndexError mid-run)."""
    if samples:
        longest = max(len(ids) for ids in tokenizer([s.text for s in samples], add_special_tokens=False)["input_ids"])
        check_fits(model, longest, what, whose="the base model", param="n_positions")


def _with_paths(result: dict, run_dir: Path, cached: bool, stored: bool = False) -> dict:
    """``stored``: loaded from the committed runs (``helpers.run_store``), not from the run cache."""
    adapter = Path(run_dir) / "adapter"
    return dict(result, adapter_dir=str(adapter) if adapter.exists() else None, run_dir=str(run_dir), cached=cached,
                stored=stored)


def lora_run(root: Path, config: dict) -> Run:
    """The run folder of ``config`` under ``root``: its identity is the config, this process's
    training environment (``runs.training_environment``: the torch thread count) and the activation
    kernel a loaded model runs (``model.use_fused_activation``)."""
    return Run(root, "lora", config, environment=dict(training_environment(), activation=ACTIVATION_KERNEL))


ANSWERS_FILE = "answers.json"


def stored_answers(adapter_dir: str | Path, points: list[int], n: int) -> dict | None:
    """The greedy answers a finished run stored on its own evaluation prompts (``{point: [answer, ...]}``),
    if it evaluated exactly ``points`` with ``n`` prompts each; else ``None`` (recompute them)."""
    path = Path(adapter_dir).parent / ANSWERS_FILE
    if not path.is_file():
        return None
    stored = read_json(path)
    if stored.get("n") != n or stored.get("points") != list(points):
        return None
    return {int(p): a for p, a in stored["answers"].items()}


def train_lora_run(config: dict, root: Path = RUNS, progress: bool = True) -> dict:
    """Train (or load) one LoRA run; returns its result (accuracy table and adapter folder)."""
    check_lora_config(config)
    check_base_checksum(config)
    run = lora_run(root, config)
    done = run.finished()
    if done is not None:
        return _with_paths(done, run.dir, cached=True)
    if not run_store.retrain():  # a committed run of this config (make figures starts from them)
        stored = run_store.find(config)
        if stored is not None:
            return _with_paths(stored, run_store.folder(config), cached=True, stored=True)
    model, tokenizer = load_base(config)
    task = _task(config["task"])
    check_tokenizer_covers(tokenizer, task, what=f"base {config['base']}")
    targets = config.get("targets", "task")
    _check_fits(model, tokenizer, _epoch_samples(task, config["samples_per_epoch"], config["seed"], 0, targets), "the training prompts")
    _check_fits(model, tokenizer, [s for group in point_samples(task, config["eval_points"], config["eval_n"]).values()
                                   for s in group], "the evaluation prompts")
    if config.get("method", "lora") == "full":
        if config.get("trainable", "all") == "all":
            model.requires_grad_(True)
        else:
            train_only_targets(model, config["target_modules"], config["last_n_blocks"])
    else:
        model = add_lora(model, config["target_modules"], config["last_n_blocks"], config["rank"], config["alpha"],
                         config["dropout"], config["seed"], config.get("init", "default"), config.get("use_rslora", False))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw(params, config["lr"], weight_decay=0.0)
    run.dir.mkdir(parents=True, exist_ok=True)
    initial = run.dir / "initial_adapter"  # PiSSA: the factors at step 0, to save the update as a plain LoRA
    if config.get("init") == "pissa" and not (initial / "adapter_model.safetensors").is_file():
        model.save_pretrained(initial)
    step = _load_training_state(run.dir, model, optimizer)
    # Under `accelerate launch` (several GPUs) each process takes its share of every batch and
    # gradients are averaged; in a plain Python process this is one process on one device.
    accelerator = Accelerator(cpu=training_device().type == "cpu")
    trained_model = model
    model, optimizer = accelerator.prepare(model, optimizer)
    rank, world = accelerator.process_index, accelerator.num_processes
    steps, batch, per_epoch = config["steps"], config["batch_size"], config["samples_per_epoch"]
    epoch_cache: dict[int, list] = {}
    model.train()
    bar = tqdm(total=steps, initial=step, desc=f"lora r={config['rank']} seed={config['seed']}", disable=not progress)
    last_loss = None
    try:
        while step < steps:
            epoch, offset = divmod(step * batch, per_epoch)
            key = epoch if config["fresh_each_epoch"] else 0
            if key not in epoch_cache:
                epoch_cache = {key: [encode(tokenizer, s) for s in _epoch_samples(task, per_epoch, config["seed"], key, targets)]}
            rows = [epoch_cache[key][(offset + i) % per_epoch] for i in range(rank, batch, world)]
            x, y = (t.to(accelerator.device) for t in collate(rows, tokenizer.pad_token_id))
            lr = schedule("linear", step, config["lr"], config["warmup_steps"], steps)
            loss = train_step(model, optimizer, x, y, lr, step=step + 1, params=params, accelerator=accelerator)
            step += 1
            last_loss = loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.3f}")
            if step in config.get("snapshots", ()) and accelerator.is_main_process:
                trained_model.save_pretrained(run.dir / "snapshots" / f"step-{step}")
            if step % LORA_CHECKPOINT_EVERY == 0 and step < steps and accelerator.is_main_process:
                _save_training_state(run.dir, trained_model, optimizer, step)
    finally:  # a run that stops (diverged, interrupted) leaves no half-drawn bar after its error
        bar.close()
    accelerator.wait_for_everyone()
    model = trained_model
    if not accelerator.is_main_process:
        return {"run_dir": str(run.dir), "cached": False}
    out = "adapter" if isinstance(model, PeftModel) else "model"
    if config.get("init") == "pissa":
        # saved as a plain LoRA of rank 2r on the *original* base (peft's conversion): its B @ A is the update
        # training made, W_trained - W_base, the same thing every other run's adapter holds
        with _pissa_converted():
            model.save_pretrained(run.dir / out, path_initial_model_for_weight_conversion=str(initial))
    else:
        model.save_pretrained(run.dir / out)
    # one pass over the held-out prompts: the greedy answers, stored for the notebooks' diagnostics
    # (experiments.model_answers), and the accuracy table scored from them (greedy exact match and
    # teacher-forced exact match agree by construction: see helpers.evaluation)
    answers = answer_points(model, tokenizer, task, config["eval_points"], config["eval_n"])
    table = answers_table(task, answers)
    atomic_write_json(run.dir / ANSWERS_FILE, {"points": config["eval_points"], "n": config["eval_n"],
                                               "answers": {str(p): got["answers"] for p, got in answers.items()}})
    files = ["adapter/adapter_model.safetensors", "adapter/adapter_config.json"] if out == "adapter" else ["model/model.safetensors"]
    files.append(ANSWERS_FILE)
    # a damaged snapshot makes the run unfinished, like a damaged adapter or model
    weights = "adapter_model.safetensors" if out == "adapter" else "model.safetensors"
    files += [f"snapshots/step-{n}/{weights}" for n in config.get("snapshots", ())]
    result = run.finish({"accuracy": table, "final_loss": last_loss}, files=files)
    return _with_paths(result, run.dir, cached=False)


def load_adapter(base_dir: str, adapter_dir: str):
    from .rank import load_adapter as read_adapter
    read_adapter(adapter_dir)  # a missing or corrupt adapter raises AdapterError naming it, before the base loads
    model, tokenizer = load_pretrained(_resolve(base_dir))
    return PeftModel.from_pretrained(model, adapter_dir), tokenizer


def main(argv=None) -> int:
    """``python -m helpers.lora --config FILE``: run one job written by ``helpers.sweep.write_job_files``;
    ``torchrun --nproc_per_node N -m helpers.lora --config FILE`` (or ``accelerate launch``) runs it data-parallel
    over N processes (GPUs, or CPU processes with gloo), each taking its share of every batch.
    Every check (the config, the base, its checksum, the tokenizer, the rank against the layer) runs
    before training; any refusal, and a run that diverges, is one line on stderr with exit status 2."""
    import json

    from .cli import Parser

    parser = Parser(prog="python -m helpers.lora", description="Train (or load) one LoRA run.")
    parser.add_argument("--config", type=Path, required=True, help="a job's JSON config")
    args = parser.parse_args(argv)
    try:
        config = json.loads(args.config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        parser.error(f"--config: cannot read {args.config} ({type(err).__name__}: {err})")
    try:
        result = train_lora_run(config)
    except Refused as err:
        parser.error(f"--config {args.config}: {err}")
    if "accuracy" in result:  # under torchrun / accelerate launch only the main process reports
        print(json.dumps(finite_json({"accuracy": result["accuracy"], "adapter_dir": result["adapter_dir"],
                                      "cached": result["cached"]}), allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def export_adapter(result: dict, out_dir: Path, notes: dict | None = None) -> Path:
    """Copy a finished run's adapter to ``out_dir`` (peft's standard files) with an ``adapter_info.json``
    holding its training task config (the profiles' task-dict keys), its base as a repo-relative
    path, the rest of the run config and ``notes`` (e.g. the device it trained on), so a user can load and
    probe it without training::

        model, tokenizer = load_adapter(info["base"], "models/adapters/planning-small-r16")
    """
    import shutil
    config = result["config"]
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copyfile(Path(result["adapter_dir"]) / name, tmp / name)
    adapter_cfg = read_json(tmp / "adapter_config.json")
    adapter_cfg["base_model_name_or_path"] = config["base"]  # repo-relative, never this machine's path
    atomic_write_json(tmp / "adapter_config.json", adapter_cfg)
    task = {k: v for k, v in config["task"].items() if k not in ("alphabet", "hash_length", "task")}
    atomic_write_json(tmp / "adapter_info.json", {
        "task_name": config["task"]["task"], "task": task, "hashes": {k: config["task"][k] for k in ("alphabet", "hash_length") if k in config["task"]},
        "base": config["base"], "base_checksum": config["base_checksum"],
        "training": {k: config[k] for k in (*LORA_DEFAULTS, *OPTIONAL_KEYS) if k in config},
        "accuracy": result["accuracy"], "eval_points": config["eval_points"], "eval_n": config["eval_n"], **(notes or {})})
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir
