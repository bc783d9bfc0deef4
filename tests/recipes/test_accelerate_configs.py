"""recipes/accelerate/*.yaml: loaded by accelerate's own config loader and launch parser (no GPU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "accelerate"


@pytest.mark.parametrize("name, kind", [("ddp", "MULTI_GPU"), ("fsdp", "FSDP"), ("zero3", "DEEPSPEED")])
def test_config_loads_with_accelerate(name: str, kind: str) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(CONFIGS / f"{name}.yaml"))
    assert config.distributed_type.name == kind
    assert config.mixed_precision == "bf16" and config.num_processes == 8 and not config.use_cpu
    if name == "zero3":
        assert config.deepspeed_config["zero_stage"] == 3
        assert config.deepspeed_config["zero3_save_16bit_model"]  # vLLM loads the saved checkpoint
    if name == "fsdp":
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_launch_parser_takes_the_module_and_its_flags() -> None:
    from accelerate.commands.launch import launch_command_parser

    args = launch_command_parser().parse_args(
        ["--config_file", str(CONFIGS / "zero3.yaml"), "-m", "tldr_train.sft", "--max_steps", "32"]
    )
    assert args.module and args.training_script == "tldr_train.sft"
    assert args.training_script_args == ["--max_steps", "32"]
