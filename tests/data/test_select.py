"""select: shortest correct per problem, deterministic ties, deduplication, one reason per dropped row."""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest

from tldr_data.errors import InputError
from tldr_data.select import REASONS, select


def _row(
    problem: str, idx: int, tokens: int, *, correct: bool = True, completion: str | None = None, **extra
) -> dict:
    return {
        "problem_id": problem, "sample_idx": idx, "completion_tokens": tokens, "correct": correct,
        "verdict": "correct" if correct else "wrong", "completion": completion or f"{problem}-{idx}", **extra,
    }  # fmt: skip


ROWS = [
    _row("a", 0, 50),
    _row("a", 1, 30),  # shortest of a
    _row("a", 2, 30, completion="a-1"),  # same text as a-1: duplicate
    _row("a", 3, 10, correct=False),
    _row("b", 0, 900),  # too long with max_tokens=500
    _row("b", 1, 20, finish_reason="length"),
    _row("c", 0, 40, source="other"),
    _row("d", 0, 70),
    _row("d", 1, 70, completion="d-0-longer"),  # same tokens, more characters: loses the tie
]


def test_shortest_correct_with_every_reason(tmp_path, write_rows) -> None:
    out, rejected = tmp_path / "pool.parquet", tmp_path / "rejected.parquet"
    summary = select(
        [write_rows(ROWS, "verified")], out, max_tokens=500, drop_truncated=True,
        where="source <> 'other'", rejected=rejected,
    )  # fmt: skip
    kept = pq.read_table(out).to_pylist()
    assert [(r["problem_id"], r["sample_idx"]) for r in kept] == [("a", 1), ("d", 0)]
    assert summary["dropped"] == {
        "not_correct": 1, "truncated": 1, "too_long": 1, "where": 1, "duplicate": 1, "not_shortest": 2
    }  # fmt: skip
    assert summary["kept"] + sum(summary["dropped"].values()) == summary["rows"] == len(ROWS)
    dropped = pq.read_table(rejected).to_pylist()
    assert sorted(r["drop_reason"] for r in dropped) == sorted(
        ["not_shortest", "duplicate", "not_correct", "too_long", "truncated", "where", "not_shortest"]
    )
    assert set(REASONS) == set(summary["dropped"])


def test_ties_do_not_depend_on_input_order(tmp_path, write_rows) -> None:
    rows = [_row("p", i, 100, completion=f"answer {i % 3}") for i in range(9)]
    picks = set()
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        out = tmp_path / f"pool{seed}.parquet"
        select([write_rows(shuffled, "verified", f"in{seed}.parquet")], out)
        (kept,) = pq.read_table(out).to_pylist()
        picks.add(kept["completion"])
    assert picks == {"answer 0"}


def test_all_correct_keeps_distinct_correct_rows(tmp_path, write_rows) -> None:
    summary = select([write_rows(ROWS, "verified")], tmp_path / "pool.parquet", mode="all-correct")
    assert summary["kept"] == 7  # 9 rows - 1 wrong - 1 duplicate
    assert summary["dropped"]["not_shortest"] == 0


def test_bad_options(tmp_path, write_rows) -> None:
    path = write_rows(ROWS, "verified")
    with pytest.raises(InputError, match="--where 'no_such > 1'"):
        select([path], tmp_path / "p.parquet", where="no_such > 1")
    with pytest.raises(InputError, match="mode 'longest'"):
        select([path], tmp_path / "p.parquet", mode="longest")
    assert not (tmp_path / "p.parquet").exists()
