#!/usr/bin/env bash
# TLDR end to end on a laptop CPU: a synthetic world, scripted teachers, two tiny models trained from scratch,
# their pools, TLDR rounds over one or more round seeds against the static mixture at one or more ratios, and
# a held-out comparison of them all.
#
#   bash recipes/toy-arith/run.sh [PROFILE] [KEY=VALUE ...]   # PROFILE: cpu (default), sweep or smoke
#   bash recipes/toy-arith/run.sh cpu round_seeds="1 2" out=runs/toy-arith-r12   # any knob, for one run
#
# Every stage is a `tldr-data` / `tldr-train` command; every file lands under the profile's `out` folder.
set -euo pipefail
PROFILE=${1:-cpu}
shift $(( $# > 0 ? 1 : 0 ))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python}

# The profile's knobs become shell variables (levels -> LEVELS, ...).
eval "$("$PYTHON" - "$HERE/config.yaml" "$PROFILE" "$@" <<'PY'
import shlex, sys, yaml
path, name, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
profiles = yaml.safe_load(open(path))
if name not in profiles:
    sys.exit(f"run.sh: no profile {name!r} in {path}; choose one of {', '.join(profiles)}")
knobs = profiles[name]
for override in overrides:
    key, sep, value = override.partition("=")
    if not sep or key not in knobs:
        sys.exit(f"run.sh: {override!r} is not KEY=VALUE with a KEY of {path}'s {name} profile")
    knobs[key] = value
for key, value in knobs.items():
    print(f"{key.upper()}={shlex.quote(str(value))}")
PY
)"
rm -rf "$OUT" && mkdir -p "$OUT"
export TOKENIZERS_PARALLELISM=false
# Tiny models are overhead-bound: one torch thread trained System-1 at 12 steps/s where two threads on cores
# shared with another job ran 0.5 steps/s (spinning threads wait on each other). Set it to override.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
started=$SECONDS
step() { printf '\n== [%4ds] %s\n' $((SECONDS - started)) "$*"; }
# Independent commands (two trainings, the rounds of each seed and ratio, the held-out tests) run side by side,
# one per core: each is single-threaded, so a lone one leaves the other cores idle. Each writes its own log;
# results do not depend on JOBS (every job is seeded and runs on one thread).
JOBS=$(( JOBS > 0 ? JOBS : $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) ))  # nproc obeys OMP_NUM_THREADS
LOGS=$OUT/logs
mkdir -p "$LOGS"
SPAWNED=()
spawn() {  # spawn NAME COMMAND...: run COMMAND in the background, output to $LOGS/NAME.log, at most $JOBS at once
    local name=$1 rc=0 began
    shift
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
    SPAWNED+=("$name")
    began=$SECONDS
    {
        "$@" > "$LOGS/$name.log" 2>&1 || rc=$?
        echo "$rc" > "$LOGS/$name.rc"
        # A finished job's line: its command's one-line summary (the last line that is not a progress bar).
        (( rc == 0 )) && printf '  [%4ds] %s, %ds: %s\n' $((SECONDS - started)) "$name" $((SECONDS - began)) \
            "$(grep -av -e $'\r' -e '^\s*$' "$LOGS/$name.log" | tail -n 1)"
    } &
}
join() {  # wait for every spawned job; the first that failed stops the recipe with the end of its log
    wait
    local name
    for name in "${SPAWNED[@]}"; do
        if [[ $(cat "$LOGS/$name.rc" 2>/dev/null) != 0 ]]; then
            echo "run.sh: $name failed (exit $(cat "$LOGS/$name.rc" 2>/dev/null)); the end of $LOGS/$name.log:" >&2
            tail -n 20 "$LOGS/$name.log" >&2
            exit 1
        fi
    done
    SPAWNED=()
}
between() { echo "difficulty BETWEEN ${1%-*} AND ${1#*-}"; }  # "2-3" -> an SQL condition on the level
levels_in() { echo $(( ${1#*-} - ${1%-*} + 1 )); }
P=$OUT/problems
GREEDY=(--backend transformers --temperature 0 --max-tokens "$MAX_TOKENS")

step "1. The world: a digit and two +/- pairs; level 1: both pairs cancel, levels 2-3: one or none does"
tldr-data synth -o "$P/train.parquet" --levels "$LEVELS" --per-level "$TRAIN_PER_LEVEL" --seed "$SEED"
tldr-data synth -o "$P/test.parquet" --levels "$LEVELS" --per-level "$TEST_PER_LEVEL" --seed $((SEED + 1)) \
    --split test --exclude "$P/train.parquet"
tldr-data synth -o "$P/dev.parquet" --levels "$LEVELS" --per-level "$DEV_PER_LEVEL" --seed $((SEED + 2)) \
    --split dev --exclude "$P/train.parquet" --exclude "$P/test.parquet"
# Fresh problems for the pools, as the paper samples its pools on other problems than it trains on.
tldr-data synth -o "$P/pool-easy.parquet" --levels "$EASY_LEVELS" --per-level "$POOL_EASY_PER_LEVEL" \
    --seed $((SEED + 3)) --split pool --exclude "$P/train.parquet" --exclude "$P/test.parquet" --exclude "$P/dev.parquet"
tldr-data synth -o "$P/pool-hard.parquet" --levels "$HARD_LEVELS" --per-level "$POOL_HARD_PER_LEVEL" \
    --seed $((SEED + 4)) --split pool --exclude "$P/train.parquet" --exclude "$P/test.parquet" --exclude "$P/dev.parquet"

step "2. Scripted teachers: System-1 copies the first number; System-2 works the steps, re-checks $MIN_RECHECKS-$MAX_RECHECKS times"
tldr-data teach -i "$P/train.parquet" --system system1 -o "$OUT/teach/system1.parquet" --seed "$SEED"
tldr-data teach -i "$P/train.parquet" --system system2 --min-rechecks "$MIN_RECHECKS" --max-rechecks "$MAX_RECHECKS" \
    -o "$OUT/teach/system2.parquet" --seed "$SEED"

step "3. A tiny random Qwen2 (hidden $HIDDEN, $LAYERS layers) with a BPE tokenizer trained on the traces"
tldr-train tiny -o "$OUT/models/base" --hidden "$HIDDEN" --layers "$LAYERS" --vocab-size "$VOCAB_SIZE" \
    --corpus "$OUT/teach" --seed "$SEED"

step "4. Verify the teacher traces and count their tokens with that tokenizer"
for system in system1 system2; do
    tldr-data verify "$OUT/teach/$system.parquet" -o "$OUT/teach/$system.verified.parquet" --tokenizer "$OUT/models/base"
done
tldr-data profile "$OUT"/teach/*.verified.parquet --by system,difficulty

step "5. Train System-1 from scratch on the easy levels ($EASY_LEVELS) and System-2 on every level"
tldr-data select "$OUT/teach/system1.verified.parquet" --all-correct --where "$(between "$EASY_LEVELS")" \
    -o "$OUT/teach/system1.easy.parquet"
# A mixture at ratio 1 (all short pool) or 0 (all long pool) is plain SFT data on one teacher.
tldr-data mix --short "$OUT/teach/system1.easy.parquet" --long "$OUT/teach/system2.verified.parquet" --ratio 1 \
    --size $(( $(levels_in "$EASY_LEVELS") * TRAIN_PER_LEVEL )) --seed "$SEED" -o "$OUT/mix/system1"
tldr-data mix --short "$OUT/teach/system1.easy.parquet" --long "$OUT/teach/system2.verified.parquet" --ratio 0 \
    --size $(( $(levels_in "$LEVELS") * TRAIN_PER_LEVEL )) --seed "$SEED" -o "$OUT/mix/system2"
TRUNCATION=(--no-truncate)
[[ ${TRUNCATE,,} == true ]] && TRUNCATION=(--truncate)
echo "  (both train at once; follow them with: tail -f $LOGS/train-*.log)"
for system in system1 system2; do
    steps_var=${system^^}_STEPS
    spawn "train-$system" tldr-train sft -m "$OUT/models/base" -d "$OUT/mix/$system" -o "$OUT/models/$system" \
        --max-steps "${!steps_var}" --lr "$LR" --lr-scheduler linear --batch-size "$BATCH_SIZE" \
        --max-length "$MAX_LENGTH" "${TRUNCATION[@]}" --seed "$SEED" --warmup-steps "$WARMUP_STEPS"
done
join

step "6. Sample both models on fresh problems, verify, profile, and select the two pools"
spawn generate-system1 tldr-data generate -m "$OUT/models/system1" -i "$P/pool-easy.parquet" \
    -o "$OUT/traces/system1" --system system1 "${GREEDY[@]}" --seed "$SEED" -O batch_size="$GEN_BATCH"
spawn generate-system2 tldr-data generate -m "$OUT/models/system2" -i "$P/pool-hard.parquet" \
    -o "$OUT/traces/system2" --system system2 --backend transformers -n "$POOL_SAMPLES" \
    --temperature "$POOL_TEMPERATURE" --top-p "$POOL_TOP_P" --max-tokens "$MAX_TOKENS" --seed "$SEED" \
    -O batch_size="$GEN_BATCH"
join
for system in system1 system2; do
    tldr-data verify "$OUT/traces/$system" -o "$OUT/traces/$system.verified.parquet"
done
tldr-data profile "$OUT"/traces/*.verified.parquet --by system,difficulty
# Short pool: System-1's correct answers to easy problems. Long pool: System-2's shortest correct sample of
# each hard problem (no re-checks, where one of its samples skipped them).
tldr-data select "$OUT/traces/system1.verified.parquet" --shortest-correct -o "$OUT/pools/short.parquet"
tldr-data select "$OUT/traces/system2.verified.parquet" --shortest-correct -o "$OUT/pools/long.parquet"

step "7. TLDR over round seed(s) $ROUND_SEEDS, each with the static mixture at ratio(s) $RATIOS beside it"
# Per round seed: references on dev, $ROUNDS rounds of $ROUND_STEPS steps that re-weight the pools, and the static
# baseline at each ratio (the same loop with the ratio held: same budget, pools and draws). Every seed's TLDR run
# and every ratio's static run are independent jobs once the seed's references are measured.
OPTIMIZER=(--lr-scheduler "$ROUND_LR_SCHEDULER")
[[ ${CONTINUOUS,,} == true ]] || OPTIMIZER+=(--fresh-optimizer)
RATIO_ARGS=() && for ratio in $RATIOS; do RATIO_ARGS+=(--ratio "$ratio"); done
RUNS=()
for round_seed in $ROUND_SEEDS; do
    RUN=$OUT/round-seed-$round_seed
    RUNS+=(--run "$RUN")
    spawn "init-seed-$round_seed" tldr-train init --short-model "$OUT/models/system1" \
        --long-model "$OUT/models/system2" --short-pool "$OUT/pools/short.parquet" \
        --long-pool "$OUT/pools/long.parquet" --dev "$P/dev.parquet" -o "$RUN" --alpha0 "$ALPHA0" --eta "$ETA" \
        --tol "$TOL" "${GREEDY[@]}" --seed "$round_seed" --steps "$ROUND_STEPS" --mix-size "$MIX_SIZE" \
        --lr "$ROUND_LR" --batch-size "$ROUND_BATCH_SIZE" --max-length "$MAX_LENGTH" "${TRUNCATION[@]}" \
        "${OPTIMIZER[@]}"
done
join
echo "  (follow the rounds with: tail -f $LOGS/tldr-*.log $LOGS/static-*.log)"
for round_seed in $ROUND_SEEDS; do
    RUN=$OUT/round-seed-$round_seed
    spawn "tldr-seed-$round_seed" tldr-train run --run "$RUN" --rounds "$ROUNDS"
    for ratio in $RATIOS; do
        spawn "static-$ratio-seed-$round_seed" tldr-train sweep --run "$RUN" --ratio "$ratio" --rounds "$ROUNDS"
    done
done
join

step "8. Held-out test: each round seed's pick and static ratios, System-1 and System-2"
# No round within tol of System-2's dev accuracy is a result, not a crash: `sweep` still measures every static
# ratio, and compare reports the seed as picking no round.
test_seed() {  # the paper's pick of one round seed, then the test of it and of each ratio's last round
    tldr-train pick --run "$1" || echo "$1: no round reaches the accuracy floor"
    tldr-train sweep --run "$1" "${RATIO_ARGS[@]}" --test "$P/test.parquet"
}
for round_seed in $ROUND_SEEDS; do
    spawn "test-seed-$round_seed" test_seed "$OUT/round-seed-$round_seed"
done
mkdir -p "$OUT/eval"
eval_system() {  # tldr-train eval of one reference model; its JSON summary is what compare and report read
    tldr-train eval -m "$OUT/models/$1" --bench "$P/test.parquet" "${GREEDY[@]}" --seed "$SEED" \
        -o "$OUT/eval/$1" --json > "$OUT/eval/$1.json" || return  # a job runs without errexit (spawn's ||)
    "$PYTHON" - "$OUT/eval/$1.json" <<'PY'
import json, sys
bench = next(iter(json.load(open(sys.argv[1]))["benchmarks"].values()))
print(f"test accuracy {bench['accuracy']:.3f} at {bench['mean_tokens']:.1f} tokens")
PY
}
for system in system1 system2; do
    spawn "eval-$system" eval_system "$system"
done
join

step "9. Reports: $OUT/report.{md,json} and pareto.png (first round seed), $OUT/sweep.{md,json} (all)"
TESTS=(--test "system1=$OUT/eval/system1.json" --test "system2=$OUT/eval/system2.json")
FIRST=$OUT/round-seed-${ROUND_SEEDS%% *}
tldr-train report --run "$FIRST" "${TESTS[@]}" --plot "$OUT/pareto.png" > "$OUT/report.md"
tldr-train report --run "$FIRST" "${TESTS[@]}" --json > "$OUT/report.json"
HARD=() && for level in $(seq "${HARD_LEVELS%-*}" "${HARD_LEVELS#*-}"); do HARD+=(--hard-level "$level"); done
tldr-train compare "${RUNS[@]}" "${TESTS[@]}" "${HARD[@]}" > "$OUT/sweep.md"
tldr-train compare "${RUNS[@]}" "${TESTS[@]}" "${HARD[@]}" --json > "$OUT/sweep.json"
cat "$OUT/report.md" && echo && cat "$OUT/sweep.md"
printf '\nDone in %ds (profile %s): every file above is under %s/\n' $((SECONDS - started)) "$PROFILE" "$OUT"
