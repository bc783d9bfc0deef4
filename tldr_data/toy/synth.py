"""A built-in synthetic arithmetic world in which a cheap shortcut is right on easy problems only.

Every question has the same arithmetic: a first digit, then `PAIRS` pairs of `+`/`-` steps on single-digit
operands (1-9), drawn so that every running result stays a digit. A pair *cancels* when its second step undoes
its first (`+ 2 - 2`). The level counts the pairs that do not cancel, plus one:

- level 1 (easy): every pair cancels, so the answer is the first number. Copying it is a shortcut a tiny
  model learns (the System-1 teacher's style). Asked as `What is 7 + 2 - 2 - 4 + 4?`.
- levels 2 and up (hard): one or more pairs do not cancel; the shortcut's answer is wrong, and only working
  the steps out (the System-2 teacher's style) is right. Asked as `Find 7 + 2 - 3 - 4 + 4.` (answer 6).

Easy and hard problems read differently, as the paper's two pools do (GSM8K word problems against
competition problems): a model can tell them apart, so a mixture of both styles can teach it to be brief
on easy problems only. What it cannot know is how much short data it takes before the brevity spreads to
hard problems too: that is the length/accuracy trade-off TLDR's ratio manages. (An earlier version asked
every level alike, so only whether the pairs cancel told them apart; a 157k-parameter model never learned
that check within a round budget, and every mixture was a blend of the two styles with no ratio better
than another.) Measured with a 157k-parameter Qwen2 (hidden 64, 2 layers; see recipes/toy-arith): one
operation per line and copying are what such a model learns on a CPU budget, direct answers to several
operations stay at chance.

Questions are canonical so that `parse_expression` and `running_steps` can script teacher traces from the
question alone.
"""

from __future__ import annotations

import math
import os
import random
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from tldr_data.atomic import write_parquet
from tldr_data.errors import ConfigError, InputError, OutputExistsError, SchemaError
from tldr_data.problems import problem_hash
from tldr_data.schema import PROBLEMS

SOURCE = "synth-arith"
DEFAULT_SPLIT = "train"
_QUESTION = re.compile(r"^(?:What is (?P<easy>\d+(?: [+-] \d+)*)\?|Find (?P<hard>\d+(?: [+-] \d+)*)\.)$")


DIGITS = range(10)  # every running result stays in here
OPERANDS = range(1, 10)
PAIRS = 2  # pairs of steps after the first number: 5 operands, 4 steps per question
LEVELS = range(1, PAIRS + 2)  # level 1: every pair cancels; level PAIRS + 1: none does
INVERSE = {"+": "-", "-": "+"}


def capacity(level: int) -> int:
    """How many distinct questions a level has.

    From any digit exactly 9 steps keep a digit, so a cancelling pair has 9 forms (its first step) and a
    non-cancelling one 9 x 8 (any second step but the inverse).
    """
    if level not in LEVELS:
        return 0
    changed = level - 1
    return len(OPERANDS) * math.comb(PAIRS, changed) * 72**changed * 9 ** (PAIRS - changed)


def moves(total: int) -> list[tuple[str, int]]:
    """Every (operator, operand) step that keeps the running result `total` a digit."""
    return [("+", v) for v in OPERANDS if total + v in DIGITS] + [
        ("-", v) for v in OPERANDS if total - v in DIGITS
    ]


def parse_levels(text: str) -> list[int]:
    """`1-3`, `1,3` or a mix (`1,2-3`) as a sorted list of distinct levels >= 1."""
    levels: set[int] = set()
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", item)
        if not match:
            raise ConfigError(f"--levels '{text}': expected levels like 1-3 or 1,3")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ConfigError(f"--levels '{text}': levels start at 1 and ranges go upwards (e.g. 1-3)")
        levels.update(range(first, last + 1))
    return sorted(levels)


def format_question(operands: Sequence[int], operators: Sequence[str]) -> str:
    """The canonical question text of an expression: asked the easy way when every pair cancels."""
    terms = [str(operands[0])] + [f"{op} {value}" for op, value in zip(operators, operands[1:], strict=True)]
    expression = " ".join(terms)
    return f"What is {expression}?" if not _changing_pairs(operands, operators) else f"Find {expression}."


def parse_expression(question: str) -> tuple[list[int], list[str]]:
    """Operands and operators of a canonical question (`What is 4 + 1 - 1?`, `Find 4 + 1 - 3.`)."""
    match = _QUESTION.match(question.strip())
    if not match:
        raise InputError(f"not a synth-arith question: {question!r} (expected e.g. 'Find 7 + 2 - 3.')")
    tokens = (match.group("easy") or match.group("hard")).split(" ")
    return [int(token) for token in tokens[::2]], tokens[1::2]


def running_steps(question: str) -> list[tuple[str, int]]:
    """Each left-to-right partial step: `Find 4 + 5 - 3.` -> [("4 + 5", 9), ("9 - 3", 6)]."""
    operands, operators = parse_expression(question)
    steps = []
    total = operands[0]
    for op, value in zip(operators, operands[1:], strict=True):
        result = total + value if op == "+" else total - value
        steps.append((f"{total} {op} {value}", result))
        total = result
    return steps


def solve(question: str) -> int:
    """The answer of a canonical question."""
    steps = running_steps(question)
    return steps[-1][1] if steps else parse_expression(question)[0][0]


def level_of(question: str) -> int | None:
    """The level a question belongs to by its structure, or None when it fits no level."""
    try:
        operands, operators = parse_expression(question)
    except InputError:
        return None
    in_world = (
        question.strip() == format_question(operands, operators)
        and len(operands) == 2 * PAIRS + 1
        and all(value in OPERANDS for value in operands)
        and all(value in DIGITS for _, value in running_steps(question))
    )
    return 1 + _changing_pairs(operands, operators) if in_world else None


def _changing_pairs(operands: Sequence[int], operators: Sequence[str]) -> int:
    """How many pairs of steps do not cancel (a step left without a partner counts as one)."""
    steps = list(zip(operators, operands[1:], strict=True))
    pairs = [steps[i : i + 2] for i in range(0, len(steps), 2)]
    return sum(len(pair) < 2 or not _cancels(*pair) for pair in pairs)


def _cancels(first: tuple[str, int], second: tuple[str, int]) -> bool:
    """Whether the second step undoes the first (`+ 2 - 2`)."""
    return second == (INVERSE[first[0]], first[1])


def _draw(rng: random.Random, level: int) -> str:
    """A question of a level: which pairs change the total is drawn first, then each step uniformly."""
    total = rng.choice(OPERANDS)
    operands, operators = [total], []
    changing = set(rng.sample(range(PAIRS), level - 1))
    for pair in range(PAIRS):
        first = rng.choice(moves(total))
        seconds = [step for step in moves(_apply(total, first)) if not _cancels(first, step)]
        second = rng.choice(seconds) if pair in changing else (INVERSE[first[0]], first[1])
        for op, value in (first, second):
            total = _apply(total, (op, value))
            operands.append(value)
            operators.append(op)
    return format_question(operands, operators)


def _apply(total: int, step: tuple[str, int]) -> int:
    op, value = step
    return total + value if op == "+" else total - value


def level_questions(level: int, per_level: int, seed: int, exclude: set[str]) -> list[str]:
    """`per_level` distinct questions of one level, none in `exclude`; the same for the same seed.

    Each level has its own random stream, so a level's problems do not depend on which other levels
    are generated with it.
    """
    available = capacity(level) - sum(1 for question in exclude if level_of(question) == level)
    if per_level > available and available == 0:
        raise ConfigError(
            f"level {level}: --exclude already holds all of its {capacity(level)} questions; "
            "drop the level from --levels"
        )
    if per_level > available:
        raise ConfigError(
            f"level {level} has only {available} distinct questions left (after --exclude); "
            f"use --per-level {available} or less"
        )
    rng = random.Random(f"{SOURCE}:{seed}:{level}")
    chosen: dict[str, None] = {}
    while len(chosen) < per_level:
        question = _draw(rng, level)
        if question not in exclude:
            chosen[question] = None
    return list(chosen)


def make_problems(
    levels: Iterable[int],
    per_level: int,
    seed: int,
    split: str = DEFAULT_SPLIT,
    exclude: set[str] | None = None,
) -> pa.Table:
    """The synthetic `problems` table: `per_level` rows per level, ordered by level."""
    levels = sorted(set(levels))
    if not levels or any(level not in LEVELS for level in levels):
        raise ConfigError(f"levels must be within {LEVELS[0]}-{LEVELS[-1]}, got {levels}")
    if per_level < 1:
        raise ConfigError(f"--per-level must be at least 1, got {per_level}")
    rows: dict[str, list] = {name: [] for name in PROBLEMS.names}
    for level in levels:
        for question in level_questions(level, per_level, seed, exclude or set()):
            rows["problem_id"].append(problem_hash(SOURCE, question))
            rows["source"].append(SOURCE)
            rows["question"].append(question)
            rows["answer"].append(str(solve(question)))
            rows["difficulty"].append(level)
            rows["split"].append(split)
    return pa.table(rows, schema=PROBLEMS)


def read_questions(paths: Sequence[str | os.PathLike]) -> set[str]:
    """Every question in the given `problems` Parquet files or folders."""
    from tldr_data.duck import columns, connect, scan

    if not paths:
        return set()
    con = connect()
    table = scan(paths)
    if "question" not in columns(con, table):
        raise SchemaError(
            f"--exclude {', '.join(map(str, paths))}: no `question` column; expected `problems` files"
        )
    return {row[0] for row in con.execute(f"SELECT DISTINCT question FROM {table}").fetchall()}


def synth(
    output: str | os.PathLike,
    *,
    levels: Iterable[int],
    per_level: int,
    seed: int = 0,
    split: str = DEFAULT_SPLIT,
    exclude: Sequence[str | os.PathLike] = (),
    overwrite: bool = False,
) -> dict:
    """Generate the synthetic world and write it as `problems` Parquet; nothing is written on error."""
    start = time.perf_counter()
    if Path(output).exists() and not overwrite:
        raise OutputExistsError(f"{output}: already exists; pass --overwrite to replace it")
    excluded = read_questions(exclude)
    table = make_problems(levels, per_level, seed, split, excluded)
    write_parquet(table, output)
    per_level_rows: dict[int, int] = {}
    for level in table.column("difficulty").to_pylist():
        per_level_rows[level] = per_level_rows.get(level, 0) + 1
    return {
        "output": str(output),
        "rows": table.num_rows,
        "levels": per_level_rows,
        "seed": seed,
        "split": split,
        "excluded_questions": len(excluded),
        "seconds": round(time.perf_counter() - start, 3),
    }
