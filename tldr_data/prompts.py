"""How a question becomes the text an engine sees; generation and evaluation share it so both prompt alike."""

from __future__ import annotations

from typing import Any

DEFAULT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def render_prompt(
    tokenizer: Any, question: str, instruction: str = DEFAULT_INSTRUCTION, system_prompt: str | None = None
) -> str:
    """The chat template over (optional system message, question + blank line + instruction)."""
    user = question + ("\n\n" + instruction if instruction else "")
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
