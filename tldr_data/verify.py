"""Label every trace with its answer's verdict and recount its tokens: `traces` in, `verified` out.

Equivalence is math-verify's (`parse` + `verify`, gold parsed the same way), run in forked workers under a
hard per-item deadline (see workers.py). Token counts come from the generating model's tokenizer, because
imported logs and some engines report other units (SkyThought logs hold whitespace word counts).
The output's done-marker (tldr_data/done.py) is written last, after the rows and `<output>.stats.json`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tldr_data import done
from tldr_data.answers import extract_answer
from tldr_data.atomic import write_json, write_parquet
from tldr_data.duck import connect, contract_scan
from tldr_data.errors import InputError, OutputExistsError
from tldr_data.schema import VERDICTS, conform
from tldr_data.workers import OK, TIMEOUT, DeadlinePool


def judge(item: tuple[str | None, str | None, str | None]) -> tuple[str | None, str]:
    """`(pred_answer, verdict)` for one `(completion, gold, finish_reason)`; runs inside a worker."""
    from math_verify import parse
    from math_verify import verify as equivalent

    completion, gold, finish_reason = item
    if completion is None or gold is None:
        return None, "error"
    truncated = finish_reason == "length"
    pred = extract_answer(completion, complete=not truncated)
    if pred is None:
        return None, "truncated" if truncated else "no_answer"
    gold_parsed = parse(_as_latex(gold), parsing_timeout=None)
    pred_parsed = parse(_as_latex(pred), parsing_timeout=None)
    if _same_text(gold, pred):
        return pred, "correct"
    if not gold_parsed:
        return pred, "error"
    return pred, "correct" if equivalent(gold_parsed, pred_parsed, timeout_seconds=None) else "wrong"


def _as_latex(answer: str) -> str:
    """Box an extracted answer so that math-verify reads all of it as one LaTeX expression."""
    return f"\\boxed{{{answer}}}"


def _same_text(gold: str, pred: str) -> bool:
    """Literal agreement catches answers sympy cannot read (names, words) but that match as written."""
    return "".join(gold.split()).lower() == "".join(pred.split()).lower()


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
    """Verify `traces` files into one `verified` Parquet file (rows in input order) plus a stats JSON."""
    if timeout <= 0:
        raise InputError(f"--timeout {timeout}: must be a positive number of seconds")
    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output} exists; pass --overwrite to replace it")
    done.clear_done(output)
    started = time.monotonic()
    con = connect()
    table = con.sql(f"SELECT * FROM {contract_scan(con, inputs, 'traces')}").to_arrow_table()
    table = table.drop_columns(
        [name for name in ("pred_answer", "correct", "verdict") if name in table.column_names]
    )
    tokenizers = _load_tokenizers(table, tokenizer)
    workers = workers or default_workers()
    judging = time.monotonic()
    preds, verdicts, counts = _check_all(table, tokenizers, workers, timeout, progress)
    table = _set_token_counts(table, counts, tokenizers)
    counted = time.monotonic()
    table = table.append_column("pred_answer", pa.array(preds, pa.string()))
    table = table.append_column("correct", pa.array([v == "correct" for v in verdicts], pa.bool_()))
    table = table.append_column("verdict", pa.array(verdicts, pa.string()))
    write_parquet(conform(table, "verified"), output)
    seconds = time.monotonic() - started
    tally = Counter(verdicts)
    summary = {
        "output": str(output),
        "rows": table.num_rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(table.num_rows / seconds, 1) if seconds else None,
        "seconds_checking": round(counted - judging, 3),
        "workers": workers,
        "timeout": timeout,
        "tokenizers": sorted({tok.name_or_path for tok in tokenizers.values()}),
        "accuracy": round(tally["correct"] / table.num_rows, 4) if table.num_rows else None,
        "completion_tokens": int(pc.sum(table["completion_tokens"]).as_py() or 0),
        "verdicts": {verdict: tally.get(verdict, 0) for verdict in VERDICTS},
    }
    write_json(summary, stats_path(output))
    done.mark_done(output, summary)
    return summary


def stats_path(output: str | os.PathLike) -> Path:
    """The stats JSON that sits beside a verified file: `x.parquet` -> `x.stats.json`."""
    output = Path(output)
    return output.with_name(output.stem + ".stats.json")


def check(tokenizers: dict[str, Any], item: tuple) -> tuple[str | None, str, int, int]:
    """Judge one row and count its prompt/completion tokens; runs inside a worker, under the deadline.

    Counting in the workers spreads the tokenizer's work over the cores too (on long reasoning traces it
    costs about as much as math-verify) and puts pathological texts under the same deadline.
    """
    completion, gold, finish_reason, prompt, model = item
    pred, verdict = judge((completion, gold, finish_reason))
    tok = tokenizers[model]
    prompt_tokens, completion_tokens = count_tokens(tok, [prompt or "", completion or ""])
    return pred, verdict, prompt_tokens, completion_tokens


def _check_all(
    table: pa.Table, tokenizers: dict[str, Any], workers: int, timeout: float, progress: bool
) -> tuple[list, list[str], dict[int, tuple[int, int]]]:
    import math_verify  # noqa: F401 - imported once here so that every forked worker starts warm
    from tqdm import tqdm

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    items = zip(
        table["completion"].to_pylist(),
        table["answer"].to_pylist(),
        table["finish_reason"].to_pylist(),
        table["prompt"].to_pylist(),
        [m or "" for m in table["model"].to_pylist()],
        strict=True,
    )
    preds: list[str | None] = [None] * table.num_rows
    verdicts = ["error"] * table.num_rows
    counts: dict[int, tuple[int, int]] = {}
    with (
        DeadlinePool(functools.partial(check, tokenizers), workers, timeout) as pool,
        tqdm(total=table.num_rows, desc="verify", unit="row", disable=not progress) as bar,
    ):
        for index, status, value in pool.imap_unordered(items):
            if status == OK:
                preds[index], verdicts[index], *tokens = value
                counts[index] = tuple(tokens)
            else:
                verdicts[index] = "timeout" if status == TIMEOUT else "error"
            bar.update()
    return preds, verdicts, counts


def _load_tokenizers(table: pa.Table, name: str | None) -> dict[str, Any]:
    """Each `model` value's tokenizer (or `name` for all); fail before any work if one cannot load."""
    models = sorted({m or "" for m in table["model"].to_pylist()})
    loaded: dict[str, Any] = {}
    for model in models:
        tok_name = name or model
        if tok_name not in loaded:
            loaded[tok_name] = _tokenizer(tok_name, model)
    return {model: loaded[name or model] for model in models}


def _tokenizer(name: str, model: str) -> Any:
    from transformers import AutoTokenizer

    if not name:
        raise InputError("traces name no `model` to count tokens with; pass --tokenizer PATH")
    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as err:  # noqa: BLE001 - any load failure has the same remedy
        raise InputError(
            f"cannot load the tokenizer of model {model!r} ({type(err).__name__}); "
            "pass --tokenizer PATH naming a local tokenizer folder or Hub id"
        ) from err


def _set_token_counts(
    table: pa.Table, counts: dict[int, tuple[int, int]], tokenizers: dict[str, Any]
) -> pa.Table:
    """Write the workers' counts; rows whose worker timed out or failed are counted here, so that every
    row keeps its tokens (leaving failures out of the mean length was the reference code's mistake)."""
    models = [m or "" for m in table["model"].to_pylist()]
    for index in range(table.num_rows):
        if index not in counts:
            texts = [table["prompt"][index].as_py() or "", table["completion"][index].as_py() or ""]
            counts[index] = tuple(count_tokens(tokenizers[models[index]], texts))
    for position, column in enumerate(("prompt_tokens", "completion_tokens")):
        values = pa.array([counts[i][position] for i in range(table.num_rows)], pa.int32())
        table = table.set_column(table.schema.get_field_index(column), column, values)
    return table


def count_tokens(tok: Any, texts: list[str]) -> list[int]:
    """Token ids per text, special tokens excluded; a fast tokenizer's Rust batch call skips offsets."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    return [len(encoding.ids) for encoding in encode(texts, add_special_tokens=False)]
