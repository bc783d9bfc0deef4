"""importers: SkyThought logs become `traces` rows that keep the source's verdicts and run metadata."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import REAL_TRACES, requires_shared

from tldr_data.errors import InputError
from tldr_data.importers import import_traces


@requires_shared(REAL_TRACES)
@pytest.mark.parametrize(
    ("task", "rows", "accuracy"), [("amc23", 320, 0.8375), ("gsm8k", 1319, 0.8772), ("math500", 500, 0.874)]
)
def test_real_logs_import_with_their_own_accuracy(tmp_path, task: str, rows: int, accuracy: float) -> None:
    (log,) = REAL_TRACES.glob(f"*/*/{task}/*.json")
    summary = import_traces([log], tmp_path / "t.parquet", system="system2", model="m")
    assert summary["rows"] == rows
    assert summary["imported_accuracy"] == pytest.approx(accuracy, abs=1e-4)  # the log's metrics/ file
    table = pq.read_table(tmp_path / "t.parquet")
    assert set(table["source"].to_pylist()) == {task}
    assert json.loads(table["gen_config"][0].as_py())["temperature"] == 0.7
    if task == "gsm8k":
        assert all("####" not in answer for answer in table["answer"].to_pylist())


def test_unknown_format_and_empty_log(tmp_path) -> None:
    with pytest.raises(InputError, match="--format csv: unknown"):
        import_traces(["x.json"], tmp_path / "t.parquet", format="csv", system="s", model="m")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(InputError, match="no responses found"):
        import_traces([empty], tmp_path / "t.parquet", system="s", model="m")
    assert not (tmp_path / "t.parquet").exists()
