"""recipes/toy-arith/run.sh with the tiny `smoke` profile: every stage runs and the report is whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODELS = ("system1", "system2", "static 0", "static 1", "tldr")


def test_smoke_profile_writes_the_report(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHON"] = sys.executable
    result = subprocess.run(
        ["bash", str(REPO / "recipes" / "toy-arith" / "run.sh"), "smoke", "out=runs/my-smoke"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "runs" / "my-smoke"
    for name in ("report.md", "report.json", "pareto.png", "sweep.md", "sweep.json"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    assert set(report["test"]) == set(MODELS)
    for name in MODELS:
        point = report["test"][name]
        assert 0.0 <= point["accuracy"] <= 1.0
        assert point["tokens"] > 0
        assert [level["level"] for level in point["levels"]] == [1, 2, 3]
    assert len(report["rounds"]) == 2
    assert set(report["references"]) == {"short", "long"}
    assert "| tldr |" in (out / "report.md").read_text()
    # The evidence file: both references, each ratio averaged over the two round seeds, TLDR per seed.
    sweep = json.loads((out / "sweep.json").read_text())
    assert set(sweep) == {"system1", "system2", "static", "tldr"}
    assert [entry["ratio"] for entry in sweep["static"]] == [0.0, 1.0]
    assert [entry["round_seed"] for entry in sweep["tldr"]] == [0, 1]
    for point in [sweep["system1"], sweep["system2"], *sweep["static"], *sweep["tldr"]]:
        assert 0.0 <= point["hard_accuracy"] <= 1.0 and point["tokens"] > 0
    assert "1. The world" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["laptop"], "no profile 'laptop'"),
        (["cpu", "hiddn=32"], "'hiddn=32' is not KEY=VALUE with a KEY of"),
        (["cpu", "hidden"], "'hidden' is not KEY=VALUE"),
    ],
)
def test_unknown_profile_or_knob_is_refused(tmp_path: Path, args: list[str], message: str) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", str(REPO / "recipes" / "toy-arith" / "run.sh"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_failed_job_stops_the_recipe_naming_its_log(tmp_path: Path) -> None:
    """Jobs run side by side; one that fails (System-2's training, given a bad step count) stops the recipe
    after the jobs beside it finish, with its name, exit status and the end of its log, before step 6."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHON"] = sys.executable
    result = subprocess.run(
        ["bash", str(REPO / "recipes" / "toy-arith" / "run.sh"), "smoke", "system2_steps=many", "jobs=2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    logs = tmp_path / "runs" / "toy-arith-smoke" / "logs"
    failed = "train-system2 failed (exit 2); the end of runs/toy-arith-smoke/logs/train-system2.log"
    assert failed in result.stderr
    assert "'many' is not a valid integer" in result.stderr
    assert (logs / "train-system1.rc").read_text().strip() == "0"
    assert "train-system1, " in result.stdout
    assert "6. Sample" not in result.stdout
