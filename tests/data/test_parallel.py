"""Data-parallel generation: K pinned child processes fill one traces folder, like K `--part I/K` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.cli import cli
from tldr_data.errors import ConfigError, StageError
from tldr_data.parallel import device_groups, generate_parallel

KEEP = ("problem_id", "sample_idx", "completion", "completion_tokens", "gen_config", "model")


@pytest.fixture
def problems_path(tmp_path: Path) -> Path:
    rows = [
        {
            "problem_id": f"p{i:02d}",
            "source": "toy",
            "question": f"What is {i} * 2?",
            "answer": str(2 * i),
            "difficulty": None,
            "split": "train",
        }
        for i in range(10)
    ]
    path = tmp_path / "problems.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def rows(folder: Path) -> list[dict]:
    table = pa.concat_tables([pq.read_table(p) for p in folder.glob("*.parquet")])
    return sorted(
        ({k: r[k] for k in KEEP} for r in table.to_pylist()), key=lambda r: (r["problem_id"], r["sample_idx"])
    )


@pytest.mark.slow
def test_two_processes_write_what_one_writes(tiny_model: Path, problems_path: Path, tmp_path: Path) -> None:
    common = [
        "-m",
        str(tiny_model),
        "-i",
        str(problems_path),
        "--system",
        "s2",
        "-n",
        "2",
        "--backend",
        "fake",
    ]
    one = CliRunner().invoke(cli, ["generate", *common, "-o", str(tmp_path / "one")], catch_exceptions=False)
    assert one.exit_code == 0, one.output
    args = ["generate", *common, "-o", str(tmp_path / "two"), "--data-parallel", "2", "--json"]
    two = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert two.exit_code == 0, two.output
    summary = json.loads(two.stdout)
    assert summary["processes"] == 2 and summary["rows_written"] == 20 and summary["problems"] == 10
    assert rows(tmp_path / "two") == rows(tmp_path / "one")
    logs = sorted(p.name for p in (tmp_path / "two" / "logs").iterdir())
    assert logs == ["generate-part-0-of-2.log", "generate-part-1-of-2.log"]


@pytest.mark.slow
def test_a_failed_part_is_one_line_naming_it_and_its_log(problems_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "traces"
    with pytest.raises(
        StageError, match=r"generate part 0/2 failed \(exit 2: Error: .*absent.*\); log: .*part-0-of-2.log"
    ):
        generate_parallel(
            str(tmp_path / "absent"),
            problems_path,
            out,
            processes=2,
            logs=out / "logs",
            system="s",
            backend="fake",
        )


def test_each_process_gets_its_own_consecutive_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6,7")
    assert device_groups(4, 2) == ["0,1", "2,3", "4,5", "6,7"]
    assert device_groups(8, 1) == [str(i) for i in range(8)]
    with pytest.raises(
        ConfigError, match="--data-parallel 3 x --tensor-parallel-size 4 needs 12 GPUs; 8 visible"
    ):
        device_groups(3, 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert device_groups(2, 1) == [None, None]  # a CPU machine: nothing to pin


def test_part_and_data_parallel_exclude_each_other(problems_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--part and --data-parallel exclude each other"):
        generate_parallel(
            "m", problems_path, tmp_path / "o", processes=2, logs=tmp_path, system="s", part=(0, 2)
        )
