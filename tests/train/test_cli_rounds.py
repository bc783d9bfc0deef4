"""`tldr-train init/round/run/eval/pick/report`: success paths and one-line errors with exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tldr_train.cli import cli
from tldr_train.training import Training

ROUND_LINE = (
    r"round \d{3}  alpha_short \d\.\d{4}  dev acc \d\.\d{3}  tokens [\d,.]+  b_short \d+\.\d{3}  "
    r"b_long \d+\.\d{3}  next alpha_short \d\.\d{4}  \(mix [\d.]+s, train [\d.]+s, eval [\d.]+s\)"
)


class CheapRefs:
    """`init` arguments over real pool and dev files, with models never loaded (errors come first)."""

    def __init__(self, folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from tldr_data.toy.synth import make_problems

        self.dev = folder / "dev.parquet"
        pq.write_table(make_problems([1], 4, seed=0), self.dev)
        self.pool = folder / "pool.parquet"
        columns = ["problem_id", "question", "completion", "gen_config"]
        table = pa.table({name: ["x"] for name in columns} | {"completion_tokens": [1], "correct": [True]})
        pq.write_table(table, self.pool)

    def __call__(self, run: Path, dev: Path | None = None, short_pool: Path | None = None) -> list:
        return [
            "init", "--short-model", "m1", "--long-model", "m2", "--short-pool", short_pool or self.pool,
            "--long-pool", self.pool, "--dev", dev or self.dev, "-o", run, "--backend", "transformers",
        ]  # fmt: skip


@pytest.fixture
def refs_args_cheap(tmp_path: Path) -> CheapRefs:
    return CheapRefs(tmp_path)


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def assert_one_line_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.slow
def test_init_writes_the_state_and_keeps_the_traces(started_run: Path):
    state = json.loads((started_run / "state.json").read_text())
    assert set(state["references"]) == {"t_short", "a_short", "t_long", "a_long"}
    assert state["config"]["steps"] == 4 and state["config"]["mix_size"] == 16
    training = Training(**state["config"]["training"])
    assert training == Training(
        learning_rate=1e-2, batch_size=4, grad_accum=1, max_length=128, report_to="none"
    )
    assert training.lr_scheduler == "constant"  # the paper's, and one schedule across continued rounds
    assert state["config"]["continuous"] is True
    assert state["config"]["launch"] == {"launcher": None, "data_parallel": 1, "tensor_parallel": 1}
    for name in ("short", "long"):
        assert list((started_run / "refs" / name / "traces").glob("*.parquet"))
        assert (started_run / "refs" / name / "verified.parquet").exists()


@pytest.mark.slow
def test_init_refuses_an_existing_run(started_run: Path, refs_args):
    result = invoke(*refs_args(started_run))
    assert_one_line_error(result, 2, "already holds a run")


def test_init_rejects_bad_settings_before_any_work(refs_args_cheap, tmp_path: Path):
    run = tmp_path / "run"
    assert_one_line_error(invoke(*refs_args_cheap(run), "--eta", "-1"), 2, "eta=-1.0")
    assert_one_line_error(invoke(*refs_args_cheap(run), "--alpha0", "1"), 2, "alpha_short=1.0")
    assert not run.exists()


def test_init_names_a_missing_dev_set(refs_args_cheap, tmp_path: Path):
    run = tmp_path / "run"
    result = invoke(*refs_args_cheap(run, dev=tmp_path / "absent.parquet"))
    assert_one_line_error(result, 2, "absent.parquet", "no such file")
    assert not run.exists()


def test_init_names_a_pool_that_is_not_a_pool(refs_args_cheap, tmp_path: Path):
    run = tmp_path / "run"
    result = invoke(*refs_args_cheap(run, short_pool=refs_args_cheap.dev))
    assert_one_line_error(result, 2, "short pool", "missing column(s) completion")
    assert not run.exists()


@pytest.mark.slow
def test_round_prints_one_fixed_format_line(looped_run):
    _, lines = looped_run
    assert len(lines) == 2
    for number, line in enumerate(lines):
        assert line.startswith(f"round {number:03d}  ")
        assert re.fullmatch(ROUND_LINE, line), line


@pytest.mark.slow
def test_run_prints_a_line_per_round_and_then_has_nothing_to_do(run_copy: Path, looped_run, history_numbers):
    result = invoke("run", "--run", run_copy, "--rounds", "2")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 2
    again = invoke("run", "--run", run_copy, "--rounds", "2", "--json")
    assert json.loads(again.stdout)["rounds_run"] == []
    ours = json.loads((run_copy / "state.json").read_text())["history"]
    theirs = json.loads((looped_run[0] / "state.json").read_text())["history"]
    assert history_numbers(ours) == history_numbers(theirs)


@pytest.mark.parametrize("command", [["round"], ["run", "--rounds", "1"], ["pick"], ["report"]])
def test_round_level_commands_need_a_run_folder(command, tmp_path: Path):
    result = invoke(command[0], "--run", tmp_path / "missing", *command[1:])
    assert_one_line_error(result, 2, "not a run folder", "tldr-train init")
    assert not (tmp_path / "missing").exists()


def test_round_before_init_says_to_run_init(tmp_path: Path):
    (tmp_path / "run").mkdir()
    result = invoke("round", "--run", tmp_path / "run")
    assert_one_line_error(result, 2, "no state.json", "tldr-train init")
    assert list((tmp_path / "run").iterdir()) == []


def test_run_needs_a_positive_round_count(tmp_path: Path):
    assert_one_line_error(invoke("run", "--run", tmp_path, "--rounds", "0"), 2, "--rounds 0")


@pytest.mark.slow
def test_pick_and_report_on_a_run(looped_run, tmp_path: Path):
    run, _ = looped_run
    # tol 1 accepts every round: the choice is then the fewest dev tokens.
    chosen = json.loads(invoke("pick", "--run", run, "--tol", "1", "--json").stdout)
    state = json.loads((run / "state.json").read_text())
    assert chosen["round"] == min(state["history"], key=lambda e: (e["dev_tokens"], e["round"]))["round"]
    line = invoke("pick", "--run", run, "--tol", "1").stdout
    assert line.startswith(f"round {chosen['round']}: dev accuracy")

    summary = json.loads(invoke("report", "--run", run, "--tol", "1", "--json").stdout)
    assert summary["references"]["long"]["accuracy"] == state["references"]["a_long"]
    assert summary["selected_round"] == chosen["round"]
    assert [r["alpha_short"] for r in summary["rounds"]] == [e["alpha_short"] for e in state["history"]]
    plot = tmp_path / "pareto.png"
    table = invoke("report", "--run", run, "--plot", plot)
    assert table.exit_code == 0 and "| round 0" in table.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_pick_fails_in_one_line_when_no_round_qualifies(looped_run):
    run, _ = looped_run
    state = json.loads((run / "state.json").read_text())
    assert max(e["dev_accuracy"] for e in state["history"]) < state["references"]["a_long"]
    assert_one_line_error(invoke("pick", "--run", run, "--tol", "0"), 1, "no round reaches dev accuracy")


@pytest.mark.slow
def test_eval_prints_a_table_and_json(tldr_world, tmp_path: Path):
    args = ["eval", "-m", tldr_world.short_model, "--bench", tldr_world.dev, "--temperature", "0"]
    args += ["--max-tokens", "16", "--backend", "transformers"]
    table = invoke(*args)
    assert table.exit_code == 0, table.output
    assert "| dev | all | 8 | 0.250 |" in table.stdout
    summary = json.loads(invoke(*args, "--json", "-o", tmp_path / "out").stdout)
    assert summary["benchmarks"]["dev"]["accuracy"] == 0.25
    assert summary["benchmarks"]["dev"]["levels"][0]["difficulty"] == 1
    assert (tmp_path / "out" / "dev" / "verified.parquet").exists()


def test_eval_names_a_missing_benchmark(tmp_path: Path):
    result = invoke("eval", "-m", tmp_path, "--bench", tmp_path / "absent.parquet")
    assert_one_line_error(result, 2, "absent.parquet", "no such file")
