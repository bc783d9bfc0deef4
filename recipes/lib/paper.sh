#!/usr/bin/env bash
# The paper's pipeline for a DeepSeek-R1-Distill model (recipes/r1-distill-qwen-{7b,14b}/run.sh call it with their
# config.yaml): problems -> pools -> references -> TLDR rounds and the static 1:1 baseline -> final evaluation.
#
#   bash recipes/lib/paper.sh CONFIG [--dry-run] [KEY=VALUE ...]
#
# --dry-run checks the config, the local data and the launcher, prints every command it would run (one a line) and
# a resource plan per stage, and touches no GPU, network or file. Without it the commands run; every stage resumes,
# so a re-run after a failure continues where it stopped.
set -euo pipefail
CONFIG=$1
shift
DRY_RUN=false
if [[ ${1:-} == --dry-run ]]; then DRY_RUN=true; shift; fi
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python}

"$PYTHON" "$LIB/recipe.py" check "$CONFIG" "$@"
eval "$("$PYTHON" "$LIB/recipe.py" knobs "$CONFIG" "$@")"
cd "$REPO"

# Every command goes through `run`: printed (shell-quoted, one a line) in a dry run, executed otherwise.
run() {
    if ! $DRY_RUN; then "$@"; return; fi
    local arg line=()
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+=("$arg"); else line+=("'${arg//\'/\'\\\'\'}'"); fi
    done
    echo "${line[*]}"
}
# `run_json FILE cmd...`: the same, with the command's JSON summary (stdout) saved to FILE.
run_json() {
    local file=$1
    shift
    if $DRY_RUN; then run "$@"; echo "    (stdout -> $file)"; else "$@" > "$file"; fi
}
step() { printf '\n== %s\n' "$*"; }
subset() {  # subset SRC OUT SQL-CONDITION: the benchmark rows the paper uses (AIME24 = the 2024 rows, ...)
    run "$PYTHON" -c 'import duckdb, sys; duckdb.sql(f"COPY (SELECT * FROM read_parquet(\"{sys.argv[1]}\") WHERE {sys.argv[3]}) TO \"{sys.argv[2]}\" (FORMAT parquet)")' "$1" "$2" "$3"
}
P=$OUT/problems
PROTOCOL=(--temperature "$TEMPERATURE" --top-p "$TOP_P" --max-tokens "$MAX_TOKENS" --seed "$SEED")
GPUS_FOR_GENERATION=(--data-parallel "$DATA_PARALLEL" --tensor-parallel-size "$TENSOR_PARALLEL")
run mkdir -p "$P" "$OUT/traces" "$OUT/pools" "$OUT/eval"

step "1. Problems: GSM8K train (short pool), hard problems (long pool), the AIME dev set, the five benchmarks"
run tldr-data problems "$EASY_PROBLEMS" -o "$P/easy.parquet" --split train --overwrite
run tldr-data problems "$HARD_PROBLEMS" --split "$HARD_SPLIT" -o "$P/hard.parquet" --overwrite
run tldr-data problems "$DEV_PROBLEMS" --split dev -o "$P/dev.parquet" --overwrite
subset "$BENCHMARKS_DIR/aimo_validation_aime.parquet" "$P/aime24.src.parquet" "url LIKE '%2024%'"
subset "$BENCHMARKS_DIR/aimo_validation_amc.parquet" "$P/amc23.src.parquet" "url LIKE '%2023%'"
run tldr-data problems "$BENCHMARKS_DIR/gsm8k_main_test.parquet" -o "$P/gsm8k.parquet" --split test --overwrite
run tldr-data problems "$BENCHMARKS_DIR/math500_test.jsonl" -o "$P/math500.parquet" --split test --overwrite
run tldr-data problems "$P/aime24.src.parquet" -o "$P/aime24.parquet" --source aime24 --split test --overwrite
run tldr-data problems "$P/amc23.src.parquet" -o "$P/amc23.parquet" --source amc23 --split test --overwrite
run tldr-data problems "$BENCHMARKS_DIR/minerva_math_test.jsonl" -o "$P/minerva.parquet" --split test --overwrite

step "2. Pools on all $GPUS GPUs: System-1 once per GSM8K problem, System-2 $LONG_SAMPLES times per hard problem"
run tldr-data generate -m "$SYSTEM1_MODEL" --system system1 -i "$P/easy.parquet" -o "$OUT/traces/system1" \
    -n "$SHORT_SAMPLES" --temperature "$TEMPERATURE" --top-p "$TOP_P" --max-tokens "$POOL_MAX_TOKENS" --seed "$SEED" \
    "${GPUS_FOR_GENERATION[@]}"
run tldr-data generate -m "$SYSTEM2_MODEL" --system system2 -i "$P/hard.parquet" -o "$OUT/traces/system2" \
    -n "$LONG_SAMPLES" --temperature "$TEMPERATURE" --top-p "$TOP_P" --max-tokens "$POOL_MAX_TOKENS" --seed "$SEED" \
    "${GPUS_FOR_GENERATION[@]}"
for system in system1 system2; do
    run tldr-data verify "$OUT/traces/$system" -o "$OUT/traces/$system.verified.parquet" --overwrite
done
run tldr-data profile "$OUT/traces/system1.verified.parquet" "$OUT/traces/system2.verified.parquet" --by system
# Short pool: every correct System-1 answer. Long pool: the shortest correct System-2 sample of each problem,
# never one cut at the token limit.
run tldr-data select "$OUT/traces/system1.verified.parquet" --all-correct -o "$OUT/pools/short.parquet" --overwrite
run tldr-data select "$OUT/traces/system2.verified.parquet" --shortest-correct --drop-truncated \
    -o "$OUT/pools/long.parquet" --overwrite

step "3. References on dev, then $ROUNDS TLDR rounds of $ROUND_STEPS steps and $STATIC_ROUNDS static 1:1 rounds"
TRAINING=(--steps "$ROUND_STEPS" --lr "$LR" --lr-scheduler "$LR_SCHEDULER" --batch-size "$PER_DEVICE_BATCH"
          --grad-accum "$GRAD_ACCUM" --max-length "$MAX_LENGTH" --launcher "$LAUNCHER")
$BF16 && TRAINING+=(--bf16)
$GRADIENT_CHECKPOINTING && TRAINING+=(--gradient-checkpointing)
$CONTINUOUS || TRAINING+=(--fresh-optimizer)
for mode in tldr constant; do
    rounds=$ROUNDS; [[ $mode == constant ]] && rounds=$STATIC_ROUNDS
    if [[ ! -f $OUT/$mode/state.json ]]; then
        run tldr-train init --short-model "$SYSTEM1_MODEL" --long-model "$SYSTEM2_MODEL" \
            --short-pool "$OUT/pools/short.parquet" --long-pool "$OUT/pools/long.parquet" --dev "$P/dev.parquet" \
            -o "$OUT/$mode" --mode "$mode" --eta "$ETA" --floor "$FLOOR" --alpha0 "$ALPHA0" --tol "$TOL" \
            "${PROTOCOL[@]}" "${GPUS_FOR_GENERATION[@]}" "${TRAINING[@]}"
    fi
    run tldr-train run --run "$OUT/$mode" --rounds "$rounds"
done
if [[ -n $HUB_REPO ]]; then
    for ((r = 0; r < ROUNDS; r++)); do
        round=round-$(printf %03d "$r")
        run tldr-data push "$OUT/tldr/$round/mix" "$HUB_REPO" --revision "$round"
    done
fi
run tldr-train pick --run "$OUT/tldr" --tol "$TOL"

step "4. Final evaluation: the untouched System-2 model, the static 1:1 mixture and TLDR's selected round"
if $DRY_RUN; then
    tldr_ckpt=SELECTED_CHECKPOINT  # the checkpoint `tldr-train pick --run $OUT/tldr --json` names
else
    tldr_ckpt=$(tldr-train pick --run "$OUT/tldr" --tol "$TOL" --json \
        | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["checkpoint"])')
fi
static_ckpt=$OUT/constant/round-$(printf %03d $((STATIC_ROUNDS - 1)))/ckpt
TESTS=()
for pair in "system2=$SYSTEM2_MODEL" "static=$static_ckpt" "tldr=$tldr_ckpt"; do
    name=${pair%%=*}
    for bench in gsm8k math500 minerva aime24 amc23; do
        samples=1  # contests: accuracy averaged over several samples per problem (the paper: 8)
        [[ $bench == aime24 || $bench == amc23 ]] && samples=$CONTEST_SAMPLES
        run_json "$OUT/eval/$name-$bench.json" tldr-train eval -m "${pair#*=}" --bench "$P/$bench.parquet" \
            -n "$samples" "${PROTOCOL[@]}" "${GPUS_FOR_GENERATION[@]}" -o "$OUT/eval/$name" --json
        TESTS+=(--test "$name-$bench=$OUT/eval/$name-$bench.json")
    done
done
run_json "$OUT/report.md" tldr-train report --run "$OUT/tldr" "${TESTS[@]}" --plot "$OUT/pareto.png"

if $DRY_RUN; then
    echo
    "$PYTHON" "$LIB/recipe.py" plan "$CONFIG" "$@"
fi
