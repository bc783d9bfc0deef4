"""The synthetic arithmetic world: determinism, level structure, correct answers, disjoint splits."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tldr_data.errors import ConfigError, InputError
from tldr_data.problems import problem_hash
from tldr_data.schema import PROBLEMS
from tldr_data.toy.synth import (
    LEVELS,
    PAIRS,
    SOURCE,
    capacity,
    level_of,
    make_problems,
    parse_expression,
    parse_levels,
    running_steps,
    synth,
)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    synth(a, levels=LEVELS, per_level=20, seed=7)
    synth(b, levels=LEVELS, per_level=20, seed=7)
    assert a.read_bytes() == b.read_bytes()
    other = make_problems(LEVELS, 20, seed=8)
    assert other.column("question").to_pylist() != pq.read_table(a).column("question").to_pylist()


def test_level_structure_and_contract() -> None:
    table = make_problems(LEVELS, 60, seed=0, split="dev")
    assert table.schema == PROBLEMS
    assert table.num_rows == 180
    for row in table.to_pylist():
        level = row["difficulty"]
        operands, operators = parse_expression(row["question"])
        assert len(operands) == 2 * PAIRS + 1
        assert len(operators) == 2 * PAIRS
        assert all(1 <= v <= 9 for v in operands)
        # The shortcut (the first number) is right exactly where every pair cancels.
        if level == 1:
            assert row["answer"] == str(operands[0])
        if level == 2:
            assert row["answer"] != str(operands[0])
        assert all(0 <= value <= 9 for _, value in running_steps(row["question"]))
        assert set(operators) <= {"+", "-"}
        assert (row["source"], row["split"]) == (SOURCE, "dev")
        assert row["problem_id"] == problem_hash(SOURCE, row["question"])
    assert len(set(table.column("question").to_pylist())) == 180


def test_answers_recompute() -> None:
    table = make_problems(LEVELS, 60, seed=3)
    answers = set()
    for row in table.to_pylist():
        easy = row["difficulty"] == 1
        pattern = r"What is ([\d +-]+)\?" if easy else r"Find ([\d +-]+)\."
        expression = re.fullmatch(pattern, row["question"]).group(1)
        value = sum(int(term.replace(" ", "")) for term in re.findall(r"[+-]?\s*\d+", expression))
        assert row["answer"] == str(value)
        answers.add(value)
    assert answers == set(range(10))


def test_level_of_knows_the_world() -> None:
    assert level_of("What is 7 + 2 - 2 - 4 + 4?") == 1
    assert level_of("Find 7 + 2 - 3 - 4 + 4.") == 2
    assert level_of("Find 7 - 2 + 3 - 4 + 1.") == 3
    assert level_of("Find 3 + 2 + 2 - 4 - 3.") == 3  # no pair cancels, though the answer is 3
    assert level_of("What is 7 + 2 - 3 - 4 + 4?") is None  # a hard problem asked the easy way
    assert level_of("Find 7 + 2 - 2 - 4 + 4.") is None  # an easy problem asked the hard way
    assert level_of("Find 3 - 5 + 5 - 1 + 1.") is None  # a running result leaves the digits
    assert level_of("Find 3 + 5 - 2.") is None  # not two pairs
    assert level_of("What is 47 + 18?") is None
    assert level_of("What is 4?") is None


def test_running_steps_and_parse_expression() -> None:
    question = "What is 47 + 18 - 35 + 62?"
    assert parse_expression(question) == ([47, 18, 35, 62], ["+", "-", "+"])
    assert running_steps(question) == [("47 + 18", 65), ("65 - 35", 30), ("30 + 62", 92)]
    assert running_steps("What is 3 - 9 + 2?") == [("3 - 9", -6), ("-6 + 2", -4)]
    with pytest.raises(InputError, match="not a synth-arith question"):
        parse_expression("What is 4 * 5?")


@pytest.mark.parametrize(
    ("text", "levels"),
    [("1-3", [1, 2, 3]), ("1,3", [1, 3]), ("2", [2]), ("3,1-2,2", [1, 2, 3])],
)
def test_parse_levels(text: str, levels: list[int]) -> None:
    assert parse_levels(text) == levels


@pytest.mark.parametrize("text", ["", "0-3", "6-1", "1-x", "a", "1,,2", "-1"])
def test_parse_levels_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="--levels"):
        parse_levels(text)


def test_levels_do_not_depend_on_each_other() -> None:
    alone = make_problems([2], 25, seed=11).to_pylist()
    full = make_problems(LEVELS, 25, seed=11).to_pylist()
    assert [row for row in full if row["difficulty"] == 2] == alone


def test_exclude_makes_disjoint_splits(tmp_path: Path) -> None:
    train = tmp_path / "train.parquet"
    synth(train, levels=LEVELS, per_level=80, seed=5)
    dev = tmp_path / "dev.parquet"
    # The same seed would repeat every question; --exclude must steer around all of them.
    summary = synth(dev, levels=LEVELS, per_level=60, seed=5, split="dev", exclude=[str(train)])
    assert summary["excluded_questions"] == 240
    train_questions = set(pq.read_table(train).column("question").to_pylist())
    dev_questions = set(pq.read_table(dev).column("question").to_pylist())
    assert len(dev_questions) == 180
    assert not train_questions & dev_questions


def test_capacity_limits_small_levels(tmp_path: Path) -> None:
    assert capacity(1) == 9**3
    assert capacity(2) == 9 * 2 * 72 * 9
    assert capacity(3) == 9 * 72**2
    assert make_problems([1], capacity(1), seed=0).num_rows == 729
    with pytest.raises(ConfigError, match="level 1 has only 729 distinct questions"):
        make_problems([1], 730, seed=0)
    train = tmp_path / "train.parquet"
    synth(train, levels=[1], per_level=700, seed=0)
    with pytest.raises(ConfigError, match="level 1 has only 29 distinct questions left"):
        synth(tmp_path / "dev.parquet", levels=[1], per_level=30, seed=1, exclude=[str(train)])
    assert not (tmp_path / "dev.parquet").exists()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="--per-level must be at least 1"):
        make_problems([1], 0, seed=0)
    with pytest.raises(ConfigError, match="levels must be within 1-3"):
        make_problems([], 5, seed=0)
    with pytest.raises(ConfigError, match="levels must be within 1-3"):
        make_problems([4], 5, seed=0)
