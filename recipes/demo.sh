#!/usr/bin/env bash
# The pipeline end to end on a CPU in a few minutes, with tiny models trained on the spot.
# Every stage is a `tldr-data` / `tldr-train` command; every file it writes lands under runs/demo/.
set -euo pipefail
OUT=${OUT:-runs/demo}
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1} VLLM_ENABLE_V1_MULTIPROCESSING=0 TOKENIZERS_PARALLELISM=false
rm -rf "$OUT" && mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "1. problems: a synthetic arithmetic world (train) and a disjoint dev split"
tldr-data synth -o "$OUT/train.parquet" --levels 1-6 --per-level 60 --seed 0
tldr-data synth -o "$OUT/dev.parquet" --levels 1-6 --per-level 8 --seed 1 --split dev --exclude "$OUT/train.parquet"

step "2. scripted teachers: System-1 answers at once, System-2 thinks step by step and re-checks"
tldr-data teach -i "$OUT/train.parquet" --style system1 -o "$OUT/teach/system1.parquet"
tldr-data teach -i "$OUT/train.parquet" --style system2 -n 2 -o "$OUT/teach/system2.parquet"

step "3. a tiny random Qwen2 with a tokenizer trained on this world"
tldr-train tiny -o "$OUT/models/base" --hidden 64 --layers 2 --corpus "$OUT/teach/system2.parquet"

step "4. verify the teacher traces and count their tokens with the student's tokenizer"
tldr-data verify "$OUT/teach/system1.parquet" -o "$OUT/teach/system1.verified.parquet" --tokenizer "$OUT/models/base"
tldr-data verify "$OUT/teach/system2.parquet" -o "$OUT/teach/system2.verified.parquet" --tokenizer "$OUT/models/base"
tldr-data profile "$OUT"/teach/*.verified.parquet --by system

step "5. bootstrap a System-2 student: SFT on the System-2 teacher (a mixture at ratio 0)"
tldr-data mix --short "$OUT/teach/system1.verified.parquet" --long "$OUT/teach/system2.verified.parquet" \
    --ratio 0 --size 600 -o "$OUT/mix/bootstrap-system2"
tldr-train sft -m "$OUT/models/base" -d "$OUT/mix/bootstrap-system2" -o "$OUT/models/system2" \
    --max-steps 60 --lr 3e-3 --batch-size 16 --max-length 256

step "6. sample the student on dev, verify, profile"
tldr-data generate -m "$OUT/models/system2" -i "$OUT/dev.parquet" -o "$OUT/traces/system2" --system system2 \
    --backend transformers --temperature 0 --max-tokens 256
tldr-data verify "$OUT/traces/system2" -o "$OUT/traces/system2.verified.parquet"
tldr-data profile "$OUT/traces/system2.verified.parquet" --by system,difficulty

step "7. pools and the TLDR ratio a round would train with next"
tldr-data select "$OUT/teach/system1.verified.parquet" -o "$OUT/pools/short.parquet" --shortest-correct --where "difficulty <= 2"
tldr-data select "$OUT/teach/system2.verified.parquet" -o "$OUT/pools/long.parquet" --shortest-correct --where "difficulty >= 3"
tldr-data ratio --refs 10,0.4,120,0.9 --alpha 0.5 --acc 0.8 --tokens 100 --json
tldr-data mix --short "$OUT/pools/short.parquet" --long "$OUT/pools/long.parquet" --ratio 0.5 --size 200 \
    -o "$OUT/mix/round-000" --round 0
printf '\nDemo finished: every file above is under %s/\n' "$OUT"
