"""Figures. Each function returns a matplotlib figure; notebooks save it under figures/<profile>/."""
from __future__ import annotations

from collections import defaultdict

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import MaxNLocator

sns.set_theme(style="whitegrid", context="notebook")


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
