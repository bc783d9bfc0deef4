"""import_problems: the real benchmark files, the adapters, dataset folders, ids and duplicates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import BENCHMARKS, requires_shared

from tldr_data.answers import last_boxed
from tldr_data.errors import InputError, OutputExistsError, SchemaError
from tldr_data.problems import difficulty_of, gold_answer, import_problems, split_from_stem
from tldr_data.schema import PROBLEMS

# file -> (rows, source, split, first row's gold answer)
EXPECTED = {
    "gsm8k_main_test.parquet": (1319, "gsm8k_main", "test", "18"),
    "gsm8k_main_train.parquet": (7473, "gsm8k_main", "train", "72"),
    "math500_test.jsonl": (500, "math500", "test", r"\left( 3, \frac{\pi}{2} \right)"),
    "aime_1983_2023_dev.jsonl": (919, "aime_1983_2023", "dev", "60"),
    "aimo_validation_aime.parquet": (90, "aimo_validation_aime", "test", "116"),
    "aimo_validation_amc.parquet": (83, "aimo_validation_amc", "test", "142"),
    "minerva_math_test.jsonl": (272, "minerva_math", "test", "1.6"),
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@requires_shared(BENCHMARKS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_benchmark_file_imports(name: str, tmp_path: Path) -> None:
    rows, source, split, first_answer = EXPECTED[name]
    out = tmp_path / "problems.parquet"
    summary = import_problems([str(BENCHMARKS / name)], out)
    table = pq.read_table(out)
    assert table.schema == PROBLEMS
    assert summary["rows"] == table.num_rows == rows
    assert summary["sources"] == {source: rows}
    ids = table.column("problem_id").to_pylist()
    assert len(set(ids)) == rows
    assert all(answer.strip() for answer in table.column("answer").to_pylist())
    assert all(question.strip() for question in table.column("question").to_pylist())
    assert set(table.column("split").to_pylist()) == {split}
    assert table.column("answer")[0].as_py() == first_answer


@requires_shared(BENCHMARKS)
def test_benchmark_spot_checks(tmp_path: Path) -> None:
    out = tmp_path / "all.parquet"
    import_problems([str(BENCHMARKS / name) for name in sorted(EXPECTED)], out)
    table = pq.read_table(out).to_pylist()
    by_source: dict[str, list[dict]] = {}
    for row in table:
        by_source.setdefault(row["source"], []).append(row)
    assert len(table) == sum(rows for rows, *_ in EXPECTED.values())
    math500 = by_source["math500"]
    assert math500[0]["problem_id"] == "math500/test/precalculus/807.json"
    assert {row["difficulty"] for row in math500} == {1, 2, 3, 4, 5}
    assert all(row["difficulty"] is None for row in by_source["gsm8k_main"])
    # AMC's `id` column repeats (two years share it), so its ids fall back to the question hash.
    amc = by_source["aimo_validation_amc"]
    expected_id = hashlib.sha1(f"aimo_validation_amc\n{amc[0]['question']}".encode()).hexdigest()[:16]
    assert amc[0]["problem_id"] == expected_id
    assert "-4" in {row["answer"] for row in amc}
    assert all("####" not in row["answer"] and "," not in row["answer"] for row in by_source["gsm8k_main"])


@requires_shared(BENCHMARKS)
def test_ids_are_stable_across_runs(tmp_path: Path) -> None:
    src = str(BENCHMARKS / "aime_1983_2023_dev.jsonl")
    import_problems([src], tmp_path / "a.parquet")
    import_problems([src], tmp_path / "b.parquet")
    first = pq.read_table(tmp_path / "a.parquet")
    assert first.equals(pq.read_table(tmp_path / "b.parquet"))
    question = first.column("question")[0].as_py()
    assert (
        first.column("problem_id")[0].as_py()
        == hashlib.sha1(f"aime_1983_2023\n{question}".encode()).hexdigest()[:16]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{1} then \boxed{\left\{ 2, 3 \right\}}", r"\left\{ 2, 3 \right\}"),
        (r"the answer is $\boxed 5$.", "5"),
        (r"\fbox{7}", "7"),
        ("no box here", None),
        (r"\boxed{unclosed", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        ({"answer": "She pays 5 * 2 = 10.\n#### 1,234"}, "answer", "1234"),
        ({"answer": 142.0}, "answer", "142"),
        ({"answer": 2.5}, "answer", "2.5"),
        ({"ref_answer": " 204 "}, "ref_answer", "204"),
        ({"solution": r"Thus $\boxed{\sqrt{2}}$."}, "solution", r"\sqrt{2}"),
        ({"answer": "", "solution": r"\boxed{9}"}, "answer", "9"),
    ],
)
def test_gold_answer(row: dict, field: str, expected: str) -> None:
    assert gold_answer(row, field) == expected


def test_difficulty_and_split_from_names() -> None:
    assert difficulty_of({"level": "Level 3"}) == 3
    assert difficulty_of({"level": 5}) == 5
    assert difficulty_of({"level": "Level ?"}) is None
    assert difficulty_of({}) is None
    assert split_from_stem("gsm8k_main_test") == ("gsm8k_main", "test")
    assert split_from_stem("aime-dev") == ("aime", "dev")
    assert split_from_stem("aimo_validation_aime") == ("aimo_validation_aime", None)
    assert split_from_stem("train") == ("train", None)


def test_fields_source_and_split_options(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "mine.jsonl", [{"q": "1+1?", "gold": "2"}, {"q": "2+2?", "gold": "4"}])
    out = tmp_path / "out.parquet"
    with pytest.raises(SchemaError, match="columns found: q, gold"):
        import_problems([str(src)], out)
    import_problems([str(src)], out, question_field="q", answer_field="gold", source="toy", split="dev")
    rows = pq.read_table(out).to_pylist()
    assert [(r["question"], r["answer"], r["source"], r["split"]) for r in rows] == [
        ("1+1?", "2", "toy", "dev"),
        ("2+2?", "4", "toy", "dev"),
    ]


def test_csv_and_json_array(tmp_path: Path) -> None:
    (tmp_path / "codes_train.csv").write_text("problem,answer\nWhat is the code?,007\n")
    (tmp_path / "arr.json").write_text(json.dumps([{"question": "Q?", "answer": 3}]))
    out = tmp_path / "out.parquet"
    import_problems([str(tmp_path / "codes_train.csv"), str(tmp_path / "arr.json")], out)
    rows = pq.read_table(out).to_pylist()
    assert [(r["source"], r["answer"], r["split"]) for r in rows] == [
        ("codes", "007", "train"),
        ("arr", "3", "test"),
    ]


def test_duplicates_are_dropped_and_conflicts_refused(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "a.jsonl", [{"question": "Q1", "answer": "1"}, {"question": "Q2", "answer": "2"}]
    )
    out = tmp_path / "out.parquet"
    summary = import_problems([str(src), str(src)], out)
    assert (summary["rows"], summary["duplicates_dropped"]) == (2, 2)
    clash = write_jsonl(tmp_path / "b.jsonl", [{"problem_id": "p1", "question": "Q1", "answer": "1"}])
    other = write_jsonl(tmp_path / "c.jsonl", [{"problem_id": "p1", "question": "Q1", "answer": "9"}])
    with pytest.raises(InputError, match="problem_id 'p1'.*already used"):
        import_problems([str(clash), str(other)], tmp_path / "clash.parquet")
    assert not (tmp_path / "clash.parquet").exists()


def test_saved_dataset_dict_folder(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "toyset"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(
                [{"problem": "P1", "solution": r"\boxed{1}", "level": "Level 2"}]
            ),
            "test": datasets.Dataset.from_list(
                [{"problem": "P2", "solution": r"\boxed{2}", "level": "Level 4"}]
            ),
        }
    ).save_to_disk(str(folder))
    out = tmp_path / "out.parquet"
    import_problems([str(folder)], out)
    rows = pq.read_table(out).to_pylist()
    assert sorted((r["split"], r["answer"], r["difficulty"], r["source"]) for r in rows) == [
        ("test", "2", 4, "toyset"),
        ("train", "1", 2, "toyset"),
    ]
    import_problems([str(folder)], out, split="test", overwrite=True)
    assert pq.read_table(out).column("question").to_pylist() == ["P2"]
    with pytest.raises(InputError, match="no split 'dev'; splits: train, test"):
        import_problems([str(folder)], tmp_path / "none.parquet", split="dev")


def test_folder_of_data_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")
    folder = tmp_path / "files"
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", [{"question": "Q?", "answer": "Work.\n#### 42"}])
    out = tmp_path / "out.parquet"
    import_problems([str(folder)], out)
    assert pq.read_table(out).to_pylist()[0] | {"problem_id": None} == {
        "problem_id": None,
        "source": "files",
        "question": "Q?",
        "answer": "42",
        "difficulty": None,
        "split": "test",
    }


def test_hub_id_goes_through_load_dataset(tmp_path: Path) -> None:
    # Offline here (HF_HUB_OFFLINE=1): the Hub path is taken and fails as one input error, writing nothing.
    with pytest.raises(InputError, match="^no-such-org/no-such-set: .*Hugging Face dataset failed"):
        import_problems(["no-such-org/no-such-set"], tmp_path / "out.parquet", config="main", split="test")
    assert not (tmp_path / "out.parquet").exists()


def test_existing_output_is_refused(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [{"question": "Q1", "answer": "1"}])
    out = tmp_path / "out.parquet"
    out.write_text("keep me")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        import_problems([str(src)], out)
    assert out.read_text() == "keep me"
    import_problems([str(src)], out, overwrite=True)
    assert pq.read_table(out).num_rows == 1


def test_problems_file_reimports_unchanged(tmp_path: Path) -> None:
    from tldr_data.toy.synth import synth

    first = tmp_path / "dev_split.parquet"
    synth(first, levels=[1, 4], per_level=5, seed=2, split="dev")
    again = tmp_path / "again.parquet"
    import_problems([str(first)], again)
    assert pq.read_table(again).equals(pq.read_table(first))
