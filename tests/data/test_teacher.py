"""Scripted teacher traces: System-2 always right, System-1 right on easy problems only, deterministic."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.answers import extract_answer
from tldr_data.cli import cli
from tldr_data.errors import ConfigError
from tldr_data.schema import TRACES
from tldr_data.toy import synth
from tldr_data.toy.teacher import RECHECKS, SHORTCUT, steps, system1_completion, teach


def make_problems(tmp_path, per_level: int = 4):
    path = tmp_path / "problems.parquet"
    synth.synth(path, levels=synth.LEVELS, per_level=per_level, seed=3)
    return path


def test_system2_is_always_right_system1_only_on_easy_problems(tmp_path) -> None:
    problems = make_problems(tmp_path, per_level=8)
    for style in ("system1", "system2"):
        out = tmp_path / f"{style}.parquet"
        summary = teach(problems, out, system=style, samples=2, seed=1)
        table = pq.read_table(out)
        assert summary["rows"] == table.num_rows == 2 * 24
        assert table.schema.names[: len(TRACES.names)] == TRACES.names
        right = {level: [] for level in synth.LEVELS}
        for question, level, completion in zip(
            table.column("question").to_pylist(),
            table.column("difficulty").to_pylist(),
            table.column("completion").to_pylist(),
            strict=True,
        ):
            right[level].append(extract_answer(completion) == str(synth.solve(question)))
        if style == "system2":
            assert all(all(marks) for marks in right.values())
        else:
            # The shortcut holds where every pair cancels and fails where one does not.
            assert all(right[1]) and not any(right[2])


def test_system2_rechecks_stay_within_bound_and_vary(tmp_path) -> None:
    problems = make_problems(tmp_path, per_level=6)
    out = tmp_path / "s2.parquet"
    teach(problems, out, system="system2", samples=3, max_rechecks=2, seed=0)
    table = pq.read_table(out)
    passes = []
    for question, completion in zip(
        table.column("question").to_pylist(), table.column("completion").to_pylist(), strict=True
    ):
        restated = re.sub(r"[ ?.]|What is|Find", "", question) + f"={synth.solve(question)}"
        lines = completion.split("\n")
        restatements = [lines[i + 1] for i, line in enumerate(lines) if line in RECHECKS]
        assert restatements == [restated] * len(restatements)
        passes.append(len(restatements))
    assert set(passes) == {0, 1, 2}


def test_system2_min_rechecks_is_a_floor(tmp_path) -> None:
    problems = make_problems(tmp_path, per_level=6)
    out = tmp_path / "s2.parquet"
    teach(problems, out, system="system2", samples=3, min_rechecks=1, max_rechecks=3, seed=0)
    counts = [
        sum(line in RECHECKS for line in completion.split("\n"))
        for completion in pq.read_table(out).column("completion").to_pylist()
    ]
    assert set(counts) == {1, 2, 3}
    with pytest.raises(ConfigError):
        teach(problems, tmp_path / "bad.parquet", system="system2", min_rechecks=3, max_rechecks=1)


def test_steps_are_compact_and_system1_copies_the_first_number() -> None:
    question = "Find 3 + 5 - 2 - 4 + 4."
    assert steps(question) == ["3+5=8", "8-2=6", "6-4=2", "2+4=6"]
    expected = f"<think>\n{SHORTCUT}\n</think>\nSo the answer is \\boxed{{3}}."
    assert system1_completion(question) == expected


def test_same_seed_same_bytes_other_seed_differs(tmp_path) -> None:
    problems = make_problems(tmp_path)
    paths = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        paths.append(tmp_path / f"{name}.parquet")
        teach(problems, paths[-1], system="system2", samples=2, seed=seed)
    texts = [pq.read_table(p).column("completion").to_pylist() for p in paths]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_cli_rejects_non_synth_questions_and_writes_nothing(tmp_path) -> None:
    problems = make_problems(tmp_path)
    table = pq.read_table(problems)
    bad = tmp_path / "bad.parquet"
    questions = table.column("question").to_pylist()
    questions[2] = "How many apples?"
    pq.write_table(table.set_column(2, "question", [questions]), bad)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["teach", "-i", str(bad), "--system", "system1", "-o", str(out)])
    assert result.exit_code == 2
    assert "not a synth-arith question" in result.stderr
    assert not out.exists()


def test_cli_missing_input_exits_2(tmp_path) -> None:
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        cli, ["teach", "-i", str(tmp_path / "nope.parquet"), "--system", "system2", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert not out.exists()
