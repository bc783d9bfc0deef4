"""A small TLDR world for the round tests: two trained tiny models, two pools and a dev set (~20 s, once).

The System-1 model learned to answer `\\boxed{5}` at once, the System-2 model to think for a line and answer
`\\boxed{7}`; the dev set holds 2 problems whose answer is 5 and 6 whose answer is 7, so the references are
(about 4 tokens, 0.25) and (about 19 tokens, 0.75) under greedy decoding. The pools are scripted correct
completions of other synthetic problems in the `verified` contract (short: the answer; long: every step).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from tldr_data.atomic import write_parquet
from tldr_data.prompts import DEFAULT_INSTRUCTION
from tldr_data.schema import VERIFIED, conform
from tldr_data.toy.synth import make_problems, running_steps

SHORT_ANSWER = "\\boxed{5}"
LONG_ANSWER = "<think>\nFirst I add the numbers.\n</think>\n\\boxed{7}"
# Greedy, short completions and small steps: the whole loop runs in seconds on a CPU.
PROTOCOL_ARGS = ["--temperature", "0", "--max-tokens", "32", "--backend", "transformers"]
TRAINING_ARGS = [
    "--steps",
    "4",
    "--mix-size",
    "16",
    "--batch-size",
    "4",
    "--max-length",
    "128",  # the long pool's rows are up to 82 tokens: none is cut
    "--lr",
    "1e-2",
]


def _constant_mixture(folder: Path, questions: list[str], answer: str) -> Path:
    """A prompt-completion dataset teaching one fixed completion."""
    import pyarrow.parquet as pq

    rows = [
        {
            "prompt": [{"role": "user", "content": f"{q}\n\n{DEFAULT_INSTRUCTION}"}],
            "completion": [{"role": "assistant", "content": answer}],
        }
        for q in questions
    ]
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "data" / "train-00000-of-00001.parquet")
    return folder


def _pool(path: Path, problems: pa.Table, completion, system: str) -> Path:
    """Scripted correct completions written as `verified` rows (what `tldr-data select` would keep)."""
    rows = problems.num_rows
    texts = [
        completion(q, a)
        for q, a in zip(problems["question"].to_pylist(), problems["answer"].to_pylist(), strict=True)
    ]
    columns = {name: problems[name] for name in problems.column_names}
    columns |= {
        "system": [system] * rows,
        "model": ["scripted"] * rows,
        "sample_idx": [0] * rows,
        "prompt": [""] * rows,
        "completion": texts,
        "finish_reason": ["stop"] * rows,
        "prompt_tokens": [0] * rows,
        "completion_tokens": [len(text.split()) for text in texts],
        "token_source": ["engine"] * rows,
        "gen_config": [json.dumps({"instruction": DEFAULT_INSTRUCTION})] * rows,
        "backend": ["scripted"] * rows,
        "pred_answer": problems["answer"],
        "correct": [True] * rows,
        "verdict": ["correct"] * rows,
    }
    table = pa.table(
        {k: pa.array(v, VERIFIED.field(k).type) if isinstance(v, list) else v for k, v in columns.items()}
    )
    return write_parquet(conform(table, "verified"), path)


def _long_completion(question: str, answer: str) -> str:
    steps = "\n".join(f"{expr} = {value}." for expr, value in running_steps(question))
    return f"<think>\n{steps}\n</think>\n\\boxed{{{answer}}}"


@pytest.fixture(scope="session")
def tldr_world(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Paths of the two reference models, the pools and the dev set (built once per session)."""
    from tldr_train.sft import train
    from tldr_train.tiny import build_tiny
    from tldr_train.training import Training

    root = tmp_path_factory.mktemp("world")
    level1 = make_problems([1], 81, seed=0)
    answers = level1["answer"].to_pylist()
    fives = [i for i, a in enumerate(answers) if a == "5"][:2]
    sevens = [i for i, a in enumerate(answers) if a == "7"][:6]
    dev = write_parquet(level1.take(fives + sevens), root / "dev.parquet")
    others = [i for i in range(level1.num_rows) if i not in set(fives + sevens)]
    short_pool = _pool(
        root / "short.parquet", level1.take(others[:40]), lambda q, a: f"\\boxed{{{a}}}", "system1"
    )
    long_pool = _pool(root / "long.parquet", make_problems([3], 40, seed=1), _long_completion, "system2")

    build_tiny(root / "base", seed=0)
    questions = level1.take(others[:16])["question"].to_pylist()
    models = {}
    for name, answer, steps in [("short", SHORT_ANSWER, 12), ("long", LONG_ANSWER, 25)]:
        mixture = _constant_mixture(root / f"{name}-mix", questions, answer)
        train(
            str(root / "base"),
            mixture,
            root / name,
            training=Training(
                learning_rate=0.01, lr_scheduler="linear", batch_size=8, max_length=64, report_to="none"
            ),
            max_steps=steps,
        )
        models[name] = root / name
    return SimpleNamespace(
        root=root, short_model=models["short"], long_model=models["long"], short_pool=short_pool,
        long_pool=long_pool, dev=dev,
    )  # fmt: skip


@pytest.fixture(scope="session")
def refs_args(tldr_world: SimpleNamespace):
    """`refs_args(run)`: the `tldr-train init` arguments that start a run of the world in `run`."""
    return lambda run: [
        "init",
        "--short-model", str(tldr_world.short_model),
        "--long-model", str(tldr_world.long_model),
        "--short-pool", str(tldr_world.short_pool),
        "--long-pool", str(tldr_world.long_pool),
        "--dev", str(tldr_world.dev),
        "-o", str(run),
        *PROTOCOL_ARGS,
        *TRAINING_ARGS,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def started_run(refs_args, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder right after `init` (copy it before running rounds in it)."""
    from click.testing import CliRunner

    from tldr_train.cli import cli

    run = tmp_path_factory.mktemp("runs") / "started"
    result = CliRunner().invoke(cli, refs_args(run), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def run_copy(started_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of the started run for one test."""
    import shutil

    return Path(shutil.copytree(started_run, tmp_path / "run"))


@pytest.fixture(scope="session")
def looped_run(started_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The started run after two `tldr-train round` commands, and the lines they printed."""
    import shutil

    from click.testing import CliRunner

    from tldr_train.cli import cli

    run = Path(shutil.copytree(started_run, tmp_path_factory.mktemp("runs") / "looped"))
    lines = []
    for _ in range(2):
        result = CliRunner().invoke(cli, ["round", "--run", str(run)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        lines.append(result.stdout.strip())
    return run, lines


def numbers(history: list[dict]) -> list[dict]:
    """A history without its timings: what two runs with the same seeds must agree on."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.endswith("seconds")}
        return value

    return [strip(entry) for entry in history]


@pytest.fixture(scope="session")
def history_numbers():
    """`history_numbers(history)`: the history without timings."""
    return numbers
