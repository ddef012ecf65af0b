#!/usr/bin/env bash
# The GPU measurements behind results/paper/bench-cuda.json, dryrun-cuda.json and recipe-arms-cuda.json,
# in one call on one lent GPU (about 8 minutes; run from the repository root; files go to $OUT):
#   1. tools.bench at the paper profile's shapes (tokens/s, MFU against the measured fp32 matmul peak), alone;
#   2. the dry run of every stage at the paper's batch sizes (seconds per step, TF32), alone;
#   3. recipe arms of the paper profile's pretraining stand-in at 124M, side by side on the GPU (each
#      `tools.paper_run` for ARM_MINUTES): GPT-2's init 0.02 against larger ones, at two learning rates.
# ARMS=refine ARM_MINUTES=5: only three arms around the first set's winner (the second set stored).
# Carried wheels in .whl/ (the project's pinned transformers, peft, tokenizers) are used when they import.
set -u
OUT=${OUT:-runs/gpu}
ARM_MINUTES=${ARM_MINUTES:-3.5}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
PROFILE=${PROFILE:-paper}   # PROFILE=smoke DEVICE=cpu ARM_MINUTES=0.05 checks the plumbing on a CPU
DEVICE=${DEVICE:-cuda}
if ls .whl/*.whl > /dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
$PY -c "import torch, transformers, peft, accelerate, helpers.lora; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name())" \
  || { echo "carried packages do not import: the image's own"; unset PYTHONPATH; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

ARMS=${ARMS:-first}         # first: the six arms below, after steps 1-2; refine: only three arms around the winner
if [ "$ARMS" = first ]; then
echo "== bench"
timeout 150 $PY -m tools.bench --device "$DEVICE" --profile "$PROFILE" --out "$OUT/bench-$DEVICE.json" 2>&1 | tr '\r' '\n' | grep -v 'it/s\]\|s/it\]' | tail -16
echo "== dry run"
timeout 120 $PY -m helpers.dryrun --profile "$PROFILE" --device "$DEVICE" --profile-batch --steps 6 --record 2>&1 | tail -14 \
  && cp "${REPRO_OUTPUTS:-.}/results/$PROFILE/dryrun-$DEVICE.json" "$OUT/"
fi
echo "== recipe arms (side by side)"
arm() {  # name, overrides
  OMP_NUM_THREADS=2 timeout $(( ${ARM_MINUTES%.*} * 60 + 150 )) $PY -m tools.paper_run --profile "$PROFILE" --minutes "$ARM_MINUTES" --overrides "$2" --quiet \
    --out "$OUT/arm-$1.json" > "/tmp/arm-$1.log" 2>&1
  echo "arm $1 (rc $?): $(tail -n 1 /tmp/arm-$1.log | cut -c1-300)"
}
if [ "$ARMS" = refine ]; then
arm init0.03-lr3e-4 '{"model": {"initializer_range": 0.03}, "pretrain": {"lr": 3e-4}}' &
arm init0.03-lr6e-4 '{"model": {"initializer_range": 0.03}, "pretrain": {"lr": 6e-4}}' &
arm init0.05-lr3e-4 '{"model": {"initializer_range": 0.05}, "pretrain": {"lr": 3e-4}}' &
else
arm init0.02-lr1e-3 '{"model": {"initializer_range": 0.02}, "pretrain": {"lr": 1e-3}}' &
arm init0.03-lr1e-3 '{"model": {"initializer_range": 0.03}, "pretrain": {"lr": 1e-3}}' &
arm init0.1-lr1e-3  '{"model": {"initializer_range": 0.1}, "pretrain": {"lr": 1e-3}}' &
arm init0.02-lr3e-4 '{"model": {"initializer_range": 0.02}, "pretrain": {"lr": 3e-4}}' &
arm init0.03-lr3e-4 '{"model": {"initializer_range": 0.03}, "pretrain": {"lr": 3e-4}}' &
arm init0.1-lr3e-4  '{"model": {"initializer_range": 0.1}, "pretrain": {"lr": 3e-4}}' &
fi
wait
DEVICE=$DEVICE $PY - "$OUT" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
arms = {}
for f in sorted(glob.glob(os.path.join(out, "arm-*.json"))):
    arms[os.path.basename(f)[4:-5]] = json.load(open(f))
    os.remove(f)
json.dump({"arms": arms}, open(os.path.join(out, "recipe-arms-" + os.environ.get("DEVICE", "cuda") + ".json"), "w"), indent=1, sort_keys=True)
for name, a in arms.items():
    c = a["pretrain"]["curve"]
    print(name, a["pretrain"]["steps"], "steps", a["pretrain"]["steps_per_s"], "steps/s", c[-1]["accuracy"] if c else None)
EOF
ls -la "$OUT"
