"""Every command that loads a run's state refuses a broken state.json: exit 2, one line naming the key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tldr_data.ratio import References
from tldr_train.cli import cli
from tldr_train.evaluate import Protocol
from tldr_train.run import RunState

COMMANDS = [
    ["pick"],
    ["report"],
    ["round"],
    ["run", "--rounds", "3"],
    ["record", "--acc", "0.5", "--tokens", "100", "--checkpoint", "c"],
]


def valid_state() -> dict:
    state = RunState(references=References(100.0, 0.3, 900.0, 0.8))
    state.config = {
        "short_model": "s1",
        "long_model": "s2",
        "short_pool": "short.parquet",
        "long_pool": "long.parquet",
        "dev": "dev.parquet",
        "protocol": Protocol(backend="transformers").to_dict(),
        "steps": 2,
        "mix_size": 4,
        "training": {},
    }
    state.record(0.6, 500.0, round=0, checkpoint="round-000/ckpt", mixture="round-000/mix")
    return state.to_dict()


def entry(**changes) -> dict:
    data = valid_state()
    data["history"][0].update(changes)
    return data


def without(*keys: str) -> dict:
    data = valid_state()
    for key in keys:
        del data["history"][0][key]
    return data


def no_config(key: str) -> dict:
    data = valid_state()
    del data["config"][key]
    return data


CASES = {
    "non-UTF-8 byte": (b'{"version": 1, "seed": "\xff"}', ["not UTF-8"]),
    "NaN": (json.dumps(valid_state()).replace("0.6", "NaN").encode(), ["NaN"]),
    "no config.protocol": (no_config("protocol"), ["config.protocol is missing"]),
    "only round and next_alpha_short": (
        without("alpha_short", "dev_accuracy", "dev_tokens", "b_short", "b_long", "checkpoint", "mixture"),
        ["history[0]", "dev_accuracy"],
    ),
    "round 'zero'": (entry(round="zero"), ["history[0].round", "'zero'"]),
    "dev_accuracy 'high'": (entry(dev_accuracy="high"), ["history[0].dev_accuracy", "'high'"]),
    "no checkpoint": (without("checkpoint"), ["history[0]", "checkpoint"]),
    "next_alpha_short 7.0": (entry(next_alpha_short=7.0), ["history[0].next_alpha_short", "7.0"]),
    "round -1": (entry(round=-1), ["history[0].round"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_broken_state_is_refused_by_every_command(case: str, tmp_path: Path) -> None:
    content, needles = CASES[case]
    state = tmp_path / "state.json"
    state.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    before = sorted(tmp_path.rglob("*"))
    for command in COMMANDS:
        result = CliRunner().invoke(cli, [*command, "--run", str(tmp_path)])
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1 and str(state) in result.stderr, (command, result.stderr)
        for needle in needles:
            assert needle in result.stderr, (command, result.stderr)
        assert sorted(tmp_path.rglob("*")) == before and state.read_bytes() == (
            content if isinstance(content, bytes) else json.dumps(content).encode()
        )


def test_round_names_a_missing_last_checkpoint_before_writing(tmp_path: Path) -> None:
    """The next round starts from the last round's checkpoint: a state naming a folder that is gone is
    refused before the round draws its mixture."""
    state = tmp_path / "state.json"
    state.write_text(json.dumps(valid_state()))
    for command in (["round"], ["run", "--rounds", "3"]):
        result = CliRunner().invoke(cli, [*command, "--run", str(tmp_path)])
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.count("\n") == 1, result.stderr
        assert "history[0].checkpoint round-000/ckpt: no such folder" in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_report_names_a_missing_model_of_the_config(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps(no_config("short_model")))
    result = CliRunner().invoke(cli, ["report", "--run", str(tmp_path)])
    assert result.exit_code == 2 and "config.short_model is missing" in result.stderr


def test_report_markdown_names_no_local_folder(tmp_path: Path, monkeypatch) -> None:
    data = valid_state()
    data["config"]["short_model"] = str(tmp_path / "models" / "s1")
    data["history"][0]["checkpoint"] = str(tmp_path / "run" / "round-000" / "ckpt")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "state.json").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path.parent)
    result = CliRunner().invoke(cli, ["report", "--run", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert str(tmp_path) not in result.stdout
    assert "| round-000/ckpt |" in result.stdout and "models/s1 |" in result.stdout


def test_init_names_a_missing_model_before_measuring(refs_args, tmp_path: Path) -> None:
    args = refs_args(tmp_path / "run")
    args[args.index("--long-model") + 1] = str(tmp_path / "models" / "none")
    (tmp_path / "models").mkdir()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"--long-model {tmp_path / 'models' / 'none'}: no such model folder" in result.stderr
    assert not (tmp_path / "run").exists()


def test_init_retried_after_a_failure_reuses_its_measurements(refs_args, started_run: Path, tmp_path: Path):
    """A failed init leaves RUN/refs/; the same command again finishes the run instead of refusing."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(started_run / "refs", run / "refs")
    result = CliRunner().invoke(cli, refs_args(run))
    assert result.exit_code == 0, result.output
    assert (
        json.loads((run / "state.json").read_text())["references"]
        == json.loads((started_run / "state.json").read_text())["references"]
    )


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--lr", "-1", "--batch-size", "0"], "--lr"),
        (["--batch-size", "0", "--max-steps", "0"], "--batch-size"),
    ],
)
def test_sft_refuses_impossible_settings_before_loading(flags, needle, sft_mixture, tmp_path: Path) -> None:
    output = tmp_path / "ckpt"
    args = ["sft", "-m", str(tmp_path / "absent-model"), "-d", str(sft_mixture), "-o", str(output), *flags]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and needle in result.stderr
    assert not output.exists() and list(tmp_path.iterdir()) == []


def test_sft_names_a_model_whose_weights_are_cut_short(tiny_model, sft_mixture, tmp_path: Path) -> None:
    import shutil

    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_model, corrupt)
    os.truncate(corrupt / "model.safetensors", 1000)
    output = tmp_path / "ckpt"
    result = CliRunner().invoke(cli, ["sft", "-m", str(corrupt), "-d", str(sft_mixture), "-o", str(output)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert f"model {corrupt}: cannot be loaded" in result.stderr and "unexpected" not in result.stderr
    assert not output.exists()


def test_a_second_sft_into_the_same_checkpoint_fails_at_once(tiny_model, sft_mixture, tmp_path: Path) -> None:
    from tldr_data.lock import output_lock

    output = tmp_path / "ckpt"
    with output_lock(output):
        result = CliRunner().invoke(
            cli, ["sft", "-m", str(tiny_model), "-d", str(sft_mixture), "-o", str(output)]
        )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "another process" in result.stderr
    assert not output.exists()
