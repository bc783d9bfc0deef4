"""Import problem sets (local files, `datasets` folders, Hub ids) into the `problems` contract.

Every source becomes rows of plain dicts; adapters then find the question, the gold answer as written,
a stable id and the difficulty. Rules a user can rely on:

- question: `--question-field`, else the first of QUESTION_FIELDS present.
- answer: `--answer-field`, else the first of ANSWER_FIELDS present; a GSM8K answer keeps only the number
  after `####` (commas stripped); a `solution` column gives its last `\\boxed{}` (MATH, Minerva); a number
  is written without a trailing `.0`.
- problem_id: a `problem_id` column verbatim; else an `unique_id`/`id`/`idx` column prefixed with the
  source when it is unique within the source (AMC's `id` is not); else `sha1(source + "\\n" + question)[:16]`.
- source and split: `--source`/`--split`, else the row's own `source`/`split` columns (a `problems` file
  re-imported keeps them), else derived.
- source derived: the file stem without a trailing split token (`gsm8k_main_test` -> `gsm8k_main`),
  or `NAME_CONFIG` for a Hub id (`openai/gsm8k --config main` -> `gsm8k_main`, matching the local file).
- split derived: the split token of the file stem, the split of a dataset dict, or "test".
- duplicates: a problem_id seen again with the same question and answer is dropped (counted in the
  summary); the same problem_id with a different question or answer is an error.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_data.answers import last_boxed
from tldr_data.atomic import write_parquet
from tldr_data.errors import InputError, OutputExistsError, SchemaError
from tldr_data.paths import check_outputs
from tldr_data.schema import PROBLEMS

QUESTION_FIELDS = ("question", "problem", "Question", "Problem", "prompt", "query", "input", "instruction")
ANSWER_FIELDS = ("answer", "ref_answer", "Answer", "final_answer", "gold", "target", "solution")
SOLUTION_FIELDS = ("solution", "Solution")
ID_FIELDS = ("unique_id", "id", "idx")
SPLIT_TOKENS = ("train", "test", "dev", "validation")
FILE_EXTENSIONS = (".jsonl", ".json", ".parquet", ".csv")
DEFAULT_SPLIT = "test"

_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


@dataclass
class Loaded:
    """One split of one source, as plain rows, with where it came from (for error messages)."""

    where: str
    source: str
    split: str
    rows: list[dict[str, Any]]


def problem_hash(source: str, question: str) -> str:
    """The stable id of a problem without a given id: same text and source, same id, on any machine."""
    return hashlib.sha1(f"{source}\n{question}".encode()).hexdigest()[:16]


def format_answer(value: Any) -> str:
    """A gold answer as text: numbers without a spurious `.0`, strings stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def gold_answer(row: dict[str, Any], answer_field: str) -> str:
    """The gold answer of one row, by the adapter rules in the module docstring."""
    value = row.get(answer_field)
    if answer_field in SOLUTION_FIELDS:
        return last_boxed(str(value or "")) or ""
    text = format_answer(value)
    if "####" in text:
        return text.rsplit("####", 1)[-1].strip().replace(",", "")
    if not text:
        for field in SOLUTION_FIELDS:
            if row.get(field):
                return last_boxed(str(row[field])) or ""
    return text


def difficulty_of(row: dict[str, Any]) -> int | None:
    """A `difficulty` column, else a MATH-style `level` ("Level 3" or 3), as an int; else None."""
    level = row.get("difficulty", row.get("level"))
    if level is None:
        return None
    if isinstance(level, int | float) and not isinstance(level, bool):
        return int(level)
    match = re.search(r"\d+", str(level))
    return int(match.group()) if match else None


def split_from_stem(stem: str) -> tuple[str, str | None]:
    """(source, split) from a file stem: a trailing split token names the split and leaves the source."""
    parts = re.split(r"([_.-])", stem)
    if len(parts) >= 3 and parts[-1].lower() in SPLIT_TOKENS:
        return "".join(parts[:-2]), parts[-1].lower()
    return stem, None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(
                    f"{path}: line {number}: bad JSON ({err.msg} at column {err.colno})"
                ) from err
            if not isinstance(row, dict):
                raise InputError(f"{path}: line {number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    """A JSON array of objects; a `.json` file that is really JSON Lines (common on the Hub) also works."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        return _read_jsonl(path)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {err.lineno}: bad JSON ({err.msg} at column {err.colno})") from err
    if not all(isinstance(row, dict) for row in rows):
        raise InputError(f"{path}: expected a JSON array of objects")
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """CSV with a header row, every field as text so that answers stay as written.

    Python's csv module in strict mode: an unterminated quote or a row whose field count differs from the
    header's is bad input naming the line, never rows silently merged or split.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                return []
            rows = []
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise InputError(
                        f"{path}: line {reader.line_num} has {len(fields)} fields, the header has "
                        f"{len(header)}; quote fields that hold commas"
                    )
                rows.append(dict(zip(header, fields, strict=True)))
    except csv.Error as err:
        raise InputError(f"{path}: malformed CSV at line {reader.line_num} ({err})") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: unreadable Parquet ({str(err).splitlines()[0]})") from err


READERS = {".jsonl": _read_jsonl, ".json": _read_json, ".parquet": _read_parquet, ".csv": _read_csv}


def _load_file(path: Path) -> list[Loaded]:
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise InputError(
            f"{path}: unknown extension '{suffix}'; expected one of {', '.join(FILE_EXTENSIONS)}, "
            "a dataset folder or a Hugging Face dataset id"
        )
    try:
        rows = READERS[suffix](path)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    stem_source, stem_split = split_from_stem(path.stem)
    return [Loaded(str(path), stem_source, stem_split or DEFAULT_SPLIT, rows)]


def _from_datasets(obj: Any, where: str, source: str, split: str | None) -> list[Loaded]:
    """A `Dataset` or `DatasetDict` as one Loaded per split; `split` picks one split of a dict."""
    import datasets

    if isinstance(obj, datasets.DatasetDict):
        if split is not None:
            if split not in obj:
                raise InputError(f"{where}: no split '{split}'; splits: {', '.join(obj)}")
            obj = {split: obj[split]}
        return [Loaded(f"{where} [{name}]", source, name, ds.to_list()) for name, ds in obj.items()]
    return [Loaded(where, source, split or DEFAULT_SPLIT, obj.to_list())]


def _load_folder(path: Path, split: str | None) -> list[Loaded]:
    """A `save_to_disk` folder, or a folder of data files that `datasets.load_dataset` understands."""
    import datasets

    saved = (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()
    try:
        obj = datasets.load_from_disk(str(path)) if saved else datasets.load_dataset(str(path))
    except Exception as err:  # noqa: BLE001 - datasets raises many types for unreadable folders
        raise InputError(f"{path}: not a readable dataset folder ({str(err).splitlines()[0]})") from err
    return _from_datasets(obj, str(path), path.name, split)


def _load_hub(name: str, config: str | None, split: str | None) -> list[Loaded]:
    import datasets

    try:
        obj = datasets.load_dataset(name, config, split=split)
    except Exception as err:  # noqa: BLE001 - offline, missing, gated: all mean this source cannot be read
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"{name}: no such file or folder, and loading it as a Hugging Face dataset failed ({first})"
        ) from err
    derived = name.rsplit("/", 1)[-1] + (f"_{config}" if config else "")
    return _from_datasets(obj, name, derived, split)


def load_source(src: str, *, config: str | None = None, split: str | None = None) -> list[Loaded]:
    """Read one source (file, dataset folder or Hub id) into plain rows, one Loaded per split.

    `split` picks a split of a dataset dict or Hub id; source and split names are derived from the source.
    """
    path = Path(src)
    if path.is_dir():
        return _load_folder(path, split)
    if path.is_file():
        return _load_file(path)
    if path.suffix.lower() in FILE_EXTENSIONS or not _HUB_ID.match(src) or src.startswith("."):
        raise InputError(f"{src}: no such file or folder")
    return _load_hub(src, config, split)


def _pick(columns: Sequence[str], given: str | None, candidates: Sequence[str], what: str, where: str) -> str:
    if given is not None:
        if given not in columns:
            raise SchemaError(
                f"{where}: no column '{given}' for the {what}; columns found: {', '.join(columns)}"
            )
        return given
    for name in candidates:
        if name in columns:
            return name
    raise SchemaError(
        f"{where}: no {what} column (tried {', '.join(candidates)}); columns found: {', '.join(columns)}; "
        f"pass --{what}-field"
    )


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _ids(loaded: Loaded, sources: list[str], questions: list[str]) -> list[str]:
    """Given ids where they identify rows uniquely; otherwise the source+question hash."""
    columns = _columns(loaded.rows)
    if "problem_id" in columns:
        ids = [format_answer(row.get("problem_id")) for row in loaded.rows]
        if all(ids):
            return ids
    for field in ID_FIELDS:
        if field in columns:
            ids = [format_answer(row.get(field)) for row in loaded.rows]
            if all(ids) and len(set(ids)) == len(ids):
                return [f"{source}/{value}" for source, value in zip(sources, ids, strict=True)]
    return [problem_hash(source, question) for source, question in zip(sources, questions, strict=True)]


def _label(row: dict[str, Any], column: str, given: str | None, derived: str) -> str:
    """`--source`/`--split` first, then the row's own column (a `problems` file re-imported), then derived."""
    return given or format_answer(row.get(column)) or derived


def to_problems(
    loaded: Loaded,
    *,
    question_field: str | None = None,
    answer_field: str | None = None,
    source: str | None = None,
    split: str | None = None,
) -> dict[str, list]:
    """The `problems` columns of one loaded split; every row must have a question and a gold answer."""
    if not loaded.rows:
        raise InputError(f"{loaded.where}: empty (no rows)")
    columns = _columns(loaded.rows)
    q_field = _pick(columns, question_field, QUESTION_FIELDS, "question", loaded.where)
    a_field = _pick(columns, answer_field, ANSWER_FIELDS, "answer", loaded.where)
    questions = [format_answer(row.get(q_field)) for row in loaded.rows]
    answers = [gold_answer(row, a_field) for row in loaded.rows]
    for what, field, values in (("question", q_field, questions), ("answer", a_field, answers)):
        empty = [i for i, value in enumerate(values) if not value]
        if empty:
            raise InputError(
                f"{loaded.where}: row {empty[0] + 1}: no {what} in column '{field}' ({len(empty)} row(s) "
                f"like it); pass --{what}-field to use another column"
            )
    sources = [_label(row, "source", source, loaded.source) for row in loaded.rows]
    return {
        "problem_id": _ids(loaded, sources, questions),
        "source": sources,
        "question": questions,
        "answer": answers,
        "difficulty": [difficulty_of(row) for row in loaded.rows],
        "split": [_label(row, "split", split, loaded.split) for row in loaded.rows],
    }


def _deduplicate(parts: list[tuple[Loaded, dict[str, list]]]) -> tuple[pa.Table, int]:
    """Concatenate parts, dropping exact repeats of a problem_id; a conflicting repeat is an error."""
    seen: dict[str, tuple[str, str, str]] = {}
    keep: dict[str, list] = {name: [] for name in PROBLEMS.names}
    dropped = 0
    for loaded, columns in parts:
        for i, pid in enumerate(columns["problem_id"]):
            content = (columns["question"][i], columns["answer"][i], loaded.where)
            if pid in seen:
                if seen[pid][:2] != content[:2]:
                    raise InputError(
                        f"{loaded.where}: problem_id '{pid}' (row {i + 1}) is already used by a different "
                        f"problem in {seen[pid][2]}; pass --source to tell the sources apart"
                    )
                dropped += 1
                continue
            seen[pid] = content
            for name in PROBLEMS.names:
                keep[name].append(columns[name][i])
    return pa.table(keep, schema=PROBLEMS), dropped


def import_problems(
    sources: Sequence[str],
    output: str | os.PathLike,
    *,
    config: str | None = None,
    split: str | None = None,
    question_field: str | None = None,
    answer_field: str | None = None,
    source: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Read every source, adapt it to `problems`, and write one Parquet file; nothing is written on error."""
    start = time.perf_counter()
    if not sources:
        raise InputError("no sources given; pass files, dataset folders or Hugging Face dataset ids")
    check_outputs({"-o/--output": output}, sources)
    if Path(output).exists() and not overwrite:
        raise OutputExistsError(f"{output}: already exists; pass --overwrite to replace it")
    parts = []
    for src in sources:
        for loaded in load_source(src, config=config, split=split):
            columns = to_problems(
                loaded, question_field=question_field, answer_field=answer_field, source=source, split=split
            )
            parts.append((loaded, columns))
    table, dropped = _deduplicate(parts)
    write_parquet(table, output)
    per_source: dict[str, int] = {}
    for name in table.column("source").to_pylist():
        per_source[name] = per_source.get(name, 0) + 1
    seconds = time.perf_counter() - start
    return {
        "output": str(output),
        "rows": table.num_rows,
        "sources": per_source,
        "duplicates_dropped": dropped,
        "seconds": round(seconds, 3),
        "rows_per_s": round(table.num_rows / seconds, 1) if seconds > 0 else None,
    }
