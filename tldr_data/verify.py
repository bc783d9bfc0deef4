"""Label every trace with its answer's verdict, and count the tokens no engine counted: `traces` in,
`verified` out.

Verdicts come from answers.py (extraction + math-verify), run in forked workers under a hard per-item
deadline (workers.py). A row whose `token_source` is set keeps its counts (the engine's own, or generate's
recount); the others (imported logs hold whitespace word counts, teacher traces none) are counted with the
model's tokenizer, or `--tokenizer`, and marked `recount`.

Resumable: rows are verified in shards of SHARD_ROWS; the columns verify adds or changes (ADDED) of each are
written to `.<output>.parts/` (hidden, so that a folder of inputs never reads it) with its done-marker as soon
as its last row is judged; a re-run of the same command (even after kill -9) joins every finished shard's part
to its rows read again from the input (the fingerprint pins the input) and judges only the rest. The output
is written (to a temporary, renamed at the end) in input order as shards finish, then its stats JSON; then
the parts folder is removed and the output marked done (tldr_data/done.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tldr_data import done
from tldr_data.answers import equivalent, judge
from tldr_data.atomic import atomic_path, write_json
from tldr_data.duck import connect, contract_scan, parquet_files
from tldr_data.errors import InputError, OutputExistsError
from tldr_data.models import check_model
from tldr_data.schema import TOKEN_SOURCES, VERDICTS, conform
from tldr_data.workers import OK, TIMEOUT, DeadlinePool

SHARD_ROWS = 2048
VERDICT_CACHE = 65_536  # (gold, answer) pairs remembered per worker
BLOCK_SHARDS = 16  # shards judged by one pool of workers (32,768 rows in memory)
VERDICT_COLUMNS = ("pred_answer", "correct", "verdict")
TEXT_COLUMNS = ("completion", "answer", "finish_reason", "prompt", "model", "token_source")
COUNT_COLUMNS = ("prompt_tokens", "completion_tokens")
ADDED = (*COUNT_COLUMNS, "token_source", *VERDICT_COLUMNS)  # what a part keeps: verify's own work


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def verify(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    workers: int | None = None,
    timeout: float = 5.0,
    tokenizer: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Verify `traces` files into one `verified` Parquet file (rows in input order) plus a stats JSON.

    Memory stays bounded whatever the input's size: rows are read, judged and written shard by shard.
    """
    if not math.isfinite(timeout) or timeout <= 0:
        raise InputError(f"--timeout {timeout}: must be a finite positive number of seconds")
    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output} exists; pass --overwrite to replace it")
    done.clear_done(output)
    started = time.monotonic()
    traces = Traces(inputs)
    tokenizers = _load_tokenizers(traces.recount_models, tokenizer)
    workers = workers or default_workers()
    parts = Parts(output, _fingerprint(inputs, traces.rows, tokenizer))
    checking = time.monotonic()
    reused = parts.finished(traces.rows)
    with atomic_path(output) as tmp, _Output(tmp, parts, traces) as out:
        _check_shards(traces, tokenizers, out, reused, workers, timeout, progress)
        seconds_checking = time.monotonic() - checking
    tally, tokens = out.tally, out.tokens
    seconds = time.monotonic() - started
    summary = {
        "output": str(output),
        "rows": traces.rows,
        "rows_reused": sum(min(SHARD_ROWS, traces.rows - s * SHARD_ROWS) for s in reused),
        "seconds": round(seconds, 3),
        "rows_per_second": round(traces.rows / seconds, 1) if seconds else None,
        "seconds_checking": round(seconds_checking, 3),
        "workers": workers,
        "timeout": timeout,
        "tokens_recounted": sum(traces.recount_per_shard),
        "tokenizers": sorted({tok.name_or_path for tok in tokenizers.values()}),
        "accuracy": round(tally["correct"] / traces.rows, 4) if traces.rows else None,
        "completion_tokens": tokens,
        "verdicts": {verdict: tally.get(verdict, 0) for verdict in VERDICTS},
    }
    write_json(summary, stats_path(output))
    parts.remove()
    done.mark_done(output, summary)
    return summary


def stats_path(output: str | os.PathLike) -> Path:
    """The stats JSON that sits beside a verified file: `x.parquet` -> `x.stats.json`."""
    output = Path(output)
    return output.with_name(output.stem + ".stats.json")


class Parts:
    """The shards of an unfinished verify, beside its output: `.<output>.parts/shard-000000.parquet` plus each
    shard's done-marker (written after the shard). `fingerprint` names the inputs and settings; shards of
    another fingerprint are stale and removed."""

    def __init__(self, output: Path, fingerprint: str) -> None:
        self.folder = output.with_name(f".{output.name}.parts")
        manifest = self.folder / "verify.json"
        if self.folder.is_dir() and _read_json(manifest).get("fingerprint") != fingerprint:
            shutil.rmtree(self.folder)
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            write_json({"fingerprint": fingerprint}, manifest)

    def path(self, shard: int) -> Path:
        return self.folder / f"shard-{shard:06d}.parquet"

    def finished(self, rows: int) -> set[int]:
        """Shards whose done-marker is there: their rows are not judged again."""
        return {s for s in range(math.ceil(rows / SHARD_ROWS)) if done.read_done(self.path(s)) is not None}

    def write(self, shard: int, added: pa.Table) -> None:
        """A shard's ADDED columns only (`_added`): the input holds the rest, and copying every trace's text
        here cost the parent, which shares the cores with the workers, a second write of the whole output."""
        with atomic_path(self.path(shard)) as tmp:
            pq.write_table(added, tmp, compression="none")
        done.mark_done(self.path(shard), {"rows": added.num_rows})

    def read(self, shard: int) -> pa.Table:
        return pq.read_table(self.path(shard), columns=list(ADDED))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _fingerprint(inputs: Sequence[str | os.PathLike], rows: int, tokenizer: str | None) -> str:
    """Inputs (path, size, mtime), row count and tokenizer: a re-run reuses shards only for the same."""
    files = [(f, os.path.getsize(f), os.path.getmtime(f)) for f in parquet_files(inputs) if os.path.exists(f)]
    key = json.dumps({"files": files, "rows": rows, "tokenizer": tokenizer, "shard_rows": SHARD_ROWS})
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Traces:
    """The input rows, streamed in input order a shard at a time; only their schema, row count and the
    models whose tokens need counting are known up front.

    Bad column types are found from the schema alone, before anything is read or written. One DuckDB
    thread reads, page by page: a thread that prefetches holds a whole column chunk of the row group it
    decodes (~300 MB for 65,536 rows of 4.5 KB traces), and reading is a small part of verify's time."""

    def __init__(self, inputs: Sequence[str | os.PathLike]) -> None:
        self.con = connect(threads=1)
        self.con.execute("SET disable_parquet_prefetching = true")
        self.query = f"SELECT * FROM {contract_scan(self.con, inputs, 'traces')}"
        schema = self.con.sql(f"{self.query} LIMIT 0").to_arrow_table().schema
        where = ", ".join(map(str, inputs))
        for name in TEXT_COLUMNS:
            kind = schema.field(name).type
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
                raise InputError(f"{where}: column `{name}` holds {kind} values, not text")
        for name in COUNT_COLUMNS:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_null(kind)):
                raise InputError(f"{where}: column `{name}` holds {kind} values, not integers")
        self.drop = [name for name in VERDICT_COLUMNS if name in schema.names]
        self.empty = pa.Table.from_batches([], schema).drop_columns(self.drop)  # empty_table() imports pandas
        self.rows, self.recount_models, self.recount_per_shard = self._recounts()

    @property
    def shard_count(self) -> int:
        return math.ceil(self.rows / SHARD_ROWS)

    def shards(self) -> Iterator[tuple[int, pa.Table]]:
        """`(shard, rows)` for every shard in input order, previous verdict columns dropped."""
        reader = self.con.sql(self.query).to_arrow_reader(SHARD_ROWS)
        for shard, part in enumerate(_rechunk(reader, SHARD_ROWS)):
            yield shard, part.drop_columns(self.drop)

    def _recounts(self) -> tuple[int, set[str], list[int]]:
        """Row count, the models of rows to recount, and how many rows each shard recounts: one pass over
        four narrow columns."""
        columns = ", ".join(("model", "token_source", *COUNT_COLUMNS))
        reader = self.con.sql(f"SELECT {columns} FROM ({self.query})").to_arrow_reader(SHARD_ROWS)
        rows, models, per_shard = 0, set(), []
        for part in _rechunk(reader, SHARD_ROWS):
            recount = _recount_rows(part)
            rows += part.num_rows
            models |= {
                m or "" for m, needed in zip(part["model"].to_pylist(), recount, strict=True) if needed
            }
            per_shard.append(sum(recount))
        return rows, models, per_shard


def _rechunk(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `rows` rows (the last one shorter) from a reader's batches of any size."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held, reader.schema)
            yield table.slice(0, rows).combine_chunks()
            rest = table.slice(rows)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held, reader.schema).combine_chunks()


def _recount_rows(table: pa.Table) -> list[bool]:
    """Rows whose tokens no one counted: no known `token_source`, or no count."""
    sources = table["token_source"].to_pylist()
    counts = zip(*(table[name].to_pylist() for name in COUNT_COLUMNS), strict=True)
    return [
        source not in TOKEN_SOURCES or prompt is None or completion is None
        for source, (prompt, completion) in zip(sources, counts, strict=True)
    ]


def _check_shards(
    traces: Traces,
    tokenizers: dict[str, Any],
    out: _Output,
    reused: set[int],
    workers: int,
    timeout: float,
    progress: bool,
) -> None:
    """Judge the rows of every unfinished shard, a block of shards at a time; write each shard as soon as
    its last row is back.

    Each block gets its own workers, forked once its rows are loaded, so that they have the rows without
    pickling them (a task carries only a row number: a pipe full of long texts would block the parent,
    and with it the deadline) and memory holds one block, whatever the input's size. A block is many
    shards because a fresh pool starts cold: math-verify's and sympy's caches, and the verdict cache,
    warm up again (one pool per 2,048-row shard: bench/verify.py ratio 0.78 against 1.08 with blocks).
    """
    from tqdm import tqdm

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    blocks = _blocks(traces, reused, out)
    # DuckDB reads the first block in a thread (it releases the GIL) while math-verify's parser warms up
    # here, so that the workers fork warm; the thread is done before they do. (Finished shards it meets go
    # to the output from that thread: the main thread does not touch the output until then.)
    with ThreadPoolExecutor(1) as reader:
        first = reader.submit(next, blocks, None)
        judge((r"\boxed{\frac{1}{2}x^2}", "x^2/2", "stop"))
        block = first.result()
    todo = [s for s in range(traces.shard_count) if s not in reused]
    total = sum(min(SHARD_ROWS, traces.rows - s * SHARD_ROWS) + traces.recount_per_shard[s] for s in todo)
    with tqdm(total=total, desc="verify", unit="task", disable=not progress) as bar:
        while block is not None:
            _check_block(block, tokenizers, workers, timeout, bar, out)
            block = next(blocks, None)


def _blocks(traces: Traces, reused: set[int], out: _Output) -> Iterator[list[tuple[int, pa.Table]]]:
    """The unfinished shards in input order, BLOCK_SHARDS at a time; each finished one goes to the output
    with its part as it is read (its turn comes no later than the block after it)."""
    block: list[tuple[int, pa.Table]] = []
    for shard, table in traces.shards():
        if shard in reused:
            out.reuse(shard, table)
            continue
        block.append((shard, table))
        if len(block) == BLOCK_SHARDS:
            yield block
            block = []
    if block:
        yield block


class _Rows:
    """One shard's columns, which forked workers read by row number. The texts stay Arrow strings until a
    worker reads its own rows: turning every completion into a Python string here was a serial step before
    the fork (0.06 s per 10,000 rows of real traces)."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.completions, self.prompts = table["completion"], table["prompt"]
        self.answers = table["answer"].to_pylist()
        self.finish_reasons = table["finish_reason"].to_pylist()
        self.models = [m or "" for m in table["model"].to_pylist()]
        self.recount = _recount_rows(table)
        self.verdicts: dict[int, tuple[str | None, str]] = {}
        self.counted: dict[int, list[int]] = {}


def _check_block(
    block: list[tuple[int, pa.Table]],
    tokenizers: dict[str, Any],
    workers: int,
    timeout: float,
    bar: Any,
    out: _Output,
) -> None:
    """One block's rows judged (and counted where no one counted them) by a pool of workers forked here."""
    # Each worker remembers its verdicts: samples of one problem mostly give the same answer, and the rows of
    # one gold answer reach one worker together (batches end where the gold changes), so a repeated
    # (gold, answer) pair is judged once.
    same_as = functools.lru_cache(maxsize=VERDICT_CACHE)(equivalent)
    shards = [_Rows(table) for _, table in block]

    def check(task: tuple[str, int, int]) -> Any:
        """Judge one row, or count its tokens: separate tasks under separate deadlines, so that a text
        slow to tokenize still gets its verdict. Runs in a worker."""
        kind, position, index = task
        rows = shards[position]
        if kind == "judge":
            completion = rows.completions[index].as_py()
            return judge((completion, rows.answers[index], rows.finish_reasons[index]), same_as)
        texts = [rows.prompts[index].as_py() or "", rows.completions[index].as_py() or ""]
        return count_tokens(tokenizers[rows.models[index]], texts)

    tasks = [
        (kind, position, i)
        for position, rows in enumerate(shards)
        for i in range(rows.table.num_rows)
        for kind in (("judge", "count") if rows.recount[i] else ("judge",))
    ]

    def gold(task: tuple[str, int, int]) -> str | None:
        return shards[task[1]].answers[task[2]]

    left = Counter(position for _, position, _ in tasks)
    with DeadlinePool(check, workers, timeout) as pool:
        for number, status, value in pool.imap_unordered(tasks, key=gold):
            kind, position, index = tasks[number]
            rows = shards[position]
            if kind == "count":
                if status == OK:
                    rows.counted[index] = value
            else:
                rows.verdicts[index] = (
                    value if status == OK else (None, "timeout" if status == TIMEOUT else "error")
                )
            left[position] -= 1
            if not left[position]:
                out.add(block[position][0], _added(rows, tokenizers), rows.table)
            bar.update()


def _added(rows: _Rows, tokenizers: dict[str, Any]) -> pa.Table:
    """One shard's ADDED columns. Counts a worker could not return (timeout, error) are taken here, so
    that every row keeps its tokens (leaving failures out of the mean length was the reference's mistake)."""
    part, verdicts, counted, recount = rows.table, rows.verdicts, rows.counted, rows.recount
    counts = {name: part[name].to_pylist() for name in COUNT_COLUMNS}
    sources = part["token_source"].to_pylist()
    for index in range(part.num_rows):
        if not recount[index]:
            continue
        tokens = counted.get(index)
        if tokens is None:
            texts = [part["prompt"][index].as_py() or "", part["completion"][index].as_py() or ""]
            tokens = count_tokens(tokenizers[rows.models[index]], texts)
        counts["prompt_tokens"][index], counts["completion_tokens"][index] = tokens
        sources[index] = "recount"
    labels = [verdicts[i][1] for i in range(part.num_rows)]
    columns = {
        **{name: pa.array(values, pa.int32()) for name, values in counts.items()},
        "token_source": pa.array(sources, pa.string()),
        "pred_answer": pa.array([verdicts[i][0] for i in range(part.num_rows)], pa.string()),
        "correct": pa.array([v == "correct" for v in labels], pa.bool_()),
        "verdict": pa.array(labels, pa.string()),
    }
    return pa.table([columns[name] for name in ADDED], names=list(ADDED))


def _verified(rows: pa.Table, added: pa.Table) -> pa.Table:
    """A shard's `verified` rows: its input rows with the ADDED columns in place."""
    for name in ADDED:
        if name in rows.column_names:
            rows = rows.set_column(rows.schema.get_field_index(name), name, added[name])
        else:
            rows = rows.append_column(name, added[name])
    return conform(rows, "verified")


class _Output:
    """The output, written in input order while the workers run: a shard goes in as soon as it and every
    shard before it are finished, so that only the last shards are left once the workers are done (writing
    it all at the end was a serial step). Keeps the verdict tally and the completion tokens."""

    def __init__(self, tmp: Path, parts: Parts, traces: Traces) -> None:
        self.tmp, self.parts, self.traces = tmp, parts, traces
        self.ready: dict[int, pa.Table] = {}
        self.next = 0
        self.writer: pq.ParquetWriter | None = None
        self.tally: Counter = Counter()
        self.tokens = 0

    def __enter__(self) -> _Output:
        return self

    def __exit__(self, *failure: object) -> None:
        if self.writer is not None:
            self.writer.close()
        if failure[0] is not None:
            return
        if not self.traces.rows:
            pq.write_table(conform(_empty(self.traces.empty), "verified"), self.tmp, compression="zstd")
        elif self.next != self.traces.shard_count:
            raise RuntimeError(f"verify wrote {self.next} of {self.traces.shard_count} shards")

    def add(self, shard: int, added: pa.Table, rows: pa.Table) -> None:
        """A shard just judged: its part (with its done-marker) is written at once, for a re-run to reuse,
        and it goes into the output once every shard before it has."""
        self.parts.write(shard, added)
        self.ready[shard] = _verified(rows, added)
        self._drain()

    def reuse(self, shard: int, rows: pa.Table) -> None:
        """A shard an earlier run finished: its rows, read again from the input, joined to its part."""
        self.ready[shard] = _verified(rows, self.parts.read(shard))
        self._drain()

    def _drain(self) -> None:
        while self.next in self.ready:
            table = self.ready.pop(self.next)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self.writer.write_table(table)
            self.tally.update(table["verdict"].to_pylist())
            self.tokens += int(pc.sum(table["completion_tokens"]).as_py() or 0)
            self.next += 1


def _empty(table: pa.Table) -> pa.Table:
    """A zero-row input, with the verdict columns, so that it still writes a `verified` file."""
    for name, kind in (("pred_answer", pa.string()), ("correct", pa.bool_()), ("verdict", pa.string())):
        table = table.append_column(name, pa.array([], kind))
    return table


def _load_tokenizers(models: set[str], name: str | None) -> dict[str, Any]:
    """The tokenizer of each model with rows to count (or `name` for all); fail before any work if one
    cannot load. Rows the engine counted need none."""
    loaded: dict[str, Any] = {}
    for model in sorted(models):
        tok_name = name or model
        if tok_name not in loaded:
            loaded[tok_name] = _tokenizer(tok_name, model, given=bool(name))
    return {model: loaded[name or model] for model in models}


def _tokenizer(name: str, model: str, given: bool) -> Any:
    if not name:
        raise InputError("traces name no `model` to count tokens with; pass --tokenizer PATH")
    if given:
        check_model(name, "--tokenizer")
    else:
        try:
            check_model(name, "the traces' model")
        except InputError as err:
            raise InputError(f"{err}; or pass --tokenizer PATH to count its tokens") from None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as err:  # noqa: BLE001 - any load failure has the same remedy
        raise InputError(
            f"cannot load the tokenizer of model {model!r} ({type(err).__name__}); "
            "pass --tokenizer PATH naming a local tokenizer folder or Hub id"
        ) from err


def count_tokens(tok: Any, texts: list[str]) -> list[int]:
    """Token ids per text, special tokens excluded; a fast tokenizer's Rust batch call skips offsets."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    return [len(encoding.ids) for encoding in encode(texts, add_special_tokens=False)]
