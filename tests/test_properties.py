"""Property-based tests (hypothesis): the ratio rule's inputs, mixture drawing and run-state loading.

Whatever they are given, these never fail other than with a TldrError (one line, exit 1 or 2), and what
they produce keeps its contract: exact pool counts, distinct rows, a state that loads back as it was saved.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tldr_data.errors import SchemaError, TldrError
from tldr_data.mix import mix
from tldr_data.ratio import References
from tldr_data.schema import VERIFIED, conform
from tldr_train.run import RunState

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@QUICK
@given(text=st.text(max_size=40))
def test_refs_parse_accepts_four_numbers_or_says_why(text) -> None:
    try:
        refs = References.parse(text)
    except TldrError as err:
        assert err.exit_code == 2 and "\n" not in str(err)
    else:
        assert all(math.isfinite(v) for v in (refs.t_short, refs.a_short, refs.t_long, refs.a_long))


def _pool(folder: Path, name: str, rows: int) -> Path:
    columns = {field.name: [None] * rows for field in VERIFIED}
    columns |= {
        "problem_id": [f"{name}-{i}" for i in range(rows)],
        "question": [f"q{i}" for i in range(rows)],
        "completion": [f"{name} {i}" for i in range(rows)],
        "completion_tokens": list(range(rows)),
        "gen_config": ["{}"] * rows,
        "correct": [True] * rows,
    }
    table = conform(
        pa.table({k: pa.array(v, VERIFIED.field(k).type) for k, v in columns.items()}), "verified"
    )
    path = folder / f"{name}-{rows}.parquet"
    if not path.exists():
        pq.write_table(table, path)
    return path


@settings(QUICK, max_examples=12)
@given(
    short_rows=st.integers(1, 30),
    long_rows=st.integers(1, 30),
    ratio=st.floats(0, 1),
    size=st.integers(1, 40),
    seed=st.integers(0, 2**31),
    round_=st.none() | st.integers(0, 50),
    replace=st.booleans(),
)
def test_mixture_draws_exact_counts_of_distinct_pool_rows(
    tmp_path_factory, short_rows, long_rows, ratio, size, seed, round_, replace
) -> None:
    folder = tmp_path_factory.mktemp("draw")
    short, long = _pool(folder, "short", short_rows), _pool(folder, "long", long_rows)
    want = {"short": math.floor(ratio * size + 0.5)}
    want["long"] = size - want["short"]
    args = dict(ratio=ratio, size=size, seed=seed, round=round_, replace=replace)
    try:
        summary = mix(short, long, folder / "mix", **args)
    except TldrError as err:
        assert not replace and (want["short"] > short_rows or want["long"] > long_rows), err
        assert not (folder / "mix").exists()
        return
    assert summary["rows_per_pool"] == want
    rows = pq.read_table(folder / "mix" / "data").to_pylist()
    assert len(rows) == size
    for name, count in want.items():
        ids = [r["problem_id"] for r in rows if r["pool"] == name]
        assert len(ids) == count and all(i.startswith(f"{name}-") for i in ids)
        if not replace:
            assert len(set(ids)) == count
    again = mix(short, long, folder / "again", **args)
    assert again["rows_per_pool"] == want
    assert pq.read_table(folder / "again" / "data").to_pylist() == rows


def _valid_state(measurements: list[tuple[float, float]]) -> RunState:
    state = RunState(references=References(100.0, 0.3, 900.0, 0.8), config={"protocol": {}})
    for number, (acc, tokens) in enumerate(measurements):
        state.record(acc, tokens, round=number, checkpoint=f"round-{number:03d}/ckpt")
    return state


measurements = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1e5)), max_size=5)


@QUICK
@given(rounds=measurements)
def test_a_saved_state_loads_back_as_it_was(tmp_path_factory, rounds) -> None:
    path = tmp_path_factory.mktemp("state") / "state.json"
    state = _valid_state(rounds)
    state.save(path)
    assert RunState.load(path) == state


@QUICK
@given(data=json_values)
def test_any_json_loads_as_a_state_or_fails_in_one_line(tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("state") / "state.json"
    path.write_text(json.dumps({"version": 1, **data} if isinstance(data, dict) else data))
    try:
        RunState.load(path)
    except TldrError as err:
        assert err.exit_code == 2 and str(path) in str(err) and "\n" not in str(err)


ENTRY_KEYS = ["round", "alpha_short", "dev_accuracy", "dev_tokens", "b_short", "b_long", "next_alpha_short"]


@QUICK
@given(
    rounds=measurements.filter(bool),
    which=st.integers(0, 4),
    key=st.sampled_from([*ENTRY_KEYS, "checkpoint"]),
    value=json_values,
    drop=st.booleans(),
)
def test_a_broken_history_entry_is_refused_naming_its_key(tmp_path_factory, rounds, which, key, value, drop):
    path = tmp_path_factory.mktemp("state") / "state.json"
    data = _valid_state(rounds).to_dict()
    entry = data["history"][which % len(rounds)]
    if drop:
        del entry[key]
    else:
        fits = {
            "round": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "checkpoint": lambda v: isinstance(v, str),
            "dev_tokens": lambda v: _number(v) and v >= 0,
            "b_short": _number,
            "b_long": _number,
        }.get(key, lambda v: _number(v) and 0 <= v <= 1)
        if fits(value):
            return
        entry[key] = value
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError) as err:
        RunState.load(path)
    assert key in str(err.value) and str(path) in str(err.value)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
