"""`tldr-data mix` and `tldr-data push`: folders, Hub branches per round, and failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
from click.testing import CliRunner

from tldr_data.cli import cli
from tldr_data.mix import SHARD


def test_mix_writes_the_folder(make_pool, tmp_path) -> None:
    short, long = make_pool("short", 30), make_pool("long", 30)
    out = tmp_path / "mix"
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.7",
        "--size",
        "20",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(cli, [*args, "--seed", "4", "--round", "2"], catch_exceptions=False)
    assert result.stdout.startswith("mixed 20 rows (14 short + 6 long, alpha_short 0.7000)")
    assert pq.read_metadata(out / SHARD).num_rows == 20
    card = (out / "README.md").read_text()
    assert "command: tldr-data mix --short" in card and "--seed 4 --round 2" in card


def test_mix_needs_a_ratio_and_refuses_an_existing_output(make_pool, tmp_path) -> None:
    short, long = make_pool("short", 5), make_pool("long", 5)
    base = ["mix", "--short", str(short), "--long", str(long), "--size", "4", "-o", str(tmp_path / "mix")]
    neither = CliRunner().invoke(cli, base)
    assert neither.exit_code == 2 and "Missing option '--ratio'" in neither.stderr
    assert CliRunner().invoke(cli, [*base, "--ratio", "0.5"]).exit_code == 0
    again = CliRunner().invoke(cli, [*base, "--ratio", "0.5"])
    assert again.exit_code == 2 and "already exists; pass --overwrite" in again.stderr
    assert CliRunner().invoke(cli, [*base, "--ratio", "0.5", "--overwrite"]).exit_code == 0


def test_mix_too_small_pool_exits_2_without_output(make_pool, tmp_path) -> None:
    short, long = make_pool("short", 5), make_pool("long", 5)
    args = ["mix", "--short", str(short), "--long", str(long), "--ratio", "0.5", "--size", "20"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "mix")])
    assert result.exit_code == 2 and "short pool" in result.stderr and "has 5 rows" in result.stderr
    assert not (tmp_path / "mix").exists()


def test_mix_push_to_hub_uses_a_branch_per_round(make_pool, tmp_path, fake_hub) -> None:
    short, long = make_pool("short", 10), make_pool("long", 10)
    out = tmp_path / "mix"
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.5",
        "--size",
        "6",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(
        cli, [*args, "--round", "3", "--push-to-hub", "me/tldr-mix"], catch_exceptions=False
    )
    assert "pushed to" in result.stdout and "/tree/round-003" in result.stdout
    uploaded = fake_hub.files[("me/tldr-mix", "round-003")]
    assert uploaded[SHARD] == (out / SHARD).read_bytes() and "README.md" in uploaded


def test_push_command_in_a_subprocess_retries_503(tmp_path, fake_hub) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "README.md").write_text("# hello\n")
    fake_hub.fail["branch"] = [503]
    command = [
        sys.executable,
        "-m",
        "tldr_data",
        "push",
        str(folder),
        "me/x",
        "--revision",
        "round-000",
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["attempts"] == 4
    assert fake_hub.files[("me/x", "round-000")] == {"README.md": b"# hello\n"}


def test_push_failure_exits_1_keeps_folder_and_says_where(make_pool, tmp_path, fake_hub) -> None:
    short, long = make_pool("short", 10), make_pool("long", 10)
    out = tmp_path / "mix"
    fake_hub.fail["create"] = [403]
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.5",
        "--size",
        "6",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(cli, [*args, "--round", "1", "--push-to-hub", "me/tldr-mix"])
    assert result.exit_code == 1
    assert f"the folder is kept at {out}" in result.stderr
    assert f"retry with `tldr-data push {out} me/tldr-mix --revision round-001`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert pq.read_metadata(out / SHARD).num_rows == 6
