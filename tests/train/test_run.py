"""The run state file: round trip, history, refusals; `tldr-train record` appends through it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tldr_data.errors import ConfigError, InputError, SchemaError
from tldr_data.ratio import References
from tldr_train.cli import cli
from tldr_train.evaluate import Protocol
from tldr_train.run import RunState

# The paper's 7B reference points (Qwen2.5-7B-Instruct vs R1-Distill-Qwen-7B on the AIME dev set).
REFS_7B = References(t_short=1120.943, a_short=0.2890625, t_long=7379.605, a_long=0.755859)


def test_run_state_round_trip_and_history(tmp_path) -> None:
    path = tmp_path / "run" / "state.json"
    state = RunState(references=REFS_7B, config={"dev": "dev.parquet", "temperature": 0.7})
    assert state.current_alpha == 0.5
    entry = state.record(0.60, 7000.0, checkpoint="round-000/ckpt", mixture="round-000/mix", steps=32)
    assert entry["round"] == 0 and entry["alpha_short"] == 0.5 and entry["steps"] == 32
    assert state.current_alpha == pytest.approx(0.9184, abs=1e-4)
    state.save(path)

    data = json.loads(path.read_text())
    assert list(data)[0] == "version" and data["version"] == 1
    assert data["references"]["t_long"] == 7379.605
    loaded = RunState.load(path)
    assert loaded == state
    second = loaded.record(0.45, 2000.0)
    assert second["round"] == 1 and second["alpha_short"] == entry["next_alpha_short"]
    assert second["next_alpha_short"] < entry["next_alpha_short"]


def test_run_state_refuses_a_repeated_round() -> None:
    state = RunState(references=REFS_7B)
    state.record(0.6, 7000.0, round=3)
    with pytest.raises(ConfigError, match="round 3 is not after the last recorded round 3"):
        state.record(0.6, 7000.0, round=3)


def test_run_state_without_references_says_what_to_run() -> None:
    with pytest.raises(ConfigError, match="run `tldr-train init` first"):
        RunState().record(0.5, 100.0)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("{", SchemaError, "not valid JSON"),
        ('{"version": 2}', SchemaError, "unsupported run state version 2"),
        ('{"version": 1, "etaa": 4}', SchemaError, "unknown key(s) etaa"),
        ('{"version": 1, "eta": -4}', ConfigError, "eta=-4 is negative"),
        ('{"version": 1, "history": [{"round": 0}]}', SchemaError, "next_alpha_short"),
    ],
)
def test_run_state_load_rejects_bad_files(tmp_path, content, error, message) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(error) as err:
        RunState.load(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_run_state_load_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="no such run state file"):
        RunState.load(tmp_path / "nope.json")


def test_record_appends_rounds_to_the_run(tmp_path) -> None:
    state = RunState(references=REFS_7B, config={"protocol": Protocol(backend="transformers").to_dict()})
    state.save(tmp_path / "state.json")
    runner = CliRunner()
    args = ["record", "--run", str(tmp_path), "--checkpoint", "/ckpts/r0", "--json"]
    first = runner.invoke(cli, [*args, "--acc", "0.6", "--tokens", "7000"], catch_exceptions=False)
    second = runner.invoke(cli, [*args, "--acc", "0.45", "--tokens", "2000"], catch_exceptions=False)
    history = RunState.load(tmp_path / "state.json").history
    assert [entry["round"] for entry in history] == [0, 1]
    assert history[1]["alpha_short"] == json.loads(first.stdout)["next_alpha_short"]
    assert json.loads(second.stdout)["next_alpha_short"] == history[1]["next_alpha_short"]
    assert history[0]["checkpoint"] == "/ckpts/r0"


def test_record_needs_a_checkpoint_and_a_run(tmp_path) -> None:
    missing = CliRunner().invoke(cli, ["record", "--run", str(tmp_path), "--acc", "0.5", "--tokens", "10"])
    assert missing.exit_code == 2 and "--checkpoint" in missing.stderr
    args = ["record", "--run", str(tmp_path), "--acc", "0.5", "--tokens", "10", "--checkpoint", "c"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "not a run folder" in result.stderr
