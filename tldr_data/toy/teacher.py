"""Scripted teacher traces for the synthetic arithmetic world (`synth`).

The paper distils from real System-1 and System-2 models; the toy world has none, so a script plays both
teachers to bootstrap tiny models trained on the spot. Both write the same compact steps (`3+5=8`, one running
result per line, no spaces: digits and operators are one token each, so a step costs 5 tokens).

The System-1 teacher takes the world's shortcut: it notes that the pairs cancel and answers with the first
number, whatever the question. That is right on level 1 (every pair cancels) and wrong on every harder level,
like a System-1 model that answers hard problems as briefly as easy ones. It ends its thinking exactly as
System-2 does, so a System-2 model fine-tuned on its answers changes what it writes, not how it stops
(without the tags, fine-tuned models ran on past the last step).

The System-2 teacher thinks first: an opener, the steps, then `min_rechecks` to `max_rechecks` redundant
re-checks with the hesitation phrases real long-CoT models use, each restating the whole chain with its result
(`3+5-2=6`). At least one re-check is a habit, as over-thinking is a real System-2 model's: its shortest
correct sample still re-checks, so the long pool keeps most of the length (the paper's "more long data keeps
the length"); with `min_rechecks` 0 its shortest sample would be nearly as short as the short pool's answers
and pure long data would be the shortest mixture. A re-check restates rather than recomputes the steps: a
tiny model recomputing them again and again compounds its own slips (measured: 52% greedy dev accuracy
after 1,500 steps), and the answer it boxes is the last pass's.

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

from tldr_data.atomic import write_parquet
from tldr_data.errors import ConfigError, InputError, OutputExistsError
from tldr_data.paths import check_outputs
from tldr_data.prompts import DEFAULT_INSTRUCTION
from tldr_data.schema import conform, require_columns
from tldr_data.toy import synth

SYSTEMS = ("system1", "system2")
SHORTCUT = "The pairs cancel out."
OPENERS = (
    "Let me work through this step by step.",
    "Let me compute it one step at a time.",
    "Okay, step by step.",
)
# Every re-check opens with the same word, so "think again" is one likely next token after the steps and a
# greedy System-2 model re-checks like its teacher does most of the time, instead of stopping at once.
RECHECKS = (
    "Wait, let me double-check that.",
    "Wait, hmm, let me verify it again.",
    "Wait, let me check the whole chain again.",
    "Wait, let me go over it once more.",
)
CONFIRMS = ("Yes, that matches.", "Same result.", "Okay, it is consistent.")


def steps(question: str) -> list[str]:
    """The compact running steps: `What is 3 + 5 - 2?` -> ["3+5=8", "8-2=6"]."""
    return [f"{expr.replace(' ', '')}={value}" for expr, value in synth.running_steps(question)]


def system1_completion(question: str) -> str:
    """The System-1 teacher: the shortcut (the first number), right only when every pair cancels."""
    first = synth.parse_expression(question)[0][0]
    return "\n".join(["<think>", SHORTCUT, "</think>", f"So the answer is \\boxed{{{first}}}."])


def system2_completion(question: str, rechecks: int, rng: random.Random) -> str:
    """The System-2 teacher: an opener, the steps, then `rechecks` redundant restatements of the result."""
    chain = steps(question)
    answer = synth.solve(question)
    operands, operators = synth.parse_expression(question)
    restated = str(operands[0]) + "".join(
        f"{op}{value}" for op, value in zip(operators, operands[1:], strict=True)
    )
    lines = ["<think>", rng.choice(OPENERS), *chain]
    for _ in range(rechecks):
        lines += [rng.choice(RECHECKS), f"{restated}={answer}", rng.choice(CONFIRMS)]
    lines += ["</think>", f"So the answer is \\boxed{{{answer}}}."]
    return "\n".join(lines)


def teach(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    system: str,
    samples: int = 1,
    min_rechecks: int = 0,
    max_rechecks: int = 2,
    seed: int = 0,
    instruction: str = DEFAULT_INSTRUCTION,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write `samples` scripted traces per synth problem of `input` to the `traces` file `output`."""
    started = time.perf_counter()
    if system not in SYSTEMS:
        raise ConfigError(f"--system {system!r}: choose one of {', '.join(SYSTEMS)}")
    if samples < 1 or not 0 <= min_rechecks <= max_rechecks:
        raise ConfigError("--samples must be >= 1 and 0 <= --min-rechecks <= --max-rechecks")
    target = Path(output)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass --overwrite to replace it")
    check_outputs({"-o/--output": output}, [input])
    if Path(input).is_dir():
        raise InputError(f"{input}: is a folder; give the `problems` Parquet file from `tldr-data synth`")
    if not Path(input).is_file():
        raise InputError(f"{input}: no such file; make problems with `tldr-data synth` first")
    try:
        problems = pq.read_table(input)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(
            f"{input}: not a Parquet file ({str(err).splitlines()[0]}); give the output of `tldr-data synth`"
        ) from None
    require_columns(problems.column_names, "problems", str(input))
    questions = problems.column("question").to_pylist()
    for question in questions:
        synth.parse_expression(question)
    gen_config = json.dumps(
        {
            "teacher": system,
            "instruction": instruction,
            "system_prompt": None,
            "min_rechecks": min_rechecks,
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
                if system == "system1"
                else system2_completion(question, rng.randint(min_rechecks, max_rechecks), rng)
            )
    table = problems.take(rows)
    user = [q + ("\n\n" + instruction if instruction else "") for q in table.column("question").to_pylist()]
    n = len(rows)
    extra = {
        "system": pa.array([system] * n),
        "model": pa.array([f"teacher-{system}"] * n),
        "sample_idx": pa.array(sample_idx, pa.int32()),
        "prompt": pa.array(user),
        "completion": pa.array(completions),
        "finish_reason": pa.array(["stop"] * n),
        "prompt_tokens": pa.nulls(n, pa.int32()),
        "completion_tokens": pa.nulls(n, pa.int32()),
        "token_source": pa.nulls(n, pa.string()),
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
        "system": system,
        "seconds": round(seconds, 3),
    }
