"""Tokens/s of each generation backend on the same tiny model and prompts, side by side in one run.

Starts its own `vllm serve`-equivalent server (vllm.entrypoints.openai.api_server) for the openai backend.
Greedy decoding; the model is random, so completions run to --max-tokens and every backend makes about
the same number of tokens.

    python bench/generate.py [--prompts 64] [--max-tokens 128] [--hidden 64]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def start_server(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        "1024",
    ]
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, f"{url}/v1"
        except httpx.TransportError:
            time.sleep(1)
    proc.kill()
    raise SystemExit(f"vllm server did not start; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()

    from tldr_data.backends.vllm import VLLMBackend, VLLMOptions
    from tldr_data.decoding import Decoding
    from tldr_data.generate import generate
    from tldr_train.tiny import build_tiny

    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    model = work / "tiny"
    build_tiny(model, hidden=args.hidden, seed=0)
    problems = work / "problems.parquet"
    rows = [
        {
            "problem_id": f"b{i}",
            "source": "bench",
            "question": f"What is {i} * {i + 7} - {i % 5}?",
            "answer": "",
            "difficulty": None,
            "split": "test",
        }
        for i in range(args.prompts)
    ]
    pq.write_table(pa.Table.from_pylist(rows), problems)
    common = {
        "system": "bench",
        "decoding": Decoding(temperature=0.0, max_tokens=args.max_tokens),
        "batch_size": args.prompts,
    }

    server, base_url = start_server(model, work / "server.log")
    try:
        engine = VLLMBackend(str(model), VLLMOptions(dtype="float32", max_model_len=1024))
        runs = {
            "vllm (offline LLM)": {"backend": engine},
            "transformers (generate)": {
                "backend": "transformers",
                "backend_options": {"dtype": "float32", "batch_size": args.prompts},
            },
            "openai (vllm api_server)": {
                "backend": "openai",
                "backend_options": {"base_url": base_url, "concurrency": 16},
            },
        }
        results = {}
        for label, options in runs.items():
            summary = generate(str(model), problems, work / label.split()[0], **common, **options)
            results[label] = summary
    finally:
        server.terminate()
        server.wait(timeout=60)

    print(
        f"tiny Qwen2 (hidden {args.hidden}, 2 layers, float32), {args.prompts} prompts, greedy, "
        f"max_tokens {args.max_tokens}, CPU threads {os.cpu_count()}"
    )
    print(f"{'backend':<26} {'tokens':>8} {'seconds':>8} {'tok/s':>8} {'vs vllm':>8}")
    base = results["vllm (offline LLM)"]["tokens_per_s"]
    for label, summary in results.items():
        print(
            f"{label:<26} {summary['completion_tokens']:>8} {summary['generate_seconds']:>8.2f} "
            f"{summary['tokens_per_s']:>8.0f} {summary['tokens_per_s'] / base:>7.2f}x"
        )


if __name__ == "__main__":
    main()
