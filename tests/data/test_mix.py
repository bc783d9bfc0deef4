"""Mixtures: exact counts, rows only from the pools, determinism, the card, and TRL accepting the folder."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from tldr_data.errors import ConfigError, InputError, OutputExistsError, SchemaError
from tldr_data.mix import SHARD, mix


@pytest.fixture
def pools(make_pool):
    return make_pool("short", 60, tokens=40), make_pool("long", 40, tokens=400)


def rows(folder) -> list[dict]:
    return pq.read_table(folder / SHARD).to_pylist()


@pytest.mark.parametrize(
    ("ratio", "size", "short"), [(0.5, 10, 5), (0.25, 10, 3), (0.918, 50, 46), (0.0, 7, 0), (1, 7, 7)]
)
def test_counts_are_exact(pools, tmp_path, ratio, size, short) -> None:
    summary = mix(*pools, tmp_path / "mix", ratio=ratio, size=size, seed=3)
    got = rows(tmp_path / "mix")
    assert len(got) == size and summary["rows_per_pool"] == {"short": short, "long": size - short}
    assert sum(row["pool"] == "short" for row in got) == short


def test_rows_come_only_from_their_pools_without_repeats(pools, tmp_path) -> None:
    mix(*pools, tmp_path / "mix", ratio=0.6, size=50, seed=1)
    got = rows(tmp_path / "mix")
    source = {
        name: {r["problem_id"]: r for r in pq.read_table(path).to_pylist()}
        for name, path in zip(("short", "long"), pools, strict=True)
    }
    assert len({row["problem_id"] for row in got}) == 50
    for row in got:
        original = source[row["pool"]][row["problem_id"]]
        assert row["completion"] == [{"role": "assistant", "content": original["completion"]}]
        assert row["prompt"] == [
            {"role": "user", "content": original["question"] + "\n\nPlease reason step by step."}
        ]
        assert row["completion_tokens"] == original["completion_tokens"]
    assert [row["pool"] for row in got] != sorted(row["pool"] for row in got), "pools are interleaved"


def test_same_seed_is_byte_identical_and_other_seeds_differ(pools, tmp_path) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        mix(*pools, tmp_path / name, ratio=0.5, size=30, seed=seed)
    shard = {name: (tmp_path / name / SHARD).read_bytes() for name in "abc"}
    assert shard["a"] == shard["b"]
    assert (tmp_path / "a" / "README.md").read_text() == (tmp_path / "b" / "README.md").read_text()
    assert {r["problem_id"] for r in rows(tmp_path / "a")} != {r["problem_id"] for r in rows(tmp_path / "c")}


def test_rounds_draw_fresh_rows(pools, tmp_path) -> None:
    mix(*pools, tmp_path / "r1", ratio=0.5, size=20, round=1)
    mix(*pools, tmp_path / "r2", ratio=0.5, size=20, round=2)
    assert {r["problem_id"] for r in rows(tmp_path / "r1")} != {
        r["problem_id"] for r in rows(tmp_path / "r2")
    }


def test_replacement_draws_exact_counts_from_small_pools(make_pool, tmp_path) -> None:
    short, long = make_pool("short", 3), make_pool("long", 2)
    summary = mix(short, long, tmp_path / "mix", ratio=0.5, size=40, replace=True, seed=2)
    got = rows(tmp_path / "mix")
    assert summary["rows_per_pool"] == {"short": 20, "long": 20} and len(got) == 40
    assert {r["problem_id"] for r in got} == {"short-0", "short-1", "short-2", "long-0", "long-1"}
    again = tmp_path / "again"
    mix(short, long, again, ratio=0.5, size=40, replace=True, seed=2)
    assert (again / SHARD).read_bytes() == (tmp_path / "mix" / SHARD).read_bytes()


def test_too_small_pool_is_refused_naming_it(pools, tmp_path) -> None:
    with pytest.raises(InputError, match=r"long pool .*long.parquet has 40 rows but the mixture needs 50"):
        mix(*pools, tmp_path / "mix", ratio=0.5, size=100)
    assert not (tmp_path / "mix").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_existing_output_is_refused_unless_overwrite(pools, tmp_path) -> None:
    out = tmp_path / "mix"
    mix(*pools, out, ratio=0.5, size=10)
    before = (out / SHARD).read_bytes()
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        mix(*pools, out, ratio=0.5, size=12)
    assert (out / SHARD).read_bytes() == before
    mix(*pools, out, ratio=0.5, size=12, overwrite=True)
    assert len(rows(out)) == 12 and sorted(p.name for p in tmp_path.iterdir()) == [
        "mix",
        "mix.done.json",
        "pools",
    ]


def test_pool_missing_columns_is_a_schema_error(make_pool, tmp_path) -> None:
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT 'x' AS problem_id, 'q' AS question) TO '{bad}'")
    with pytest.raises(SchemaError, match=r"short pool .*bad.parquet: missing column\(s\) completion"):
        mix(bad, make_pool("long", 5), tmp_path / "mix", ratio=0.5, size=2)


@pytest.mark.parametrize(("ratio", "size"), [(1.5, 10), (float("nan"), 10), (0.5, 0)])
def test_bad_ratio_or_size(pools, tmp_path, ratio, size) -> None:
    with pytest.raises(ConfigError):
        mix(*pools, tmp_path / "mix", ratio=ratio, size=size)


def test_system_prompt_and_missing_instruction(make_pool, tmp_path) -> None:
    short = make_pool("short", 4, gen_config={"system_prompt": "Be brief."})
    mix(short, make_pool("long", 4), tmp_path / "mix", ratio=1.0, size=2)
    for row in rows(tmp_path / "mix"):
        assert row["prompt"][0] == {"role": "system", "content": "Be brief."}
        assert row["prompt"][1]["content"].startswith("What is") and row["prompt"][1]["content"].endswith("?")


def test_card_records_the_draw_and_loads_with_datasets(pools, tmp_path) -> None:
    from datasets import load_dataset

    mix(*pools, tmp_path / "mix", ratio=0.75, size=20, seed=5, round=3, command="tldr-data mix --size 20")
    text = (tmp_path / "mix" / "README.md").read_text()
    header = yaml.safe_load(text.split("---\n")[1])
    meta = header["tldr"]
    assert meta["alpha_short"] == 0.75 and meta["round"] == 3 and meta["seed"] == 5
    assert meta["rows_per_pool"] == {"short": 15, "long": 5}
    assert meta["pools"]["short"]["rows"] == 60 and meta["pools"]["long"]["sources"] == [pools[1].name]
    assert meta["token_stats"]["pools"]["long"]["min"] == 400
    assert meta["token_stats"]["mixture"]["short"]["rows"] == 15
    assert meta["command"] == "tldr-data mix --size 20"
    dataset = load_dataset(str(tmp_path / "mix"), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert dataset.num_rows == 20 and dataset.column_names == [
        "prompt",
        "completion",
        "problem_id",
        "pool",
        "completion_tokens",
    ]
    assert json.dumps(dataset[0]["prompt"]).startswith('[{"role": "user"')


@pytest.mark.slow
def test_sft_trainer_trains_on_the_mixture(pools, tmp_path) -> None:
    from datasets import load_dataset
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
    from trl import SFTConfig, SFTTrainer

    mix(*pools, tmp_path / "mix", ratio=0.5, size=8, seed=0)
    dataset = load_dataset(str(tmp_path / "mix"), split="train", cache_dir=str(tmp_path / "hf-cache"))
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    corpus = [m["content"] for row in dataset for m in row["prompt"] + row["completion"]]
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}<|im_end|>{% endgeneration %}"
        "{% else %}{{ m['content'] }}<|im_end|>{% endif %}\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    args = SFTConfig(
        output_dir=str(tmp_path / "ckpt"),
        max_steps=2,
        per_device_train_batch_size=2,
        use_cpu=True,
        report_to="none",
        max_length=256,
        save_strategy="no",
        logging_steps=1,
        seed=0,
    )
    trainer = SFTTrainer(
        model=Qwen2ForCausalLM(config), args=args, train_dataset=dataset, processing_class=tokenizer
    )
    assert trainer.train_dataset.num_rows == 8
    assert -100 in trainer.train_dataset[0]["labels"], "the prompt is masked out of the loss"
    result = trainer.train()
    assert result.global_step == 2 and result.training_loss > 0


@pytest.mark.parametrize("replace", [False, True])
def test_sorting_in_several_buckets_writes_the_same_mixture(pools, tmp_path, monkeypatch, replace) -> None:
    """A mixture whose text exceeds BUCKET_BYTES is sorted in buckets of places: same rows, same order."""
    import tldr_data.mix as mix_module

    mix(*pools, tmp_path / "one", ratio=0.5, size=40, seed=5, replace=replace)
    monkeypatch.setattr(mix_module, "BUCKET_BYTES", 1000)  # a few rows per bucket
    mix(*pools, tmp_path / "many", ratio=0.5, size=40, seed=5, replace=replace)
    assert rows(tmp_path / "many") == rows(tmp_path / "one")
    assert pq.ParquetFile(tmp_path / "many" / SHARD).metadata.num_row_groups > 1
