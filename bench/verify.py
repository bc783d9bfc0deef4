"""Rows/s of `tldr-data verify` end to end against a bare single-process math-verify loop on the same rows.

Input: the real SkyThought eval logs in ../shared (2,139 responses), each repeated in place (as generate
lays out the n samples of a problem) to at least --rows rows, and marked `token_source = engine` as
`generate` writes them (the engine counted the tokens, so verify does not recount). Both sides do the same
verdict work per row: `tldr_data.answers.judge` (extraction + math-verify parse/verify of pred and gold).
The loop holds the rows in memory; `verify` also reads and writes Parquet (input, resumable shards,
output). Also timed: verify on the same rows as imported logs (no engine count), where it recounts every
token with a tiny local tokenizer. Each side runs --repeat times, interleaved, and the best run of each is
reported (other jobs may share the cores: check the load), with the median of the per-round ratios (a loop
run and the verify run right after it see the same machine: on a shared VM, speed drifts by 20% between
minutes). Every run of either side is a fresh Python process (imports and a one-row warm-up not timed; pyarrow
imports pandas on its first array built from a list, so that import is done before timing too), so that no
side reuses caches the other filled: the loop
keeps only judge's own per-process cache of gold readings; verify's workers also remember the verdict of
each (gold, answer) pair, which repeated samples of a problem share.
Run: `python bench/verify.py [--rows N] [--workers N] [--repeat N] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_data.answers import judge
from tldr_data.importers import import_traces
from tldr_data.verify import default_workers, verify
from tldr_train.tiny import build_tiny

LOGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real_traces" / "tldr_eval_logs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=10_000, help="at least this many rows (real rows replicated)"
    )
    parser.add_argument("--workers", type=int, default=None, help="verify workers [default: cores]")
    parser.add_argument(
        "--repeat", type=int, default=5, help="interleaved runs of each side; best is reported"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    parser.add_argument("--side", choices=("plain", "verify"), help=argparse.SUPPRESS)  # one timed run
    parser.add_argument("--input", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(_run_side(args.side, Path(args.input), args.workers)))
        return
    logs = sorted(LOGS.glob("*/*/*/*.json"))
    if not logs:
        raise SystemExit(f"no SkyThought logs under {LOGS}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_tiny(tmp / "tiny", seed=0)
        real = tmp / "real.parquet"
        import_traces(logs, real, system="system2", model=str(tmp / "tiny"))
        table = pq.read_table(real)
        copies = math.ceil(args.rows / table.num_rows)
        # Each response `copies` times in a row, as generate lays out n samples of one problem.
        imported = table.take([row for row in range(table.num_rows) for _ in range(copies)])
        engine = imported.set_column(
            imported.schema.get_field_index("token_source"),
            "token_source",
            pa.array(["engine"] * imported.num_rows, pa.string()),
        )
        paths = {"engine": tmp / "engine.parquet", "imported": tmp / "imported.parquet"}
        pq.write_table(engine, paths["engine"])
        pq.write_table(imported, paths["imported"])
        rows = imported.num_rows
        plain, runs, recounting = [], [], []
        for _ in range(args.repeat):  # interleaved, best of each: other jobs may share these cores
            plain.append(_fresh("plain", paths["engine"], args.workers))
            runs.append(_fresh("verify", paths["engine"], args.workers))
            recounting.append(_fresh("verify", paths["imported"], args.workers))
    best = min(runs, key=lambda run: run["seconds"])
    best_plain = min(plain, key=lambda run: run["seconds"])
    best_recount = min(recounting, key=lambda run: run["seconds"])
    load = os.getloadavg()
    result = {
        "rows": rows,
        "real_responses": table.num_rows,
        "cores": default_workers(),
        "workers": best["workers"],
        "load_average_1m_at_end": round(load[0], 2),
        "plain_loop_rows_per_s": round(rows / best_plain["seconds"], 1),
        "verify_rows_per_s": round(rows / best["seconds"], 1),
        "ratio": round(best_plain["seconds"] / best["seconds"], 2),
        "ratio_paired_median": round(
            statistics.median(p["seconds"] / v["seconds"] for p, v in zip(plain, runs, strict=True)), 2
        ),
        "verify_checking_rows_per_s": round(rows / best["seconds_checking"], 1),
        "verify_recounting_rows_per_s": round(rows / best_recount["seconds"], 1),
        "plain_loop_cpu_s": best_plain["cpu_s"],
        "verify_parent_cpu_s": best["parent_cpu_s"],
        "verify_workers_cpu_s": best["workers_cpu_s"],
        "distinct_answer_pairs": best["distinct_answer_pairs"],
        "plain_seconds": [round(run["seconds"], 2) for run in plain],
        "verify_seconds": [run["seconds"] for run in runs],
        "verdicts": best["verdicts"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{table.num_rows:,} real responses x {copies} = {rows:,} rows; cores: {result['cores']}")
    print(f"plain loop, judge only, 1 process            : {result['plain_loop_rows_per_s']:8.1f} rows/s")
    name = f"verify end to end, {best['workers']} workers, engine counts"
    print(f"{name:<45}: {result['verify_rows_per_s']:8.1f} rows/s")
    print(
        f"verify end to end, recounting every token    : {result['verify_recounting_rows_per_s']:8.1f} rows/s"
    )
    print(
        f"ratio verify / plain loop                    : {result['ratio']:.2f}x "
        f"(median of the rounds' own ratios {result['ratio_paired_median']:.2f}x)"
    )
    print(f"load average (1 min) at the end              : {result['load_average_1m_at_end']}")
    print(
        f"CPU seconds: loop {result['plain_loop_cpu_s']}, verify parent {result['verify_parent_cpu_s']} + "
        f"workers {result['verify_workers_cpu_s']}; "
        f"{result['distinct_answer_pairs']:,} distinct (gold, answer) pairs"
    )
    print(f"verdicts: {best['verdicts']}")


def _fresh(side: str, path: Path, workers: int | None) -> dict:
    """One timed run of a side in a new Python process."""
    command = [sys.executable, __file__, "--side", side, "--input", str(path)]
    if workers:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_side(side: str, path: Path, workers: int | None) -> dict:
    """The bare loop over rows held in memory, or `verify` end to end (Parquet in and out)."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    judge((r"\boxed{\frac{1}{2}}", "0.5", "stop"))  # import math-verify before timing
    pa.array([""])  # pyarrow imports pandas on its first array built from a list
    own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    if side == "verify":
        output = path.with_name("verified.parquet")
        summary = verify([path], output, workers=workers, overwrite=True)
        summary["parent_cpu_s"] = round(_cpu(resource.RUSAGE_SELF) - own, 2)
        summary["workers_cpu_s"] = round(_cpu(resource.RUSAGE_CHILDREN) - children, 2)
        rows = pq.read_table(output, columns=["answer", "pred_answer"]).to_pylist()
        pairs = {(row["answer"], row["pred_answer"]) for row in rows if row["pred_answer"]}
        return {**summary, "distinct_answer_pairs": len(pairs)}
    table = pq.read_table(path, columns=["completion", "answer", "finish_reason"])
    items = list(zip(*(table[c].to_pylist() for c in table.column_names), strict=True))
    started = time.monotonic()
    for item in items:
        judge(item)
    return {"seconds": time.monotonic() - started, "cpu_s": round(_cpu(resource.RUSAGE_SELF) - own, 2)}


def _cpu(who: int) -> float:
    """User + system CPU seconds of this process (RUSAGE_SELF) or of its finished children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
