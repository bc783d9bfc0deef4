"""Draw a TLDR mixture: exact counts from a short and a long pool, written as a Hub-ready dataset folder.

Sampling happens in DuckDB without loading the pools into Python. Every pool row has a stable key (the
position of its file among the pool's files, and its row number inside that file); a row's place in the
seeded shuffle is `hash(seed, round, pool, key)`. Drawing k rows without replacement keeps the k smallest
hashes (a streaming top-k over the key columns only), and the chosen rows' places in the shuffle are fixed
from their keys; only then are their texts read (a join of each pool to its picks), put in shuffled order
and written to Parquet. With `replace=True` each of the k draws picks a row uniformly and independently
(`hash(seed, round, pool, draw) mod rows`). The draw depends on the round, so every round trains on fresh
rows of its pools.

Output folder (the `mixture` contract; `datasets.load_dataset(DIR)` and TRL's SFTTrainer read it as is):

    DIR/README.md                             dataset card, YAML: ratio, round, pools, seed, stats, command
    DIR/data/train-00000-of-00001.parquet     prompt, completion, problem_id, pool, completion_tokens

`DIR.done.json` beside the folder marks it finished (tldr_data/done.py) and holds the summary.

`prompt` is the conversation that `generate` sent, rebuilt from data rather than parsed from the rendered
prompt: an optional system message from `gen_config.system_prompt`, then the user message
`question + "\\n\\n" + gen_config.instruction` (just `question` when there is no instruction). `completion`
is the one assistant message. Both are TRL's conversational prompt-completion format, so the trainer
applies the model's own chat template and computes the loss on the completion only.
"""

from __future__ import annotations

import builtins
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from tldr_data import done, duck
from tldr_data.atomic import atomic_dir, write_text
from tldr_data.errors import ConfigError, InputError, OutputExistsError, SchemaError, TldrError
from tldr_data.paths import check_outputs, public_path

POOLS = ("short", "long")
REQUIRED = ("problem_id", "question", "completion", "completion_tokens", "gen_config", "correct")
SHARD = "data/train-00000-of-00001.parquet"
# Rows per Parquet row group of the mixture: the writer buffers a whole group, and traces run to 30 KB.
ROW_GROUP_ROWS = 4096
# DuckDB's memory budget while drawing: 2 x 1M-row pools of 1-8 KB traces mix in under 1 GB of RSS.
MEMORY_LIMIT = "600MB"
# Text of the picked rows sorted at once: the picks are written to buckets of consecutive places of about
# this size, and each bucket is sorted on its own.
BUCKET_BYTES = 128 * 2**20
# Rows per row group of a bucket file: every open bucket's writer buffers one group.
BUCKET_GROUP_ROWS = 1024
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
MIXTURE_SCHEMA = pa.schema(
    [
        ("prompt", MESSAGES),
        ("completion", MESSAGES),
        ("problem_id", pa.string()),
        ("pool", pa.string()),
        ("completion_tokens", pa.int32()),
    ]
)
Paths = str | os.PathLike | Sequence[str | os.PathLike]


@dataclass(frozen=True)
class Pool:
    """One input pool: its name, the paths as given, the Parquet files they expand to, and its row count."""

    name: str
    given: list[str]
    files: list[str]
    rows: int

    @property
    def files_sql(self) -> str:
        return "[" + ", ".join(_quote(f) for f in self.files) + "]"

    @property
    def scan_sql(self) -> str:
        return (
            f"read_parquet({self.files_sql}, union_by_name = true, filename = true, file_row_number = true)"
        )


def mix(
    short: Paths,
    long: Paths,
    output: str | os.PathLike,
    *,
    ratio: float,
    size: int,
    seed: int = 0,
    replace: bool = False,
    round: int | None = None,
    command: str | None = None,
    overwrite: bool = False,
    threads: int | None = None,
) -> dict[str, Any]:
    """Write a mixture of `size` rows, `round(ratio * size)` from the short pool, to the folder `output`.

    Returns the summary (rows per pool, token statistics, seconds). An existing `output` is refused unless
    `overwrite`; a pool smaller than its share is refused unless `replace`.
    """
    started = time.perf_counter()
    counts = _counts(ratio, size)
    if round is not None and (isinstance(round, bool) or not isinstance(round, int) or round < 0):
        raise ConfigError(f"--round {round!r}: a round number is a whole number >= 0")
    check_outputs({"-o/--output": output}, [*_given(short), *_given(long)])
    target = Path(output)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass --overwrite to replace it")
    con = duck.connect(threads, memory_limit=MEMORY_LIMIT)
    pools = {"short": _open_pool(con, "short", short), "long": _open_pool(con, "long", long)}
    if not replace:
        for pool in pools.values():
            if counts[pool.name] > pool.rows:
                raise InputError(
                    f"{pool.name} pool {', '.join(pool.given)} has {pool.rows:,} rows but the mixture needs "
                    f"{counts[pool.name]:,}; pass --replace to draw with replacement, or lower --size"
                )
    for pool in pools.values():
        if counts[pool.name] and not pool.rows:
            raise InputError(
                f"{pool.name} pool {', '.join(pool.given)} is empty but the mixture needs rows from it"
            )
    salt = -1 if round is None else round
    done.clear_done(target)
    with atomic_dir(target) as tmp:
        (tmp / "data").mkdir()
        for pool in pools.values():
            _pick(con, pool, counts[pool.name], seed=seed, salt=salt, replace=replace)
        try:
            _write_shard(con, pools, tmp / SHARD, spill=tmp / ".spill")
        except (duckdb.IOException, OSError) as err:
            raise TldrError(f"{target}: cannot write the mixture ({str(err).splitlines()[0]})") from None
        stats = {
            "pools": {name: _token_stats(con, pool.scan_sql) for name, pool in pools.items()},
            "mixture": _mixture_stats(con, str(tmp / SHARD)),
        }
        summary = {
            "output": str(target),
            "rows": size,
            "rows_per_pool": counts,
            "alpha_short": ratio,
            "alpha_long": 1.0 - ratio,
            "round": round,
            "seed": seed,
            "replace": replace,
            "pools": {
                name: {
                    "sources": [public_path(source) for source in pool.given],
                    "files": len(pool.files),
                    "rows": pool.rows,
                }
                for name, pool in pools.items()
            },
            "token_stats": stats,
            "files": ["README.md", SHARD],
            "command": command,
        }
        write_text(dataset_card(summary), tmp / "README.md")
    seconds = time.perf_counter() - started
    summary = {
        **summary,
        "seconds": builtins.round(seconds, 3),
        "rows_per_s": builtins.round(size / seconds if seconds else 0.0, 1),
    }
    done.mark_done(target, summary)
    return summary


def dataset_card(summary: dict[str, Any]) -> str:
    """A README.md whose YAML header lets `datasets` find the shard and records how the mixture was drawn."""
    header = {
        "configs": [
            {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}
        ],
        "tags": ["tldr", "reasoning", "sft", "prompt-completion"],
        "tldr": {
            "kind": "mixture",
            "alpha_short": summary["alpha_short"],
            "alpha_long": summary["alpha_long"],
            "round": summary["round"],
            "rows": summary["rows"],
            "rows_per_pool": summary["rows_per_pool"],
            "seed": summary["seed"],
            "replace": summary["replace"],
            "pools": summary["pools"],
            "token_stats": summary["token_stats"],
            "token_definition": "completion token ids of the generating model's tokenizer, no special tokens",
            "prompt_format": "system = gen_config.system_prompt if set; user = question + '\\n\\n' + "
            "gen_config.instruction",
            "command": summary["command"],
        },
    }
    counts = summary["rows_per_pool"]
    round_text = "" if summary["round"] is None else f" for round {summary['round']}"
    body = (
        f"# TLDR mixture{round_text}\n\n"
        f"{summary['rows']:,} prompt-completion conversations: {counts['short']:,} from the short (System-1) "
        f"pool and {counts['long']:,} from the long (System-2) pool, i.e. "
        f"alpha_short = {summary['alpha_short']:.6f}. "
        "Drawn with `tldr-data mix` (Thinking-Length Data Re-weighting, arXiv 2506.02678).\n\n"
        "```python\nfrom datasets import load_dataset\n"
        'ds = load_dataset(PATH_OR_REPO, split="train")\n```\n\n'
        "Columns: `prompt` and `completion` (TRL conversational format), `problem_id`, `pool` (short/long), "
        "`completion_tokens`.\n"
    )
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n" + body


def _counts(ratio: float, size: int) -> dict[str, int]:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"size={size!r}: the mixture needs a whole number of rows >= 1")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0.0 <= ratio <= 1.0:
        raise ConfigError(f"ratio={ratio!r} is not a short-pool weight in [0, 1]")
    # Half-up rounding: Python's round() would send 2.5 to 2 but 3.5 to 4.
    short = math.floor(ratio * size + 0.5)
    return {"short": short, "long": size - short}


def _given(paths: Paths) -> list[str]:
    return [str(paths)] if isinstance(paths, str | os.PathLike) else [str(p) for p in paths]


def _open_pool(con, name: str, paths: Paths) -> Pool:
    """A pool is `verified` rows that are all correct (what `select` writes): nothing unchecked is mixed."""
    given = _given(paths)
    files = duck.parquet_files(given)
    pool = Pool(name, given, files, 0)
    present = duck.columns(con, f"read_parquet({pool.files_sql}, union_by_name = true)")
    missing = [column for column in REQUIRED if column not in present]
    if missing:
        raise SchemaError(
            f"{name} pool {', '.join(given)}: missing column(s) {', '.join(missing)}; "
            "build pools with `tldr-data select`"
        )
    rows, unchecked = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE correct IS NOT TRUE) "
        f"FROM read_parquet({pool.files_sql}, union_by_name = true)"
    ).fetchone()
    if unchecked:
        raise SchemaError(
            f"{name} pool {', '.join(given)}: {unchecked:,} of {rows:,} rows are not verified correct; "
            "build pools with `tldr-data verify` then `tldr-data select`"
        )
    return Pool(name, given, files, rows)


def _pick(con, pool: Pool, k: int, *, seed: int, salt: int, replace: bool) -> None:
    """Create table `pick_<pool>` (filename, row_idx, draw_key) of the k chosen rows, read from keys only."""
    key = f"list_position({pool.files_sql}, filename), file_row_number"
    tag = _quote(pool.name)
    if not replace:
        query = f"""
            SELECT filename, file_row_number AS row_idx, hash({seed}, {salt}, {tag}, {key}) AS draw_key
            FROM {pool.scan_sql}
            ORDER BY draw_key, list_position({pool.files_sql}, filename), file_row_number
            LIMIT {k}"""
    else:
        query = f"""
            WITH keyed AS (
                SELECT filename, file_row_number AS row_idx,
                       row_number() OVER (ORDER BY {key}) - 1 AS ordinal
                FROM {pool.scan_sql}),
            draws AS (
                SELECT hash({seed}, {salt}, {tag}, 'draw', d) AS draw_key,
                       hash({seed}, {salt}, {tag}, 'row', d) % {max(pool.rows, 1)} AS ordinal
                FROM range({k}) AS t(d))
            SELECT keyed.filename, keyed.row_idx, draws.draw_key
            FROM draws JOIN keyed USING (ordinal)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE pick_{pool.name} AS {query}")


def _write_shard(con, pools: dict[str, Pool], shard: Path, spill: Path) -> None:
    """Gather the picked rows and write them in shuffled order, in bounded memory.

    Only the picks' keys are sorted whole (in DuckDB): each row's place in the mixture is fixed before any
    text is read. One scan of each pool, joined to its picks, then writes the picked rows to buckets of
    consecutive places (files in `spill`, inside the output's temporary folder, deleted before the folder
    is renamed into place), each holding about BUCKET_BYTES of text; each bucket is then sorted on its own
    and appended to the shard. Pools whose Parquet pages alone exceed MEMORY_LIMIT (e.g. one page per
    100,000-row column chunk) are read again without the budget rather than refused.
    """
    con.execute(f"SET temp_directory = {_quote(str(spill / 'duckdb'))}")
    picks = "\nUNION ALL\n".join(
        f"SELECT {_quote(name)} AS pool, filename, row_idx, draw_key FROM pick_{name}" for name in pools
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE placed AS
        SELECT pool, filename, row_idx,
               row_number() OVER (ORDER BY draw_key, pool, filename, row_idx) - 1 AS place
        FROM ({picks})""")
    ((rows,),) = con.execute("SELECT count(*) FROM placed").fetchall()
    per_bucket = math.ceil(rows / min(rows, max(1, math.ceil(_picked_bytes(con, pools) / BUCKET_BYTES))))
    buckets = spill / "buckets"
    spill.mkdir(exist_ok=True)
    # One scan thread, reading page by page: a thread that prefetches holds a whole column chunk of text (a
    # 65,536-row group of 4.5 KB traces is ~300 MB), and decompressing, not threads, bounds the scan's
    # speed on shared cores (two threads were no faster in bench/mix.py). The buckets' writers
    # flush every BUCKET_GROUP_ROWS rows instead of buffering whole buckets.
    con.execute("SET threads = 1")
    con.execute("SET disable_parquet_prefetching = true")
    con.execute(f"SET partitioned_write_flush_threshold = {BUCKET_GROUP_ROWS}")
    copy = (
        f"COPY ({_gather_sql(pools, per_bucket)}) TO {_quote(str(buckets))} "
        f"(FORMAT parquet, PARTITION_BY (bucket), COMPRESSION lz4, ROW_GROUP_SIZE {BUCKET_GROUP_ROWS})"
    )
    try:
        con.execute(copy)
    except duckdb.OutOfMemoryException:
        con.execute("RESET memory_limit")
        shutil.rmtree(buckets, ignore_errors=True)
        con.execute(copy)
    with pq.ParquetWriter(shard, MIXTURE_SCHEMA, compression="zstd") as writer:
        for bucket in range(math.ceil(rows / per_bucket)):
            files = _quote(str(buckets / f"bucket={bucket}" / "*.parquet"))
            ordered = con.sql(f"{_messages_sql(f'read_parquet({files})')} ORDER BY place")
            for batch in ordered.to_arrow_reader(ROW_GROUP_ROWS):
                writer.write_batch(
                    batch.drop_columns(["place"]).cast(MIXTURE_SCHEMA), row_group_size=ROW_GROUP_ROWS
                )
    con.execute("DROP TABLE placed")
    shutil.rmtree(spill, ignore_errors=True)


def _picked_bytes(con, pools: dict[str, Pool]) -> float:
    """The text the picks will hold in memory, estimated from each pool's uncompressed column sizes in its
    Parquet metadata (the picks are a uniform sample of the pool)."""
    total = 0.0
    for pool in pools.values():
        ((count,),) = con.execute(f"SELECT count(*) FROM pick_{pool.name}").fetchall()
        if not count:
            continue
        ((pool_bytes,),) = con.execute(f"""
            SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata({pool.files_sql})
            WHERE path_in_schema IN ('question', 'completion', 'gen_config', 'problem_id')""").fetchall()
        total += pool_bytes / max(pool.rows, 1) * count
    return total


def _gather_sql(pools: dict[str, Pool], per_bucket: int) -> str:
    """The picked rows' plain columns, place and bucket: one streaming pass over each pool joined to its
    (small) table of picks, so that the texts of other rows are never materialized."""
    parts = []
    for pool in pools.values():
        parts.append(f"""
            SELECT
                nullif(json_extract_string(p.gen_config, '$.system_prompt'), '') AS system_prompt,
                nullif(json_extract_string(p.gen_config, '$.instruction'), '') AS instruction,
                p.question, p.completion,
                CAST(p.problem_id AS VARCHAR) AS problem_id,
                k.pool,
                CAST(p.completion_tokens AS INTEGER) AS completion_tokens,
                k.place, k.place // {per_bucket} AS bucket
            FROM {pool.scan_sql} AS p
            JOIN placed AS k ON p.filename = k.filename AND p.file_row_number = k.row_idx
            WHERE k.pool = {_quote(pool.name)}""")
    return "\nUNION ALL\n".join(parts)


def _messages_sql(table_sql: str) -> str:
    """Gathered rows as TRL's conversational prompt-completion messages, with their place."""
    return f"""
        SELECT
            list_concat(
                CASE WHEN system_prompt IS NULL THEN CAST([] AS STRUCT(role VARCHAR, content VARCHAR)[])
                     ELSE [{{'role': 'system', 'content': system_prompt}}] END,
                [{{'role': 'user', 'content':
                    CASE WHEN instruction IS NULL THEN question
                         ELSE question || chr(10) || chr(10) || instruction END}}]) AS prompt,
            [{{'role': 'assistant', 'content': completion}}] AS completion,
            problem_id, pool, completion_tokens, place
        FROM {table_sql}"""


def _token_stats(con, table_sql: str, where: str = "TRUE") -> dict[str, Any]:
    rows, mean, low, p50, p90, high = con.execute(
        f"""SELECT count(*), avg(completion_tokens), min(completion_tokens),
                   quantile_disc(completion_tokens, 0.5), quantile_disc(completion_tokens, 0.9),
                   max(completion_tokens)
            FROM {table_sql} WHERE {where}"""
    ).fetchone()
    return {
        "rows": rows,
        "mean": None if mean is None else builtins.round(mean, 2),
        "min": low,
        "p50": p50,
        "p90": p90,
        "max": high,
    }


def _mixture_stats(con, shard: str) -> dict[str, Any]:
    table = f"read_parquet({_quote(shard)})"
    return {name: _token_stats(con, table, f"pool = {_quote(name)}") for name in POOLS}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
