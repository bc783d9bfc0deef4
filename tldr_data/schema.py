"""The Parquet data contracts shared by every stage (see docs/architecture.md)."""

from __future__ import annotations

import pyarrow as pa

from tldr_data.errors import SchemaError

PROBLEMS = pa.schema(
    [
        ("problem_id", pa.string()),
        ("source", pa.string()),
        ("question", pa.string()),
        ("answer", pa.string()),
        ("difficulty", pa.int32()),
        ("split", pa.string()),
    ]
)

TRACES = pa.schema(
    list(PROBLEMS)
    + [
        ("system", pa.string()),
        ("model", pa.string()),
        ("sample_idx", pa.int32()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int32()),
        ("completion_tokens", pa.int32()),
        ("token_source", pa.string()),
        ("gen_config", pa.string()),
        ("backend", pa.string()),
    ]
)

VERIFIED = pa.schema(
    list(TRACES)
    + [
        ("pred_answer", pa.string()),
        ("correct", pa.bool_()),
        ("verdict", pa.string()),
    ]
)

# Where `completion_tokens` comes from: the engine's own count of generated ids, or a recount of the text with
# the model's tokenizer (by `generate` when the engine reports none, or by `verify`); null: not counted yet
# (imported logs, teacher traces), so `verify` counts it.
TOKEN_SOURCES = ("engine", "recount")

VERDICTS = ("correct", "wrong", "no_answer", "truncated", "timeout", "error")

CONTRACTS = {"problems": PROBLEMS, "traces": TRACES, "verified": VERIFIED}


def missing_columns(columns: list[str], contract: str) -> list[str]:
    """Columns the contract requires that `columns` lacks, in contract order."""
    present = set(columns)
    return [name for name in CONTRACTS[contract].names if name not in present]


def require_columns(columns: list[str], contract: str, where: str) -> None:
    """Raise SchemaError naming `where` (a file) when columns of the contract are missing."""
    missing = missing_columns(columns, contract)
    if missing:
        raise SchemaError(f"{where}: not a `{contract}` file, missing column(s): {', '.join(missing)}")


def conform(table: pa.Table, contract: str) -> pa.Table:
    """Order and cast the contract's columns first; extra columns are kept after them."""
    schema = CONTRACTS[contract]
    require_columns(table.column_names, contract, "table")
    extras = [name for name in table.column_names if name not in schema.names]
    columns = [table.column(name).cast(schema.field(name).type) for name in schema.names]
    columns += [table.column(name) for name in extras]
    return pa.table(columns, names=schema.names + extras)
