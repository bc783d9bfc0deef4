#!/usr/bin/env bash
# TLDR end to end on a laptop CPU: a synthetic world, scripted teachers, two tiny models trained from scratch,
# their pools, TLDR rounds against the static 1:1 mixture, and a held-out comparison of all four models.
#
#   bash recipes/toy-arith/run.sh [PROFILE] [KEY=VALUE ...]   # PROFILE: cpu (default) or smoke; see config.yaml
#   bash recipes/toy-arith/run.sh cpu round_seed=1 out=runs/toy-arith-r1   # any knob, overridden for one run
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
started=$SECONDS
step() { printf '\n== [%4ds] %s\n' $((SECONDS - started)) "$*"; }
between() { echo "difficulty BETWEEN ${1%-*} AND ${1#*-}"; }  # "2-3" -> an SQL condition on the level
levels_in() { echo $(( ${1#*-} - ${1%-*} + 1 )); }
P=$OUT/problems
GREEDY=(--backend transformers --temperature 0 --max-tokens "$MAX_TOKENS")

step "1. The world: digit chains on levels $LEVELS (level L: L+1 operands), in disjoint splits"
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

step "2. Scripted teachers: System-1 jots the steps down; System-2 thinks, then re-checks 0-$MAX_RECHECKS times"
tldr-data teach -i "$P/train.parquet" --system system1 -o "$OUT/teach/system1.parquet" --seed "$SEED"
tldr-data teach -i "$P/train.parquet" --system system2 --max-rechecks "$MAX_RECHECKS" \
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
for system in system1 system2; do
    steps_var=${system^^}_STEPS
    tldr-train sft -m "$OUT/models/base" -d "$OUT/mix/$system" -o "$OUT/models/$system" --max-steps "${!steps_var}" \
        --lr "$LR" --lr-scheduler linear --batch-size "$BATCH_SIZE" --max-length "$MAX_LENGTH" "${TRUNCATION[@]}" \
        --seed "$SEED" --warmup_steps "$WARMUP_STEPS"
done

step "6. Sample both models on fresh problems, verify, profile, and select the two pools"
tldr-data generate -m "$OUT/models/system1" -i "$P/pool-easy.parquet" -o "$OUT/traces/system1" --system system1 \
    "${GREEDY[@]}" --seed "$SEED" -O batch_size="$GEN_BATCH"
tldr-data generate -m "$OUT/models/system2" -i "$P/pool-hard.parquet" -o "$OUT/traces/system2" --system system2 \
    --backend transformers -n "$POOL_SAMPLES" --temperature "$POOL_TEMPERATURE" --top-p "$POOL_TOP_P" \
    --max-tokens "$MAX_TOKENS" --seed "$SEED" -O batch_size="$GEN_BATCH"
for system in system1 system2; do
    tldr-data verify "$OUT/traces/$system" -o "$OUT/traces/$system.verified.parquet"
done
tldr-data profile "$OUT"/traces/*.verified.parquet --by system,difficulty
# Short pool: System-1's correct answers to easy problems. Long pool: System-2's shortest correct sample of
# each hard problem (no re-checks, where one of its samples skipped them).
tldr-data select "$OUT/traces/system1.verified.parquet" --shortest-correct -o "$OUT/pools/short.parquet"
tldr-data select "$OUT/traces/system2.verified.parquet" --shortest-correct -o "$OUT/pools/long.parquet"

step "7. TLDR: reference points on dev, then $ROUNDS rounds of $ROUND_STEPS steps that re-weight the pools"
# The static 1:1 mixture is the same loop with the ratio held at 0.5 (--mode constant): same budget, same draws.
OPTIMIZER=(--lr-scheduler "$ROUND_LR_SCHEDULER")
[[ ${CONTINUOUS,,} == true ]] || OPTIMIZER+=(--fresh-optimizer)
for mode in tldr constant; do
    tldr-train init --short-model "$OUT/models/system1" --long-model "$OUT/models/system2" \
        --short-pool "$OUT/pools/short.parquet" --long-pool "$OUT/pools/long.parquet" --dev "$P/dev.parquet" \
        -o "$OUT/$mode" --mode "$mode" --eta "$ETA" --tol "$TOL" "${GREEDY[@]}" --seed "$ROUND_SEED" \
        --steps "$ROUND_STEPS" --mix-size "$MIX_SIZE" --lr "$ROUND_LR" --batch-size "$ROUND_BATCH_SIZE" \
        --max-length "$MAX_LENGTH" "${TRUNCATION[@]}" "${OPTIMIZER[@]}"
    tldr-train run --run "$OUT/$mode" --rounds "$ROUNDS"
done
tldr-train pick --run "$OUT/tldr"

step "8. Held-out test: System-1, System-2, the static 1:1 mixture and the selected TLDR round"
tldr_ckpt=$(tldr-train pick --run "$OUT/tldr" --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["checkpoint"])')
static_ckpt=$OUT/constant/round-$(printf %03d $((ROUNDS - 1)))/ckpt
mkdir -p "$OUT/eval"
for pair in "system1=$OUT/models/system1" "system2=$OUT/models/system2" "static=$static_ckpt" "tldr=$tldr_ckpt"; do
    name=${pair%%=*}
    tldr-train eval -m "${pair#*=}" --bench "$P/test.parquet" "${GREEDY[@]}" --seed "$SEED" \
        -o "$OUT/eval/$name" --json > "$OUT/eval/$name.json"
done

step "9. Report: $OUT/report.md, $OUT/report.json, $OUT/pareto.png"
TESTS=(--test "system1=$OUT/eval/system1.json" --test "system2=$OUT/eval/system2.json"
       --test "static=$OUT/eval/static.json" --test "tldr=$OUT/eval/tldr.json")
tldr-train report --run "$OUT/tldr" "${TESTS[@]}" --plot "$OUT/pareto.png" > "$OUT/report.md"
tldr-train report --run "$OUT/tldr" "${TESTS[@]}" --json > "$OUT/report.json"
cat "$OUT/report.md"
printf '\nDone in %ds (profile %s): every file above is under %s/\n' $((SECONDS - started)) "$PROFILE" "$OUT"
