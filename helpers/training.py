"""The one training core every loop uses (pretraining stand-in, base fine-tune, copy warm-up, LoRA,
full fine-tuning, the benchmark): AdamW with the project's betas, the learning-rate schedules, one
optimisation step (forward, finite-loss check, backward, clipping at 1, AdamW), resumable optimizer
state in safetensors, and the check that sequences fit the model's positions.

>>> [round(schedule("cosine", s, 1.0, warmup=10, total=110), 3) for s in (0, 9, 60, 110)]
[0.1, 1.0, 0.55, 0.1]
>>> [schedule("linear", s, 1.0, warmup=2, total=10) for s in (0, 1, 2, 10)]
[0.5, 1.0, 1.0, 0.0]
>>> [schedule("constant", s, 1.0, warmup=4, total=0) for s in (0, 3, 99)]
[0.25, 1.0, 1.0]
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from .errors import DivergedError, RunStateError
from .io import atomic_write_json, read_json
from .runs import set_aside
from .tasks import TaskConfigError

DEVICES = ("auto", "cpu", "cuda")  # REPRO_DEVICE's values
BETAS = (0.9, 0.98)  # AdamW's betas everywhere (0.98: faster-moving second moments for short runs)
CLIP = 1.0           # gradient-norm clipping
SCHEDULES = ("cosine", "linear", "constant")


@contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads and restore the previous count afterwards: the count is
    part of a training run's identity (``runs.training_environment``), so a call made inside a notebook
    must not leave it changed for the cells after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_device() -> torch.device:
    """Where every training loop runs: the environment variable ``REPRO_DEVICE``, ``auto`` (default:
    ``cuda`` when torch sees a GPU, else ``cpu``), ``cpu`` or ``cuda``. On CUDA, fp32 matrix products
    use TF32 (``torch.set_float32_matmul_precision("high")``), the usual setting for training on a GPU;
    a GPU run is another run than a CPU one (``runs.training_environment``)."""
    choice = os.environ.get("REPRO_DEVICE", "auto")
    if choice not in DEVICES:
        raise TaskConfigError(f"REPRO_DEVICE: allowed values are {list(DEVICES)}, got {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise TaskConfigError("REPRO_DEVICE: cuda was asked for, but torch sees no CUDA GPU here; "
                              "allowed values here are ['auto', 'cpu']")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return prepare_device(torch.device("cuda"))


def prepare_device(device: torch.device) -> torch.device:
    """``device``, with fp32 matrix products in TF32 when it is a GPU (what every training loop and the
    dry run's timings use there)."""
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    return device


def adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    return torch.optim.AdamW(params, lr=lr, betas=BETAS, weight_decay=weight_decay)


def schedule(shape: str, step: int, lr: float, warmup: int, total: int) -> float:
    """The learning rate at ``step`` (0-based): linear warm-up over ``warmup`` steps, then
    ``cosine`` (down to 10% of ``lr`` at ``total``; the bases), ``linear`` (down to 0 at ``total``;
    LoRA, as the reference) or ``constant`` (the pretraining stand-in, which stops at its target)."""
    if shape == "cosine":
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    if shape == "linear":
        scale = (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))
        return lr * scale
    if shape == "constant":
        return lr * min(1.0, (step + 1) / max(1, warmup))
    raise TaskConfigError(f"schedule: allowed values are {SCHEDULES}, got {shape!r}")


def train_step(model, optimizer, x, y, lr: float, step: int | None = None, params=None, accelerator=None,
               mask=None, bf16: bool = False):
    """One step at learning rate ``lr``; returns the loss. A non-finite loss raises ``DivergedError``
    before anything changes, so weights and checkpoints stay finite. ``accelerator`` (``accelerate``)
    does the backward pass and clipping when several processes share a run; ``params`` are the
    trainable parameters to clip (default: all); ``bf16`` runs the forward pass under autocast."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    device = next(model.parameters()).device  # batches are built on the CPU
    x, y = x.to(device), y.to(device)
    mask = mask.to(device) if mask is not None else None
    autocast = torch.autocast(x.device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    with autocast:
        loss = model(input_ids=x, attention_mask=mask, labels=y).loss
    if not torch.isfinite(loss):
        where = f" at step {step}" if step is not None else ""
        raise DivergedError(f"lr: training diverged{where} (loss {loss.item()}) at lr={lr:g}; lower lr "
                            f"(nothing is saved as finished)")
    optimizer.zero_grad(set_to_none=True)
    params = model.parameters() if params is None else params
    if accelerator is not None:
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, CLIP)
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
    optimizer.step()
    return loss


def optimizer_tensors(model, optimizer) -> dict[str, torch.Tensor]:
    """AdamW's state as ``{"<parameter name>::<field>": tensor}``, ready for safetensors."""
    names = {id(p): n for n, p in model.named_parameters()}
    tensors = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                if torch.is_tensor(value):
                    tensors[f"{names[id(p)]}::{key}"] = value.contiguous()
    return tensors


def load_optimizer_tensors(model, optimizer, tensors: dict) -> None:
    """Put state saved by ``optimizer_tensors`` back; a name this model lacks is a ``RunStateError``."""
    params = dict(model.named_parameters())
    for key, value in tensors.items():
        name, field = key.split("::")
        if name not in params:
            raise RunStateError(f"optimizer state for {name!r}, which this model does not have")
        optimizer.state[params[name]][field] = value


def check_fits(model, longest: int, what: str, whose: str = "the model", param: str = "model.n_positions") -> None:
    """Refuse sequences longer than the model's positions before training (else an IndexError mid-run)."""
    limit = getattr(model.config, "n_positions", None)
    if limit is not None and longest > limit:
        raise TaskConfigError(f"{param}: {whose} has {limit} positions, but {what} need up to {longest} tokens; "
                              f"use a shorter task or a model with a larger n_positions")


# ----------------------------------------------------------------------------- resumable state
CHECKPOINT_FILES = ("state.json", "model.safetensors", "optimizer.safetensors")


def save_checkpoint(folder: Path, model, optimizer, step: int, log: list) -> None:
    """A whole model and its AdamW state as safetensors (no pickles); ``state.json`` (step, curve),
    written last, marks the checkpoint whole."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").unlink(missing_ok=True)
    save_model(model, str(folder / "model.safetensors"))  # handles GPT-2's tied embedding / lm_head
    save_file(optimizer_tensors(model, optimizer), folder / "optimizer.safetensors")
    atomic_write_json(folder / "state.json", {"step": step, "log": log,
                                              "optimizer": {"lr": [g["lr"] for g in optimizer.param_groups]}})


def load_checkpoint(folder: Path, model, optimizer) -> tuple[int, list] | None:
    """``(step, log)`` of the checkpoint in ``folder``, loaded into ``model`` and ``optimizer``; ``None``
    if there is none. A checkpoint that cannot be read (truncated safetensors, malformed ``state.json``)
    is set aside in one line (``runs.set_aside``) and ``None`` returned: training starts over."""
    if not (Path(folder) / "state.json").exists():
        return None
    return resume_or_set_aside(Path(folder), CHECKPOINT_FILES, model, optimizer, _read_checkpoint)


def resume(folder: Path | None, model, optimizer) -> tuple[int, list]:
    """``(step, log)`` to continue from: the checkpoint in ``folder`` loaded into ``model`` and
    ``optimizer``, or ``(0, [])`` with no folder, no checkpoint, or one set aside as unreadable."""
    resumed = load_checkpoint(Path(folder), model, optimizer) if folder is not None else None
    return resumed or (0, [])


def _read_checkpoint(folder: Path, model, optimizer) -> tuple[int, list]:
    state = read_json(folder / "state.json")
    if not (isinstance(state, dict) and isinstance(state.get("step"), int) and isinstance(state.get("log"), list)):
        raise RunStateError("state.json: expected {'step': int, 'log': list, ...}")
    load_model(model, str(folder / "model.safetensors"))
    load_optimizer_tensors(model, optimizer, load_file(folder / "optimizer.safetensors"))
    return state["step"], state["log"]


def resume_or_set_aside(folder: Path, names, model, optimizer, read, empty=None):
    """``read(folder, model, optimizer)``; if the saved state cannot be read, restore the untouched
    model, clear the optimizer, move ``names`` aside (``runs.set_aside``) and return ``empty``."""
    backup = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        return read(folder, model, optimizer)
    except Exception as err:  # whatever the reader raised, the state is unusable: start over
        model.load_state_dict(backup)
        optimizer.state.clear()
        set_aside(folder, names, err)
        return empty
