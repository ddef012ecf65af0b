"""GPT-2 models: built from a ``GPT2Config`` sized by a profile (offline default), or loaded with
``from_pretrained`` from a model id or local directory when the user has real weights."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

# Loading a 200k-parameter model is instant: its "Loading weights" bar is noise in stored notebook outputs,
# as are transformers' notices about defaults this project sets on purpose (e.g. the default loss).
hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()

from .tasks import TaskConfigError

MODEL_KEYS = {"n_layer", "n_embd", "n_head", "n_positions", "initializer_range"}

# GPT-2's activation, ``gelu_new`` (the tanh approximation of GELU), is a chain of eight elementwise
# operations in transformers; ``gelu_pytorch_tanh`` is the same formula in one fused torch kernel. A
# loaded model runs the fused one: LoRA training on the small base is 1.3x faster on one CPU thread
# (330 -> 432 samples/s, tools/bench-style side-by-side timing), and logits differ by at most ~2e-5.
# Bases are *trained* as built (``build_model``), so retraining reproduces the committed bytes; every
# run trained on a loaded model records the activation in its identity (``helpers.lora.lora_run``).
FUSED_ACTIVATION = {"gelu_new": "gelu_pytorch_tanh"}
FUSE_ACTIVATION = True  # off only to time the unfused kernel beside it (tools.activation_bench)


def use_fused_activation(model):
    """Swap every GPT-2 block's ``gelu_new`` for the fused ``gelu_pytorch_tanh`` (same function); other
    activations are left alone. Returns the activation the model now runs.

    >>> m = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10))
    >>> use_fused_activation(m), type(m.transformer.h[0].mlp.act).__name__
    ('gelu_pytorch_tanh', 'GELUTanh')
    """
    from transformers.activations import ACT2FN
    name = getattr(model.config, "activation_function", None)
    fused = FUSED_ACTIVATION.get(name)
    if fused is None or not hasattr(model, "transformer"):
        return name
    for block in model.transformer.h:
        block.mlp.act = ACT2FN[fused]
    model.config.activation_function = fused
    return fused


# The kernels a base *trains* with (``base.<task>.kernels``): "eager", as every committed base was trained (eager
# attention, the activation the model was built with), or "fast": SDPA attention and the erf GELU ("gelu", within
# about 1e-3 of GPT-2's tanh approximation, whose kernel takes 3x the erf one's time on the AVX2 CPU measured,
# tools.step_bench): 1.24x a step of the HashChain base's shorter sequences on one thread, 2.18x with them against the
# committed recipe's sequences (python -m tools.base_variants --step-times). The erf GELU is saved in the model's
# config, so a loaded model runs what it trained with.
KERNELS = ("eager", "fast")


def check_kernels(kernels, where: str = "kernels") -> str:
    if kernels not in KERNELS:
        raise TaskConfigError(f"{where}: allowed values are {KERNELS}, got {kernels!r}")
    return kernels


def use_kernels(model, kernels: str, where: str = "kernels"):
    """Set the attention and activation a model trains with (``KERNELS``); returns the model.

    >>> m = use_kernels(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10)), "fast")
    >>> m.config._attn_implementation, m.config.activation_function, type(m.transformer.h[0].mlp.act).__name__
    ('sdpa', 'gelu', 'GELUActivation')
    >>> use_kernels(m, "quick", "base.hashchain.kernels")
    Traceback (most recent call last):
    helpers.tasks.TaskConfigError: base.hashchain.kernels: allowed values are ('eager', 'fast'), got 'quick'
    """
    if check_kernels(kernels, where) == "eager":
        model.config._attn_implementation = "eager"
        return model
    from transformers.activations import ACT2FN
    model.config._attn_implementation = "sdpa"
    for block in model.transformer.h:
        block.mlp.act = ACT2FN["gelu"]
    model.config.activation_function = "gelu"
    return model


def build_model(model_cfg: dict, tokenizer, seed: int) -> GPT2LMHeadModel:
    """A randomly initialised GPT-2 (``GPT2LMHeadModel``) whose vocabulary is the tokenizer's.

    Dropout is off: the tasks are generated fresh each step, so there is nothing to overfit, and
    dropout only slows the formation of the lookup circuit. ``initializer_range`` (GPT-2's init std,
    0.02 by default) is the lever that matters most from scratch: at 0.1 a small GPT-2 forms an
    induction head on a copy task in ~1,200 steps where at 0.02 it stays near chance for 2,800+
    (notebook 02).
    """
    unknown = set(model_cfg) - MODEL_KEYS
    if unknown:
        raise TaskConfigError(f"model: unknown keys {sorted(unknown)}; allowed keys are {sorted(MODEL_KEYS)}")
    if model_cfg["n_embd"] % model_cfg["n_head"]:
        raise TaskConfigError(f"model.n_head: must divide n_embd={model_cfg['n_embd']}, got {model_cfg['n_head']}")
    config = GPT2Config(vocab_size=len(tokenizer), resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        **model_cfg)  # no pad_token_id: right padding is never attended to, so no mask (and no warning)
    # Eager attention while training from scratch (the committed bases were trained so; tools.bench times it
    # against SDPA). It is not saved with the model: a loaded model (every LoRA run) runs transformers' default
    # SDPA, which on the AMD CPU measured is 4-7% faster for a LoRA step than eager (tools.step_bench).
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)


# what makes a local folder hold a tokenizer (a fast tokenizer's file, or GPT-2's vocabulary)
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


def load_pretrained(name_or_path: str | Path, device: str = "cpu", tokenizer_from: str | Path | None = None):
    """``(model, tokenizer)`` from a local ``save_pretrained`` directory or a hub id (e.g. ``gpt2``),
    the way the paper starts from pretrained GPT-2. Weights are read from safetensors only. ``tokenizer_from``: where
    the tokenizer is instead (a fully fine-tuned run's model folder holds weights only: its base's). A local folder
    without a tokenizer is refused rather than given an empty one (``transformers`` builds that silently)."""
    source = tokenizer_from or name_or_path
    if Path(source).is_dir() and not any((Path(source) / f).is_file() for f in TOKENIZER_FILES):
        from .errors import MissingFileError
        raise MissingFileError(f"{source}: no tokenizer here ({' or '.join(TOKENIZER_FILES)}); pass tokenizer_from, "
                               f"e.g. the base model the weights were trained from")
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:  # GPT-2's tokenizer has none; padding is never scored anyway
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(name_or_path, use_safetensors=True).to(device)
    if FUSE_ACTIVATION:
        use_fused_activation(model)
    return model, tokenizer


def count_parameters(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
