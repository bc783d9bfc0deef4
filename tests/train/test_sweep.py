"""`tldr-train sweep` and `compare`: static runs beside a run, test points, the frontier in the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tldr_train.cli import cli

pytestmark = pytest.mark.slow


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def swept(looped_run, tldr_world, tmp_path_factory: pytest.TempPathFactory):
    """The two-round run with static runs at ratios 0 and 1 and test points (the dev set stands in)."""
    run = Path(shutil.copytree(looped_run[0], tmp_path_factory.mktemp("sweep") / "run"))
    # Tolerance 1: every round qualifies, so the run has a pick for the sweep to measure.
    state = json.loads((run / "state.json").read_text())
    (run / "state.json").write_text(json.dumps({**state, "tol": 1.0}))
    result = invoke("sweep", "--run", run, "--ratio", "0", "--ratio", "1", "--test", tldr_world.dev)
    assert result.exit_code == 0, result.output
    return run, result.stdout.splitlines()


def test_sweep_holds_each_ratio_with_the_runs_settings_and_budget(swept) -> None:
    run, lines = swept
    tldr = json.loads((run / "state.json").read_text())
    for ratio, pool in ((0, "long"), (1, "short")):
        state = json.loads((run / "sweep" / f"ratio-{ratio}" / "state.json").read_text())
        assert (state["mode"], state["alpha0"], state["seed"]) == ("constant", ratio, tldr["seed"])
        assert state["references"] == tldr["references"]
        assert {**state["config"], "reference_runs": None} == {**tldr["config"], "reference_runs": None}
        for measured in state["config"]["reference_runs"].values():
            assert (run / "sweep" / f"ratio-{ratio}" / measured["verified"]).is_file()
        assert [entry["alpha_short"] for entry in state["history"]] == [ratio, ratio]
        other = "short" if pool == "long" else "long"
        assert all(entry["mix_rows_per_pool"][other] == 0 for entry in state["history"])
    assert [line.split("  ")[0] for line in lines[:4]] == ["ratio 0", "ratio 0", "ratio 1", "ratio 1"]
    assert [line.split("  ")[0] for line in lines[4:7]] == ["test tldr", "test static 0", "test static 1"]
    assert lines[-1].startswith("static frontier on dev (accuracy / tokens) 0: ")


def test_a_second_sweep_reuses_every_round_and_test_point(swept) -> None:
    run, lines = swept
    again = invoke("sweep", "--run", run, "--ratio", "0", "--ratio", "1", "--test", swept_test(run))
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[:3] == lines[4:7]


def swept_test(run: Path) -> str:
    return json.loads((run / "state.json").read_text())["config"]["dev"]


def test_report_draws_the_static_frontier(swept, tmp_path: Path) -> None:
    run, _ = swept
    plot = tmp_path / "pareto.png"
    summary = json.loads(invoke("report", "--run", run, "--json", "--plot", plot).stdout)
    assert [entry["ratio"] for entry in summary["sweep"]["static"]] == [0.0, 1.0]
    assert set(summary["test"]) == {"static 0", "static 1", "tldr"}
    assert summary["sweep"]["tldr"]["round"] == summary["selected_round"]
    assert plot.stat().st_size > 0
    markdown = invoke("report", "--run", run).stdout
    assert "## Static frontier" in markdown
    assert "| static 1 |" in markdown


def test_compare_gives_the_judged_shape(swept) -> None:
    run, _ = swept
    result = invoke("compare", "--run", run, "--hard-level", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == {"static", "tldr"}
    (tldr,) = summary["tldr"]
    assert set(tldr) == {"round_seed", "round", "accuracy", "tokens", "hard_accuracy"}
    assert tldr["hard_accuracy"] == tldr["accuracy"]  # every test problem is on level 1
    for entry in summary["static"]:
        assert entry["spread"]["accuracy"]["sd"] == 0.0  # one round seed
        assert entry["spread"]["tokens"]["min"] == entry["tokens"] == entry["spread"]["tokens"]["max"]
    assert "| static 0 |" in invoke("compare", "--run", run).stdout


def test_compare_keeps_a_seed_that_picked_no_round(swept, tmp_path: Path) -> None:
    run, _ = swept
    failed = Path(shutil.copytree(run, tmp_path / "failed"))
    state = json.loads((failed / "state.json").read_text())
    # A floor above every round's dev accuracy: this seed's run has no pick.
    (failed / "state.json").write_text(
        json.dumps({**state, "tol": 0.0, "references": {**state["references"], "a_long": 1.0}})
    )
    result = invoke("compare", "--run", run, "--run", failed, "--hard-level", "1", "--json")
    assert result.exit_code == 0, result.output
    picked, missed = json.loads(result.stdout)["tldr"]
    assert picked["round"] is not None and picked["accuracy"] is not None
    assert (missed["round"], missed["accuracy"], missed["tokens"]) == (None, None, None)
    assert "(no round reached the floor)" in invoke("compare", "--run", run, "--run", failed).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ratio", "1.5"], "Error: Invalid value for '--ratio': 1.5 is not in the range 0.0<=x<=1.0"),
        (["--test", "absent.parquet"], "Error: --test absent.parquet: no such file"),
    ],
)
def test_sweep_rejects_bad_input_before_any_work(looped_run, tmp_path: Path, args, message) -> None:
    run = Path(shutil.copytree(looped_run[0], tmp_path / "run"))
    result = invoke("sweep", "--run", run, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (run / "sweep").exists()
