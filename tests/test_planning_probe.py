"""tools.planning_probe: each arm changes what its name says from notebook 03's planning setting."""
from helpers.profiles import get_profile
from tools.planning_probe import ALL_LINEAR, ARMS, WHOLE_MLP, arm_configs


def test_each_arm_changes_what_its_name_says():
    profile = get_profile("small")
    arms = arm_configs(profile)
    assert [name for name, _, _ in arms] == [name for name, _, s in ARMS for _ in s.get("seeds", [0])]
    for name, _, c in arms:
        times = 16 if "16x steps" in name else 4 if "4x steps" in name else 1
        assert c["steps"] == times * profile["lora"]["steps"]
        seeds = (0, 1) if "whole MLP" in name else (0, 1, 2) if "mlp.c_proj, 16x" in name or "rsLoRA, 4x" in name else (0,)
        assert c["seed"] in seeds if times > 1 else c["seed"] in (1, 2)
        assert c.get("use_rslora", False) == ("rsLoRA" in name)
        assert c["task"]["chain_length"] == (10 if name.startswith("10-hash") else 5)
        assert (c["task"]["min_hops"], c["task"]["max_hops"]) == (1, 3)
        if "full fine-tuning" in name:
            assert c["method"] == "full" and c["rank"] is None and c["lr"] == 3e-4
        else:
            assert c["rank"] == 64 and c["lr"] == (3e-3 if "lr 3e-3" in name else profile["lora"]["lr"])
            assert c["target_modules"] == (ALL_LINEAR if "all linear" in name else WHOLE_MLP if "whole MLP" in name else
                                           ["attn.c_attn"] if "attn.c_attn" in name else ["mlp.c_proj"])
    for arm in ("attn.c_attn", "whole MLP", "mlp.c_proj"):
        assert sorted(c["seed"] for name, _, c in arms if name.endswith(f"{arm}, lr 3e-3")) == [1, 2]
    for arm in ("mlp.c_proj, rsLoRA, 4x steps", "mlp.c_proj, 16x steps"):  # the paper's layer alone, given more training
        assert sorted(c["seed"] for name, _, c in arms if name.endswith(arm)) == [0, 1, 2]
