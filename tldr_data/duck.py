"""The small DuckDB layer every stage shares: one connection recipe and one way to name Parquet inputs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

from tldr_data.errors import InputError


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection; `threads` caps its worker threads (None: DuckDB's default).

    `memory_limit` (e.g. "600MB") bounds DuckDB's buffers; beyond it, work spills to its temp directory.
    With a limit, insertion order is not preserved (it costs memory): queries on such a connection say
    ORDER BY wherever row order matters.
    """
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
    return con


def parquet_files(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Expand files, folders of shards (recursively) and `hf://`/remote URLs into Parquet paths.

    A folder contributes every `*.parquet` under it (hidden temp files excluded); a missing local path or an
    empty folder is an input error naming it.
    """
    files: list[str] = []
    for raw in paths:
        path = str(raw)
        if "://" in path:
            files.append(path)
            continue
        local = Path(path)
        if local.is_dir():
            shards = sorted(
                str(p) for p in local.rglob("*.parquet") if not any(part.startswith(".") for part in p.parts)
            )
            if not shards:
                raise InputError(f"{path}: folder holds no .parquet files")
            files.extend(shards)
        elif local.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not files:
        raise InputError("no input files given")
    return files


def scan(paths: Sequence[str | os.PathLike]) -> str:
    """A `read_parquet([...])` table expression over the inputs, with columns unified by name."""
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in parquet_files(paths))
    return f"read_parquet([{quoted}], union_by_name = true)"


def columns(con: duckdb.DuckDBPyConnection, table_expr: str) -> list[str]:
    """Column names of a table expression, without reading its rows."""
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {table_expr}").fetchall()]


def contract_scan(con: duckdb.DuckDBPyConnection, paths: Sequence[str | os.PathLike], contract: str) -> str:
    """`scan(paths)` after checking that every input file holds the contract's columns and is Parquet."""
    from tldr_data.schema import require_columns

    files = parquet_files(paths)
    for file in files:
        try:
            names = columns(con, scan([file]))
        except duckdb.Error as err:
            raise InputError(f"{file}: not a readable Parquet file ({str(err).splitlines()[0]})") from err
        require_columns(names, contract, file)
    return scan(files)
