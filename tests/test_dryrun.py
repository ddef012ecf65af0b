"""The dry run reaches every stage at a profile's real shapes: the paper profile's path (GPT-2 124M
shape, 4-character hashes as characters, 20-hash chains, LoRA r=8 and r=256 on mlp.c_proj of all 12
blocks) cannot rot unnoticed. About half a minute on a 2-core CPU at batch 1."""
import math

from helpers.dryrun import dry_run, main
from helpers.profiles import get_profile

STAGES = ["model", "pretraining stand-in", "base hashhop", "base hashchain", "LoRA r=8", "LoRA r=256",
          "full fine-tuning", "evaluation", "rank analysis", "report"]


def test_paper_profile_dry_run_reaches_every_stage(capsys):
    rows = dry_run(get_profile("paper"), steps=2, batch=1, device="cpu")
    assert [r["stage"] for r in rows] == STAGES
    assert "12 layers x 768" in rows[0]["shapes"]
    assert "12 blocks" in rows[5]["shapes"] and "11.80M trainable" in rows[5]["shapes"]  # r=256 on 12 x (3072 -> 768)
    for row in rows:
        assert row["seconds_per_step"] is None or (math.isfinite(row["seconds_per_step"]) and row["seconds_per_step"] > 0)
        assert row["peak_gib"] > 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(STAGES)  # one line per stage


def test_dry_run_command_smoke(capsys):
    assert main(["--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "LoRA r=2" in out and "LoRA r=4" in out and out.strip().endswith("s")
