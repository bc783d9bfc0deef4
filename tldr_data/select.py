"""Build a training pool from `verified` rows in DuckDB SQL: keep correct answers, say why the rest went.

The paper keeps, per problem, the shortest correct sample (`shortest-correct`); `all-correct` keeps every
distinct correct one. Each dropped row gets exactly one reason, the first that applies, in the order of
REASONS. Ties for the shortest are broken by token count, then characters, then the text itself, so the
choice does not depend on input order; nor does the output's row order (problem, sample, text), which `mix`
keys its seeded draw on: the same traces can arrive in another order (other batch sizes, a resumed run,
`--part` folders, files listed differently).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc

from tldr_data.atomic import write_json, write_parquet
from tldr_data.duck import connect, contract_scan
from tldr_data.errors import InputError, OutputExistsError
from tldr_data.paths import check_outputs
from tldr_data.schema import conform

MODES = ("shortest-correct", "all-correct")
REASONS = ("not_correct", "truncated", "too_long", "where", "duplicate", "not_shortest")


def select_sql(
    con: duckdb.DuckDBPyConnection,
    inputs: Sequence[str | os.PathLike],
    *,
    mode: str = "shortest-correct",
    max_tokens: int | None = None,
    drop_truncated: bool = False,
    where: str | None = None,
) -> str:
    """Every input row, in input order, with `drop_reason` (NULL for kept rows)."""
    if mode not in MODES:
        raise InputError(f"mode {mode!r}: unknown; choose one of {', '.join(MODES)}")
    if max_tokens is not None and max_tokens < 1:
        raise InputError(f"--max-tokens {max_tokens}: must be a positive number of tokens")
    table = contract_scan(con, inputs, "verified")
    too_long = f"completion_tokens > {int(max_tokens)}" if max_tokens is not None else "FALSE"
    truncated = "finish_reason = 'length'" if drop_truncated else "FALSE"
    kept_by_where = f"coalesce(({where}), FALSE)" if where else "TRUE"
    not_shortest = "_rank > 1" if mode == "shortest-correct" else "FALSE"
    return f"""
WITH numbered AS (
    SELECT *, row_number() OVER () AS _row FROM {table}
),
filtered AS (
    SELECT *, CASE
        WHEN NOT coalesce(correct, FALSE) THEN 'not_correct'
        WHEN {truncated} THEN 'truncated'
        WHEN {too_long} THEN 'too_long'
        WHEN NOT {kept_by_where} THEN 'where'
    END AS _first_reason
    FROM numbered
),
deduplicated AS (
    SELECT _row, row_number() OVER (PARTITION BY problem_id, completion ORDER BY _row) AS _copy
    FROM filtered WHERE _first_reason IS NULL
),
ranked AS (
    SELECT d._row, d._copy,
        row_number() OVER (
            PARTITION BY f.problem_id, d._copy = 1
            ORDER BY f.completion_tokens, length(f.completion), f.completion, f._row
        ) AS _rank
    FROM deduplicated d JOIN filtered f USING (_row)
)
SELECT f.* EXCLUDE (_row, _first_reason),
    coalesce(f._first_reason, CASE
        WHEN r._copy > 1 THEN 'duplicate'
        WHEN {not_shortest} THEN 'not_shortest'
    END) AS drop_reason
FROM filtered f LEFT JOIN ranked r USING (_row)
ORDER BY f.problem_id, f.sample_idx, f.completion, f._row
"""


def select(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    mode: str = "shortest-correct",
    max_tokens: int | None = None,
    drop_truncated: bool = False,
    where: str | None = None,
    rejected: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the kept rows (`verified` contract) to `output`, optionally the dropped ones to `rejected`."""
    started = time.monotonic()
    check_outputs({"-o/--output": output, "--rejected": rejected}, inputs)
    targets = [Path(p) for p in (output, rejected) if p is not None]
    for target in targets:
        if target.exists() and not overwrite:
            raise OutputExistsError(f"{target} exists; pass --overwrite to replace it")
    con = connect()
    query = select_sql(
        con, inputs, mode=mode, max_tokens=max_tokens, drop_truncated=drop_truncated, where=where
    )
    try:
        labelled = con.sql(query).to_arrow_table()
    except duckdb.Error as err:
        raise InputError(f"--where {where!r}: {str(err).splitlines()[0]}" if where else str(err)) from err
    reasons = labelled["drop_reason"].to_pylist()
    is_kept = pc.is_null(labelled["drop_reason"])
    kept = labelled.filter(is_kept).drop_columns(["drop_reason"])
    write_parquet(conform(kept, "verified"), output)
    if rejected is not None:
        write_parquet(labelled.filter(pc.invert(is_kept)), rejected)
    summary = {
        "output": str(output),
        "mode": mode,
        "rows": len(reasons),
        "kept": kept.num_rows,
        "problems_kept": len(set(kept["problem_id"].to_pylist())),
        "dropped": {reason: reasons.count(reason) for reason in REASONS},
        "kept_tokens": sum(t or 0 for t in kept["completion_tokens"].to_pylist()),
        "rejected": str(rejected) if rejected is not None else None,
        "seconds": round(time.monotonic() - started, 3),
    }
    write_json(summary, Path(output).with_name(Path(output).stem + ".stats.json"))
    return summary
