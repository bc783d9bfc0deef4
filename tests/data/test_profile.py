"""profile: every metric per group equals a direct pandas/plain-Python computation on the same rows."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from tldr_data.errors import InputError, SchemaError
from tldr_data.profile import METRICS, profile


def _rows() -> list[dict]:
    rng = random.Random(0)
    verdicts = ["correct", "wrong", "timeout", "error", "truncated"]
    rows = []
    for system, samples in (("system1", 1), ("system2", 4)):
        for source in ("gsm8k", "aime"):
            for problem in range(5):
                for sample in range(samples if problem else samples + 2):  # one problem has extra samples
                    verdict = rng.choice(verdicts)
                    rows.append({
                        "system": system, "source": source, "problem_id": f"{source}-{problem}",
                        "sample_idx": sample, "completion_tokens": rng.randint(10, 5000), "verdict": verdict,
                        "correct": verdict == "correct",
                        "finish_reason": "length" if verdict == "truncated" else "stop",
                    })  # fmt: skip
    return rows


def _pass_at_k(group: pd.DataFrame) -> float | None:
    per_problem = group.groupby("problem_id")["correct"].agg(["count", "sum"])
    k = int(per_problem["count"].min())
    if k < 2:
        return None
    return sum(
        1 - math.comb(n - c, k) / math.comb(n, k) for n, c in per_problem.itertuples(index=False)
    ) / len(per_problem)


def test_profile_matches_pandas(write_rows) -> None:
    rows = _rows()
    path = write_rows(rows, contract="verified")
    got = profile([path], by=["system", "source"])
    frame = pd.DataFrame(rows)
    expected = []
    for (system, source), group in frame.groupby(["system", "source"], sort=True):
        tokens = group["completion_tokens"]
        expected.append({
            "system": system, "source": source, "n": len(group), "accuracy": group["correct"].mean(),
            "mean_tokens": tokens.mean(), "median_tokens": tokens.median(),
            "p90_tokens": tokens.quantile(0.9),
            "max_tokens": tokens.max(), "truncated_rate": (group["finish_reason"] == "length").mean(),
            "pass_at_k": _pass_at_k(group),
        })  # fmt: skip
    assert [list(r) for r in got] == [["system", "source", *METRICS]] * len(expected)
    for g, e in zip(got, expected, strict=True):
        for key, value in e.items():
            assert g[key] == (None if value is None else pytest.approx(value)), key
    assert {r["system"]: r["pass_at_k"] is None for r in got} == {"system1": True, "system2": False}


def test_profile_one_group_and_errors(write_rows, tmp_path) -> None:
    path = write_rows(_rows(), contract="verified")
    (overall,) = profile([path], by=[])
    assert overall["n"] == len(_rows())
    with pytest.raises(InputError, match="unknown column"):
        profile([path], by=["nope"])
    with pytest.raises(SchemaError, match="not a `verified` file"):
        profile([write_rows([{}], name="traces.parquet")], by=[])
