"""Soak: `verify` and `mix` on at least 1 GB of Parquet (two inputs), with each stage's peak RSS.

Two inputs of --rows rows each (completions of 1-8 KB of hex digests, so zstd keeps them ~0.6 GB on disk,
ending in a boxed answer; ~4.5 KB on average, so 250,000 rows hold ~1.1 GB of text) are made with DuckDB and
written by pyarrow, as the pipeline writes them; one row in ten has no engine token count. `verify` (of both
inputs, recounting with a tiny local tokenizer) and then `mix` (the two as pools, to --size rows) each run in
their own subprocess, so that the peak RSS (VmHWM of the stage's process; for verify also its largest
worker's `ru_maxrss`) is the stage's own. Everything is written under a temp dir that is removed at the end.

    python bench/soak.py                        # 2 x 250,000 rows (~1.2 GB of Parquet, ~2.3 GB of text);
                                                # verify takes ~15 min on 2 shared cores
    python bench/soak.py --rows 20000 --json    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def make_rows(path: Path, name: str, rows: int, min_bytes: int, max_bytes: int) -> int:
    """`verified`-contract rows, all correct, answers boxed at the end; returns the completion bytes."""
    import duckdb
    import pyarrow.parquet as pq

    config = json.dumps({"instruction": INSTRUCTION, "temperature": 0.7}).replace("'", "''")
    span = max_bytes - min_bytes
    reader = duckdb.sql(
        f"""SELECT '{name}-' || i AS problem_id, 'soak' AS source,
                   'What is ' || i || ' + 1?' AS question, (i + 1)::VARCHAR AS answer,
                   NULL::INTEGER AS difficulty, 'train' AS split, '{name}' AS system, 'tiny' AS model,
                   0 AS sample_idx, 'What is ' || i || ' + 1?' AS prompt,
                   array_to_string(list_transform(range(n_bytes // 33),
                                                  lambda j: md5(i::VARCHAR || '{name}' || j::VARCHAR)), ' ')
                       || ' So the answer is \\boxed{{' || (i + 1) || '}}.' AS completion,
                   'stop' AS finish_reason, 8 AS prompt_tokens,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE 'engine' END AS token_source,
                   CAST(n_bytes // 4 AS INTEGER) AS completion_tokens,
                   '{config}' AS gen_config, 'soak' AS backend,
                   (i + 1)::VARCHAR AS pred_answer, TRUE AS correct, 'correct' AS verdict
            FROM (SELECT i, CAST({min_bytes} + hash(i, '{name}') % {span + 1} AS BIGINT) AS n_bytes
                  FROM range({rows}) AS t(i))
            ORDER BY i"""
    ).to_arrow_reader(65_536)
    text = 0
    with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
        for batch in reader:
            text += sum(len(c) for c in batch.column("completion").to_pylist())
            writer.write_batch(batch)
    return text


def peak_rss_kib() -> int:
    """This program's peak RSS: VmHWM (ru_maxrss would carry the parent's peak across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stage(args: argparse.Namespace) -> None:
    """Run one stage in this process and print its seconds and peak RSS as JSON."""
    root = Path(args.root)
    started = time.perf_counter()
    if args.stage == "verify":
        from tldr_data.verify import verify

        inputs = [root / "short.parquet", root / "long.parquet"]
        verify(inputs, root / "verified.parquet", tokenizer=str(root / "tiny"))
    else:
        from tldr_data.mix import mix

        mix(root / "short.parquet", root / "long.parquet", root / "mix", ratio=0.5, size=args.size)
    seconds = time.perf_counter() - started
    own = peak_rss_kib() / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {"seconds": round(seconds, 1), "peak_rss_mib": round(own), "worker_peak_rss_mib": round(workers)}
        )
    )


def run_stage(name: str, root: Path, size: int) -> dict:
    command = [sys.executable, __file__, "--stage", name, "--root", str(root), "--size", str(size)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000, help="rows per input (verify's, and each pool)")
    parser.add_argument("--size", type=int, default=25_000, help="rows in the mixture")
    parser.add_argument("--min-bytes", type=int, default=1000)
    parser.add_argument("--max-bytes", type=int, default=8000)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--dir", help="work dir (default: a temp dir, removed afterwards)")
    parser.add_argument("--stage", choices=["verify", "mix"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        return stage(args)

    root = Path(tempfile.mkdtemp(prefix="tldr-soak-", dir=args.dir))
    try:
        from tldr_train.tiny import build_tiny

        build_tiny(root / "tiny", seed=0)
        text = sum(
            make_rows(root / f"{name}.parquet", name, args.rows, args.min_bytes, args.max_bytes)
            for name in ("short", "long")
        )
        disk = sum((root / f"{name}.parquet").stat().st_size for name in ("short", "long"))
        results = {
            "rows_per_input": args.rows,
            "text_gb_per_input": round(text / 2 / 1e9, 2),
            "parquet_mb_per_input": round(disk / 2 / 1e6, 1),
            "parquet_gb_total": round(disk / 1e9, 2),
            "mixture_rows": args.size,
            "verify": run_stage("verify", root, args.size),
            "mix": run_stage("mix", root, args.size),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"inputs: {args.rows:,} rows, {results['text_gb_per_input']} GB of completion text "
        f"({results['parquet_mb_per_input']} MB zstd) each, {results['parquet_gb_total']} GB of Parquet"
    )
    for name in ("verify", "mix"):
        r = results[name]
        if "error" in r:
            print(f"{name:<8} failed: {r['error']}")
        else:
            print(
                f"{name:<8}{r['seconds']:>8.1f} s  peak RSS {r['peak_rss_mib']:,} MiB "
                f"(workers {r['worker_peak_rss_mib']:,} MiB)"
            )


if __name__ == "__main__":
    main()
