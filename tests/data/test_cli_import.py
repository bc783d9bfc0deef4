"""`tldr-data import --format skythought`: rows per response, gold answers, verdicts kept; bad input."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from tldr_data.cli import cli

SKYTHOUGHT = {
    "What is 1+1?": {
        "id": 7,
        "problem": "What is 1+1?",
        "answer": 2.0,
        "prompt": "Return your final response within \\boxed{}. What is 1+1?",
        "responses": {
            "0.7": [
                {"content": "Easy. \\boxed{2}", "correctness": True, "reason": ""},
                {"content": "Hmm \\boxed{3}", "correctness": False, "reason": "Solution is incorrect."},
                {"content": "Let me", "correctness": False, "finish_reason": "length"},
            ]
        },
        "token_usages": {"0.7": [{"completion_tokens": 2, "prompt_tokens": 9}] * 3},
    },
    "Tom has 3 apples...": {
        "question": "Tom has 3 apples...",
        "answer": "He has 3+1=<<3+1=4>>4.\n#### 1,004",
        "responses": {"0.7": [{"content": "The final answer is 1004", "correctness": True, "reason": ""}]},
        "token_usages": {"0.7": [{"completion_tokens": 5, "prompt_tokens": 9}]},
    },
}


def test_import_skythought_then_verify(tmp_path, tiny_model) -> None:
    log = tmp_path / "checkpoint-1_amc23_test_subset_None_filter_False_s0_e-1_t0.7_n3.json"
    log.write_text(json.dumps(SKYTHOUGHT))
    traces = tmp_path / "traces.parquet"
    args = ["import", str(log), "-o", str(traces), "--system", "system2", "-m", str(tiny_model)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"imported 4 responses to 2 problems -> {traces}"
    table = pq.read_table(traces).to_pylist()
    assert [r["answer"] for r in table] == ["2", "2", "2", "1004"]
    assert [r["finish_reason"] for r in table] == ["stop", "stop", "length", "stop"]
    assert [r["sample_idx"] for r in table] == [0, 1, 2, 0]
    assert (
        table[0]["problem_id"] == "amc23/7" and table[0]["source"] == "amc23" and table[0]["split"] == "test"
    )
    assert [r["imported_correct"] for r in table] == [True, False, False, True]
    verified = tmp_path / "verified.parquet"
    CliRunner().invoke(cli, ["verify", str(traces), "-o", str(verified)], catch_exceptions=False)
    rows = pq.read_table(verified).to_pylist()
    assert [r["verdict"] for r in rows] == ["correct", "wrong", "truncated", "correct"]
    assert [r["imported_correct"] for r in rows] == [True, False, False, True]


def test_import_bad_json(tmp_path) -> None:
    bad = tmp_path / "run.json"
    bad.write_text("{not json")
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(cli, ["import", str(bad), "-o", str(out), "--system", "s", "-m", "m"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: not valid JSON")
    assert not out.exists()


def test_import_not_skythought(tmp_path) -> None:
    other = tmp_path / "run.json"
    other.write_text(json.dumps({"q": {"answer": "1"}}))
    result = CliRunner().invoke(
        cli, ["import", str(other), "-o", str(tmp_path / "t.parquet"), "--system", "s", "-m", "m"]
    )
    assert result.exit_code == 2
    assert "has no `responses`" in result.stderr


def test_import_missing_file(tmp_path) -> None:
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(
        cli, ["import", str(tmp_path / "no.json"), "-o", str(out), "--system", "s", "-m", "m"]
    )
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'no.json'}: no such file\n"
    assert not out.exists()
