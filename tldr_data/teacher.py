"""Scripted teacher traces for the synthetic arithmetic world (`synth`).

The paper distils from real System-1 and System-2 models; the toy world has none, so a script plays both
teachers to bootstrap tiny models trained on the spot. The System-1 teacher answers at once. The System-2
teacher works left to right, one partial result per line, then re-checks the whole chain a random number of
times with the hesitation phrases real long-CoT models use: that redundancy is what TLDR should learn to drop
on problems that do not need it.

Rows follow the `traces` contract, so teacher data flows through `verify`, `profile`, `select` and `mix` like
any model's. `prompt` holds the user message (there is no engine, hence no rendered template); `mix` rebuilds
the conversation from `question` and the instruction in `gen_config`, as it does for generated traces.
`completion_tokens` is left null: `verify --tokenizer` counts it with the student's tokenizer.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_data import synth
from tldr_data.atomic import write_parquet
from tldr_data.errors import ConfigError, InputError, OutputExistsError
from tldr_data.prompts import DEFAULT_INSTRUCTION
from tldr_data.schema import conform, require_columns

STYLES = ("system1", "system2")
OPENERS = (
    "Let me work through this step by step.",
    "Let me compute it one step at a time.",
    "Okay, step by step.",
)
RECHECKS = (
    "Wait, let me double-check that.",
    "Hmm, let me verify it again.",
    "Wait, let me recompute to be sure.",
    "Let me go over it once more.",
)
CONFIRMS = ("Yes, that matches.", "Same result.", "Okay, it is consistent.")


def system1_completion(question: str) -> str:
    """The System-1 teacher: the answer alone."""
    return f"The answer is \\boxed{{{synth.evaluate(question)}}}."


def system2_completion(question: str, rechecks: int, rng: random.Random) -> str:
    """The System-2 teacher: the running steps, then `rechecks` redundant passes over them."""
    chain = [f"{expr} = {value}." for expr, value in synth.running_steps(question)]
    lines = ["<think>", rng.choice(OPENERS), *chain]
    for _ in range(rechecks):
        lines += [rng.choice(RECHECKS), *chain, rng.choice(CONFIRMS)]
    lines += ["</think>", f"So the answer is \\boxed{{{synth.evaluate(question)}}}."]
    return "\n".join(lines)


def teach(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    style: str,
    samples: int = 1,
    max_rechecks: int = 2,
    seed: int = 0,
    instruction: str = DEFAULT_INSTRUCTION,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write `samples` scripted traces per synth problem of `input` to the `traces` file `output`."""
    started = time.perf_counter()
    if style not in STYLES:
        raise ConfigError(f"--style {style!r}: choose one of {', '.join(STYLES)}")
    if samples < 1 or max_rechecks < 0:
        raise ConfigError("--samples must be >= 1 and --max-rechecks >= 0")
    target = Path(output)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass --overwrite to replace it")
    if not Path(input).is_file():
        raise InputError(f"{input}: no such file; make problems with `tldr-data synth` first")
    problems = pq.read_table(input)
    require_columns(problems.column_names, "problems", str(input))
    questions = problems.column("question").to_pylist()
    for question in questions:
        synth.parse_expression(question)
    gen_config = json.dumps(
        {
            "teacher": style,
            "instruction": instruction,
            "system_prompt": None,
            "max_rechecks": max_rechecks,
            "seed": seed,
        },
        sort_keys=True,
    )
    rows, sample_idx, completions = [], [], []
    for row, question in enumerate(questions):
        for s in range(samples):
            rng = random.Random(f"{seed}:{question}:{s}")
            rows.append(row)
            sample_idx.append(s)
            completions.append(
                system1_completion(question)
                if style == "system1"
                else system2_completion(question, rng.randint(0, max_rechecks), rng)
            )
    table = problems.take(rows)
    user = [q + ("\n\n" + instruction if instruction else "") for q in table.column("question").to_pylist()]
    n = len(rows)
    extra = {
        "system": pa.array([style] * n),
        "model": pa.array([f"teacher-{style}"] * n),
        "sample_idx": pa.array(sample_idx, pa.int32()),
        "prompt": pa.array(user),
        "completion": pa.array(completions),
        "finish_reason": pa.array(["stop"] * n),
        "prompt_tokens": pa.nulls(n, pa.int32()),
        "completion_tokens": pa.nulls(n, pa.int32()),
        "gen_config": pa.array([gen_config] * n),
        "backend": pa.array(["teacher"] * n),
    }
    for name, values in extra.items():
        table = table.append_column(name, values)
    write_parquet(conform(table, "traces"), target)
    seconds = time.perf_counter() - started
    return {
        "output": str(target),
        "rows": n,
        "problems": len(questions),
        "style": style,
        "seconds": round(seconds, 3),
    }
