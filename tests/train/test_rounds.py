"""tldr_train.rounds: ratios follow the update rule; a killed or re-run round is neither lost nor doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tldr_data.done import done_path
from tldr_data.errors import ConfigError, InputError
from tldr_data.ratio import References, update
from tldr_train.rounds import run_round, run_rounds
from tldr_train.run import RunState

pytestmark = pytest.mark.slow


def state_of(run: Path) -> dict:
    return json.loads((run / "state.json").read_text())


def test_references_are_the_dev_means_over_all_rows(started_run: Path):
    state = state_of(started_run)
    for name, (tokens, accuracy) in {"short": ("t_short", "a_short"), "long": ("t_long", "a_long")}.items():
        rows = pq.read_table(started_run / "refs" / name / "verified.parquet").to_pylist()
        assert len(rows) == 8
        assert state["references"][tokens] == pytest.approx(sum(r["completion_tokens"] for r in rows) / 8)
        assert state["references"][accuracy] == pytest.approx(sum(bool(r["correct"]) for r in rows) / 8)
    assert (state["references"]["a_short"], state["references"]["a_long"]) == (0.25, 0.75)
    assert state["config"]["protocol"]["backend"] == "transformers"
    assert state["config"]["protocol"]["temperature"] == 0.0
    assert state["history"] == []


def test_each_ratio_follows_from_the_previous_rounds_dev_metrics(looped_run):
    run, _ = looped_run
    state = state_of(run)
    refs = References(**state["references"])
    history = state["history"]
    assert [entry["round"] for entry in history] == [0, 1]
    assert history[0]["alpha_short"] == state["alpha0"]
    for entry in history:
        step = update(entry["alpha_short"], entry["dev_accuracy"], entry["dev_tokens"], refs, eta=4.0, c=1e-4)
        assert entry["next_alpha_short"] == pytest.approx(step.alpha_short, abs=1e-12)
        assert (entry["b_short"], entry["b_long"]) == pytest.approx((step.b_short, step.b_long))
    assert history[1]["alpha_short"] == history[0]["next_alpha_short"]
    for entry in history:
        folder = run / f"round-{entry['round']:03d}"
        rows = pq.read_table(folder / "mix" / "data").to_pylist()
        short = sum(row["pool"] == "short" for row in rows)
        size = state["config"]["mix_size"]
        assert (len(rows), short) == (size, int(entry["alpha_short"] * size + 0.5))
        assert done_path(folder / "ckpt").exists()
        trained_on = json.loads((folder / "ckpt" / "tldr_sft_config.json").read_text())["script"]["dataset"]
        assert Path(trained_on) == folder / "mix"
        verified = pq.read_table(folder / "dev" / "verified.parquet").to_pylist()
        assert entry["dev_tokens"] == pytest.approx(
            sum(r["completion_tokens"] for r in verified) / len(verified)
        )
        assert {r["model"] for r in verified} == {str(folder / "ckpt")}
        assert entry["checkpoint"] == f"{folder.name}/ckpt" and entry["mixture"] == f"{folder.name}/mix"


def test_run_in_one_process_equals_a_loop_of_rounds(looped_run, run_copy: Path, history_numbers):
    run, _ = looped_run
    entries = list(run_rounds(run_copy, 2))
    assert [entry["round"] for entry in entries] == [0, 1]
    assert history_numbers(state_of(run_copy)["history"]) == history_numbers(state_of(run)["history"])
    assert list(run_rounds(run_copy, 2)) == []


def test_rerunning_an_unrecorded_round_reuses_its_finished_steps(run_copy: Path, history_numbers):
    first = run_round(run_copy)
    state = RunState.load(run_copy / "state.json")
    state.history.pop()
    state.save(run_copy / "state.json")
    card = run_copy / "round-000" / "mix" / "README.md"
    weights = run_copy / "round-000" / "ckpt" / "model.safetensors"
    verified = run_copy / "round-000" / "dev" / "verified.parquet"
    before = [path.stat().st_mtime_ns for path in (card, weights, verified)]
    again = run_round(run_copy)
    assert history_numbers([again]) == history_numbers([first])
    assert [path.stat().st_mtime_ns for path in (card, weights, verified)] == before
    assert [entry["round"] for entry in state_of(run_copy)["history"]] == [0]


def test_a_mixture_drawn_at_another_ratio_is_drawn_again(looped_run, tmp_path: Path):
    run = Path(shutil.copytree(looped_run[0], tmp_path / "run"))
    state = RunState.load(run / "state.json")
    state.history.pop()
    state.history[-1]["next_alpha_short"] = 0.25
    # Round 0's optimizer state went when round 1 was recorded; this round-1 redo starts a fresh one.
    state.config["continuous"] = False
    state.save(run / "state.json")
    entry = run_round(run)
    rows = pq.read_table(run / "round-001" / "mix" / "data").to_pylist()
    assert entry["alpha_short"] == 0.25
    assert sum(row["pool"] == "short" for row in rows) == state.config["mix_size"] // 4
    verified = pq.read_table(run / "round-001" / "dev" / "verified.parquet").to_pylist()
    assert {row["model"] for row in verified} == {str(run / "round-001" / "ckpt")}


def kill_once_training(command: list[str], round_folder: Path, seconds: float = 240) -> None:
    """Start `command` and SIGKILL it as soon as the round in `round_folder` has begun training."""
    marker = round_folder / "ckpt" / "tldr_sft_config.json"
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
    )
    deadline = time.monotonic() + seconds
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marker.exists(), f"{round_folder.name} never started training"


def test_killed_round_resumes_to_the_uninterrupted_history(looped_run, run_copy: Path, history_numbers):
    command = [sys.executable, "-m", "tldr_train", "round", "--run", str(run_copy)]
    kill_once_training(command, run_copy / "round-000")
    assert state_of(run_copy)["history"] == [], "the round finished before it could be killed"
    assert not done_path(run_copy / "round-000" / "ckpt").exists()

    finished = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.startswith("round 000  alpha_short 0.5000")
    history = state_of(run_copy)["history"]
    assert [entry["round"] for entry in history] == [0]
    assert history_numbers(history) == history_numbers(state_of(looped_run[0])["history"][:1])


def test_a_killed_run_resumes_to_the_uninterrupted_history(looped_run, run_copy: Path, history_numbers):
    """kill -9 of `run` itself (no launcher) in round 1's training: the re-run keeps round 0, redoes round 1,
    and ends with the history two `round` commands wrote."""
    command = [sys.executable, "-m", "tldr_train", "run", "--run", str(run_copy), "--rounds", "2"]
    kill_once_training(command, run_copy / "round-001")
    assert [entry["round"] for entry in state_of(run_copy)["history"]] == [0], "killed at the wrong time"

    finished = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    assert finished.returncode == 0, finished.stderr[-2000:]
    history = state_of(run_copy)["history"]
    assert history_numbers(history) == history_numbers(state_of(looped_run[0])["history"])


def test_round_needs_a_started_run(tmp_path: Path):
    with pytest.raises(InputError, match="tldr-train init"):
        run_round(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="--rounds 0"):
        list(run_rounds(tmp_path, 0))
