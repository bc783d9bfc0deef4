"""The paper recipes' helper: read config.yaml (+ KEY=VALUE overrides), check it, plan the resources.

    python recipes/lib/recipe.py knobs CONFIG [KEY=VALUE ...]   shell assignments (KEY=value) for run.sh
    python recipes/lib/recipe.py check CONFIG [KEY=VALUE ...]   config, local data paths, launchers
    python recipes/lib/recipe.py plan  CONFIG [KEY=VALUE ...]   GPUs, processes, tokens, GPU-hours per stage

No GPU and no network: paths are checked on disk, the launcher with accelerate's own config loader, and the
plan is arithmetic on the throughput figures the config states (their sources: docs/scaling.md).
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# Local files: relative to the repository root (../shared sits beside it). A value that is not on disk and
# looks like ORG/NAME is a Hub id (hard_problems may be either).
LOCAL = ("easy_problems", "dev_problems", "benchmarks_dir")
BENCHMARKS = {
    "gsm8k": "gsm8k_main_test.parquet",
    "math500": "math500_test.jsonl",
    "aime24": "aimo_validation_aime.parquet",
    "amc23": "aimo_validation_amc.parquet",
    "minerva": "minerva_math_test.jsonl",
}
# Rows per benchmark (docs: ../shared/data/SOURCES.md; AIME24 and AMC23 are the 2024 / 2023 subsets).
BENCH_ROWS = {"gsm8k": 1319, "math500": 500, "aime24": 30, "amc23": 40, "minerva": 272}
CONTESTS = ("aime24", "amc23")
ROWS = {"easy_problems": 7473, "hard_problems": 1000, "dev_problems": 919}  # GSM8K train, s1K, AIME dev
H100_BF16_FLOPS = 989e12  # dense bf16, NVIDIA H100 SXM datasheet
MODELS_EVALUATED = ("system2", "static", "tldr")  # the untouched System-2 model, the baseline, TLDR


def load(config: str, overrides: list[str]) -> dict:
    """The config with overrides applied (each KEY must exist; values keep the config's type)."""
    path = Path(config)
    knobs = yaml.safe_load(path.read_text())
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or key not in knobs:
            _fail(f"run.sh: {override!r} is not KEY=VALUE with a KEY of {path}")
        knobs[key] = _typed(value, knobs[key], key)
    return knobs


def knobs(config: str, overrides: list[str]) -> None:
    values = load(config, overrides)
    for key in LOCAL:
        values[key] = str((REPO / values[key]).resolve())
    values["launcher"] = _absolute_config(values["launcher"])
    values["repo"] = str(REPO)
    for key, value in values.items():
        print(f"{key.upper()}={shlex.quote(_shell(value))}")


def check(config: str, overrides: list[str]) -> None:
    """Exit 2 with one line on the first problem (bad input); print what was checked."""
    values = load(config, overrides)
    problems = []
    gpus, tp, dp = values["gpus"], values["tensor_parallel"], values["data_parallel"]
    if tp * dp > gpus:
        problems.append(f"data_parallel {dp} x tensor_parallel {tp} needs {tp * dp} GPUs; gpus is {gpus}")
    if values["rounds"] * values["round_steps"] > 2000:
        problems.append(
            f"rounds x round_steps = {values['rounds'] * values['round_steps']}: "
            "the paper trains at most 2,000 steps"
        )
    for key in LOCAL:
        if not (REPO / values[key]).exists():
            problems.append(f"{key}: {REPO / values[key]} does not exist")
    bench = REPO / values["benchmarks_dir"]
    problems += [
        f"benchmark {name}: {bench / f} does not exist"
        for name, f in BENCHMARKS.items()
        if not (bench / f).exists()
    ]
    if problems:
        _fail(f"run.sh: {problems[0]}")
    sys.path.insert(0, str(REPO))
    from tldr_data.errors import TldrError
    from tldr_train.launch import launcher_argv

    launcher = _absolute_config(values["launcher"])
    try:
        launcher_argv(launcher)
    except TldrError as err:
        _fail(f"run.sh: launcher: {err}")
    processes = _launched_processes(launcher)
    if processes is not None and processes != gpus:
        _fail(f"run.sh: the launcher starts {processes} training processes; gpus is {gpus}")
    print(f"checked: config {config}, data under {REPO / values['benchmarks_dir']}, launcher {launcher!r}")
    missing = [name for name in ("vllm", "deepspeed", "accelerate") if importlib.util.find_spec(name) is None]
    needed = [n for n in missing if n != "deepspeed" or "zero3" in launcher]
    if needed:
        print(f"note: not installed here: {', '.join(needed)} (pip install 'tldr[gpu]' on the GPU machine)")


def plan(config: str, overrides: list[str]) -> None:
    """A resource plan per stage: what runs where, tokens generated/trained, hours and GPU-hours."""
    v = load(config, overrides)
    gpus, dp, tp = v["gpus"], v["data_parallel"], v["tensor_parallel"]
    gen_rate = v["generate_tok_s_per_gpu"] * dp * tp
    # Training FLOPs: 6 x parameters per token, + 2 for the recomputed forward of gradient checkpointing.
    flops_per_token = (8 if v["gradient_checkpointing"] else 6) * v["params_b"] * 1e9
    train_rate = v["train_mfu"] * H100_BF16_FLOPS * gpus / flops_per_token
    batch = gpus * v["per_device_batch"] * v["grad_accum"]
    tail = v["max_tokens"] / v["decode_tok_s_per_sequence"]  # the longest sample of a pass bounds its time
    mean_dev = (v["t_long"] + 0.6 * v["t_long"]) / 2  # from T_l towards the paper's ~40% fewer tokens
    mixed = 0.5 * v["short_completion_tokens"] + 0.5 * v["long_completion_tokens"] + 150  # + prompt
    rows = []

    def gen(stage: str, tokens: float, passes: int = 1) -> None:
        seconds = passes * max(tokens / passes / gen_rate, tail)
        rows.append((stage, f"{dp} x vLLM (TP {tp})", dp * tp, tokens, 0.0, seconds))

    def train(stage: str, tokens: float, steps: int) -> None:
        rows.append(
            (stage, f"{v['launcher'].split()[0]}, {gpus} processes", gpus, 0.0, tokens, tokens / train_rate)
        )

    gen(
        "pools: System-1 on GSM8K train",
        ROWS["easy_problems"] * v["short_samples"] * v["short_completion_tokens"],
    )
    gen("pools: System-2 on hard problems", ROWS["hard_problems"] * v["long_samples"] * v["t_long"])
    gen("refs: both models on dev", ROWS["dev_problems"] * (v["t_short"] + v["t_long"]), passes=2)
    for mode, rounds in (("TLDR", v["rounds"]), ("static 1:1", v["static_rounds"])):
        train(
            f"{mode}: {rounds} rounds of training",
            rounds * v["round_steps"] * batch * mixed,
            rounds * v["round_steps"],
        )
        gen(f"{mode}: {rounds} dev evaluations", rounds * ROWS["dev_problems"] * mean_dev, passes=rounds)
    samples = sum(BENCH_ROWS[b] * (v["contest_samples"] if b in CONTESTS else 1) for b in BENCH_ROWS)
    starts = v["rounds"] + v["static_rounds"]
    rows.append(
        (
            "stage starts + checkpoint I/O",
            f"{2 * starts} child processes",
            gpus,
            0.0,
            0.0,
            starts * v["round_overhead_s"],
        )
    )
    gen(
        "final eval: 3 models x 5 benchmarks",
        len(MODELS_EVALUATED) * samples * mean_dev,
        passes=len(MODELS_EVALUATED) * 5,
    )
    print(f"resource plan ({gpus} x H100 80 GB; figures are estimates from the throughputs in the config):")
    print(
        f"  generation {v['generate_tok_s_per_gpu']:,} tok/s per GPU, >= {tail:,.0f} s per pass "
        f"(one sequence of {v['max_tokens']:,} tokens at {v['decode_tok_s_per_sequence']} tok/s); "
        f"training {train_rate:,.0f} tok/s on {gpus} GPUs ({v['train_mfu']:.0%} MFU, "
        f"{flops_per_token / 1e9:.0f} GFLOP/token)"
    )
    print(
        f"  {'stage':<38} {'runs as':<30} {'GPUs':>4} {'generated':>12} {'trained':>12} "
        f"{'hours':>7} {'GPU-h':>7}"
    )
    total_hours = total_gpu_hours = 0.0
    for stage, runs_as, used, generated, trained, seconds in rows:
        hours = seconds / 3600
        total_hours += hours
        total_gpu_hours += hours * gpus  # the node is held by the run whether a stage uses every GPU or not
        print(
            f"  {stage:<38} {runs_as:<30} {used:>4} {generated:>12,.0f} {trained:>12,.0f} "
            f"{hours:>7.1f} {hours * gpus:>7.1f}"
        )
    print(
        f"  {'total (node held)':<38} {'':<30} {gpus:>4} {'':>12} {'':>12} "
        f"{total_hours:>7.1f} {total_gpu_hours:>7.1f}"
    )


def _launched_processes(launcher: str) -> int | None:
    """Training processes the launcher starts (its accelerate config or --nproc_per_node), when it says."""
    words = shlex.split(launcher)
    if "--nproc_per_node" in words[:-1]:
        return int(words[words.index("--nproc_per_node") + 1])
    if "--config_file" in words[:-1]:
        from accelerate.commands.config.config_args import load_config_from_file

        return load_config_from_file(words[words.index("--config_file") + 1]).num_processes
    return None


def _fail(message: str) -> None:
    """One line on stderr, exit status 2: the config or an override is bad input."""
    print(message, file=sys.stderr)
    sys.exit(2)


def _typed(value: str, like, key: str):
    if isinstance(like, bool):
        if value.lower() not in ("true", "false"):
            _fail(f"run.sh: {key}={value!r}: expected true or false")
        return value.lower() == "true"
    try:
        return type(like)(value) if isinstance(like, int | float) else value
    except ValueError:
        _fail(f"run.sh: {key}={value!r}: expected a {type(like).__name__}")


def _shell(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _absolute_config(launcher: str) -> str:
    """`--config_file recipes/...` resolved against the repository, so rounds run from any directory."""
    words = shlex.split(launcher)
    if "--config_file" in words[:-1]:
        index = words.index("--config_file") + 1
        words[index] = str((REPO / words[index]).resolve())
    return shlex.join(words)


if __name__ == "__main__":
    command, config, *rest = sys.argv[1:]
    {"knobs": knobs, "check": check, "plan": plan}[command](config, rest)
