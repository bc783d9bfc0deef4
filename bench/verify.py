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
from transformers import AutoTokenizer

from tldr_data.importers import import_traces
from tldr_data.verify import count_tokens, default_workers, judge, verify
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

        columns = ("completion", "answer", "finish_reason", "prompt")
        items = list(zip(*(pq.read_table(traces, columns=[c])[c].to_pylist() for c in columns), strict=True))
        tok = AutoTokenizer.from_pretrained(tmp / "tiny")
        runs, plain, plain_counting = [], [], []
        for _ in range(args.repeat):  # interleaved, best of each: other jobs share these cores
            started = time.monotonic()
            for completion, gold, finish, _prompt in items:
                judge((completion, gold, finish))
            plain.append(time.monotonic() - started)
            started = time.monotonic()
            for completion, gold, finish, prompt in items:
                judge((completion, gold, finish))
                count_tokens(tok, [prompt, completion])
            plain_counting.append(time.monotonic() - started)
            runs.append(verify([traces], tmp / "verified.parquet", workers=args.workers, overwrite=True))
        best = min(runs, key=lambda run: run["seconds"])

    def line(name: str, seconds: float) -> str:
        return f"{name:<44}: {rows / seconds:8.1f} rows/s ({seconds:.1f}s)"

    print(line("plain loop, math-verify only, 1 process", min(plain)))
    print(line("plain loop, math-verify + token count", min(plain_counting)))
    print(line(f"verify, checking phase, {best['workers']} workers", best["seconds_checking"]))
    print(line("verify, end to end (Parquet in and out)", best["seconds"]))
    print(f"ratio verify end to end / plain math-verify loop : {min(plain) / best['seconds']:.2f}x")
    same_work = min(plain_counting) / best["seconds_checking"]
    print(f"ratio verify checking / plain loop of same work  : {same_work:.2f}x")
    print(f"verdicts: {best['verdicts']}")


if __name__ == "__main__":
    main()
