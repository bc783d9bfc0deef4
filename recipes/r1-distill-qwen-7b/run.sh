#!/usr/bin/env bash
# TLDR on DeepSeek-R1-Distill-Qwen-7B, the paper's setup on one node of 8 GPUs: every knob is in config.yaml.
#
#   bash recipes/r1-distill-qwen-7b/run.sh --dry-run            # check, print the commands and a resource plan
#   bash recipes/r1-distill-qwen-7b/run.sh [KEY=VALUE ...]      # run it (needs the Hub and GPUs); re-run resumes
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$HERE/../lib/paper.sh" "$HERE/config.yaml" "$@"
