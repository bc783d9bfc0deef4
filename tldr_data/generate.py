"""Sample System-1 / System-2 traces: `problems` in, a folder of `traces` Parquet shards out.

Resumable by construction: every batch of work becomes one shard, renamed into place only when complete, and
named after the input row of its first problem, so a folder lists its shards in the same order on every run.
Every shard row carries its model, system and settings (`gen_config`), so the shards themselves record
what the folder holds. A re-run (even after kill -9) reads the shards, skips every (problem_id, sample_idx)
already there for the same model and settings, and generates the rest. A call that finishes its work marks
the folder done (tldr_data/done.py) with its summary and the settings the folder holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tldr_data import done, duck
from tldr_data.atomic import sweep_stale, write_parquet
from tldr_data.backends import BACKENDS, Backend, default_backend, get_backend
from tldr_data.decoding import Decoding
from tldr_data.errors import ConfigError, InputError, OutputExistsError, SchemaError, TldrError
from tldr_data.lock import output_lock
from tldr_data.models import check_model
from tldr_data.prompts import render_prompt
from tldr_data.schema import conform, require_columns

# What a shard row records about how it was made; a folder may hold rows of one identity (or more, mixed).
IDENTITY = ("model", "system", "gen_config")


def generate(
    model: str,
    input: str | os.PathLike | Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    system: str,
    decoding: Decoding | None = None,
    backend: str | Backend | None = None,
    backend_options: dict[str, Any] | None = None,
    batch_size: int = 256,
    allow_mixed: bool = False,
    limit: int | None = None,
    tokenizer: str | None = None,
    part: tuple[int, int] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Generate `decoding.n` completions per problem into the shard folder `output`; return a JSON summary.

    `backend` is a registered name (default: vllm when installed, else transformers) or a ready `Backend`
    instance, which lets a caller keep one engine across many calls (it is not closed here);
    `backend_options` fill that backend's `Options` (e.g. tensor_parallel_size, base_url). `tokenizer`
    (default: `model`) renders the chat template and counts tokens; it matters for the openai backend,
    where `model` is the server's model name. `part=(i, k)` keeps the problems whose id hashes to i mod k,
    so k processes (one per GPU) can fill one folder: data parallelism without a coordinator.
    """
    started = time.perf_counter()
    decoding = decoding or Decoding()
    decoding.check()
    _check_settings(batch_size, limit, part, system)
    n = decoding.n
    identity = {"model": str(model), "system": system, "gen_config": decoding.gen_config()}
    _check_models(str(model), tokenizer, backend)
    engine_factory = _backend_factory(backend, str(model), backend_options)
    problems, positions = _read_problems(input, limit, part)
    out = Path(output)
    configs = _check_output(out, identity, allow_mixed)
    with _writing(out, part):
        finished = _finished(out, identity)
        todo = [
            (row, s)
            for row, pid in enumerate(problems.column("problem_id").to_pylist())
            for s in range(n)
            if (pid, s) not in finished
        ]
        summary = {
            "output": str(out),
            "model": str(model),
            "system": system,
            "backend": None,
            "problems": problems.num_rows,
            "n": n,
            "rows_written": 0,
            "rows_skipped": problems.num_rows * n - len(todo),
            "shards_written": 0,
            "completion_tokens": 0,
            "finish_reasons": {},
            "seconds": 0.0,
            "generate_seconds": 0.0,
            "tokens_per_s": 0.0,
        }
        configs = configs + ([identity] if identity not in configs else [])
        if not todo:
            summary["seconds"] = round(time.perf_counter() - started, 3)
            _mark_done(out, part, {**summary, "configs": configs})
            return summary

        tok = _load_tokenizer(tokenizer or str(model))
        questions = problems.column("question").to_pylist()
        prompts = {
            row: render_prompt(tok, questions[row], decoding.instruction, decoding.system_prompt)
            for row in sorted({r for r, _ in todo})
        }
        engine, owned = engine_factory()
        summary["backend"] = engine.name
        done.clear_done(out)
        try:
            stats = _run(
                engine,
                tok,
                problems,
                positions,
                prompts,
                todo,
                decoding,
                identity,
                out,
                batch_size,
                progress,
            )
        except TldrError as err:
            kept = len(_finished(out, identity))
            raise type(err)(
                f"{err}; {kept:,} finished rows are kept in {out}: the same command resumes from them"
            ) from None
        finally:
            if owned:
                engine.close()
        seconds = time.perf_counter() - started
        summary.update(
            stats, seconds=round(seconds, 3), tokens_per_s=round(stats["completion_tokens"] / seconds, 1)
        )
        _mark_done(out, part, {**summary, "configs": configs})
        return summary


def _check_settings(batch_size, limit, part, system) -> None:
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1 (got {batch_size})")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1 (got {limit})")
    if part is not None and not (part[1] >= 1 and 0 <= part[0] < part[1]):
        raise ConfigError(f"--part must be I/K with 0 <= I < K (got {part[0]}/{part[1]})")
    if not system.strip():
        raise ConfigError("--system must be a non-empty label (system1, system2 or your own)")


@contextlib.contextmanager
def _writing(out: Path, part: tuple[int, int] | None) -> Iterator[None]:
    """Hold the folder while generating into it: one process per folder, or one per `--part`.

    A process without --part holds the folder's lock exclusively; one with --part I/K holds it shared and
    the lock of its part exclusively, so K processes fill one folder side by side while a second copy of
    any of them fails at once instead of writing every row again. Temporaries of killed runs are deleted.
    """
    with contextlib.ExitStack() as locks:
        if part is None:
            locks.enter_context(output_lock(out))
        else:
            locks.enter_context(output_lock(out, shared=True))
            locks.enter_context(output_lock(out, name=f"{out.name}.part-{part[0]}-of-{part[1]}"))
        sweep_stale(out)
        yield


def _check_models(model: str, tokenizer: str | None, backend: str | Backend | None) -> None:
    """The tokenizer (default: the model) is always loaded here; the model too, unless no engine loads it."""
    check_model(tokenizer or model, "--tokenizer" if tokenizer else "-m/--model")
    served = isinstance(backend, Backend) or (backend or default_backend()) in ("openai", "fake")
    if tokenizer and not served:
        check_model(model, "-m/--model")


def _backend_factory(backend, model, backend_options):
    """Validate the backend and its options now (cheap); start the engine later, only if there is work."""
    if isinstance(backend, Backend):
        return lambda: (backend, False)
    cls = get_backend(backend or default_backend())
    values = dict(backend_options or {})
    # An option that another backend knows is a flag given to the wrong engine (e.g. --base-url for vllm).
    elsewhere = {f.name for name in BACKENDS for f in dataclasses.fields(get_backend(name).Options)}
    fields = {f.name for f in dataclasses.fields(cls.Options)}
    for key in values:
        if key in elsewhere and key not in fields:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to the {cls.name} backend")
    options = cls.parse_options(values)
    return lambda: (cls(model, options), True)


def _read_problems(input, limit: int | None, part: tuple[int, int] | None) -> tuple[pa.Table, list[int]]:
    """The problems this process samples, and each one's row number in the whole input (names shards)."""
    paths = [input] if isinstance(input, str | os.PathLike) else list(input)
    con = duck.connect()
    table_expr = duck.scan(paths)
    try:
        names = duck.columns(con, table_expr)
        require_columns(names, "problems", ", ".join(map(str, paths)))
        if "completion" in names:
            raise SchemaError(
                f"{', '.join(map(str, paths))}: holds `traces` (it has a completion column); "
                "generate reads `problems`"
            )
        table = con.sql(f"SELECT * FROM {table_expr}").to_arrow_table()
    except duckdb.Error as err:
        where = ", ".join(map(str, paths))
        raise InputError(f"{where}: cannot read as Parquet ({str(err).splitlines()[0]})") from None
    ids = table.column("problem_id").to_pylist()
    if None in ids or None in table.column("question").to_pylist():
        raise InputError(f"{paths[0]}: problem_id and question must not be null")
    repeated = [pid for pid, count in Counter(ids).items() if count > 1]
    if repeated:
        raise InputError(f"{paths[0]}: problem_id {repeated[0]!r} appears more than once; ids must be unique")
    positions = list(range(table.num_rows))
    if part is not None:
        positions = [i for i, pid in enumerate(ids) if _hash(pid) % part[1] == part[0]]
        table = table.take(positions)
    if limit is not None:
        table, positions = table.slice(0, limit), positions[:limit]
    if table.num_rows == 0:
        raise InputError(f"{paths[0]}: no problems to generate for")
    return table, positions


def _mark_done(out: Path, part: tuple[int, int] | None, summary: dict[str, Any]) -> None:
    """The folder is done when the whole input is; one part of several marks nothing (its parent does)."""
    if part is None or part[1] == 1:
        done.mark_done(out, summary)


def _check_output(out: Path, identity: dict, allow_mixed: bool) -> list[dict]:
    """The configs the folder already holds; refuse a folder of other settings unless mixing is allowed."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder; traces are written as a folder of shards")
    configs = _held_configs(out)
    if not configs or identity in configs or allow_mixed:
        return configs
    raise ConfigError(
        f"{out}: holds traces made with other settings ({_difference(configs[0], identity)}); "
        "use another output folder, or pass --allow-mixed to add these"
    )


def _held_configs(out: Path) -> list[dict]:
    """The (model, system, gen_config) identities of the shards in `out`, sorted."""
    if not out.is_dir() or not any(out.glob("*.parquet")):
        return []
    con = duck.connect()
    scan = duck.scan([out])
    if not set(IDENTITY) <= set(duck.columns(con, scan)):
        raise OutputExistsError(f"{out}: holds Parquet files not written by generate; choose another folder")
    columns = ", ".join(IDENTITY)
    rows = con.execute(f"SELECT DISTINCT {columns} FROM {scan} ORDER BY {columns}").fetchall()
    return [dict(zip(IDENTITY, row, strict=True)) for row in rows]


def _difference(old: dict, new: dict) -> str:
    flat_old = {**old, **json.loads(old["gen_config"])}
    flat_new = {**new, **json.loads(new["gen_config"])}
    keys = [k for k in sorted(flat_new) if k != "gen_config" and flat_old.get(k) != flat_new[k]]
    return ", ".join(f"{k}: {flat_old.get(k)!r} there, {flat_new[k]!r} now" for k in keys)


def _finished(out: Path, identity: dict) -> set[tuple[str, int]]:
    """(problem_id, sample_idx) pairs already in visible shards for this model, system and settings."""
    if not out.is_dir() or not any(out.glob("*.parquet")):
        return set()
    con = duck.connect()
    rows = con.execute(
        f"SELECT problem_id, sample_idx FROM {duck.scan([out])} "
        "WHERE model = ? AND system = ? AND gen_config = ?",
        [identity["model"], identity["system"], identity["gen_config"]],
    ).fetchall()
    return {(pid, int(idx)) for pid, idx in rows}


def _load_tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise InputError(
            f"{name}: cannot load its tokenizer ({str(err).splitlines()[0]}); "
            "pass a local model folder, a Hub id, or --tokenizer"
        ) from None
    if not tok.chat_template:
        raise InputError(f"{name}: its tokenizer has no chat template; generate renders prompts with one")
    return tok


def _run(
    engine, tok, problems, positions, prompts, todo, decoding, identity, out, batch_size, progress
) -> dict:
    from tqdm import tqdm

    ids = problems.column("problem_id").to_pylist()
    pending = Counter(row for row, _ in todo)
    prompt_tokens = {
        row: len(tok(text, add_special_tokens=False)["input_ids"]) for row, text in prompts.items()
    }
    tag = _hash(json.dumps(identity, sort_keys=True)) % 16**8
    finish: Counter = Counter()
    tokens = written = shards = 0
    started = time.perf_counter()
    bar = tqdm(total=len(pending), unit="problem", desc="generate", disable=not progress, dynamic_ncols=True)
    with bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            seeds = [_hash(f"{decoding.seed}:{ids[row]}:{s}") % 2**31 for row, s in batch]
            results = engine.complete([prompts[row] for row, _ in batch], decoding.sampling, seeds)
            counts, sources = _completion_tokens(tok, results)
            table = problems.take([row for row, _ in batch])
            extra = {
                "system": [identity["system"]] * len(batch),
                "model": [identity["model"]] * len(batch),
                "sample_idx": pa.array([s for _, s in batch], pa.int32()),
                "prompt": [prompts[row] for row, _ in batch],
                "completion": [r.text for r in results],
                "finish_reason": [r.finish_reason for r in results],
                "prompt_tokens": pa.array([prompt_tokens[row] for row, _ in batch], pa.int32()),
                "completion_tokens": pa.array(counts, pa.int32()),
                "token_source": sources,
                "gen_config": [identity["gen_config"]] * len(batch),
                "backend": [engine.name] * len(batch),
            }
            for name, values in extra.items():
                table = table.append_column(name, pa.array(values) if isinstance(values, list) else values)
            first_row, first_sample = positions[batch[0][0]], batch[0][1]
            name = f"part-{tag:08x}-{first_row:09d}-{first_sample:05d}-{uuid.uuid4().hex[:12]}.parquet"
            write_parquet(conform(table, "traces"), out / name)
            shards += 1
            written += len(batch)
            tokens += sum(counts)
            finish.update(r.finish_reason for r in results)
            pending.subtract(row for row, _ in batch)
            bar.update(sum(1 for row in {r for r, _ in batch} if pending[row] == 0))
            bar.set_postfix(tokens=tokens, tok_s=f"{tokens / (time.perf_counter() - started):.0f}")
    seconds = time.perf_counter() - started
    return {
        "rows_written": written,
        "shards_written": shards,
        "completion_tokens": tokens,
        "finish_reasons": dict(finish),
        "generate_seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
    }


def _completion_tokens(tok, results: list) -> tuple[list[int], list[str]]:
    """Each completion's token count and its source: the engine's own count of the ids it generated where it
    reports one (re-tokenizing decoded text can give more ids than were generated), else a recount."""
    missing = [r.text for r in results if r.engine_tokens is None]
    recounted = (
        iter(len(ids) for ids in tok(missing, add_special_tokens=False)["input_ids"]) if missing else None
    )
    counts, sources = [], []
    for result in results:
        if result.engine_tokens is None:
            counts.append(next(recounted))
            sources.append("recount")
        else:
            counts.append(int(result.engine_tokens))
            sources.append("engine")
    return counts, sources


def _hash(text: str) -> int:
    """A stable 64-bit hash (Python's hash() changes per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
