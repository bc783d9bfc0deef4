"""verify: answer extraction, math-verify verdicts, the hard deadline, token recounts, real-log agreement."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import REAL_TRACES, requires_shared

from tldr_data import done
from tldr_data.answers import extract_answer, judge
from tldr_data.cli import cli
from tldr_data.errors import InputError, OutputExistsError, SchemaError
from tldr_data.importers import import_traces
from tldr_data.verify import stats_path, verify
from tldr_data.workers import ERROR, OK, TIMEOUT, DeadlinePool


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (r"so $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{a} and then \fbox{b}", "b"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed 5 apples", "5"),
        (r"thinking \boxed{3} more</think> summary: \boxed{4}.", "4"),
        (r"thinking \boxed{3}</think> the summary was cut off at (2", "3"),
        (r"\boxed{x} then \boxed{never closed", "x"),
        ("Step 1...\n\nThe final answer is $18.", "18"),
        ("She has 3 + 4 = 7 apples.\nSo she has 1,200 apples.", "1200"),
        ("Therefore, the answer is 5.\n\nBut wait, let me recheck the cases", None),
        ("no numbers at all", None),
        (r"\boxed{}", None),
    ],
)
def test_extract_answer(completion: str, expected: str | None) -> None:
    assert extract_answer(completion) == expected


def test_cut_off_completion_gives_no_trailing_number() -> None:
    assert extract_answer("so far we have 12", complete=True) == "12"
    assert extract_answer("so far we have 12", complete=False) is None


@pytest.mark.parametrize(
    ("completion", "gold", "finish_reason", "verdict"),
    [
        (r"\boxed{\dfrac{14}{3}}", r"\frac{14}{3}", "stop", "correct"),
        (r"\boxed{10080}", r"10,\!080", "stop", "correct"),
        (r"\boxed{[-2, 7]}", r"x \in [-2,7]", "stop", "correct"),
        (r"\boxed{0.5}", r"\frac12", "stop", "correct"),
        (r"\boxed{\text{Evelyn}}", r"\text{Evelyn}", "stop", "correct"),
        (r"\boxed{7}", "8", "stop", "wrong"),
        ("I am not sure.", "8", "stop", "no_answer"),
        ("Let me think about", "8", "length", "truncated"),
    ],
)
def test_judge(completion: str, gold: str, finish_reason: str, verdict: str) -> None:
    assert judge((completion, gold, finish_reason))[1] == verdict


def test_verify_labels_rows_in_order_and_recounts_tokens(tmp_path, write_rows, tiny_model) -> None:
    from transformers import AutoTokenizer

    completions = [r"So \boxed{2}.", r"So \boxed{3}.", "hmm", "cut off at 4", "The final answer is 2."]
    finish = ["stop", "stop", "stop", "length", "stop"]
    rows = [
        {"problem_id": f"p{i}", "answer": "2", "completion": c, "finish_reason": f, "model": str(tiny_model)}
        for i, (c, f) in enumerate(zip(completions, finish, strict=True))
    ]
    out = tmp_path / "verified.parquet"
    summary = verify([write_rows(rows)], out, workers=2, timeout=10)
    table = pq.read_table(out)
    assert table["problem_id"].to_pylist() == [f"p{i}" for i in range(5)]
    assert table["verdict"].to_pylist() == ["correct", "wrong", "no_answer", "truncated", "correct"]
    assert table["correct"].to_pylist() == [True, False, False, False, True]
    assert table["pred_answer"].to_pylist() == ["2", "3", None, None, "2"]
    tok = AutoTokenizer.from_pretrained(tiny_model)
    expected = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in completions]
    assert table["completion_tokens"].to_pylist() == expected
    assert summary["verdicts"] == {
        "correct": 2,
        "wrong": 1,
        "no_answer": 1,
        "truncated": 1,
        "timeout": 0,
        "error": 0,
    }
    assert json.loads(stats_path(out).read_text())["verdicts"] == summary["verdicts"]
    again = verify([out], tmp_path / "again.parquet", workers=1)  # a verified file re-verifies cleanly
    assert pq.read_table(tmp_path / "again.parquet").column_names == table.column_names
    assert again["verdicts"] == summary["verdicts"]


ADVERSARIAL = [
    r"\boxed{9^{9^{9^9}}}",
    r"\boxed{(10^{10^{10}})!}",
    r"\boxed{2^{2^{2^{2^{2^{2}}}}}}",
    "\\boxed{" + "\\frac{1}{" * 3000 + "2" + "}" * 3000 + "}",
    "\\boxed{" * 100_000,
    "x" * 1_000_000 + r"\boxed{2}",
    "{" * 300_000 + "}" * 7,
    r"\boxed{100000!}",
]


def test_adversarial_items_time_out_without_stalling(tmp_path, write_rows, tiny_model) -> None:
    rows = [
        {"problem_id": f"p{i}", "completion": c, "answer": "3", "model": str(tiny_model)}
        for i, c in enumerate(ADVERSARIAL)
    ]
    workers, timeout = 2, 1.0
    before = _children()
    started = time.monotonic()
    verify([write_rows(rows)], tmp_path / "v.parquet", workers=workers, timeout=timeout)
    elapsed = time.monotonic() - started
    verdicts = pq.read_table(tmp_path / "v.parquet")["verdict"].to_pylist()
    assert verdicts.count("timeout") >= 3
    assert verdicts[5] == "wrong"  # the 1 MB completion still gets its answer checked
    assert elapsed < len(ADVERSARIAL) / workers * timeout + 15  # + process start, tokenizer, I/O
    assert _children() <= before


def _children() -> set[int]:
    """This process's live descendants (other tests' servers may be running: compare, don't expect none)."""
    return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}


def _die(item: int) -> int:
    if item == 1:
        os._exit(3)
    if item == 2:
        time.sleep(60)
    if item == 3:
        raise ValueError("bad item")
    return item * 10


def test_deadline_pool_survives_dead_hung_and_failing_workers() -> None:
    before = _children()
    with DeadlinePool(_die, workers=2, timeout=0.5) as pool:
        results = {index: (status, value) for index, status, value in pool.imap_unordered(range(6))}
    assert results[0] == (OK, 0) and results[4] == (OK, 40) and results[5] == (OK, 50)
    assert results[1][0] == ERROR and "died" in results[1][1]
    assert results[2] == (TIMEOUT, None)
    assert results[3] == (ERROR, "ValueError: bad item")
    assert _children() <= before


def _faults_mid_batch(item: int) -> int:
    """Items 70 and 150 sit deep in 64-item batches: the answers before them in the batch are not sent yet."""
    if item == 70:
        os._exit(3)
    if item == 150:
        time.sleep(60)
    return item * 10


def test_faults_mid_batch_blame_only_their_item_and_lose_no_other() -> None:
    with DeadlinePool(_faults_mid_batch, workers=2, timeout=1.0) as pool:
        results = list(pool.imap_unordered(range(300)))
    assert sorted(index for index, _, _ in results) == list(range(300)), "every item reported once"
    by_index = {index: (status, value) for index, status, value in results}
    assert by_index[70][0] == ERROR and "died" in by_index[70][1]
    assert by_index[150] == (TIMEOUT, None)
    assert all(by_index[i] == (OK, i * 10) for i in range(300) if i not in (70, 150))


def test_a_worker_that_died_while_idle_is_replaced_and_no_item_is_lost() -> None:
    with DeadlinePool(_faults_mid_batch, workers=1, timeout=5.0) as pool:
        idle = pool.workers[0].process
        idle.kill()
        idle.join()
        results = {index: (status, value) for index, status, value in pool.imap_unordered(range(10))}
    assert results == {i: (OK, i * 10) for i in range(10)}


def _frozen(item: int) -> int:
    return gc.get_freeze_count()


def test_workers_collect_only_their_own_objects() -> None:
    """A worker's collector skips the objects it inherits (no copy of the parent's heap on its first full
    collection); the parent's own collector is left as it was."""
    with DeadlinePool(_frozen, workers=2, timeout=5.0) as pool:
        frozen = [value for _, status, value in pool.imap_unordered(range(4)) if status == OK]
    assert len(frozen) == 4 and min(frozen) > 1000
    assert gc.get_freeze_count() == 0


def _worker_pid(item: str) -> int:
    return os.getpid()


def test_batches_keep_items_of_one_key_on_one_worker() -> None:
    """Samples of one problem reach one worker, whose verdict cache then serves them all."""
    items = [f"problem-{i // 5}" for i in range(400)]  # 80 problems of 5 samples each
    with DeadlinePool(_worker_pid, workers=2, timeout=5.0, batch=16) as pool:
        pids = {index: pid for index, _, pid in pool.imap_unordered(items, key=lambda item: item)}
    workers_per_key: dict[str, set[int]] = {}
    for index, item in enumerate(items):
        workers_per_key.setdefault(item, set()).add(pids[index])
    assert len(set(pids.values())) == 2
    assert all(len(workers) == 1 for workers in workers_per_key.values())


def test_unloadable_tokenizer_is_input_error_before_any_output(tmp_path, write_rows) -> None:
    path = write_rows([{"model": "no/such-model"}])
    with pytest.raises(InputError, match="--tokenizer PATH"):
        verify([path], tmp_path / "v.parquet")
    assert not (tmp_path / "v.parquet").exists()


def test_wrong_contract_and_existing_output(tmp_path, write_rows, tiny_model) -> None:
    problems = tmp_path / "problems.parquet"
    pq.write_table(pq.read_table(write_rows([{}])).select(["problem_id", "answer"]), problems)
    with pytest.raises(SchemaError, match="not a `traces` file"):
        verify([problems], tmp_path / "v.parquet", tokenizer=str(tiny_model))
    existing = tmp_path / "exists.parquet"
    existing.write_text("keep me")
    with pytest.raises(OutputExistsError):
        verify([write_rows([{}])], existing, tokenizer=str(tiny_model))
    assert existing.read_text() == "keep me"


REAL_LOGS = sorted(REAL_TRACES.glob("*/*/*/*.json")) if REAL_TRACES.exists() else []


# Rows where the logs' own checker called a right answer wrong (docs/answers.md, "Measured"): several boxes
# forming one answer, unboxed final answers, `10080` for `10,\!080`, equal `pmatrix` text, `4210_5`.
ADJUDICATED_RIGHT = {
    f"math500/test/{name}.json"
    for name in (
        "intermediate_algebra/1388", "intermediate_algebra/428", "intermediate_algebra/1102",
        "precalculus/807", "precalculus/1105", "precalculus/145", "precalculus/768", "precalculus/263",
        "precalculus/881", "counting_and_probability/508", "number_theory/417", "number_theory/847",
        "algebra/101", "algebra/864",
    )
}  # fmt: skip


@pytest.mark.slow
@requires_shared(REAL_TRACES)
def test_agrees_with_skythought_verdicts_on_real_logs(tmp_path, tiny_model) -> None:
    """Every disagreement with the logs' own checker is an adjudicated right answer it called wrong."""
    assert len(REAL_LOGS) == 3
    for log in REAL_LOGS:
        traces = tmp_path / f"{log.parent.name}.parquet"
        import_traces([log], traces, system="system2", model="deepseek-r1-distill")
        verified = tmp_path / f"{log.parent.name}.verified.parquet"
        verify([traces], verified, tokenizer=str(tiny_model), timeout=10)
        rows = pq.read_table(verified, columns=["problem_id", "correct", "imported_correct"]).to_pylist()
        differ = {r["problem_id"] for r in rows if r["correct"] != r["imported_correct"]}
        assert differ <= ADJUDICATED_RIGHT, f"{log.parent.name}: {sorted(differ - ADJUDICATED_RIGHT)}"
        assert all(r["correct"] for r in rows if r["problem_id"] in differ)


def test_engine_counts_are_kept_and_only_uncounted_rows_are_recounted(
    tmp_path, write_rows, tiny_model
) -> None:
    from transformers import AutoTokenizer

    rows = [
        {"problem_id": "engine", "completion": r"\boxed{1}", "completion_tokens": 7, "prompt_tokens": 3,
         "token_source": "engine", "model": "no/such-model"},
        {"problem_id": "imported", "completion": r"so \boxed{1}", "completion_tokens": 2,
         "token_source": None, "model": str(tiny_model)},
    ]  # fmt: skip
    summary = verify([write_rows(rows)], tmp_path / "v.parquet", workers=1)
    table = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert [r["completion_tokens"] for r in table][0] == 7 and table[0]["prompt_tokens"] == 3
    tok = AutoTokenizer.from_pretrained(tiny_model)
    assert table[1]["completion_tokens"] == len(tok(r"so \boxed{1}", add_special_tokens=False)["input_ids"])
    assert [r["token_source"] for r in table] == ["engine", "recount"]
    assert summary["tokens_recounted"] == 1 and summary["tokenizers"] == [str(tiny_model)]


SLOW = r"\boxed{9^{9^{9^9}}}"  # math-verify spends well over a second on it: a timeout at --timeout 1


def test_kill_9_leaves_no_worker_and_the_rerun_reuses_finished_shards(tmp_path, write_rows) -> None:
    """A shard of fast rows, then slow ones: kill -9 once the first shard is done; the re-run judges only
    the second, and the output equals an uninterrupted run's."""
    from tldr_data.verify import SHARD_ROWS

    fast = [
        {"problem_id": f"f{i}", "completion": rf"\boxed{{{i % 3}}}", "answer": "1"} for i in range(SHARD_ROWS)
    ]
    slow = [{"problem_id": f"s{i}", "completion": SLOW, "answer": "1"} for i in range(8)]
    engine = {"token_source": "engine", "model": "no/such-model"}
    traces = write_rows([{**row, **engine} for row in fast + slow])
    out = tmp_path / "v.parquet"
    command = [sys.executable, "-m", "tldr_data", "verify", str(traces), "-o", str(out)]
    command += ["--workers", "2", "--timeout", "1", "--json"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    marker = tmp_path / ".v.parquet.parts" / "shard-000000.parquet.done.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists() and proc.poll() is None, "the first shard should finish before the slow rows"
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, "verify's workers must die with it"
    assert not out.exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["rows_reused"] == SHARD_ROWS
    table = pq.read_table(out)
    assert table["problem_id"].to_pylist() == [row["problem_id"] for row in fast + slow]
    assert table["verdict"].to_pylist() == ["wrong", "correct", "wrong"] * (SHARD_ROWS // 3) + [
        "wrong", "correct"][: SHARD_ROWS % 3] + ["timeout"] * 8  # fmt: skip
    assert not (tmp_path / ".v.parquet.parts").exists()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_timeout_must_be_finite_and_positive(tmp_path, write_rows, value) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(write_rows([{}])), "-o", str(tmp_path / "v.parquet"), "--timeout", value]
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--timeout" in result.stderr
    assert not (tmp_path / "v.parquet").exists()


def test_a_text_column_of_numbers_is_bad_input(tmp_path, write_rows) -> None:
    traces = pq.read_table(write_rows([{}]))
    index = traces.schema.get_field_index("completion")
    bad = tmp_path / "bad.parquet"
    pq.write_table(traces.set_column(index, "completion", pa.array([3], pa.int64())), bad)
    result = CliRunner().invoke(cli, ["verify", str(bad), "-o", str(tmp_path / "v.parquet")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {bad}: column `completion` holds int64 values, not text"
    assert not (tmp_path / "v.parquet").exists()


def test_shards_are_read_one_at_a_time_and_a_partial_run_resumes_in_input_order(
    tmp_path, write_rows, monkeypatch
) -> None:
    """Two input files over several shards: a block of shards is judged with only its own rows loaded (the
    whole run: one block of four shards); a run that fails after two blocks of one shard keeps both shards
    for the next, whose output equals an uninterrupted run's."""
    import tldr_data.verify as verify_module

    monkeypatch.setattr(verify_module, "SHARD_ROWS", 3)
    engine = {"token_source": "engine", "model": "no/such-model", "answer": "1"}
    first = [{**engine, "problem_id": f"a{i}", "completion": rf"\boxed{{{i % 2}}}"} for i in range(7)]
    second = [{**engine, "problem_id": f"b{i}", "completion": rf"\boxed{{{i % 3}}}"} for i in range(4)]
    inputs = [write_rows(first, name="a.parquet"), write_rows(second, name="b.parquet")]
    whole = tmp_path / "whole.parquet"
    verify(inputs, whole, workers=2)

    monkeypatch.setattr(verify_module, "BLOCK_SHARDS", 1)
    judged = verify_module._check_block
    sizes: list[int] = []

    def fail_after_two(block, *args):
        if len(sizes) == 2:
            raise RuntimeError("killed")
        sizes.append(sum(table.num_rows for _, table in block))
        return judged(block, *args)

    out = tmp_path / "v.parquet"
    monkeypatch.setattr(verify_module, "_check_block", fail_after_two)
    with pytest.raises(RuntimeError):
        verify(inputs, out, workers=2)
    assert sizes == [3, 3] and not out.exists()
    monkeypatch.setattr(verify_module, "_check_block", judged)
    summary = verify(inputs, out, workers=2)
    assert summary["rows_reused"] == 6  # each shard was written as soon as its last row was judged
    table = pq.read_table(out)
    assert table["problem_id"].to_pylist() == [row["problem_id"] for row in first + second]
    assert table.to_pylist() == pq.read_table(whole).to_pylist()
    a_verdicts = ["wrong", "correct"] * 3 + ["wrong"]  # boxed 0, 1, 0, ... against gold 1
    assert table["verdict"].to_pylist() == a_verdicts + ["wrong", "correct", "wrong", "wrong"]
    assert not (tmp_path / ".v.parquet.parts").exists()


def test_a_rerun_that_reuses_a_later_shard_than_it_judges_writes_input_order(
    tmp_path, write_rows, monkeypatch
) -> None:
    """The output is written while shards finish, in input order: a finished shard after an unfinished one
    waits for it, and is joined to its part at its turn."""
    import tldr_data.verify as verify_module

    monkeypatch.setattr(verify_module, "SHARD_ROWS", 3)
    monkeypatch.setattr(verify_module, "BLOCK_SHARDS", 1)
    engine = {"token_source": "engine", "model": "no/such-model", "answer": "2"}
    rows = [{**engine, "problem_id": f"p{i}", "completion": rf"\boxed{{{i % 4}}}"} for i in range(10)]
    inputs = [write_rows(rows)]
    whole = tmp_path / "whole.parquet"
    verify(inputs, whole, workers=2)

    judged = verify_module._check_block
    blocks: list[int] = []

    def fail_after_three(block, *args):
        if len(blocks) == 3:
            raise RuntimeError("killed")
        blocks.append(block[0][0])
        return judged(block, *args)

    out = tmp_path / "v.parquet"
    monkeypatch.setattr(verify_module, "_check_block", fail_after_three)
    with pytest.raises(RuntimeError):
        verify(inputs, out, workers=2)
    parts = tmp_path / ".v.parquet.parts"
    # A part keeps only what verify adds; the re-run reads the rest from the input again.
    assert pq.read_table(parts / "shard-000001.parquet").column_names == list(verify_module.ADDED)
    for shard in (0, 2):  # only shard 1 stays finished
        done.clear_done(parts / f"shard-{shard:06d}.parquet")
    monkeypatch.setattr(verify_module, "_check_block", judged)
    summary = verify(inputs, out, workers=2)
    assert summary["rows_reused"] == 3
    assert pq.read_table(out).to_pylist() == pq.read_table(whole).to_pylist()
    assert [row["verdict"] for row in pq.read_table(out).to_pylist()] == [
        "correct" if i % 4 == 2 else "wrong" for i in range(10)
    ]
