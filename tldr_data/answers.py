"""Find the final answer in a reasoning model's completion.

Reasoning models box values while thinking and box again in the summary after `</think>`; the summary is
what the model commits to, so it wins. Models that do not box (System-1 models answering GSM8K) end with
"The final answer is ..." or just a number, so those are the fallbacks, in that order.
"""

from __future__ import annotations

import re

THINK_END = "</think>"
_FINAL_ANSWER = re.compile(
    r"(?:final answer|answer)\s*(?:is|:|should be|would be)\s*:?\s*(.+?)(?:\n|$)",
    re.IGNORECASE,
)
_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])\s*(?:(?P<brace>\{)|(?P<bare>[^\s${}\\]+))?")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def extract_answer(completion: str, complete: bool = True) -> str | None:
    """The final answer of a completion, as written (LaTeX kept), or None when it gives none.

    Order of trust: a box or "final answer is" phrase in the summary after `</think>`, then one in the
    thinking (a summary cut off by the length limit still leaves the thinking's answer), then the number
    ending the text. `complete=False` (the engine stopped at its length limit) drops that last fallback: a
    cut-off completion ends mid-thought, and its last number is not an answer.
    """
    thinking, _, summary = completion.rpartition(THINK_END)
    for part in (summary, thinking):
        answer = last_boxed(part) or _final_answer_phrase(part)
        if answer:
            return answer
    return _trailing_number(summary if summary.strip() else thinking) if complete else None


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}`, nested braces honoured; None if none closes.

    `\\boxed 5` (no braces) counts too, up to the next space or `$`.
    """
    closing = _matching_braces(text)
    for box in reversed(list(_BOX.finditer(text))):
        if box.group("brace"):
            end = closing.get(box.end() - 1)
            content = text[box.end() : end].strip() if end is not None else ""
        else:
            content = box.group("bare") or ""
        if content:
            return content
    return None


def _matching_braces(text: str) -> dict[int, int]:
    """Position of each unescaped `{` mapped to its closing `}`, in one pass (inputs may be megabytes)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for match in re.finditer(r"\\.|[{}]", text, re.DOTALL):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            closing[stack.pop()] = match.start()
    return closing


def _final_answer_phrase(text: str) -> str | None:
    """A "final answer is X" phrase, in the last paragraph only: earlier ones are drafts the model doubted."""
    matches = _FINAL_ANSWER.findall(_last_paragraph(text))
    if not matches:
        return None
    answer = matches[-1].strip().strip("*").strip()
    answer = re.sub(r"^\$+|\$+$", "", answer.rstrip(".").strip()).strip()
    return answer or None


def _trailing_number(text: str) -> str | None:
    """GSM8K style: the last number of the last line, thousands separators and `$` dropped."""
    lines = text.strip().splitlines()
    numbers = _NUMBER.findall(lines[-1]) if lines else []
    return numbers[-1].replace("$", "").replace(",", "") if numbers else None


def _last_paragraph(text: str) -> str:
    return text.strip().rpartition("\n\n")[2][-2000:]
