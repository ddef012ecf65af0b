"""tools.arm_seeds: notebook 05's attention arms at three seeds, sharing seed 0 with the notebook's own runs."""
from __future__ import annotations

from helpers.profiles import get_profile
from helpers.rank_study import arm_cells, attention_cells, attention_settings
from tools.arm_seeds import SEEDS, arm_seed_cells


def test_the_arms_at_three_seeds_share_seed_0_and_the_default_with_notebook_05():
    profile = get_profile("small")
    cells = arm_seed_cells(profile)
    rank = profile["rank_analysis"]["arm_rank"]
    notebook_arms = [c["config"] for c in arm_cells(profile, **attention_settings(profile))]
    notebook_grid = [c["config"] for c in attention_cells(profile) if c["arm"] == "trained" and c["rank"] == rank]
    configs = [c["config"] for c in cells]
    assert all(c in configs for c in notebook_arms + notebook_grid)  # the same runs: loaded from the run cache
    arms = profile["rank_analysis"]["arms"]
    for kind in ("planning", "reasoning"):
        for arm in arms:
            got = [c for c in cells if c["kind"] == kind and c["arm"] == arm]
            assert sorted(c["seed"] for c in got) == SEEDS and all(c["rank"] == rank for c in got)
            first = next(c["config"] for c in got if c["seed"] == 0)
            for c in got:  # the seeds differ in the seed only
                assert {k for k in first if first[k] != c["config"][k]} <= {"seed"}
                assert c["config"]["target_modules"] == attention_settings(profile)["target_modules"]
    assert len(cells) == len(notebook_grid) + 2 * len(arms) * len(SEEDS)

