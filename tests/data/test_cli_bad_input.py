"""The error contract of `tldr-data`, command by command: bad input exits 2 with one line naming the file,
row or option, and nothing is written; numbers options refuse NaN and infinity everywhere."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from tldr_data.atomic import write_parquet
from tldr_data.cli import cli
from tldr_data.clitools import TldrCommand
from tldr_data.schema import PROBLEMS, VERIFIED
from tldr_data.toy import synth
from tldr_train.cli import cli as train_cli


def files(folder: Path) -> set[str]:
    """Every path under `folder`, hidden ones included: what a command left behind."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_one_line(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def world(tmp_path: Path, write_rows):
    """problems.parquet, a verified file with no correct row, and a traces file, in tmp_path."""
    problems = tmp_path / "problems.parquet"
    rows = [
        {"problem_id": f"p{i}", "source": "t", "question": f"What is {i} + 1?", "answer": str(i + 1)}
        for i in range(4)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=PROBLEMS), problems)
    wrong = write_rows(
        [{"problem_id": f"p{i}", "correct": False} for i in range(3)], "verified", "wrong.parquet"
    )
    traces = write_rows([{"problem_id": "p0"}, {"problem_id": "p1"}], "traces", "traces.parquet")
    return tmp_path, problems, wrong, traces


def test_every_float_option_of_every_command_refuses_nan_and_inf() -> None:
    floats = []
    for group in (cli, train_cli):
        for name, command in group.commands.items():
            assert isinstance(command, TldrCommand), name
            floats += [p.name for p in command.params if isinstance(p.type, click.types.FloatParamType)]
    assert len(floats) > 10

    @click.command(cls=TldrCommand)
    @click.option("--x", type=float)
    @click.option("--pair", type=(float, float))
    def probe(x, pair) -> None:
        pass

    for args in (["--x", "nan"], ["--x", "inf"], ["--x", "-inf"], ["--pair", "1", "nan"]):
        result = CliRunner().invoke(probe, args)
        assert result.exit_code == 2 and "is not a finite number" in result.output, args
    assert CliRunner().invoke(probe, ["--x", "1e300"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["ratio", "--refs", "1,0.2,9,0.8", "--alpha", "0.5", "--acc", "nan", "--tokens", "5"], ["--acc"]),
        (["ratio", "--refs", "1,0.2,9,0.8", "--alpha", "inf", "--acc", "0.5", "--tokens", "5"], ["--alpha"]),
        (["mix", "--short", "s", "--long", "l", "--ratio", "nan", "--size", "4", "-o", "m"], ["--ratio"]),
        (["generate", "-m", "x", "-i", "p", "-o", "o", "--system", "s", "--top-p", "nan"], ["--top-p"]),
        (["select", "v.parquet", "-o", "p.parquet", "--bogus"], ["--bogus", "select --help"]),
    ],
)
def test_bad_options_are_one_line_usage_errors(args, needles, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line(CliRunner().invoke(cli, args), 2, *needles)
    assert files(tmp_path) == set()


def test_bad_input_per_command(world, tiny_model, monkeypatch) -> None:
    """Each row: a defect found by trying the tool as a new user; now exit 2, one line, nothing written."""
    tmp, problems, wrong, traces = world
    monkeypatch.chdir(tmp)
    (tmp / "bad.csv").write_text('question,answer\n"What is 1+1?",2\n"bad,row\nq3,3\n')
    (tmp / "short.csv").write_text("question,answer\nWhat is 2?,2,extra\n")
    (tmp / "folder").mkdir()
    (tmp / "problems.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    log = {"q": {"problem": "q", "answer": 1, "responses": {"0.7": [{"content": 5, "correctness": True}]}}}
    (tmp / "int.json").write_text(json.dumps(log))
    (tmp / "empty.parquet").write_bytes(b"")
    pq.write_table(VERIFIED.empty_table(), tmp / "empty.parquet")
    shutil.copytree(tiny_model, tmp / "corrupt")
    os.truncate(tmp / "corrupt" / "model.safetensors", 1000)  # a copy cut short
    cases = [
        (["problems", "bad.csv", "-o", "x.parquet"], ["bad.csv", "line"]),
        (["problems", "short.csv", "-o", "x.parquet"], ["short.csv", "line 2", "3 fields"]),
        (["problems", "problems.jsonl", "-o", "folder", "--overwrite"], ["folder: is a folder"]),
        (["problems", "problems.jsonl", "-o", "problems.jsonl"], ["also an input"]),
        (["synth", "-o", "problems.parquet/x.parquet", "--levels", "1", "--per-level", "2"], ["is a file"]),
        (["teach", "-i", "folder", "-o", "t.parquet", "--system", "system1"], ["folder: is a folder"]),
        (["teach", "-i", "problems.jsonl", "-o", "t.parquet", "--system", "system1"], ["not a Parquet"]),
        (["generate", "-m", str(tiny_model), "-i", "problems.parquet", "-o", "out", "--system", "s",
          "--backend", "fake", "--temperature", "nan"], ["--temperature", "finite"]),
        (["generate", "-m", "folder/none", "-i", "problems.parquet", "-o", "out", "--system", "s",
          "--backend", "fake"], ["folder/none", "no such model folder"]),
        (["generate", "-m", "corrupt", "-i", "problems.parquet", "-o", "out", "--system", "s",
          "--backend", "transformers"], ["corrupt: its weights cannot be read"]),
        (["generate", "-m", "org/none", "-i", "problems.parquet", "-o", "out", "--system", "s",
          "--backend", "fake"], ["org/none", "HF_HUB_OFFLINE"]),
        (["generate", "-m", str(tiny_model), "-i", "traces.parquet", "-o", "out", "--system", "s",
          "--backend", "fake"], ["traces.parquet", "generate reads `problems`"]),
        (["import", "int.json", "-o", "t.parquet", "--system", "s", "-m", "m"], ["int.json", "response 0"]),
        (["import", "int.json", "./int.json", "-o", "t.parquet", "--system", "s", "-m", "m"],
         ["the same log as int.json"]),
        (["import", "folder", "-o", "t.parquet", "--system", "s", "-m", "m"], ["folder: is a folder"]),
        (["profile", "empty.parquet"], ["empty.parquet", "no rows"]),
        (["profile", "wrong.parquet", "--plot", "problems.parquet/x.png"], ["is a file"]),
        (["select", "wrong.parquet", "-o", "pool.parquet", "--rejected", "pool.parquet"], ["--rejected"]),
        (["select", "wrong.parquet", "-o", "wrong.parquet", "--overwrite"], ["also an input"]),
        (["select", "wrong.parquet", "-o", "pool.parquet", "--shortest-correct", "--all-correct"],
         ["contradict"]),
        (["mix", "--short", "traces.parquet", "--long", "wrong.parquet", "--ratio", "0.5", "--size", "2",
          "-o", "mix"], ["short pool traces.parquet", "correct"]),
        (["mix", "--short", "wrong.parquet", "--long", "wrong.parquet", "--ratio", "0.5", "--size", "2",
          "-o", "mix"], ["not verified correct"]),
        (["mix", "--short", "wrong.parquet", "--long", "wrong.parquet", "--ratio", "0.5", "--size", "2",
          "-o", "mix", "--round", "-1"], ["--round -1"]),
    ]  # fmt: skip
    before = files(tmp)
    for args, needles in cases:
        started = time.perf_counter()
        assert_one_line(CliRunner().invoke(cli, args), 2, *needles)
        assert time.perf_counter() - started < 10, args
        assert files(tmp) == before, args


def test_a_missing_model_with_the_hub_unreachable_is_one_quick_line(world, tmp_path) -> None:
    """HF_HUB_OFFLINE unset, no network: `models/none` (its `models/` missing too) reads as a Hub id; without
    the probe, from_pretrained retried the Hub for most of a minute and printed a page."""
    tmp, _, _, _ = world
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once the socket is closed
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_ENDPOINT"] = closed
    made = CliRunner().invoke(
        cli, ["synth", "-o", str(tmp / "s.parquet"), "--levels", "1", "--per-level", "2"]
    )
    assert made.exit_code == 0, made.output
    taught = CliRunner().invoke(
        cli, ["teach", "-i", str(tmp / "s.parquet"), "-o", str(tmp / "t.parquet"), "--system", "system1"]
    )
    assert taught.exit_code == 0, taught.output
    cases = [
        (["generate", "-m", "models/none", "-i", "problems.parquet", "-o", "out", "--system", "s",
          "--backend", "transformers"], ["-m/--model models/none", "the Hub cannot be reached"]),
        (["verify", "t.parquet", "-o", "v.parquet"], ["teacher-system1", "cannot be reached", "--tokenizer"]),
    ]  # fmt: skip
    before = files(tmp)
    for args, needles in cases:
        result = subprocess.run(
            [sys.executable, "-m", "tldr_data", *args],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
        for needle in needles:
            assert needle in result.stderr, result.stderr
        assert files(tmp) == before, args


def test_synth_exclude_of_a_whole_level_says_so(tmp_path) -> None:
    level1 = tmp_path / "all.parquet"
    whole = str(synth.capacity(1))
    assert (
        CliRunner().invoke(cli, ["synth", "-o", str(level1), "--levels", "1", "--per-level", whole]).exit_code
        == 0
    )
    result = CliRunner().invoke(
        cli,
        [
            "synth",
            "-o",
            str(tmp_path / "x.parquet"),
            "--levels",
            "1",
            "--per-level",
            "1",
            "--exclude",
            str(level1),
        ],
    )
    assert_one_line(result, 2, f"all of its {whole} questions", "--levels")


def test_select_with_no_correct_row_writes_an_empty_pool(world) -> None:
    tmp, _, wrong, _ = world
    for mode in ("--shortest-correct", "--all-correct"):
        out = tmp / f"pool{mode}.parquet"
        result = CliRunner().invoke(
            cli,
            ["select", str(wrong), "-o", str(out), mode, "--rejected", str(tmp / "r.parquet"), "--overwrite"],
        )
        assert result.exit_code == 0, result.output
        assert "kept 0 of 3 rows" in result.stdout
        pool = pq.read_table(out)
        assert pool.num_rows == 0 and pool.schema.names[: len(VERIFIED)] == VERIFIED.names
        assert pq.read_table(tmp / "r.parquet").num_rows == 3


def test_mix_card_names_no_local_folder(make_pool, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    short, long = make_pool("short", 10), make_pool("long", 10)
    out = tmp_path / "run" / "mix"
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.5",
        "--size",
        "4",
        "-o",
        str(out),
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    card = (out / "README.md").read_text()
    assert str(tmp_path) not in card
    meta = yaml.safe_load(card.split("---\n")[1])["tldr"]
    assert meta["pools"]["short"]["sources"] == ["pools/short.parquet"]
    assert "--output run/mix" in meta["command"]


def test_push_without_a_token_or_with_a_bad_branch(tmp_path, monkeypatch, make_pool) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    folder = tmp_path / "mix"
    folder.mkdir()
    assert_one_line(
        CliRunner().invoke(cli, ["push", str(folder), "me/x"]), 2, "no Hugging Face token found", "HF_TOKEN"
    )
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    result = CliRunner().invoke(cli, ["push", str(folder), "me/x", "--revision", "bad name/.."])
    assert_one_line(result, 2, "--revision 'bad name/..'", "not a valid branch name")
    monkeypatch.delenv("HF_TOKEN")
    short, long = make_pool("short", 4), make_pool("long", 4)
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.5",
        "--size",
        "2",
        "-o",
        str(tmp_path / "m2"),
        "--push-to-hub",
        "me/x",
    ]
    assert_one_line(CliRunner().invoke(cli, args), 2, "no Hugging Face token found")
    assert not (tmp_path / "m2").exists()


def test_outputs_follow_the_umask(make_pool, tmp_path) -> None:
    import os

    short, long = make_pool("short", 4), make_pool("long", 4)
    for mask, file_mode, dir_mode in ((0o022, 0o644, 0o755), (0o077, 0o600, 0o700)):
        old = os.umask(mask)
        try:
            table = pa.table({"a": [1]})
            path = write_parquet(table, tmp_path / f"t{mask}.parquet")
            out = tmp_path / f"mix{mask}"
            assert (
                CliRunner()
                .invoke(
                    cli,
                    [
                        "mix",
                        "--short",
                        str(short),
                        "--long",
                        str(long),
                        "--ratio",
                        "0.5",
                        "--size",
                        "2",
                        "-o",
                        str(out),
                    ],
                )
                .exit_code
                == 0
            )
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == file_mode
        assert out.stat().st_mode & 0o777 == dir_mode
        assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {file_mode}


def test_model_weights_follow_the_umask(tmp_path) -> None:
    """safetensors writes weights 0600; tiny's folder (and sft's, by the same helper) gets ordinary modes."""
    import os

    old = os.umask(0o002)
    try:
        result = CliRunner().invoke(train_cli, ["tiny", "-o", str(tmp_path / "tiny")])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny" / "model.safetensors").stat().st_mode & 0o777 == 0o664
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "tiny").rglob("*") if p.is_file()} == {0o664}


def test_tiny_bad_output_and_corpus(tmp_path) -> None:
    (tmp_path / "model").write_text("a file")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    result = CliRunner().invoke(train_cli, ["tiny", "-o", str(tmp_path / "model")])
    assert_one_line(result, 2, "model: is a file")
    result = CliRunner().invoke(
        train_cli, ["tiny", "-o", str(tmp_path / "m"), "--corpus", str(tmp_path / "latin1.txt")]
    )
    assert_one_line(result, 2, "latin1.txt: not UTF-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.txt", "model"]
