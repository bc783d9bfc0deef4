"""Turn other tools' evaluation outputs into `traces` rows, so their samples can be verified and profiled.

SkyThought (`skythought evaluate`) writes one JSON object per run: problem text -> the problem's fields plus
`responses` {temperature: [{content, correctness, reason}]} and `token_usages` {temperature: [{...}]}.
Its `completion_tokens` are whitespace word counts (about 0.55x a tokenizer's count), so they are kept only
as placeholders here: `tldr-data verify` recounts every token with the model's tokenizer. The source's
own verdict is kept as `imported_correct`, so the two checkers can be compared row by row.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from tldr_data.atomic import write_parquet
from tldr_data.errors import InputError, OutputExistsError
from tldr_data.paths import check_outputs
from tldr_data.schema import TRACES, conform

FORMATS = ("skythought",)
_RUN_NAME = re.compile(r"^[^_]+_(?P<task>[A-Za-z0-9]+)_(?P<split>[A-Za-z]+)_subset_")
_GSM8K_GOLD = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def import_traces(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    format: str = "skythought",
    system: str,
    model: str,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Read evaluation logs in `format` into one `traces` Parquet file (plus `imported_correct`)."""
    if format not in FORMATS:
        raise InputError(f"--format {format}: unknown; known formats: {', '.join(FORMATS)}")
    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output} exists; pass --overwrite to replace it")
    if not inputs:
        raise InputError("no input files given")
    check_outputs({"-o/--output": output}, inputs)
    _refuse_repeats(inputs)
    started = time.monotonic()
    rows = [row for path in inputs for row in skythought_rows(Path(path), system=system, model=model)]
    if not rows:
        raise InputError(f"{', '.join(map(str, inputs))}: no responses found")
    columns = {name: [row[name] for row in rows] for name in [*TRACES.names, "imported_correct"]}
    schema = pa.schema([*TRACES, pa.field("imported_correct", pa.bool_())])
    try:
        table = pa.table(columns, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        where = ", ".join(map(str, inputs))
        raise InputError(f"{where}: a field has the wrong type ({str(err).splitlines()[0]})") from None
    write_parquet(conform(table, "traces"), output)
    imported_correct = sum(bool(row["imported_correct"]) for row in rows)
    return {
        "output": str(output),
        "rows": len(rows),
        "problems": len({row["problem_id"] for row in rows}),
        "files": len(inputs),
        "imported_accuracy": round(imported_correct / len(rows), 4),
        "seconds": round(time.monotonic() - started, 3),
    }


def _refuse_repeats(inputs: Sequence[str | os.PathLike]) -> None:
    """The same log given twice (by two names, or two copies of it) would import every response twice."""
    seen: dict[object, str] = {}
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give the results JSON files inside it")
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        for key in (path.resolve(), hashlib.sha256(path.read_bytes()).hexdigest()):
            if key in seen:
                raise InputError(f"{given}: the same log as {seen[key]}; give each log once")
            seen[key] = str(given)


def skythought_rows(path: Path, *, system: str, model: str) -> Iterator[dict[str, Any]]:
    """One `traces` row per response of a SkyThought results JSON."""
    data = _load_json(path)
    task, split = _task_and_split(path)
    for key, record in data.items():
        if not isinstance(record, dict) or not isinstance(record.get("responses"), dict):
            raise InputError(
                f"{path}: entry {key[:60]!r} has no `responses`; is this a SkyThought results file?"
            )
        question = str(record.get("problem") or record.get("question") or key)
        problem_id = _problem_id(task, record, question)
        usages = record.get("token_usages") or {}
        sample_idx = 0
        for temperature, responses in record["responses"].items():
            for position, response in enumerate(responses):
                if not isinstance(response, dict):
                    raise InputError(
                        f"{path}: entry {key[:60]!r}, response {position} at temperature {temperature}: "
                        "not a JSON object"
                    )
                content = response.get("content")
                if content is not None and not isinstance(content, str):
                    raise InputError(
                        f"{path}: entry {key[:60]!r}, response {position} at temperature {temperature}: "
                        f"`content` is of type {type(content).__name__}, not text"
                    )
                usage = (usages.get(temperature) or [{}] * len(responses))[position]
                yield {
                    "problem_id": problem_id,
                    "source": task,
                    "question": question,
                    "answer": _gold(record.get("answer")),
                    "difficulty": record["level"] if isinstance(record.get("level"), int) else None,
                    "split": split,
                    "system": system,
                    "model": model,
                    "sample_idx": sample_idx,
                    "prompt": str(record.get("prompt") or question),
                    "completion": content or "",
                    "finish_reason": _finish_reason(response),
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "completion_tokens": usage.get("completion_tokens"),
                    "token_source": None,  # word counts, not tokens: verify counts them
                    "gen_config": json.dumps(
                        {"temperature": float(temperature), "n": len(responses), "imported_from": path.name}
                    ),
                    "backend": "import:skythought",
                    "imported_correct": bool(response.get("correctness")),
                }
                sample_idx += 1


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object of problems (SkyThought results format)")
    return data


def _task_and_split(path: Path) -> tuple[str, str]:
    """SkyThought names runs `<model>_<task>_<split>_subset_...`; otherwise the folder names the task."""
    match = _RUN_NAME.match(path.name)
    return (match["task"], match["split"]) if match else (path.parent.name, "test")


def _problem_id(task: str, record: dict[str, Any], question: str) -> str:
    given = record.get("unique_id") or record.get("id")
    if given is not None:
        return f"{task}/{given}"
    return hashlib.sha1(f"{task}\n{question}".encode()).hexdigest()[:16]


def _gold(answer: Any) -> str:
    """The gold answer as written; GSM8K's worked solutions keep only what follows `####`."""
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    text = str(answer)
    match = _GSM8K_GOLD.search(text)
    return match.group(1).replace(",", "") if match else text.strip()


def _finish_reason(response: dict[str, Any]) -> str:
    said = str(response.get("finish_reason") or response.get("stop_reason") or response.get("reason") or "")
    return "length" if "length" in said.lower() else "stop"
