"""Figures. Each function returns a matplotlib figure; notebooks save it under figures/<profile>/."""
from __future__ import annotations

from collections import defaultdict

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from .paths import figure_path

sns.set_theme(style="whitegrid", context="notebook")



def save_figure(fig, profile, name: str):
    """Save ``fig`` as ``figures/<profile's output folder>/<name>`` (PNG at 120 dpi, tight box), the one
    way every notebook saves a figure; returns the path."""
    path = figure_path(profile, name)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path

def _mean_by(rows: list[dict], key: str, field: str) -> tuple[list, list]:
    groups = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r[field])
    xs = sorted(groups)
    return xs, [sum(groups[x]) / len(groups[x]) for x in xs]


def prompt_lengths_figure(hop_rows: dict, chain_rows: dict):
    """Mean prompt length in tokens by hop count (HashHop) and by shortest-chain length (HashChain)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, rows in hop_rows.items():
        xs, ys = _mean_by(rows, "hops", "tokens")
        axes[0].plot(xs, ys, marker="o", label=name)
    axes[0].set(title="HashHop", xlabel="hops", ylabel="tokens per prompt + answer")
    for name, rows in chain_rows.items():
        xs, ys = _mean_by(rows, "shortest", "tokens")
        axes[1].plot(xs, ys, marker="o", label=name)
    axes[1].set(title="HashChain", xlabel="length of the shortest chain", ylabel="tokens per prompt + answer")
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def chance_figure(hop_rows: dict, chain_rows: dict):
    """Chance accuracy (uniform guess among the map's hashes other than the start)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    chance = {}
    for ax, (title, key, groups) in zip(axes, [("HashHop", "hops", hop_rows), ("HashChain", "shortest", chain_rows)]):
        for name, rows in groups.items():
            xs, ys = _mean_by(rows, key, "chance")
            ax.plot(xs, ys, marker="o", label=name)
            chance[f"{title}: {name}"] = {str(x): y for x, y in zip(xs, ys)}
        ax.set(title=f"{title}: chance level", xlabel=key, ylabel="chance accuracy", ylim=(0, 0.5))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, chance


def probe_curves_figure(index: dict, probes: dict):
    """Left: held-out 1-hop accuracy above chance vs steps for the task probes. Right: held-out copy
    accuracy of the induction warm-up probes (GPT-2's init std 0.02 vs 0.1)."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1.4, 1]})
    for name, data in sorted(probes.items()):
        meta = index["probes"].get(name, {})
        label = f"{name}: {meta.get('label', '')}"
        rows = [r for r in data["log"] if r.get("stage") == "task" and "1" in r.get("acc", {})]
        if rows and meta.get("chance_1hop") is not None:
            ax.plot([r["step"] for r in rows], [r["acc"]["1"] - meta["chance_1hop"] for r in rows], marker=".", label=label)
        copy = [r for r in data["log"] if r.get("stage") == "copy"]
        if copy:
            bx.plot([r["step"] for r in copy], [r["copy_acc"] for r in copy], marker=".", label=label)
    ax.axhline(0, color="black", lw=1, ls="--")
    ax.set(xlabel="training steps (task stage)", ylabel="1-hop accuracy minus chance", title="HashHop probes (held-out, paper format)")
    ax.legend(fontsize=6.5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    bx.set(xlabel="training steps", ylabel="held-out copy accuracy", title="Induction warm-up (copy task)", ylim=(-0.02, 1.02))
    bx.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    return fig


def learning_curve_figure(curves: dict[str, list[dict]], point_name: dict[str, str], copy_curves: dict | None = None):
    """Held-out exact match per eval point vs steps, one panel per base model; the copy warm-up's
    held-out copy accuracy (dashed) comes first on the same step axis."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 3.8), squeeze=False)
    for ax, (task, log) in zip(axes[0], curves.items()):
        copy = (copy_curves or {}).get(task) or []
        offset = copy[-1]["step"] if copy else 0
        if copy:
            ax.plot([r["step"] for r in copy], [r["copy_accuracy"] for r in copy], color="grey", ls="--", label="copy warm-up")
            ax.axvline(offset, color="grey", lw=0.8)
        points = sorted(log[-1]["accuracy"], key=int) if log else []
        for p in points:
            ax.plot([offset + r["step"] for r in log], [r["accuracy"][p] for r in log], marker=".", label=f"{point_name[task]} {p}")
        restarts = [offset + a["step"] for a, b in zip(log, log[1:]) if b.get("stage", 1) != a.get("stage", 1)]
        for i, step in enumerate(restarts):  # a base trained in stages (helpers.bases.stage_profiles): each warm restart
            ax.axvline(step, color="black", ls=":", lw=0.8, label="warm restart" if i == 0 else None)
        ax.set(title=f"{task} base: learning curve", xlabel="steps (warm-up, then task)", ylabel="held-out accuracy",
               ylim=(-0.02, 1.02))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_figure(tables: dict[str, list[dict]], key: str, title: str, ax=None, baseline: dict | None = None):
    """Accuracy with 95% intervals per hop count / shortest length, one line per model, the uniform
    guess ("chance") and, if given, a structural baseline ``{"label": ..., "x": [...], "y": [...]}``
    (hop-agnostic best guess; random chain end)."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, rows in tables.items():
        xs = [r[key] for r in rows]
        ys = [r["accuracy"] for r in rows]
        err = [[max(0.0, r["accuracy"] - r["ci_low"]) for r in rows], [max(0.0, r["ci_high"] - r["accuracy"]) for r in rows]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
    first = next(iter(tables.values()))
    ax.plot([r[key] for r in first], [r["chance"] for r in first], color="grey", ls="--", label="uniform guess")
    if baseline:
        ax.plot(baseline["x"], baseline["y"], color="black", ls=":", lw=1.5, label=baseline["label"])
    ax.set(title=title, xlabel={"hops": "hops", "shortest": "length of the shortest chain"}[key],
           ylabel="exact match (95% CI)", ylim=(-0.02, 1.02))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    if fig is not None:
        fig.tight_layout()
    return fig or ax.figure


def ablation_figure(rows: list[dict], chance: dict[str, float] | None = None):
    """A 2x4 grid: per task (rows) the rank sweep, target modules, last N blocks, full vs LoRA;
    mean accuracy over the evaluation points with a 95% interval across seeds."""
    ablations = ["rank", "target modules", "last N blocks", "full vs LoRA"]
    kinds = sorted({r["kind"] for r in rows})
    fig, axes = plt.subplots(len(kinds), len(ablations), figsize=(17, 3.6 * len(kinds)), squeeze=False)
    for i, kind in enumerate(kinds):
        for j, ablation in enumerate(ablations):
            ax = axes[i][j]
            sel = [r for r in rows if r["kind"] == kind and r["ablation"] == ablation]
            for setting in dict.fromkeys(r["setting"] for r in sel):
                part = [r for r in sel if r["setting"] == setting]
                xs = [str(r["x"]) for r in part]
                ys = [r["mean"] for r in part]
                err = [[r["mean"] - r["low"] for r in part], [r["high"] - r["mean"] for r in part]]
                style = dict(marker="o", capsize=3, label=setting)
                if ablation == "rank":
                    ax.errorbar(xs, ys, yerr=err, **style)
                else:
                    ax.errorbar(xs, ys, yerr=err, ls="none", **style)
            if chance and kind in chance:
                ax.axhline(chance[kind], color="grey", ls="--", lw=1, label="chance")
            ax.set(title=f"{kind}: {ablation}", ylim=(-0.02, 1.02),
                   ylabel="mean exact match (95% CI, seeds)" if j == 0 else None,
                   xlabel={"rank": "LoRA rank"}.get(ablation))
            ax.legend(fontsize=7)
            ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def singular_decay_figure(layers: dict[str, list[dict]], rank: int):
    """Normalized singular values s/s[0] (log scale) of each layer's update, one panel per task."""
    fig, axes = plt.subplots(1, len(layers), figsize=(6 * len(layers), 3.8), squeeze=False, sharey=True)
    for ax, (kind, rows) in zip(axes[0], layers.items()):
        for row in rows:
            s = row["singular_values"][:rank]
            if s and s[0] > 0:
                ax.semilogy(range(1, len(s) + 1), [v / s[0] for v in s], marker=".", label=row["layer"].replace("transformer.", ""))
        ax.set(title=f"{kind}: s/s[0] per layer (r={rank})", xlabel="singular value index", ylabel="s / s[0]")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def threshold_rank_figure(layers: dict[str, list[dict]], rank: int, thresholds=("1e-1", "1e-2", "1e-3", "1e-4", "1e-5")):
    """Threshold rank per layer at each threshold, planning vs reasoning."""
    fig, axes = plt.subplots(1, len(thresholds), figsize=(3.4 * len(thresholds), 3.4), squeeze=False, sharey=True)
    for ax, t in zip(axes[0], thresholds):
        for kind, rows in layers.items():
            ax.plot([r["block"] for r in rows], [r[f"thr_{t}"] for r in rows], marker="o", label=kind)
        ax.set(title=f"s/s[0] > {t}", xlabel="block", ylim=(0, rank + 1))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel(f"threshold rank (of r={rank})")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def ratio_figure(rows: list[dict], measures: list[str]):
    """reasoning/planning ratio per measure vs LoRA rank, 95% interval across seeds; the paper's 1/3-1/2 band."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for m in measures:
        part = [r for r in rows if r["measure"] == m]
        if part:
            ax.errorbar([str(r["rank"]) for r in part], [r["mean"] for r in part],
                        yerr=[[r["mean"] - r["low"] for r in part], [r["high"] - r["mean"] for r in part]],
                        marker="o", capsize=3, label=m)
    ax.axhspan(1 / 3, 1 / 2, color="tab:red", alpha=0.12, label="paper's claim (2-3x lower)")
    ax.axhline(1, color="black", lw=1, ls="--")
    ax.set(xlabel="LoRA rank", ylabel="reasoning / planning", title="Effective rank: reasoning over planning (95% CI, seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def position_histogram_figure(panels: dict[str, list[dict]], max_position: int):
    """HashHop answer positions: for each model (one panel) and hop count (x), the share of answers at
    each chain position (stacked; "right" when position == hops). A model that uses the hop count moves
    its answers with the hop count; one that hedges shows the same stack at every hop count."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False, sharey=True)
    seen = {int(k) for rows in panels.values() for r in rows for k in r["positions"] if k != "not in map"}
    max_position = max([max_position, *seen])  # every answered position is drawn, so each stack sums to 1
    colors = sns.color_palette("viridis", max_position + 1)
    for ax, (name, rows) in zip(axes[0], panels.items()):
        xs = [r["point"] for r in rows]
        bottom = [0.0] * len(rows)
        keys = [str(k) for k in range(max_position + 1)] + ["not in map"]
        for i, k in enumerate(keys):
            ys = [r["positions"].get(k, 0) / r["n"] for r in rows]
            if any(ys):
                ax.bar(xs, ys, bottom=bottom, color=colors[i] if i <= max_position else "lightgrey",
                       label=f"position {k}" if k != "not in map" else k, edgecolor="white", lw=0.5)
                bottom = [b + y for b, y in zip(bottom, ys)]
        ax.plot(xs, [r["positions"].get(str(r["point"]), 0) / r["n"] for r in rows], "r_", ms=22, mew=2.5,
                label="answer at the asked hop")
        ax.set(title=name, xlabel="hops asked", ylim=(0, 1.02))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("share of answers at chain position")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def chain_category_figure(panels: dict[str, list[dict]], categories: tuple):
    """HashChain answers by kind: the shortest chain's end (right), another chain's end, another hash
    of the map, not in the map; the random-chain-end baseline as a line."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False, sharey=True)
    colors = ["tab:green", "tab:orange", "tab:blue", "lightgrey"]
    for ax, (name, rows) in zip(axes[0], panels.items()):
        xs = [r["point"] for r in rows]
        bottom = [0.0] * len(rows)
        for color, c in zip(colors, categories):
            ys = [r["categories"][c] for r in rows]
            ax.bar(xs, ys, bottom=bottom, color=color, label=c, edgecolor="white", lw=0.5)
            bottom = [b + y for b, y in zip(bottom, ys)]
        ax.plot(xs, [r["random_chain_end"] for r in rows], "k:", marker="_", ms=18, label="random chain end")
        ax.set(title=name, xlabel="length of the shortest chain", ylim=(0, 1.02))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("share of answers")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def pretraining_curve_figure(log: list[dict]):
    """Held-out accuracy of each part of the pretraining stand-in vs steps (the first part trains
    alone until it is learned; the shaded span)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    parts = list(log[0]["accuracy"]) if log else []
    for part in parts:
        ax.plot([r["step"] for r in log], [r["accuracy"][part] for r in log], marker=".", label=part)
    alone = [r["step"] for r in log if "+" not in r.get("stage", "+")]
    if alone:
        ax.axvspan(0, max(alone), color="grey", alpha=0.12, label="first part alone")
    ax.set(title="Pretraining stand-in: held-out accuracy per part", xlabel="steps", ylabel="accuracy on scored tokens",
           ylim=(-0.02, 1.02))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pretrain_ablation_figure(arms: dict, point_name: str = "hops"):
    """Left/middle: base-task accuracy (held-out) vs base steps, per arm of the ablation, at the
    first two evaluation points. Right: mean cosine of consecutive digit embeddings per arm."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
    points = list(next(iter(arms.values()))["base_curve"][-1]["accuracy"])[:2] if arms else []
    for ax, p in zip(axes[:2], points):
        for name, arm in arms.items():
            ax.plot([r["step"] for r in arm["base_curve"]], [r["accuracy"][p] for r in arm["base_curve"]], marker=".", label=name)
        ax.set(title=f"HashHop base, {point_name} {p}, after each pretraining", xlabel="base steps",
               ylabel="held-out exact match", ylim=(-0.02, 1.02))
        ax.legend(fontsize=7)
    names = list(arms)
    axes[2].bar([n.replace("+", "+\n") for n in names], [arms[n]["digit_cosine_after_pretraining"] for n in names],
                color="tab:blue", alpha=0.6, label="after pretraining")
    axes[2].plot([n.replace("+", "+\n") for n in names], [arms[n]["digit_cosine_after_base"] for n in names], "ko",
                 label="after the base task")
    axes[2].set(title="digits 1-9: cosine of consecutive embeddings", ylim=(-0.2, 1.02))
    axes[2].tick_params(axis="x", labelsize=7)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def digit_similarity_figure(models: dict):
    """Cosine similarity of the digit embeddings 0-9, one heatmap per model: a pretrained-style model
    keeps digits apart, a from-scratch base that saw only 1 and 2 has the rest nearly identical."""
    import torch
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.6), squeeze=False)
    for ax, (name, (model, tokenizer)) in zip(axes[0], models.items()):
        wte = model.get_input_embeddings().weight.detach()
        v = torch.nn.functional.normalize(wte[tokenizer.convert_tokens_to_ids([str(d) for d in range(10)])], dim=-1)
        sns.heatmap((v @ v.T).numpy(), vmin=-1, vmax=1, cmap="vlag", ax=ax, cbar=False, annot=True, fmt=".1f",
                    annot_kws={"fontsize": 6})
        ax.set(title=name, xlabel="digit", ylabel="digit")
    fig.tight_layout()
    return fig


ARM_STYLE = {"trained": dict(ls="-", marker="o"), "shuffled": dict(ls="--", marker="s", alpha=0.7),
             "random": dict(ls=":", marker="x", alpha=0.7)}
KIND_COLOR = {"planning": "tab:blue", "reasoning": "tab:orange"}


def rank_grid_figure(table: list[dict], measures: list[str], full: dict | None = None, title: str | None = None):
    """Each rank measure vs the LoRA rank r (one panel per measure): trained adapters (mean, 95% CI over
    seeds), the shuffled-target control and the random update of the same shape and norm, per task; the
    line y = r (a measure on it is saturated); ``full``: ``{kind: {measure: value}}`` of the full
    fine-tuning update, drawn as a horizontal line per task; ``title`` above the panels."""
    fig, axes = plt.subplots(1, len(measures), figsize=(4.6 * len(measures), 4), squeeze=False)
    for ax, m in zip(axes[0], measures):
        rows = [r for r in table if r["measure"] == m]
        ranks = sorted({r["rank"] for r in rows})
        ax.plot(ranks, ranks, color="grey", lw=1, label="y = r (saturated)")
        for (kind, arm) in sorted({(r["kind"], r["arm"]) for r in rows}):
            part = sorted((r for r in rows if r["kind"] == kind and r["arm"] == arm), key=lambda r: r["rank"])
            ax.errorbar([r["rank"] for r in part], [r["mean"] for r in part],
                        yerr=[[r["mean"] - max(r["low"], r["mean"] / 2) for r in part], [r["high"] - r["mean"] for r in part]],
                        color=KIND_COLOR[kind], capsize=2, label=f"{kind}, {arm}", **ARM_STYLE[arm])
        for kind, values in (full or {}).items():
            if m in values:
                ax.axhline(values[m], color=KIND_COLOR[kind], lw=1, ls="-.", label=f"{kind}, full fine-tuning")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set(xlabel="LoRA rank r", ylabel=m, title=m)
    axes[0][0].legend(fontsize=6)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def full_reference_figure(full: dict, measures: list[str]):
    """A grid's full fine-tuning reference (``tools.whole_mlp_grid --full``, one panel per measure): per task, the
    grid's widest-rank LoRA adapters, the full fine-tuning updates of the same layer (mean and 95% interval over
    seeds), the same trained on shuffled targets and the random matrix of the same shape; the layer's width as the
    most any of them can reach."""
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.6), squeeze=False)
    groups = [("lora", f"LoRA r={full['lora_rank']}"), ("trained", "full fine-tuning"),
              ("shuffled", "full, shuffled\ntargets"), ("random", "random matrix")]
    cells = {(r["kind"], r["arm"], r["measure"]): r for r in full["table"]}
    cells.update({(r["kind"], "lora", r["measure"]): r for r in full["lora"]})
    for ax, m in zip(axes[0], measures):
        for i, kind in enumerate(("planning", "reasoning")):
            rows = [cells.get((kind, arm, m)) for arm, _ in groups]
            xs = [g + (i - 0.5) * 0.38 for g, r in enumerate(rows) if r]
            got = [r for r in rows if r]
            ax.bar(xs, [r["mean"] for r in got], width=0.38, color=KIND_COLOR[kind], label=kind,
                   yerr=[[r["mean"] - r["low"] for r in got], [r["high"] - r["mean"] for r in got]], capsize=2)
        ax.axhline(full["width"], color="grey", lw=1, ls=":", label=f"width {full['width']}")
        ax.set_xticks(range(len(groups)), [name for _, name in groups], fontsize=7)
        ax.set(ylabel=m, title=m)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{full['module']}: LoRA, and full fine-tuning of its weights alone ({full['steps']:,} steps) with its controls")
    fig.tight_layout()
    return fig


def arm_figure(effects: list[dict], rows: list[dict] | None = None, passed: dict | None = None):
    """Init and scaling arms (``rank_study.arm_effects``, one panel per measure): each task's value under the
    default (peft's init, alpha = r/2) and under each arm, the mean over its seeds. With ``rows`` (the cell summaries
    ``effects`` was computed from) every adapter's own value is a black dot; with ``passed`` (``rank_study.abilities``'
    verdicts) an arm with an adapter that fails the ability criteria is hatched."""
    from matplotlib.patches import Patch

    from .rank_study import adapter_name
    fig, axes = plt.subplots(1, len(effects), figsize=(4.6 * len(effects), 4), squeeze=False)
    hatched = False
    for ax, e in zip(axes[0], effects):
        arms = ["trained"] + list(e["arms"])
        names = ["default (peft init, alpha = r/2)"] + list(e["arms"])
        width = 0.38
        for i, kind in enumerate(("planning", "reasoning")):
            xs = [j + (i - 0.5) * width for j in range(len(names))]
            ys = [e["default"][kind]] + [e["arms"][a][kind] for a in e["arms"]]
            bars = ax.bar(xs, ys, width, color=KIND_COLOR[kind], label=kind)
            for x, bar, arm in zip(xs, bars, arms):
                mine = [r for r in rows or [] if r["kind"] == kind and r["arm"] == arm and r["rank"] == e["rank"]]
                ax.scatter([x] * len(mine), [r[e["measure"]] for r in mine], color="black", s=8, zorder=3)
                if passed and any(not passed[kind].get(adapter_name(r), True) for r in mine):
                    bar.set_hatch("//")
                    bar.set_edgecolor("white")
                    hatched = True
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
        ax.set(ylabel=e["measure"], title=f"{e['measure']} at r={e['rank']}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if rows:
        handles.append(plt.Line2D([], [], marker="o", color="black", ls="", markersize=3))
        labels.append("one adapter (seed)")
    if hatched:
        handles.append(Patch(facecolor="grey", hatch="//", edgecolor="white"))
        labels.append("an adapter fails the ability criteria")
    fig.legend(handles, labels, fontsize=7, loc="upper center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def rank_over_training_figure(curves: dict[str, list[dict]], measures: list[str], rank: int,
                              beside: dict[str, list[dict]] | None = None, ceiling: str | None = None,
                              labels: tuple[str, str] = ("", ""), others: list[dict[str, list[dict]]] | None = None):
    """Each measure of one adapter per task against the training step (``rank_study.snapshot_summaries``),
    with the LoRA rank r as the ceiling (``ceiling``: another label for that line, e.g. a full fine-tuning update's
    width). Rows that hold an ``accuracy`` (``tools.whole_mlp_grid --snapshots``) add a last panel: the accuracy at the
    hardest trained point, filled where the adapter passes the ability criteria. ``beside``: other curves of the same
    form drawn dashed on the same axes (e.g. the LoRA adapters beside a full fine-tuning run), ``labels`` naming the
    two (appended to each task's name). ``others``: the same run at other seeds (``tools.whole_mlp_grid --snapshots
    --seeds``), drawn thin and pale behind it, unlabelled but for one legend entry."""
    with_accuracy = all("accuracy" in r for rows in curves.values() for r in rows)
    panels = len(measures) + with_accuracy
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.8), squeeze=False)
    drawn = [(curves, "-", labels[0])] + ([(beside, "--", labels[1])] if beside else [])
    for i, more in enumerate(others or []):  # other seeds: thin, pale, one legend entry for all of them
        for ax, m in zip(axes[0], list(measures) + (["accuracy"] if with_accuracy else [])):
            for j, (kind, rows) in enumerate(more.items()):
                ax.plot([r["step"] for r in rows], [r[m] for r in rows], lw=1, alpha=0.45, color=KIND_COLOR[kind],
                        label="other seeds" if i == 0 and j == 0 else None)
    for ax, m in zip(axes[0], measures):
        for got, style, label in drawn:
            for kind, rows in got.items():
                ax.plot([r["step"] for r in rows], [r[m] for r in rows], marker="o", ls=style, color=KIND_COLOR[kind],
                        label=f"{kind} {label}".strip(), mfc="white" if style == "--" else KIND_COLOR[kind])
        ax.axhline(rank, color="grey", lw=1, label=ceiling or f"r = {rank}")
        ax.set(xlabel="training step", ylabel=m, title=m)
    if with_accuracy:
        ax = axes[0][-1]
        for got, style, label in drawn:
            for kind, rows in got.items():
                ax.plot([r["step"] for r in rows], [r["accuracy"] for r in rows], ls=style, color=KIND_COLOR[kind],
                        label=f"{kind} {label}".strip())
                for r in rows:
                    ax.scatter(r["step"], r["accuracy"], color=KIND_COLOR[kind] if r["passed"] else "white",
                               edgecolor=KIND_COLOR[kind], zorder=3)
        ax.set(xlabel="training step", ylabel="exact match", ylim=(0, 1),
               title="hardest trained point (filled: passes the criteria)")
        ax.legend(fontsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def module_ability_figure(abilities: dict, planning_need: float):
    """Notebook 04's ability check of the target-module arms (``ablations.module_abilities``): per task,
    each arm's accuracy at every trained point (bars, mean over seeds) beside the base's (black ticks);
    arms that pass the ability criteria are labelled so. Planning: the criterion's accuracy line."""
    kinds = list(abilities)
    fig, axes = plt.subplots(1, len(kinds), figsize=(7 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        arms = abilities[kind]
        points = list(next(iter(arms.values()))[0]["accuracy"])
        width = 0.8 / len(arms)
        for j, (arm, runs) in enumerate(arms.items()):
            xs = [i - 0.4 + width * (j + 0.5) for i in range(len(points))]
            ys = [sum(r["accuracy"][p] for r in runs) / len(runs) for p in points]
            passed = all(r["passed"] for r in runs)
            ax.bar(xs, ys, width, label=f"{arm} ({'passes' if passed else 'fails'})", hatch=None if passed else "//",
                   alpha=0.9 if passed else 0.6)
        base = next(iter(arms.values()))[0]["base"]
        ax.scatter(range(len(points)), [base[p] for p in points], marker="_", s=900, color="black", zorder=3, label="base")
        if kind == "planning":
            ax.axhline(planning_need, color="grey", ls="--", lw=1, label=f"criterion: >= {planning_need}")
        ax.set_xticks(range(len(points)), [f"{'hops' if kind == 'planning' else 'shortest'} {p}" for p in points])
        ax.set(title=f"{kind}: which adapted layer learns the trained points", ylim=(0, 1.45), ylabel="exact match")
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.legend(fontsize=7, ncol=3, loc="upper center")
    fig.tight_layout()
    return fig
