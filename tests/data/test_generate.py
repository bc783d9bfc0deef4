"""generate(): traces contract, resume, mixed settings and error paths (the fake backend: plumbing only)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tldr_data.backends import get_backend
from tldr_data.backends.fake import FakeBackend, FakeOptions
from tldr_data.decoding import Decoding
from tldr_data.done import read_done
from tldr_data.errors import (
    BackendError,
    ConfigError,
    InputError,
    MissingDependencyError,
    SchemaError,
    UnknownBackendError,
)
from tldr_data.generate import generate
from tldr_data.prompts import DEFAULT_INSTRUCTION
from tldr_data.schema import TRACES


@pytest.fixture
def problems_path(tmp_path: Path) -> Path:
    rows = [
        {
            "problem_id": f"p{i}",
            "source": "toy",
            "question": f"What is {i} + {i + 1}?",
            "answer": str(2 * i + 1),
            "difficulty": i % 3,
            "split": "test",
            "topic": "sum",
        }
        for i in range(6)
    ]
    path = tmp_path / "problems.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def read(folder: Path) -> list[dict]:
    rows = pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]).to_pylist()
    return sorted(rows, key=lambda r: (r["problem_id"], r["sample_idx"], r["gen_config"]))


def test_rows_follow_the_traces_contract(tiny_model: Path, problems_path: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "traces"
    summary = generate(
        str(tiny_model),
        problems_path,
        out,
        system="system2",
        backend="fake",
        batch_size=5,
        decoding=Decoding(n=2),
    )
    assert summary["rows_written"] == 12 and summary["shards_written"] == 3
    schema = pq.read_schema(next(out.glob("*.parquet")))
    assert schema.names == TRACES.names + ["topic"]
    rows = read(out)
    assert [(r["problem_id"], r["sample_idx"]) for r in rows] == [
        (f"p{i}", s) for i in range(6) for s in range(2)
    ]
    tok = AutoTokenizer.from_pretrained(tiny_model)
    first = rows[0]
    assert first["prompt"] == (
        f"<|im_start|>user\nWhat is 0 + 1?\n\n{DEFAULT_INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n"
    )
    assert first["prompt_tokens"] == len(tok(first["prompt"], add_special_tokens=False)["input_ids"])
    assert all(r["completion_tokens"] == len(r["completion"].split()) for r in rows)  # the fake's own count
    assert {r["token_source"] for r in rows} == {"engine"}
    config = json.loads(first["gen_config"])
    assert list(config) == sorted(config)
    assert config == {
        "instruction": DEFAULT_INSTRUCTION,
        "max_tokens": 4096,
        "seed": 0,
        "system_prompt": None,
        "temperature": 0.7,
        "top_p": 0.95,
    }
    assert {r["system"] for r in rows} == {"system2"} and {r["backend"] for r in rows} == {"fake"}
    assert rows[0]["completion"] != rows[1]["completion"], "samples of one problem differ (per-sample seeds)"


def test_rerun_skips_done_work_and_larger_n_adds_samples(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    generate(str(tiny_model), problems_path, out, system="s", backend="fake", decoding=Decoding(n=1))
    before = read(out)
    again = generate(str(tiny_model), problems_path, out, system="s", backend="fake", decoding=Decoding(n=1))
    assert again["rows_written"] == 0 and again["rows_skipped"] == 6 and again["backend"] is None
    more = generate(str(tiny_model), problems_path, out, system="s", backend="fake", decoding=Decoding(n=3))
    assert more["rows_written"] == 12 and more["rows_skipped"] == 6
    after = read(out)
    assert len(after) == 18 and len({(r["problem_id"], r["sample_idx"]) for r in after}) == 18
    assert [r for r in after if r["sample_idx"] == 0] == before


def test_other_settings_are_refused_unless_mixed(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    generate(str(tiny_model), problems_path, out, system="s", backend="fake")
    with pytest.raises(ConfigError, match=r"temperature: 0.7 there, 0.0 now.*--allow-mixed"):
        generate(
            str(tiny_model), problems_path, out, system="s", backend="fake", decoding=Decoding(temperature=0)
        )
    summary = generate(
        str(tiny_model),
        problems_path,
        out,
        system="s",
        backend="fake",
        allow_mixed=True,
        decoding=Decoding(temperature=0),
    )
    assert summary["rows_written"] == 6
    assert len(read_done(out)["configs"]) == 2
    assert len(read(out)) == 12


def test_instruction_system_prompt_and_length_finish(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    generate(
        str(tiny_model),
        problems_path,
        out,
        system="system1",
        backend="fake",
        limit=2,
        backend_options={"words": "20"},
        decoding=Decoding(instruction="", system_prompt="Be brief.", max_tokens=5),
    )
    rows = read(out)
    assert len(rows) == 2
    assert rows[0]["prompt"].startswith(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 0 + 1?<|im_end|>"
    )
    assert {r["finish_reason"] for r in rows} == {"length"}


def test_greedy_ignores_the_seed(tiny_model, problems_path, tmp_path) -> None:
    runs = [
        generate(
            str(tiny_model),
            problems_path,
            tmp_path / f"s{seed}",
            system="s",
            backend="fake",
            decoding=Decoding(temperature=0, seed=seed),
        )
        for seed in (1, 2)
    ]
    assert all(r["rows_written"] == 6 for r in runs)
    assert [r["completion"] for r in read(tmp_path / "s1")] == [
        r["completion"] for r in read(tmp_path / "s2")
    ]


def test_a_failing_engine_keeps_finished_shards_and_the_rerun_completes(
    tiny_model, problems_path, tmp_path
) -> None:
    out = tmp_path / "traces"
    with pytest.raises(BackendError, match="fail_after"):
        generate(
            str(tiny_model),
            problems_path,
            out,
            system="s",
            backend="fake",
            batch_size=4,
            backend_options={"fail_after": 2},
            decoding=Decoding(n=2),
        )
    assert len(read(out)) == 8
    summary = generate(
        str(tiny_model), problems_path, out, system="s", backend="fake", batch_size=4, decoding=Decoding(n=2)
    )
    assert summary["rows_written"] == 4
    reference = tmp_path / "reference"
    generate(
        str(tiny_model),
        problems_path,
        reference,
        system="s",
        backend="fake",
        batch_size=5,
        decoding=Decoding(n=2),
    )
    assert read(out) == read(reference)


def test_shards_list_in_input_order_on_every_run(tiny_model, problems_path, tmp_path) -> None:
    shuffled = tmp_path / "shuffled.parquet"
    pq.write_table(pq.read_table(problems_path).take([3, 0, 5, 1, 4, 2]), shuffled)
    first, resumed = tmp_path / "first", tmp_path / "resumed"
    generate(
        str(tiny_model), shuffled, first, system="s", backend="fake", batch_size=3, decoding=Decoding(n=2)
    )
    generate(
        str(tiny_model),
        shuffled,
        resumed,
        system="s",
        backend="fake",
        batch_size=4,
        limit=1,
        decoding=Decoding(n=2),
    )
    generate(
        str(tiny_model), shuffled, resumed, system="s", backend="fake", batch_size=4, decoding=Decoding(n=2)
    )
    expected = [(f"p{i}", s) for i in (3, 0, 5, 1, 4, 2) for s in range(2)]
    for folder in (first, resumed):
        rows = pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]).to_pylist()
        assert [(r["problem_id"], r["sample_idx"]) for r in rows] == expected


def test_parts_fill_one_folder(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    sizes = [
        generate(str(tiny_model), problems_path, out, system="s", backend="fake", part=(i, 2))["problems"]
        for i in range(2)
    ]
    assert sum(sizes) == 6
    assert [r["problem_id"] for r in read(out)] == [f"p{i}" for i in range(6)]


def test_a_shared_backend_instance_is_used_and_kept_open(tiny_model, problems_path, tmp_path) -> None:
    engine = FakeBackend(str(tiny_model), FakeOptions(answer="7"))
    generate(str(tiny_model), problems_path, tmp_path / "a", system="s", backend=engine)
    generate(str(tiny_model), problems_path, tmp_path / "b", system="s", backend=engine)
    assert engine.calls == 2
    assert all(r["completion"].endswith("\\boxed{7}") for r in read(tmp_path / "b"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"decoding": Decoding(n=0)}, ConfigError, "-n must be at least 1"),
        ({"decoding": Decoding(top_p=0)}, ConfigError, "--top-p"),
        ({"backend": "nope"}, UnknownBackendError, "known backends: vllm, transformers, openai, fake"),
        (
            {"backend": "transformers", "backend_options": {"tensor_parallel_size": 2}},
            ConfigError,
            "does not apply to the transformers",
        ),
        ({"backend_options": {"colour": "red"}}, ConfigError, "unknown option.*colour; known: answer, delay"),
        ({"backend_options": {"words": "many"}}, ConfigError, "words='many' is not a valid int"),
    ],
)
def test_bad_settings_write_nothing(tiny_model, problems_path, tmp_path, kwargs, error, message) -> None:
    out = tmp_path / "traces"
    with pytest.raises(error, match=message):
        generate(str(tiny_model), problems_path, out, system="s", **{"backend": "fake", **kwargs})
    assert not out.exists()


def test_bad_inputs_write_nothing(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    with pytest.raises(InputError, match="no such file"):
        generate(str(tiny_model), tmp_path / "missing.parquet", out, system="s", backend="fake")
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"problem_id": ["a"], "text": ["x"]}), wrong)
    with pytest.raises(SchemaError, match="missing column.*question"):
        generate(str(tiny_model), wrong, out, system="s", backend="fake")
    with pytest.raises(InputError, match="no-model: no such model folder"):
        generate(str(tmp_path / "no-model"), problems_path, out, system="s", backend="fake")
    assert not out.exists()


def test_duplicate_problem_ids_are_refused(tiny_model, problems_path, tmp_path) -> None:
    table = pq.read_table(problems_path)
    doubled = tmp_path / "doubled.parquet"
    pq.write_table(pa.concat_tables([table, table]), doubled)
    with pytest.raises(InputError, match="'p0' appears more than once"):
        generate(str(tiny_model), doubled, tmp_path / "traces", system="s", backend="fake")


def test_unreachable_server_fails_before_any_output(tiny_model, problems_path, tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "traces"
    with pytest.raises(BackendError, match=f"cannot reach http://127.0.0.1:{port}/v1"):
        generate(
            str(tiny_model),
            problems_path,
            out,
            system="s",
            backend="openai",
            backend_options={"base_url": f"http://127.0.0.1:{port}/v1"},
        )
    assert not out.exists()


def test_missing_engine_names_the_extra(tiny_model, problems_path, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'tldr\[gpu\]'.*'tldr\[cpu\]'"):
        generate(str(tiny_model), problems_path, tmp_path / "traces", system="s", backend="vllm")
    assert not (tmp_path / "traces").exists()


def test_registry_lists_capabilities() -> None:
    caps = get_backend("openai").capabilities()
    assert caps["name"] == "openai" and caps["options"]["concurrency"] == 8
    assert get_backend("fake").parse_options({"delay": "0.5"}).delay == 0.5
