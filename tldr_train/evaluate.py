"""Measure a model on problem sets with one decoding protocol: accuracy, mean tokens, pass@k (and per level).

`init`, every `round` and `tldr-train eval` measure through `measure`, so the reference points, the dev
metrics that drive the ratio and the final benchmark numbers share one protocol (the reference code used
three). A measurement is `generate` + `verify` + `profile` from tldr_data: every row counts, failures as wrong
answers whose tokens still count in the mean.

A measurement folder holds `traces/` (generate's shards) and `verified.parquet` (+ its stats JSON); a
re-run resumes generation and skips a verification whose done-marker (tldr_data/done.py) exists.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.backends import default_backend, get_backend
from tldr_data.decoding import Decoding
from tldr_data.errors import ConfigError, InputError
from tldr_data.generate import generate
from tldr_data.parallel import generate_parallel
from tldr_data.profile import profile
from tldr_data.verify import verify

TRACES = "traces"
VERIFIED = "verified.parquet"
LOGS = "logs"
METRICS = ("n", "accuracy", "mean_tokens", "median_tokens", "p90_tokens", "truncated_rate", "pass_at_k")


@dataclass(frozen=True)
class Protocol(Decoding):
    """How a model is decoded (the decoding settings) and judged, on which engine.

    A run stores one in its state and every evaluation reuses it.
    """

    backend: str | None = field(
        default=None,
        metadata={
            "choices": ("vllm", "transformers"),
            "help": "Generation engine  [default: vllm where installed, else transformers]",
        },
    )
    verify_timeout: float = 5.0

    def resolved(self) -> Protocol:
        """The protocol with its backend named, so a run never silently changes engine between machines."""
        name = self.backend or default_backend()
        get_backend(name)
        return Protocol(**{**asdict(self), "backend": name})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"decoding protocol: unknown key(s) {', '.join(unknown)}")
        return cls(**data)


def measure(
    model: str | os.PathLike,
    problems: str | os.PathLike,
    folder: str | os.PathLike,
    protocol: Protocol,
    *,
    system: str,
    by: Sequence[str] = (),
    progress: bool = False,
    processes: int | None = None,
    tensor_parallel_size: int = 1,
) -> dict[str, Any]:
    """Generate, verify and profile `model` on `problems` into `folder`; overall (and per-`by`) metrics.

    `processes=K` generates in K child processes pinned to their GPUs (logs in `folder/logs/`), so this
    process never holds an engine; None generates here.
    """
    started = time.perf_counter()
    out = Path(folder)
    engine = {"tensor_parallel_size": tensor_parallel_size} if tensor_parallel_size > 1 else {}
    if processes is None:
        generated = generate(
            str(model),
            problems,
            out / TRACES,
            system=system,
            decoding=protocol,
            backend=protocol.backend,
            backend_options=engine,
            progress=progress,
        )
    else:
        generated = generate_parallel(
            str(model),
            str(problems),
            out / TRACES,
            processes=processes,
            logs=out / LOGS,
            system=system,
            decoding=Decoding(**{f.name: getattr(protocol, f.name) for f in fields(Decoding)}),
            backend=protocol.backend,
            backend_options=engine,
        )
    verified = out / VERIFIED
    # A finished verification is reused unless generation added rows.
    if generated["rows_written"] or done.read_done(verified) is None:
        verify([out / TRACES], verified, timeout=protocol.verify_timeout, overwrite=True, progress=progress)
    overall = _metrics(profile([verified], by=[])[0])
    result = {
        **overall,
        "verified": str(verified),
        "seconds": round(time.perf_counter() - started, 3),
        "generate_seconds": generated["generate_seconds"],
    }
    if by:
        result["groups"] = [
            {**{key: row[key] for key in by}, **_metrics(row)} for row in profile([verified], by=list(by))
        ]
    return result


def evaluate(
    model: str | os.PathLike,
    benches: Sequence[str | os.PathLike],
    output: str | os.PathLike | None,
    protocol: Protocol,
    *,
    progress: bool = False,
    processes: int | None = None,
    tensor_parallel_size: int = 1,
) -> dict[str, Any]:
    """Measure `model` on each benchmark file; per difficulty level too where the file sets `difficulty`.

    Without `output` the traces go to a temporary folder that is removed afterwards. `processes` and
    `tensor_parallel_size` spread generation over the GPUs as in `measure`.
    """
    started = time.perf_counter()
    if not benches:
        raise InputError("no benchmark given; pass --bench FILE.parquet (e.g. from `tldr-data problems`)")
    names = [Path(bench).name.removesuffix(".parquet") for bench in benches]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"--bench: two files are named {repeated[0]}; give each benchmark a distinct name")
    for bench in benches:
        if not Path(bench).exists():
            raise InputError(f"--bench {bench}: no such file; make one with `tldr-data problems`")
    protocol = protocol.resolved()
    with tempfile.TemporaryDirectory(prefix="tldr-eval-") as scratch:
        root = Path(output) if output is not None else Path(scratch)
        results = {
            name: _measure_bench(
                model, bench, root / name, protocol, progress, processes, tensor_parallel_size
            )
            for name, bench in zip(names, benches, strict=True)
        }
    return {
        "model": str(model),
        "protocol": protocol.to_dict(),
        "output": None if output is None else str(output),
        "benchmarks": results,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _measure_bench(model, bench, folder: Path, protocol: Protocol, progress, processes, tp) -> dict[str, Any]:
    result = measure(
        model,
        bench,
        folder,
        protocol,
        system="eval",
        by=["difficulty"],
        progress=progress,
        processes=processes,
        tensor_parallel_size=tp,
    )
    levels = [group for group in result.pop("groups") if group["difficulty"] is not None]
    return {**result, "levels": levels}


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in METRICS}


def render_table(summary: dict[str, Any]) -> str:
    """A Markdown table: one row per benchmark, then one per level."""
    lines = [
        "| benchmark | level | n | accuracy | mean tokens | pass@k |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, bench in summary["benchmarks"].items():
        rows = [("all", bench)] + [(str(level["difficulty"]), level) for level in bench["levels"]]
        for level, row in rows:
            pass_at_k = "-" if row["pass_at_k"] is None else f"{row['pass_at_k']:.3f}"
            lines.append(
                f"| {name} | {level} | {row['n']:,} | {row['accuracy']:.3f} | {row['mean_tokens']:,.1f} "
                f"| {pass_at_k} |"
            )
    return "\n".join(lines)
