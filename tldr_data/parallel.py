"""Data-parallel generation: K engine processes, each pinned to its own GPUs, filling one traces folder.

vLLM's offline `LLM` refuses `data_parallel_size > 1` in one process; its supported route is one process per
replica. `generate_parallel` starts K children of this module, child i running `generate(..., part=(i, K))`
with `CUDA_VISIBLE_DEVICES` set to its group of `tensor_parallel_size` GPUs: the same work as typing
`CUDA_VISIBLE_DEVICES=i tldr-data generate ... --part i/K` K times. The parts are disjoint and every shard is
written atomically, so a killed part resumes like any `generate`, and the parent holds no engine (its GPUs
stay free for the next stage).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.decoding import Decoding
from tldr_data.errors import ConfigError, StageError, TldrError

SUMMED = ("problems", "rows_written", "rows_skipped", "shards_written", "completion_tokens")


def generate_parallel(
    model: str,
    input: Any,
    output: str | os.PathLike,
    *,
    processes: int,
    logs: str | os.PathLike,
    decoding: Decoding | None = None,
    backend_options: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run `generate` as `processes` pinned child processes into `output`; return the summed summary.

    `options` are `generate`'s other keywords (JSON-able values); each process gets
    `backend_options["tensor_parallel_size"]` GPUs. Each child's stderr goes to
    `logs/generate-part-I-of-K.log`; a failed child raises StageError naming its part and log, after the
    other parts have finished (their shards are kept, so a re-run only redoes what is missing). The folder
    gets its done-marker when every part has finished.
    """
    if processes < 1:
        raise ConfigError(f"--data-parallel {processes}: run at least 1 generation process")
    if options.get("part") is not None:
        raise ConfigError("--part and --data-parallel exclude each other: --data-parallel K runs the K parts")
    started = time.perf_counter()
    engine = dict(backend_options or {})
    groups = device_groups(processes, int(engine.get("tensor_parallel_size", 1)))
    folder = Path(logs)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = [str(p) for p in input] if isinstance(input, list | tuple) else str(input)
    children = []
    for i, devices in enumerate(groups):
        request = {
            **options,
            "model": str(model),
            "input": inputs,
            "output": str(output),
            "part": [i, processes],
            "decoding": asdict(decoding or Decoding()),
            "backend_options": engine,
        }
        env = dict(os.environ)
        if devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = devices
        log = folder / f"generate-part-{i}-of-{processes}.log"
        with log.open("w") as stream:
            command = [sys.executable, "-m", __name__, json.dumps(request)]
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stream, env=env, text=True)
        children.append((f"generate part {i}/{processes}", child, log))
    summaries, failures = [], []
    for stage, child, log in children:
        out, _ = child.communicate()
        if child.returncode == 0:
            summaries.append(json.loads(out))
        else:
            failures.append(failure(stage, child.returncode, log))
    if failures:
        raise StageError(failures[0])
    summary = _combined(summaries, time.perf_counter() - started)
    done.mark_done(output, summary)
    return summary


def device_groups(processes: int, tensor_parallel_size: int) -> list[str | None]:
    """Each process's CUDA_VISIBLE_DEVICES: consecutive groups of the visible GPUs (None on a CPU machine)."""
    visible = visible_gpus()
    if not visible:
        return [None] * processes
    needed = processes * tensor_parallel_size
    if len(visible) < needed:
        raise ConfigError(
            f"--data-parallel {processes} x --tensor-parallel-size {tensor_parallel_size} needs "
            f"{needed} GPUs; {len(visible)} visible ({','.join(visible)})"
        )
    size = tensor_parallel_size
    return [",".join(visible[i * size : (i + 1) * size]) for i in range(processes)]


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else every GPU torch sees."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [device.strip() for device in listed.split(",") if device.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def failure(stage: str, code: int, log: Path) -> str:
    """One line for a failed child: the stage, how it ended, its error (or last line), where the log is."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()] if log.is_file() else []
    errors = [line for line in lines if line.startswith("Error: ")]
    said = errors[-1] if errors else next((line for line in reversed(lines) if line), "")
    last = f": {said[:300]}" if said else ""
    how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
    return f"{stage} failed ({how}{last}); log: {log}"


def _combined(summaries: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    first = summaries[0]
    reasons: Counter = Counter()
    for summary in summaries:
        reasons.update(summary["finish_reasons"])
    tokens = sum(summary["completion_tokens"] for summary in summaries)
    return {
        **{key: first[key] for key in ("output", "model", "system", "n")},
        "backend": next((s["backend"] for s in summaries if s["backend"]), None),
        **{key: sum(summary[key] for summary in summaries) for key in SUMMED},
        "finish_reasons": dict(reasons),
        "processes": len(summaries),
        "seconds": round(seconds, 3),
        "generate_seconds": max(summary["generate_seconds"] for summary in summaries),
        "tokens_per_s": round(tokens / seconds, 1) if seconds else 0.0,
    }


def main() -> int:
    """One part: `python -m tldr_data.parallel REQUEST_JSON`, its summary as JSON on stdout."""
    from tldr_data.generate import generate

    request = json.loads(sys.argv[1])
    request["part"] = tuple(request["part"])
    request["decoding"] = Decoding(**request["decoding"])
    try:
        summary = generate(request.pop("model"), request.pop("input"), request.pop("output"), **request)
    except TldrError as err:
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
