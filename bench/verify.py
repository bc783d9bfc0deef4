"""Rows/s of `tldr_data.verify.verify` (default workers) against a plain single-process math-verify loop.

Input: the real SkyThought eval logs in ../shared (2,139 responses), replicated to at least 10,000 rows.
Both sides do the same checking work per row (answer extraction + math-verify parse/verify of pred and
gold); `verify` also reads/writes Parquet and recounts tokens (tiny local tokenizer; no hub here), so its
judging phase is reported on its own too. Each side runs --repeat times, interleaved, and the best
run of each is reported (other jobs share the cores).
Run: `python bench/verify.py [--rows N] [--workers N] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_data.importers import import_traces
from tldr_data.verify import default_workers, judge, verify
from tldr_train.tiny import build_tiny

LOGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real_traces" / "tldr_eval_logs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=10_000, help="at least this many rows (real rows replicated)"
    )
    parser.add_argument("--workers", type=int, default=None, help="verify workers [default: cores]")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs of each side; best is reported"
    )
    args = parser.parse_args()
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
        traces = tmp / "traces.parquet"
        pq.write_table(pa.concat_tables([table] * copies), traces)
        rows = table.num_rows * copies
        print(f"{table.num_rows:,} real responses x {copies} = {rows:,} rows; cores: {default_workers()}")

        items = list(
            zip(
                *(
                    pq.read_table(traces, columns=[c])[c].to_pylist()
                    for c in ("completion", "answer", "finish_reason")
                ),
                strict=True,
            )
        )
        runs, serial = [], []
        for _ in range(args.repeat):  # interleaved, best of each: other jobs share these cores
            started = time.monotonic()
            for item in items:
                judge(item)
            serial.append(time.monotonic() - started)
            runs.append(verify([traces], tmp / "verified.parquet", workers=args.workers, overwrite=True))
        summary = min(runs, key=lambda run: run["seconds_judging"])
        serial = min(serial)

    end_to_end = rows / min(run["seconds"] for run in runs)
    judging = rows / summary["seconds_judging"]
    plain = rows / serial
    print(f"plain loop, 1 process      : {plain:8.1f} rows/s ({serial:.1f}s)")
    print(
        f"verify, judging phase      : {judging:8.1f} rows/s "
        f"({summary['seconds_judging']:.1f}s, {summary['workers']} workers)"
    )
    print(f"verify, end to end         : {end_to_end:8.1f} rows/s (best {rows / end_to_end:.1f}s incl. I/O, "
          f"{summary['seconds_counting_tokens']:.1f}s token recount)")  # fmt: skip
    print(f"ratio judging / plain      : {judging / plain:8.2f}x")
    print(f"ratio end to end / plain   : {end_to_end / plain:8.2f}x")
    print(f"verdicts: {summary['verdicts']}")


if __name__ == "__main__":
    main()
