"""tldr_train.evaluate: the decoding protocol, and per-benchmark / per-level measurement with a real model."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tldr_data.errors import ConfigError, InputError, UnknownBackendError
from tldr_data.toy.synth import make_problems
from tldr_train.evaluate import Protocol, evaluate, render_table


def test_protocol_round_trips_and_names_its_backend():
    protocol = Protocol(temperature=0.0, max_tokens=16, backend="transformers")
    assert Protocol.from_dict(protocol.to_dict()) == protocol
    assert Protocol().resolved().backend in ("vllm", "transformers")
    with pytest.raises(ConfigError, match="unknown key"):
        Protocol.from_dict({**protocol.to_dict(), "beam": 4})
    with pytest.raises(UnknownBackendError):
        Protocol(backend="nope").resolved()


def test_evaluate_rejects_missing_and_ambiguous_benchmarks(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        evaluate("m", [tmp_path / "absent.parquet"], None, Protocol(backend="transformers"))
    (tmp_path / "a").mkdir()
    with pytest.raises(InputError, match="two files are named x"):
        evaluate("m", [tmp_path / "x.parquet", tmp_path / "a" / "x.parquet"], None, Protocol())


@pytest.mark.slow
def test_evaluate_measures_each_benchmark_and_level(tldr_world, tmp_path: Path):
    bench = tmp_path / "mixed.parquet"
    pq.write_table(make_problems([1, 2], 3, seed=5), bench)
    protocol = Protocol(temperature=0.0, max_tokens=16, n=2, backend="transformers")
    summary = evaluate(tldr_world.short_model, [tldr_world.dev, bench], tmp_path / "out", protocol)
    dev, mixed = summary["benchmarks"]["dev"], summary["benchmarks"]["mixed"]
    assert (dev["n"], dev["accuracy"]) == (16, 0.25)
    assert dev["pass_at_k"] == pytest.approx(0.25)
    assert [level["difficulty"] for level in mixed["levels"]] == [1, 2]
    assert [level["n"] for level in mixed["levels"]] == [6, 6]
    assert (tmp_path / "out" / "mixed" / "verified.parquet").exists()
    assert "| dev | all | 16 | 0.250 |" in render_table(summary)
