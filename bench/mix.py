"""Benchmark `tldr_data.mix.mix` against a straightforward pandas implementation, side by side in one run.

Two pools of --rows rows each (completions of 1-8 KB, as reasoning traces are) are generated with DuckDB, then
each implementation draws the same-sized mixture in its own subprocess, so that its peak RSS
(`resource.getrusage`) is its own; the two alternate --repeat times, and the median time is shown.
Everything is written under a temp dir that is removed at the end.

    python bench/mix.py                      # 2 x 1,000,000-row pools -> 100,000-row mixture
    python bench/mix.py --rows 100000 --size 10000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def make_pool(path: Path, name: str, rows: int, min_bytes: int, max_bytes: int) -> None:
    """A pool with the `verified` columns mix reads; completion lengths uniform in [min_bytes, max_bytes].

    Rows are made by DuckDB and written by pyarrow in 65,536-row groups with its default 1 MB pages, as
    `tldr-data select` (pyarrow) writes pools.
    """
    import duckdb
    import pyarrow.parquet as pq

    config = json.dumps({"instruction": INSTRUCTION, "temperature": 0.7}).replace("'", "''")
    span = max_bytes - min_bytes
    reader = duckdb.sql(
        f"""SELECT '{name}-' || i AS problem_id,
                   'Question ' || i || ': what is ' || (i * 7) || ' mod 13?' AS question,
                   repeat(md5(i::VARCHAR || '{name}') || ' ', n_bytes // 33) AS completion,
                   CAST(n_bytes // 4 AS INTEGER) AS completion_tokens,
                   '{config}' AS gen_config,
                   '{name}' AS system,
                   TRUE AS correct
            FROM (SELECT i, CAST({min_bytes} + hash(i, '{name}') % {span + 1} AS BIGINT) AS n_bytes
                  FROM range({rows}) AS t(i))
            ORDER BY i"""
    ).to_arrow_reader(65_536)
    with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)


def pandas_mix(short: str, long: str, output: Path, ratio: float, size: int, seed: int) -> None:
    """What one would write first: read both pools, sample, shuffle, build the messages, write."""
    import pandas as pd

    k = math.floor(ratio * size + 0.5)
    short_rows = pd.read_parquet(short).sample(n=k, random_state=seed).assign(pool="short")
    long_rows = pd.read_parquet(long).sample(n=size - k, random_state=seed).assign(pool="long")
    mixture = pd.concat([short_rows, long_rows]).sample(frac=1, random_state=seed)
    instructions = mixture["gen_config"].map(lambda text: json.loads(text).get("instruction"))
    mixture["prompt"] = [
        [{"role": "user", "content": f"{q}\n\n{i}" if i else q}]
        for q, i in zip(mixture["question"], instructions, strict=True)
    ]
    mixture["completion"] = [[{"role": "assistant", "content": c}] for c in mixture["completion"]]
    output.joinpath("data").mkdir(parents=True)
    columns = ["prompt", "completion", "problem_id", "pool", "completion_tokens"]
    mixture[columns].to_parquet(
        output / "data" / "train-00000-of-00001.parquet", compression="zstd", index=False
    )


def worker(args: argparse.Namespace) -> None:
    """Make the pools, or run one implementation and print its time and peak RSS as JSON."""
    if args.worker == "pools":
        make_pool(Path(args.short), "short", args.rows, args.min_bytes, args.max_bytes)
        make_pool(Path(args.long), "long", args.rows, args.min_bytes, args.max_bytes)
        return
    started = time.perf_counter()
    if args.worker == "mix":
        from tldr_data.mix import mix

        mix(args.short, args.long, args.out, ratio=args.ratio, size=args.size, seed=args.seed)
    else:
        pandas_mix(args.short, args.long, Path(args.out), args.ratio, args.size, args.seed)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def measure(kind: str, short: Path, long: Path, out: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", kind, "--short", str(short), "--long", str(long)]
    command += [
        "--out",
        str(out),
        "--size",
        str(args.size),
        "--ratio",
        str(args.ratio),
        "--seed",
        str(args.seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The median seconds and the highest peak RSS of one side's runs; the first error if any failed."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per pool")
    parser.add_argument("--size", type=int, default=100_000, help="rows in the mixture")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-bytes", type=int, default=1000)
    parser.add_argument("--max-bytes", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side, alternating (median)")
    parser.add_argument("--dir", help="work dir (default: a temp dir, removed afterwards)")
    parser.add_argument("--worker", choices=["pools", "mix", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--short", help=argparse.SUPPRESS)
    parser.add_argument("--long", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    root = Path(tempfile.mkdtemp(prefix="tldr-bench-mix-", dir=args.dir))
    try:
        started = time.perf_counter()
        short, long = root / "short.parquet", root / "long.parquet"
        # In a subprocess: Linux keeps the peak RSS across fork+exec, so the parent must stay small.
        pools = ["--worker", "pools", "--short", str(short), "--long", str(long), "--rows", str(args.rows)]
        pools += ["--min-bytes", str(args.min_bytes), "--max-bytes", str(args.max_bytes)]
        subprocess.run([sys.executable, __file__, *pools], check=True)
        mean_kb = (args.min_bytes + args.max_bytes) / 2 / 1000
        disk_mb = (short.stat().st_size + long.stat().st_size) / 1e6
        print(
            f"pools: 2 x {args.rows:,} rows, completions {args.min_bytes}-{args.max_bytes} B "
            f"(~{2 * args.rows * mean_kb / 1e6:.1f} GB of text, {disk_mb:.0f} MB zstd on disk), "
            f"generated in {time.perf_counter() - started:.1f}s; mixture {args.size:,} rows"
        )
        runs: dict[str, list[dict]] = {"mix": [], "pandas": []}
        for _ in range(args.repeat):  # the sides alternate, so that both see the same load
            for kind in ("mix", "pandas"):
                runs[kind].append(measure(kind, short, long, root / f"out-{kind}", args))
                shutil.rmtree(root / f"out-{kind}", ignore_errors=True)
        results = {kind: _median(done) for kind, done in runs.items()}
        print(f"{'implementation':<16}{'seconds':>10}{'peak RSS MiB':>15}")
        for kind, label in (("mix", "tldr mix"), ("pandas", "pandas")):
            r = results[kind]
            if "error" in r:
                print(f"{label:<16}  failed: {r['error']}")
            else:
                print(f"{label:<16}{r['seconds']:>10.1f}{r['peak_rss_mib']:>15.0f}")
        if all("error" not in r for r in results.values()):
            ours, theirs = results["mix"], results["pandas"]
            print(
                f"tldr mix: {theirs['seconds'] / ours['seconds']:.1f}x faster, "
                f"{theirs['peak_rss_mib'] / ours['peak_rss_mib']:.1f}x less peak memory than pandas"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
