"""Tiny random Qwen2 models with a locally trained tokenizer: the stand-in for a hub model in tests and toys.

There is no model hub here, so every test and the toy recipe build their model from nothing. The model is a
real `Qwen2ForCausalLM` (so transformers, TRL and vLLM treat it like any Qwen checkpoint) and the tokenizer
is trained with exactly the normalizer and pre-tokenizer that `Qwen2Tokenizer` imposes when it loads, so
the ids seen at training time are the ids seen after `AutoTokenizer.from_pretrained`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tldr_data.atomic import atomic_dir
from tldr_data.errors import ConfigError, InputError, OutputExistsError

ENDOFTEXT, IM_START, IM_END, THINK, END_THINK = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
)
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
ADDED_TOKENS = [THINK, END_THINK]

# Qwen2.5's ChatML layout, without its default system prompt (a tiny model has no identity to announce).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Head sizes vLLM's CPU attention accepts; a smaller head_dim loads in transformers but not in vLLM-CPU.
VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)

BUILTIN_CORPUS = """\
0 1 2 3 4 5 6 7 8 9 10 11 12 25 42 99 100 123 256 1000 2024 3.14 -7 1/2 3/4 0.5 1e6
+ - * / = < > <= >= != ( ) [ ] { } ^ % , . : ; ! ? ' " $ \\ _ | ~ # @ &
What is 12 + 30? What is 7 * 8? Compute 144 / 12. Find x if 3x + 5 = 20. Evaluate (2 + 3) * 4 - 6.
<think>
Let me think step by step. First, 12 + 30 = 42. Let me check: 42 - 30 = 12. Yes.
Wait, I should double-check the multiplication. 7 * 8 = 56. So the answer is 56.
Hmm, let me verify this. 144 / 12 = 12 because 12 * 12 = 144. That is correct.
Alternatively, we can subtract 5 from both sides: 3x = 15, so x = 5. Let me check again: 3 * 5 + 5 = 20.
Therefore, the answer is 14. So the final answer is \\boxed{14}.
</think>
The answer is \\boxed{42}. So the answer is \\boxed{56}. Thus the result is \\boxed{12}.
Please reason step by step, and put your final answer within \\boxed{}.
We need to find the value. Let's compute the sum, the product, the difference and the quotient.
Now, the number of apples is 5 more than twice the number of pears. Natural numbers, integers, fractions.
Question: Answer: Solution: Problem: Step 1: Step 2: Step 3: Finally, Therefore, Hence, Since, Because, But
Café, naïve, résumé, 数学, π ≈ 3.14159, √2, ∑, ∞, ≤, ≥, →, α β γ δ θ λ μ σ.
"""


def build_tiny(
    output: str | os.PathLike,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int | None = None,
    kv_heads: int | None = None,
    intermediate: int | None = None,
    vocab_size: int = 1000,
    corpus: Sequence[str | os.PathLike] = (),
    max_position: int = 2048,
    seed: int = 0,
    overwrite: bool = False,
) -> dict:
    """Write a random Qwen2 causal LM and its BPE tokenizer to `output`; return a summary.

    `heads` defaults to hidden // 32 so that head_dim is 32, the smallest size vLLM's CPU attention takes.
    The folder appears whole or not at all (built beside it, then renamed).
    """
    heads = heads or max(1, hidden // 32)
    kv_heads = kv_heads or heads
    intermediate = intermediate or 4 * hidden
    _check_sizes(layers, hidden, heads, kv_heads, intermediate, vocab_size, max_position)
    target = Path(output)
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: is a file; the model is written as a folder")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise OutputExistsError(f"{target} exists and is not empty; pass --overwrite to replace it")
    started = time.perf_counter()
    texts = list(_corpus_texts(corpus))

    import torch
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    raw = train_tokenizer([BUILTIN_CORPUS, *texts], vocab_size)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        additional_special_tokens=[IM_START, IM_END],
        chat_template=CHAT_TEMPLATE,
        model_max_length=max_position,
        clean_up_tokenization_spaces=False,
    )
    ids = {token: raw.token_to_id(token) for token in SPECIAL_TOKENS}
    config = Qwen2Config(
        vocab_size=raw.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_position,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=ids[IM_END],
        pad_token_id=ids[ENDOFTEXT],
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=ids[IM_END], pad_token_id=ids[ENDOFTEXT], bos_token_id=None
    )
    with atomic_dir(target) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return {
        "path": str(target),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": raw.get_vocab_size(),
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "kv_heads": kv_heads,
        "intermediate": intermediate,
        "max_position": max_position,
        "corpus_texts": len(texts),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def train_tokenizer(texts: Sequence[str], vocab_size: int):
    """Train a byte-level BPE with Qwen2Tokenizer's own normalizer, pre-tokenizer and decoder.

    Qwen's pre-tokenizer isolates every digit, so numbers never merge and arithmetic stays one digit a token.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tokenizer = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED_TOKENS])
    return tokenizer


def _check_sizes(
    layers: int, hidden: int, heads: int, kv_heads: int, intermediate: int, vocab_size: int, max_position: int
) -> None:
    """Reject shapes Qwen2 cannot build before any work is done."""
    for name, value in [
        ("--layers", layers),
        ("--hidden", hidden),
        ("--heads", heads),
        ("--kv-heads", kv_heads),
        ("--intermediate", intermediate),
        ("--max-position", max_position),
    ]:
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if hidden % heads:
        raise ConfigError(
            f"--hidden {hidden} is not divisible by --heads {heads}; pick heads dividing hidden"
        )
    if heads % kv_heads:
        raise ConfigError(f"--heads {heads} is not divisible by --kv-heads {kv_heads}")
    if vocab_size < 300:
        raise ConfigError(
            f"--vocab-size {vocab_size} is below the 256 bytes + special tokens; use 300 or more"
        )


def _corpus_texts(paths: Sequence[str | os.PathLike]) -> Iterator[str]:
    """Every string in the corpus: .txt files whole, Parquet string columns and chat-message contents."""
    for entry in paths:
        path = Path(entry)
        if not path.exists():
            raise InputError(
                f"corpus {path} does not exist; pass .txt or .parquet files (or folders of them)"
            )
        files = sorted(path.rglob("*.parquet")) + sorted(path.rglob("*.txt")) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".txt":
                try:
                    yield file.read_text(encoding="utf-8")
                except UnicodeDecodeError as err:
                    raise InputError(
                        f"corpus {file}: not UTF-8 text ({err.reason} at byte {err.start})"
                    ) from None
            elif file.suffix == ".parquet":
                yield from _parquet_strings(file)
            else:
                raise InputError(f"corpus {file}: unsupported file type; pass .txt or .parquet files")


def _parquet_strings(path: Path) -> Iterator[str]:
    """String columns as they are; list<struct<content>> columns (chat messages) by their `content`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"corpus {path}: not a readable Parquet file ({err})") from err
    for column in table.columns:
        kind = column.type
        if pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):
            if kind.value_type.get_field_index("content") < 0:
                continue
            column = pc.struct_field(pc.list_flatten(column), "content")
            kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            yield from (text for text in column.to_pylist() if text)
