"""Rank analysis of the weight updates in any peft LoRA adapter directory.

A LoRA layer adds ``delta W = B @ A * scaling`` to a base weight, with ``A`` of shape
``(r, in_features)`` and ``B`` of shape ``(out_features, r)``, so ``delta W`` is an
``(out, in)`` matrix of rank at most ``r``. How much of that budget training actually uses is
read off the singular values ``s`` (descending) of ``delta W``:

* ``thr_1e-3`` etc.: how many ``s / s[0]`` exceed the threshold (a numerical rank);
* ``energy_90`` / ``energy_99``: the smallest ``k`` whose top-``k`` squared singular values hold
  90% / 99% of ``sum(s**2)`` (the squared Frobenius norm);
* ``entropy_rank``: ``exp(H(p))``, ``p = s / sum(s)`` (Roy & Vetterli 2007, "effective rank");
* ``stable_rank``: ``sum(s**2) / s[0]**2``;
* ``top5_share``: ``sum(s[:5]) / sum(s)``;
* ``norm_A``, ``norm_B``, ``norm_delta``: Frobenius norms.

An all-zero update (peft initialises ``B = 0``, so an untrained adapter is one) has rank 0 by
every measure, and every ratio is defined as 0 rather than 0/0.

Everything is computed in float64. Tensors are read only with ``safetensors.torch.load_file``;
nothing is unpickled. Example::

    >>> from helpers.rank import analyze_adapter, summarize      # doctest: +SKIP
    >>> layers = analyze_adapter("runs/hashhop/adapter")          # doctest: +SKIP
    >>> layers[0]["layer"], layers[0]["thr_1e-3"]                 # doctest: +SKIP
    ('transformer.h.0.attn.c_proj', 7)
    >>> summarize(layers)["entropy_rank"]                         # doctest: +SKIP
    5.93

or from a shell: ``python -m helpers.rank ADAPTER_DIR [--json]`` (see ``--help``);
``python -m helpers.rank ADAPTER_DIR --compare OTHER_DIR`` gives the subspace overlap of the two updates
layer by layer (:func:`compare_adapters`).

Orientation: GPT-2's ``Conv1D`` stores its base weight transposed, ``(in, out)``; peft marks that
with ``fan_in_fan_out: true``. :func:`delta_weight` and :func:`iter_deltas` can hand back the
update in the base weight's orientation (``delta W`` transposed). The singular values of a matrix
and of its transpose are the same, so every measure is independent of that choice.

Limits: only the low-rank product ``B @ A`` is analysed. Conv LoRA factors are flattened to 2-D
(``A`` to ``(r, in*k*k)``), embedding LoRA (``lora_embedding_A/B``) is paired like ``A/B``, and
DoRA's magnitude vector (which rescales the merged weight) and trained biases are ignored.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

from .errors import Refused

DEFAULT_THRESHOLDS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
ENERGY_LEVELS = (0.90, 0.99)
CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
# peft saves keys as "base_model.model.<module path>.lora_A.weight"; rank_pattern / alpha_pattern
# keys are matched against the module path without that prefix (peft's `current_key`).
_PREFIX = "base_model.model."
_KEY_RE = re.compile(r"^(?P<module>.+)\.lora_(?:embedding_)?(?P<side>[AB])(?:\.weight)?$")
_BLOCK_RE = re.compile(r"\.(?:h|layers|layer)\.(\d+)(?=\.|$)")
# The columns of the printed table, after `layer` and `r` (and the thr_* columns).
_TABLE_TAIL = ("energy_90", "energy_99", "entropy_rank", "stable_rank", "top5_share", "norm_A", "norm_B")


class AdapterError(Refused):
    """An adapter directory that cannot be analysed; the message names the path and the problem."""


# ---------------------------------------------------------------- pure matrix measures


def threshold_key(t: float) -> str:
    """``1e-3 -> "thr_1e-3"``, ``5e-2 -> "thr_5e-2"`` (no zero-padded exponent)."""
    mantissa, exponent = f"{t:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"thr_{mantissa}e{int(exponent)}"


def singular_values(matrix) -> np.ndarray:
    """Singular values of a 2-D matrix (numpy array or torch tensor), float64, descending."""
    if hasattr(matrix, "detach"):  # torch tensor, possibly bf16 / on GPU
        matrix = matrix.detach().cpu().double().numpy()
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {m.shape}")
    if m.size == 0:
        return np.zeros(0)
    return np.linalg.svd(m, compute_uv=False)  # LAPACK returns them descending


def rank_measures(singular_values, thresholds=DEFAULT_THRESHOLDS) -> dict:
    """Rank measures of one matrix from its singular values (any order; sorted here).

    >>> m = rank_measures([2.0, 1.0, 1.0, 0.0])
    >>> m["thr_1e-1"], m["energy_90"], m["stable_rank"], m["top5_share"]
    (3, 3, 1.5, 1.0)
    >>> rank_measures([0.0, 0.0])["entropy_rank"]
    0.0
    """
    s = np.sort(np.abs(np.asarray(singular_values, dtype=np.float64)).ravel())[::-1]
    out: dict = {}
    if s.size == 0 or s[0] == 0.0:
        # A zero update: rank 0 everywhere, ratios defined as 0 instead of 0/0.
        out.update({threshold_key(t): 0 for t in thresholds})
        out.update({f"energy_{round(f * 100)}": 0 for f in ENERGY_LEVELS})
        out.update(entropy_rank=0.0, stable_rank=0.0, top5_share=0.0)
        return out

    rel = s / s[0]
    for t in thresholds:
        out[threshold_key(t)] = int(np.count_nonzero(rel > t))

    energy = np.cumsum(s**2)
    total = energy[-1]
    for f in ENERGY_LEVELS:
        # A relative slack of 1e-12 keeps exact ties (e.g. 9 of 10 equal values at 90%) from
        # being lost to rounding in the cumulative sum.
        out[f"energy_{round(f * 100)}"] = int(np.searchsorted(energy, f * total * (1 - 1e-12)) + 1)

    p = s / s.sum()
    p = p[p > 0]  # 0 * log 0 = 0
    out["entropy_rank"] = float(np.exp(-np.sum(p * np.log(p))))
    out["stable_rank"] = float(total / s[0] ** 2)
    out["top5_share"] = float(s[:5].sum() / s.sum())
    return out


def lora_scaling(alpha: float, r: int, use_rslora: bool = False) -> float:
    """peft's scaling: ``alpha / r``, or ``alpha / sqrt(r)`` with rank-stabilised LoRA."""
    return alpha / math.sqrt(r) if use_rslora else alpha / r


def delta_weight(A, B, scaling: float, fan_in_fan_out: bool = False) -> np.ndarray:
    """``B @ A * scaling`` in float64, shape ``(out, in)``; ``(in, out)`` if ``fan_in_fan_out``.

    ``fan_in_fan_out=True`` gives the update in the orientation of a transposed base weight such
    as GPT-2's ``Conv1D``; the singular values do not depend on it.
    """
    A = _as_f64(A)
    B = _as_f64(B)
    r = A.shape[0]
    A2 = A.reshape(r, -1)  # conv factors: (r, in, k, k) -> (r, in*k*k)
    B2 = B.reshape(B.shape[0], -1)  # (out, r, 1, 1) -> (out, r)
    if B2.shape[1] != r:
        raise ValueError(f"lora_B has {B2.shape[1]} columns but lora_A has {r} rows")
    delta = (B2 @ A2) * scaling
    return delta.T if fan_in_fan_out else delta


def _as_f64(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def block_index(name: str):
    """First integer after ``.h.`` / ``.layers.`` / ``.layer.`` in a module name, else None."""
    m = _BLOCK_RE.search("." + name)
    return int(m.group(1)) if m else None


def _pattern_value(patterns: dict, module: str, default):
    """peft's ``get_pattern_key``: the first key ``k`` with ``re.match(rf"(.*\\.)?({k})$", module)``.

    So a plain key matches a whole dotted suffix of the module path (``"c_proj"``,
    ``"h.0.mlp.c_proj"``) and a key may also be a regex. Same rule as peft 0.21.
    """
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


# ---------------------------------------------------------------- adapter directories


def load_adapter(adapter_dir):
    """Read and check ``(config, tensors)`` of a peft LoRA adapter directory; raise AdapterError."""
    d = Path(adapter_dir)
    if not d.is_dir():
        raise AdapterError(f"{d}: no such adapter directory")
    cfg_path, w_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise AdapterError(f"{d}: missing {p.name} (not a peft adapter directory?)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AdapterError(f"{cfg_path}: unreadable JSON ({e})") from e
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        found = config.get("peft_type") if isinstance(config, dict) else type(config).__name__
        raise AdapterError(f"{cfg_path}: not a LoRA adapter (peft_type={found!r}, expected 'LORA')")
    if not isinstance(config.get("r"), int) or config["r"] < 1:
        raise AdapterError(f"{cfg_path}: 'r' must be a positive integer, got {config.get('r')!r}")

    from safetensors.torch import load_file  # imported here so pure measures need no torch

    try:
        tensors = load_file(str(w_path), device="cpu")
    except Exception as e:  # safetensors raises its own error types for corrupt/truncated files
        raise AdapterError(f"{w_path}: cannot read safetensors file ({type(e).__name__}: {e})") from e
    return config, tensors


def _pair_factors(tensors: dict, w_path) -> dict:
    """``{module path: {"A": tensor, "B": tensor}}``; an A without its B (or vice versa) is an error."""
    pairs: dict = {}
    for key, t in tensors.items():
        m = _KEY_RE.match(key)
        if m is None:
            continue  # biases, DoRA magnitudes, modules_to_save, ...
        module = m["module"]
        module = module[len(_PREFIX):] if module.startswith(_PREFIX) else module
        pairs.setdefault(module, {})[m["side"]] = t
    for module, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            have, lack = ("A", "B") if "A" in pair else ("B", "A")
            raise AdapterError(f"{w_path}: {module} has lora_{have} but no lora_{lack}")
        for side, t in pair.items():
            if not bool(t.isfinite().all()):  # e.g. a diverged run: an SVD of NaNs would fail (LinAlgError)
                raise AdapterError(f"{w_path}: {module} lora_{side} holds non-finite values (NaN or infinity); "
                                   f"the run that wrote it diverged")
    if not pairs:
        raise AdapterError(f"{w_path}: no lora_A/lora_B weight pairs found")
    return pairs


def iter_deltas(adapter_dir, base_orientation: bool = False):
    """Yield ``(info, A, B, delta)`` per adapted module, in file order.

    ``info`` has ``layer`` (module path), ``block``, ``r``, ``alpha``, ``scaling``. ``delta`` is
    ``(out, in)``, or the base weight's orientation when ``base_orientation`` and the config says
    ``fan_in_fan_out`` (GPT-2 ``Conv1D``). ``r`` comes from the config (``rank_pattern`` first) as
    peft does, and must agree with the stored tensor shape.
    """
    config, tensors = load_adapter(adapter_dir)
    w_path = Path(adapter_dir) / WEIGHTS_NAME
    use_rslora = bool(config.get("use_rslora", False))
    fan_in_fan_out = bool(config.get("fan_in_fan_out", False))
    for module, pair in _pair_factors(tensors, w_path).items():
        A, B = pair["A"], pair["B"]
        r = int(_pattern_value(config.get("rank_pattern"), module, config["r"]))
        alpha = float(_pattern_value(config.get("alpha_pattern"), module, config.get("lora_alpha", 8)))
        if A.shape[0] != r or B.reshape(B.shape[0], -1).shape[1] != r:
            raise AdapterError(
                f"{w_path}: {module} has lora_A {tuple(A.shape)}, lora_B {tuple(B.shape)}"
                f" but the config gives r={r}")
        scaling = lora_scaling(alpha, r, use_rslora)
        info = {"layer": module, "block": block_index(module), "r": r, "alpha": alpha, "scaling": scaling}
        delta = delta_weight(A, B, scaling, fan_in_fan_out=base_orientation and fan_in_fan_out)
        yield info, A, B, delta


def analyze_adapter(adapter_dir, thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """One dict per adapted layer, sorted by block index (None last) then name.

    Keys: ``layer``, ``block``, ``r``, ``alpha``, ``scaling``, ``shape`` (of ``delta W`` as
    ``[out, in]``), every measure of :func:`rank_measures`, ``norm_A``, ``norm_B``,
    ``norm_delta``, and ``singular_values`` (a list, descending). Plain Python types, so the
    result is JSON-serialisable.
    """
    layers = []
    for info, A, B, delta in iter_deltas(adapter_dir):
        s = singular_values(delta)
        row = dict(info, shape=list(delta.shape))
        row.update(rank_measures(s, thresholds))
        row["norm_A"] = float(np.linalg.norm(_as_f64(A)))
        row["norm_B"] = float(np.linalg.norm(_as_f64(B)))
        row["norm_delta"] = float(np.sqrt(np.sum(s**2)))  # Frobenius norm = sqrt(sum s^2)
        row["singular_values"] = s.tolist()
        layers.append(row)
    layers.sort(key=lambda d: (d["block"] is None, d["block"] or 0, d["layer"]))
    return layers


def full_update_deltas(base_dir, model_dir, module: str | None = None) -> dict:
    """``{layer: W_tuned - W_base}`` of a fully fine-tuned model (a ``save_pretrained`` folder with
    ``model.safetensors``) against the model it started from, float64, in the weights' stored orientation (GPT-2's
    ``Conv1D``: ``(in, out)``): the layers named ``*.<module>``, or, without ``module``, every weight matrix that
    training changed (a run that trains some weights alone leaves the others equal). Missing files or weights are an
    ``AdapterError``."""
    from safetensors.torch import load_file
    files = {}
    for what, folder in (("model", model_dir), ("--base", base_dir)):
        path = Path(folder) / "model.safetensors"
        if not path.is_file():
            raise AdapterError(f"{what}: {path} does not exist (a save_pretrained folder holds model.safetensors)")
        files[what] = load_file(str(path))
    tuned, base = files["model"], files["--base"]
    deltas = {}
    for name in sorted(k for k in tuned if k.endswith(".weight") and tuned[k].ndim == 2):
        layer = name.rsplit(".weight", 1)[0]
        if module is not None and not in_module(layer, module):
            continue
        key = name if name in base else name.replace("transformer.", "", 1)
        if key not in base or base[key].shape != tuned[name].shape:
            raise AdapterError(f"--base: {base_dir} has no weight {name} of shape {list(tuned[name].shape)}: not the model "
                               f"{model_dir} was trained from")
        delta = (tuned[name].double() - base[key].double()).numpy()
        if module is not None or delta.any():
            deltas[layer] = delta
    if not deltas:
        raise AdapterError(f"{model_dir}: no weight matrix {'named *.' + module if module else 'differs from --base'}")
    return deltas


def analyze_full_update(model_dir, base_dir, thresholds=DEFAULT_THRESHOLDS, module: str | None = None) -> list[dict]:
    """``analyze_adapter`` for a fully fine-tuned model: per changed weight matrix (or per ``module`` layer), the
    measures of its update ``W_tuned - W_base`` (``full_update_deltas``), ``r`` the matrix's smaller dimension (the
    most any update of it can have), ``norm_delta`` and the singular values; sorted by block like an adapter's."""
    layers = []
    for layer, delta in full_update_deltas(base_dir, model_dir, module).items():
        s = singular_values(delta)
        layers.append({"layer": layer, "block": block_index(layer), "r": min(delta.shape), "shape": list(delta.shape),
                       **rank_measures(s, thresholds), "norm_delta": float(np.sqrt(np.sum(s**2))),
                       "singular_values": s.tolist()})
    layers.sort(key=lambda d: (d["block"] is None, d["block"] or 0, d["layer"]))
    return layers


def in_module(layer: str, module: str) -> bool:
    """Whether ``layer`` (a module path such as ``transformer.h.0.mlp.c_proj``) is named ``*.<module>``."""
    return layer.endswith("." + module)


def only_module(rows: list[dict], module: str | None, where, param: str = "module") -> list[dict]:
    """The rows (``analyze_adapter``'s layers, ``compare_adapters``' rows) of the layers named ``*.<module>``, e.g.
    the paper's layer ``mlp.c_proj`` inside an adapter on the whole MLP; all of them when ``module`` is None. An
    adapter (``where``) without such a layer is an ``AdapterError`` naming ``param``."""
    if module is None:
        return rows
    kept = [row for row in rows if in_module(row["layer"], module)]
    if not kept:
        raise AdapterError(f"{param}: {where} adapts no layer named *.{module}")
    return kept


def summarize(layers: list[dict]) -> dict:
    """Mean of every numeric measure over layers, plus ``n_layers``.

    Averages ``r``, ``thr_*``, ``energy_*``, ``entropy_rank``, ``stable_rank``, ``top5_share``
    and the norms; skips names, shapes, block indices and raw singular values.
    """
    skip = {"layer", "block", "shape", "singular_values", "alpha", "scaling"}
    out: dict = {"n_layers": len(layers)}
    if not layers:
        return out
    for key, value in layers[0].items():
        if key in skip or not isinstance(value, (int, float)):
            continue
        out[key] = float(np.mean([row[key] for row in layers]))
    return out


# ---------------------------------------------------------------- subspaces


def top_singular_vectors(matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(U_k, V_k)``: the top-``k`` left (output-space, ``(out, k)``) and right (input-space, ``(in, k)``)
    singular vectors of ``matrix`` (``(out, in)``), in float64."""
    U, _, Vt = np.linalg.svd(_as_f64(matrix), full_matrices=False)
    return U[:, :k], Vt[:k].T


def subspace_overlap(basis_a: np.ndarray, basis_b: np.ndarray) -> float:
    """The LoRA paper's subspace similarity phi (Hu et al. 2021, Sec. 7.2) of two orthonormal bases with
    ``k_a`` and ``k_b`` columns: ``||basis_a^T basis_b||_F^2 / min(k_a, k_b)``, in [0, 1]: 1 when one
    subspace contains the other, 0 when they are orthogonal. Two random subspaces of dimensions
    ``k_a, k_b`` in R^d give ``max(k_a, k_b) / d`` on average (:func:`random_overlap`).

    >>> e = np.eye(4)
    >>> subspace_overlap(e[:, :2], e[:, :2]), subspace_overlap(e[:, :2], e[:, 2:]), subspace_overlap(e[:, :1], e[:, :3])
    (1.0, 0.0, 1.0)
    """
    k = min(basis_a.shape[1], basis_b.shape[1])
    if k == 0:
        return 0.0
    return float(np.sum((basis_a.T @ basis_b) ** 2) / k)


def random_overlap(k_a: int, k_b: int, d: int) -> float:
    """The expected :func:`subspace_overlap` of two independent uniformly random subspaces of R^d:
    ``E||P_a Q_b||_F^2 = k_a k_b / d``, divided by ``min(k_a, k_b)``."""
    return max(k_a, k_b) / d


def default_ks(r: int) -> list[int]:
    """Powers of two up to ``r``, and ``r`` itself: the subspace sizes compared by default.

    >>> default_ks(64), default_ks(6)
    ([1, 2, 4, 8, 16, 32, 64], [1, 2, 4, 6])
    """
    ks = [1 << i for i in range(r.bit_length()) if 1 << i <= r]
    return ks + ([r] if ks[-1] != r else [])


def compare_adapters(dir_a, dir_b, ks: list[int] | None = None) -> list[dict]:
    """Per layer adapted in both adapters (same name, same shape), the overlap of their updates' top-``k``
    output-space (left) and input-space (right) singular subspaces, with the random-subspace expectation
    beside each: ``{"layer", "shape", "r": [r_a, r_b], "k": [...], "phi_out": [...], "phi_in": [...],
    "random_out": [...], "random_in": [...]}``. ``ks`` defaults to :func:`default_ks` of the smaller rank.
    A layer present in only one adapter, or with another shape, is an ``AdapterError``: the two updates
    must act on the same weights to be compared."""
    return compare_layers(adapter_updates(dir_a), adapter_updates(dir_b), ks, "adapters")


def adapter_updates(adapter_dir) -> dict:
    """``{layer: (r, update (out, in))}`` of a peft adapter (``iter_deltas``), its layers named as the adapter does."""
    return {info["layer"]: (info["r"], delta) for info, _, _, delta in iter_deltas(adapter_dir)}


def compare_layers(a: dict, b: dict, ks: list[int] | None = None, what: str = "updates") -> list[dict]:
    """``compare_updates`` layer by layer of two ``{layer: (rank, update (out, in))}`` (both the same layers, each of
    one shape in both), in block order; otherwise an ``AdapterError`` naming ``what`` is compared."""
    if set(a) != set(b):
        only = sorted(set(a) ^ set(b))
        raise AdapterError(f"--compare: the {what} adapt different layers (only in one of them: {only[:4]}); "
                           f"subspaces can only be compared on the same weights")
    rows = []
    for layer in sorted(a, key=lambda n: (block_index(n) is None, block_index(n) or 0, n)):
        (ra, da), (rb, db) = a[layer], b[layer]
        if da.shape != db.shape:
            raise AdapterError(f"--compare: {layer} has shape {list(da.shape)} in one of the {what} and {list(db.shape)} in the other")
        rows.append({"layer": layer, **compare_updates(da, db, [ra, rb], ks)})
    return rows


def compare_updates(delta_a, delta_b, ranks: list[int], ks: list[int] | None = None) -> dict:
    """The overlap of two updates of one weight (``(out, in)`` matrices of the same shape, of ranks ``ranks``: a
    LoRA's r, a full fine-tuning update's smaller dimension) at their top-``k`` output-space and input-space singular
    subspaces, with the random-subspace expectation beside each: ``{"shape", "r", "k", "phi_out", "phi_in",
    "random_out", "random_in"}`` (``compare_adapters``' row without its layer). ``ks`` defaults to :func:`default_ks`
    of the smaller rank."""
    r = min(*ranks, *delta_a.shape)
    sizes = [k for k in (ks or default_ks(r)) if 1 <= k <= r]
    ua, va = top_singular_vectors(delta_a, r)
    ub, vb = top_singular_vectors(delta_b, r)
    return {"shape": list(delta_a.shape), "r": list(ranks), "k": sizes,
            "phi_out": [subspace_overlap(ua[:, :k], ub[:, :k]) for k in sizes],
            "phi_in": [subspace_overlap(va[:, :k], vb[:, :k]) for k in sizes],
            "random_out": [random_overlap(k, k, delta_a.shape[0]) for k in sizes],
            "random_in": [random_overlap(k, k, delta_a.shape[1]) for k in sizes]}


def updates_of(update_dir, base_dir=None, module: str | None = None) -> dict:
    """``{layer: (rank, update (out, in))}`` of a peft adapter (``adapter_updates``; its r), or of a fully fine-tuned
    model against ``base_dir`` (``full_update_deltas``; the matrix's smaller dimension; GPT-2's ``Conv1D`` weights,
    stored ``(in, out)``, transposed), keyed by the layer's path from ``transformer.`` on so that the two kinds meet;
    only the ``module`` layers where given."""
    def key(layer: str) -> str:
        return layer[layer.index("transformer."):] if "transformer." in layer else layer
    if (Path(update_dir) / "adapter_config.json").is_file():
        return {key(layer): got for layer, got in adapter_updates(update_dir).items()
                if module is None or in_module(layer, module)}
    if base_dir is None:
        raise AdapterError(f"{update_dir}: not a peft adapter (no adapter_config.json); a fully fine-tuned model needs --base")
    return {key(layer): (min(d.shape), d.T) for layer, d in full_update_deltas(base_dir, update_dir, module).items()}


def compare_with_base(dir_a, dir_b, base_dir, module: str | None = None) -> list[dict]:
    """``compare_adapters`` where either side may be a fully fine-tuned model's folder, measured against ``base_dir``
    (``updates_of``): per layer both update, the overlap of their top-k singular subspaces."""
    return compare_layers(updates_of(dir_a, base_dir, module), updates_of(dir_b, base_dir, module), None, "updates")


def format_overlap(rows: list[dict]) -> str:
    """Fixed-width table: one line per layer and subspace size k."""
    lines = [f"{'layer':32s} {'k':>4s} {'phi_out':>8s} {'random':>7s} {'phi_in':>8s} {'random':>7s}"]
    for row in rows:
        for i, k in enumerate(row["k"]):
            lines.append(f"{row['layer']:32s} {k:4d} {row['phi_out'][i]:8.3f} {row['random_out'][i]:7.3f} "
                         f"{row['phi_in'][i]:8.3f} {row['random_in'][i]:7.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


def format_table(layers: list[dict], thresholds=DEFAULT_THRESHOLDS) -> str:
    """Fixed-width table, one row per layer and a final ``mean`` row."""
    cols = ["layer", "r", *(threshold_key(t) for t in thresholds), *_TABLE_TAIL]

    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3e}"
        return str(v)

    cols = [c for c in cols if all(c in row for row in layers)]  # a full update has no factors A, B to measure
    rows = [[cell(row[c]) for c in cols] for row in layers]
    mean = summarize(layers)
    rows.append(["mean"] + [cell(mean[c]) for c in cols[1:]])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(cols), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def _parse_thresholds(text: str) -> tuple:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values or not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be numbers in (0, 1), got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    from .cli import Parser, output_file
    p = Parser(
        prog="python -m helpers.rank",
        description="Rank measures of the weight update delta W = B @ A * scaling of every layer "
                    "of a peft LoRA adapter directory (adapter_config.json + adapter_model.safetensors).",
    )
    p.add_argument("adapter_dir", metavar="ADAPTER_DIR", help="peft adapter directory (output of save_pretrained)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of per-layer dicts instead of the table")
    p.add_argument("--singular-values", action="store_true",
                   help="with --json: include each layer's raw singular values (descending)")
    p.add_argument("--thresholds", type=_parse_thresholds, default=DEFAULT_THRESHOLDS, metavar="T1,T2,...",
                   help="relative thresholds t for the threshold ranks #{s/s[0] > t} "
                        "(default: 1e-1,1e-2,1e-3,1e-4,1e-5)")
    p.add_argument("--out", metavar="FILE", type=output_file(),
                   help="also write {adapter, thresholds, layers (with singular values), summary} "
                        "as JSON to FILE (atomically)")
    p.add_argument("--module", metavar="NAME",
                   help="only the layers named *.NAME (e.g. mlp.c_proj inside an adapter on the whole MLP)")
    p.add_argument("--compare", metavar="OTHER_DIR",
                   help="instead: the overlap (the LoRA paper's phi) of each layer's top-k singular subspaces "
                        "with those of OTHER_DIR's update of the same layer, beside the random-subspace value")
    p.add_argument("--base", metavar="BASE_DIR",
                   help="ADAPTER_DIR is a fully fine-tuned model's folder (model.safetensors, e.g. a run's model/): "
                        "measure its update W - W_base against the model it was trained from (without --module: every "
                        "weight matrix that changed); with --compare, OTHER_DIR may be an adapter or such a model too")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.compare and args.base:
        rows = parser.run(compare_with_base, args.adapter_dir, args.compare, args.base, args.module)
    elif args.compare:
        rows = parser.run(compare_adapters, args.adapter_dir, args.compare)
    if args.compare:
        rows = parser.run(only_module, rows, args.module, args.adapter_dir, "--module")
        if args.out:
            from helpers.io import atomic_write_json

            atomic_write_json(args.out, {"adapters": [str(args.adapter_dir), str(args.compare)], "layers": rows})
        if args.json:
            from helpers.io import finite_json

            print(json.dumps(finite_json(rows), indent=2, allow_nan=False))
        else:
            print(format_overlap(rows))
        return 0
    if args.base:
        layers = parser.run(analyze_full_update, args.adapter_dir, args.base, args.thresholds, args.module)
    else:
        layers = parser.run(analyze_adapter, args.adapter_dir, args.thresholds)
        layers = parser.run(only_module, layers, args.module, args.adapter_dir, "--module")
    if args.out:
        from helpers.io import atomic_write_json

        atomic_write_json(args.out, {"adapter": str(args.adapter_dir), "thresholds": list(args.thresholds),
                                     "layers": layers, "summary": summarize(layers)})
    if args.json:
        shown = layers if args.singular_values else [
            {k: v for k, v in row.items() if k != "singular_values"} for row in layers]
        from helpers.io import finite_json

        print(json.dumps(finite_json(shown), indent=2, allow_nan=False))
    else:
        print(format_table(layers, args.thresholds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
