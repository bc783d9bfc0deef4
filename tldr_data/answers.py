"""Find a completion's final answer as written, and judge it against the gold answer.

Extraction decides *where* the answer is (boxes, answer phrases, a closing display equation, the value ending
the text); math-verify decides *what it means* (parsing and equivalence). The rules below only cover what
math-verify's own extraction does not: it takes one box, reads `x >= 5` as the number 5 and the last entry of
an unboxed matrix, and does not know a reasoning model's `</think>` summary. Every rule is listed, with the
test that pins it, in docs/answers.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

THINK_END = "</think>"
# Chat-template tokens: a completion that runs on past its turn (`2/3 <|im_start|>user`) ends at the first.
_CHAT_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|<｜[^｜\n]{1,40}｜>|</s>")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)  # an escaped character, or a brace
_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])\s*(?:(?P<brace>\{)|(?P<bare>[^\s${}\\]+))?")
# Text allowed between boxes that together form one answer: `\boxed{1}, \boxed{2} and \boxed{3}`.
_BOX_JOINER = re.compile(
    r"(?:,|;|&|and|or|[a-zA-Z]=|\\quad|\\qquad|\\[,;: ]|\\text\{[^{}]{0,12}\}|\$|\\[()\[\]]|\.(?=\s*\\))*"
)
_ANCHOR = re.compile(
    r"(?i)(?:\b(?:final\s+)?answer\b\**\s*(?:(?:is|should\s+be|would\s+be|will\s+be|becomes|=)\b\s*:?|:)|####)"
)
_DISPLAY = re.compile(r"\\\[(?P<a>.{1,2000}?)\\\]|\$\$(?P<b>.{1,2000}?)\$\$", re.DOTALL)
# Inline math; `\$` inside it is a dollar sign, not its end (`$\$4,800$`).
_INLINE = re.compile(r"(?<![\\$])\$(?P<a>(?:\\\$|[^$\n]){1,500})\$|\\\((?P<b>.{1,500}?)\\\)")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\s+I hope\b|\s+\(|\s+(?:because|since|so|which)\b")
_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
# A square root of a number, or a number times one: `4√2` is one value, not the 2 that ends it.
_SURD = r"(?:√\s*\d+|\\sqrt\s*\{\s*\d+\s*\}|\\sqrt\s*\d+)"
_NUM = rf"-?\$?(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+\b)?(?:{_SURD}|π)?|{_SURD}|π)%?"
# One value of a list (`2`, `1/2`), and what separates values: `2 and 5`, `-1, 3, and 7`, `x = -3 or x = 2`.
_LIST_VALUE = rf"{_NUM}(?:\s*/\s*{_NUM})?"
_LIST_SEPARATOR = r"\s*(?:,\s*(?:and|or)\s+|,|\s+and\s+|\s+or\s+)\s*"
_VALUE = re.compile(
    # a time of day: 3:00 p.m., 15:30
    r"\b\d{1,2}:\d{2}(?:\s*[aApP]\.?\s*[mM]\b\.?)?|"
    # one variable's values: x = -3 or x = 2 (the last alone would drop a solution)
    rf"(?P<var>\b[a-zA-Z])\s*=\s*{_LIST_VALUE}(?:{_LIST_SEPARATOR}(?P=var)\s*=\s*{_LIST_VALUE})+|"
    # a tuple of numbers or expressions: (1, 2) or (2/3, -1)
    rf"\(\s*{_NUM}(?:\s*[-+*/^]\s*{_NUM})*(?:\s*,\s*{_NUM}(?:\s*[-+*/^]\s*{_NUM})*)+\s*\)"
    # a relation of a variable: x >= 5, x != 3, n ≤ 4
    rf"|\b[a-zA-Z]\s*(?:>=|<=|!=|=>|=<|[<>≥≤≠])\s*{_NUM}(?:\s*[-+*/^]\s*{_NUM})*"
    # a mixed number: 4 2/3
    r"|-?\b\d+\s+\d+/\d+\b"
    # an arithmetic expression or a number: (9+1), 2/3, 13/4, $10,455, 50%, 1.5e-3, 1.5 × 10^-3
    rf"|\(?{_NUM}(?:\s*[-+*/^×÷]\s*\(?{_NUM}\)?)*\)?"
)
# Inline math that only names a variable ("2 values of $x$") is not the value a sentence ends with.
_NAME = re.compile(r"\s*(?:\\[a-zA-Z]+\s*\{?\s*)?[a-zA-Z]\s*\}?\s*|\s*\\[a-zA-Z]+\s*")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
# Number words up to ninety-nine (`twelve`, `twenty-one`, `forty two`); _number_word adds the hundreds.
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORDS = {word: n for n, word in enumerate(_ONES)} | {
    f"{tens}{sep}{one}".rstrip("- "): 20 + 10 * t + n
    for t, tens in enumerate(_TENS)
    for n, one in enumerate(["", *_ONES[1:10]])
    for sep in ("-", " ")
}


def extract_answer(completion: str, complete: bool = True) -> str | None:
    """The final answer of a completion, as written (LaTeX kept), or None when it gives none.

    Order of trust: boxes, then an answer phrase, in the summary after `</think>` and then in the thinking
    (a summary cut off by the length limit still leaves the thinking's answer); then, for the summary only,
    a display equation or value ending the text. `complete=False` (the engine stopped at its length limit)
    drops those last two: a cut-off completion ends mid-thought, and its last value is not an answer.
    An answer the text then takes back (`so 24 can't be right`) is no answer, and neither is an older one.
    """
    text = _own_turn(completion).replace("−", "-")  # Unicode minus
    thinking, _, summary = text.rpartition(THINK_END)
    for part in (summary, thinking):
        closed, unclosed = _boxes(part)
        part, closed = _without_negated(part, closed)
        if unclosed is not None and not closed:  # a box opened and never closed: the answer is lost here
            continue
        if closed and not _retracted(part[closed[-1].end :]):
            return _joined_boxes(part, closed)
        answer, after = _anchored(part)
        if answer and not _retracted(after):
            return answer
        if closed or answer or (thinking and _retracted(part[-_RETRACTION_REACH:])):
            break  # it answered, then took it back: an older answer is older
    if not complete:
        return None
    tail = summary if summary.strip() else thinking
    if _boxes(tail)[1] is not None:
        return None
    return _closing_display(tail) or _trailing_value(tail)


# A turn the model invented after its own once the decoder dropped the chat tokens: a line that is only a role
# name (`user`, `### Assistant:`), or one that starts `Human:` (`Assistant: 40 hours` may be a person's line).
_ROLE_LINE = re.compile(
    r"\n[ \t]*(?:#{1,3}[ \t]*)?(?:[Uu]ser|USER|[Aa]ssistant|ASSISTANT|[Hh]uman|HUMAN)[ \t]*:?[ \t]*(?=\n|$)"
    r"|\n[ \t]*(?:[Hh]uman|HUMAN)[ \t]*:"
)


def _own_turn(completion: str) -> str:
    """The completion up to its first chat-template token, or up to the first role line after some text."""
    text = _CHAT_TOKEN.split(completion, maxsplit=1)[0]
    for role in _ROLE_LINE.finditer(text):  # a role line that opens the completion is not another turn
        if text[: role.start()].strip():
            return text[: role.start()]
    return text


# Words that take back the answer just given: `so 24 can't be right`, `that number is incorrect`.
_RETRACTION = re.compile(
    r"(?i)\bcan(?:no|['’])?t\s+be\s+(?:right|correct)|(?:\bis|\bwas|['’]s)\s+(?:wrong|incorrect|not\s+(?:right|correct))\b"
    r"|\bmade\s+(?:an?\s+)?(?:error|mistake)|\bdouble[- ]?count|\brecount|\bstart\s+over\b"
    r"|\b(?:let\s+me|let['’]s|let\s+us|I\s+(?:need|have|should|must)\s+to|I['’]ll)\s+(?:reconsider|redo|rethink)"
    r"|\b(?:could|can)(?:\s*not|n['’]t)\s+(?:determine|find|pin\s+down|figure\s+out)|\bfails?\s+the\s+check"
    r"|\bdoes(?:n['’]?t|\s+not)\s+seem\s+(?:right|correct)|\bovercount|\bcounted\s+twice|\bimpossible\b"
    r"|\b(?:wait|hmm),?\s+no\b|\?\s*no\b|\bno,?\s+(?:actually|wait)\b|\b(?:is|it['’]s)\s+actually\b"
    r"|\b(?:is|are)\s+(?:out|extraneous|invalid|ruled\s+out|not\s+a\s+(?:solution|root))\b"
    r"|\bdoes(?:n['’]?t|\s+not)\s+work\b|\bthere\s+must\s+be\s+another\b|\blet\s+me\s+(?:check|try)\s+(?:the\s+)?(?:other|another)\b"
)
# A cue denied in its own clause: "I don't think I made a mistake", "to avoid double counting".
_DENIED = re.compile(
    r"(?i)(?:\bnot|\bno|\bnever|\bnothing|n['’]t|\bavoid(?:ing)?|\bwithout|\bcheck(?:ed|ing)?\s+for)\s+(?:\w+\s+){0,2}$"
)


_RETRACTION_REACH = 1500  # characters after an answer where a retraction is looked for


def _retracted(after: str) -> bool:
    """Whether the text after an answer takes it back (a phrase of _RETRACTION not itself denied)."""
    after = re.sub(r"\([^()]*\)", " ", after[:_RETRACTION_REACH])  # a remark in parentheses is commentary
    return any(
        not _DENIED.search(after[max(0, cue.start() - 25) : cue.start()])
        for cue in _RETRACTION.finditer(after)
    )


# A box its own sentence rejects: `\boxed{5}, not \boxed{10}`; `would give \boxed{10}, which is incorrect`;
# `(If it counted ordered pairs, the count would be \boxed{10}.)`.
_NEGATION = re.compile(r"(?i)(?:\bnot|\brather\s+than|\binstead\s+of)\Z")
_HYPOTHESIS = re.compile(r"\(\s*[Ii]f\b[^()]*\Z")
_NEGATED_AFTER = re.compile(r"(?i)^[^.\n]{0,60}?\b(?:is|are|was|would\s+be)\s+(?:incorrect|wrong)\b")


def _without_negated(text: str, boxes: list[_Box]) -> tuple[str, list[_Box]]:
    """`text` with every box of `boxes` its sentence rejects blanked out (same length, with the words that
    reject it), and the boxes left."""
    kept = []
    for box in reversed(boxes):
        window = max(0, box.start - 120)
        head = text[window : box.start].rstrip(" \t\n$\\([")
        before = _NEGATION.search(head, max(0, len(head) - 12)) or _HYPOTHESIS.search(head)
        tail = text[box.end : box.end + 120]
        lowered = tail.lower()
        after = _NEGATED_AFTER.match(tail) if "wrong" in lowered or "incorrect" in lowered else None
        if before:
            start, end = window + before.start(), box.end
        elif after:
            start, end = text.rfind("\n", 0, box.start) + 1, box.end + after.end()
            sentence = text.rfind(". ", start, box.start)
            start = sentence + 2 if sentence >= 0 else start
        else:
            kept.append(box)
            continue
        text = text[:start] + " " * (end - start) + text[end:]
    return text, kept[::-1]


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}`, nested braces honoured; None if none closes.

    `\\boxed 5` (no braces) counts too, up to the next space or `$`. Used for gold answers in solutions too.
    """
    closed, _ = _boxes(text)
    return closed[-1].content if closed else None


@dataclass(frozen=True)
class _Box:
    start: int
    end: int
    content: str


def _boxes(text: str) -> tuple[list[_Box], int | None]:
    """Every closed, non-empty box in order, and where a box opened after them and never closed starts."""
    first = _BOX.search(text)
    if first is None:
        return [], None
    closing = _matching_braces(text, first.start())
    boxes: list[_Box] = []
    unclosed = None
    for box in _BOX.finditer(text, first.start()):
        if box.group("brace"):
            end = closing.get(box.end() - 1)
            if end is None:
                unclosed = box.start()
                continue
            content, stop = text[box.end() : end].strip(), end + 1
        else:
            content, stop = box.group("bare") or "", box.end()
        if content:
            boxes.append(_Box(box.start(), stop, content))
    if unclosed is not None and boxes and boxes[-1].start > unclosed:
        unclosed = None
    return boxes, unclosed


def _joined_boxes(text: str, boxes: list[_Box]) -> str:
    """The last box, with the boxes just before it that only a comma, `and` or `or` separates from it:
    `\\boxed{(2,2)} and \\boxed{(6,2)}` is one answer, `(2,2), (6,2)`."""
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        between = "".join(text[box.end : group[-1].start].split())
        if len(between) > 40 or not _BOX_JOINER.fullmatch(between):
            break
        group.append(box)
    contents = list(dict.fromkeys(box.content for box in reversed(group)))
    return ", ".join(contents)


def _matching_braces(text: str, start: int) -> dict[int, int]:
    """Position of each unescaped `{` from `start` on mapped to its closing `}`, in one pass (inputs may be
    megabytes). `start` is the first box: braces opened before it cannot close a box, and boxes sit near the
    end, so most of the text is skipped (bench/verify.py's loop over real traces: 3.23 -> 2.87 s)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for match in _BRACE_TOKEN.finditer(text, start):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            closing[stack.pop()] = match.start()
    return closing


def _anchored(text: str) -> tuple[str | None, str]:
    """The value after the last "answer is" / "Answer:" / "####" of the last paragraph (earlier ones are
    drafts the model doubted), and the text after its sentence; when that paragraph is only a display
    equation, the anchor may end the one before it ("Final answer:" then `\\[ 9 \\]`)."""
    paragraphs = re.split(r"\n\s*\n", text.strip()[-3000:])
    last = paragraphs[-1]
    anchors = list(_ANCHOR.finditer(last))
    if anchors:
        return _value_after(last[anchors[-1].end() :])
    if len(paragraphs) > 1:
        anchors = list(_ANCHOR.finditer(paragraphs[-2]))
        if anchors and not paragraphs[-2][anchors[-1].end() :].strip(" *:"):
            return _value_after(last)
    return None, ""


def _value_after(rest: str) -> tuple[str | None, str]:
    """The answer that starts `rest`, and what follows its sentence: delimited math as a whole, else the
    plain text up to the sentence's end, or, when that text has words in it ("10 weeks", "34 because ..."),
    its first value."""
    rest = rest.lstrip(" \t\n*:")
    for pattern in (_DISPLAY, _INLINE):
        math = pattern.match(rest)
        if math:
            return _clean(math.group("a") or math.group("b")), rest[math.end() :]
    line = rest.split("\n", 1)[0]
    end = _SENTENCE_END.search(line)
    phrase = _clean(line[: end.start()] if end else line)
    after = rest[end.start() if end else len(line) :]
    if not phrase:
        return None, after
    if _number_word(phrase) or re.fullmatch(r"(?:\\text(?:bf)?\{)?[A-Za-z]+\}?", phrase):
        return phrase, after  # `The answer is twelve.`, `Answer: ellipse`
    if not _WORD.search(re.sub(r"\\[a-zA-Z]+\s*(?:\{[a-zA-Z*\s]*\})?", " ", phrase)):
        return phrase, after
    value = _VALUE.match(phrase)  # "is 10 weeks" gives 10; "is actually 5, but I'm not sure" gives nothing
    return (_clean(value.group()) if value and value.group().strip("()") else None), after


def _closing_display(text: str) -> str | None:
    """A display equation (`\\[ 9 \\]`, `$$ 9 $$`) that ends the text: its last side (`x = 9` gives 9)."""
    displays = list(_DISPLAY.finditer(text[-3000:]))
    if not displays or text[-3000:][displays[-1].end() :].strip(" \t\n.,"):
        return None
    content = _clean(displays[-1].group("a") or displays[-1].group("b"))
    if "," not in content and "\\\\" not in content:
        content = _clean(re.split(r"(?<![<>!\\])=", content)[-1])
    return content or None


def _trailing_value(text: str) -> str | None:
    """The value that ends the last line (inline math or plain text): `The largest $n$ is 34.` gives 34."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = re.sub(r"\s*I hope it is correct\.?\s*$", "", lines[-1])
    listed = _LISTED.search(line)
    if listed:
        return ", ".join(_clean(value) for value in re.findall(_LIST_VALUE, listed.group("values")))
    maths = [m for m in _INLINE.finditer(line) if not _NAME.fullmatch(m.group("a") or m.group("b"))]
    # (end, -start, plain value or None, which inline math or None): the inline one is joined once chosen
    candidates = [(m.end(), -m.start(), None, k) for k, m in enumerate(maths)]
    masked = _INLINE.sub(lambda m: " " * len(m.group()), line)
    candidates += [
        (m.end(), -m.start(), m.group(), None)
        for m in _VALUE.finditer(masked)
        if m.group().strip("()") and masked[m.start() - 1 : m.start()] != "^"  # `10 cm^2` does not end in 2
    ]
    # a nested list `[[1, 2], [3, 4]]`, a name or emphasized word (`the day is Tuesday.`), a number word
    candidates += [(m.end(), -m.start(), m.group(), None) for m in _NESTED_LIST.finditer(masked)]
    candidates += [
        (m.end("word"), -m.start("word"), m.group("word"), None)
        for pattern in (_NAMED, _CHOSEN)
        for m in pattern.finditer(masked)
    ]
    candidates += [(m.end("word"), -m.start("word"), m.group("word"), None) for m in _COUNTED.finditer(line)]
    reason = _REASON.search(masked)
    last_end = max((candidate[0] for candidate in candidates), default=0)
    if reason and line[last_end:].strip(" .!*$") and any(c[0] <= reason.start() for c in candidates):
        candidates = [candidate for candidate in candidates if candidate[0] <= reason.start()]
    if not candidates:
        return None
    end, _, value, math = max(candidates, key=lambda candidate: candidate[:2])
    if math is not None:
        value = _joined_inline(line, maths[: math + 1])
    if line.rstrip()[-1:].isalpha() and len(line[end:].split()) > 3:
        return None  # "... is 5, but I'm not entirely sure because I might have missed some": cut off
    if _retracted(line[end:]):
        return None  # "I computed 48 earlier, but I double counted, so that number is incorrect."
    return _clean(value) or None


_NAMED = re.compile(
    r"\b(?:is|are|was)\s+\**(?P<word>\\text(?:bf)?\{[A-Za-z][A-Za-z ]*\}|[A-Z][a-z]+)\**\s*[.!]?\s*$"
)
_WORDS = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_COUNTED = re.compile(
    r"(?i)\b(?:is|are|was|were|be|gives|makes|total\s+of|only)\s+(?:only\s+|exactly\s+|therefore\s+|thus\s+)?"
    rf"(?P<word>(?:{_WORDS})(?:\s+hundred(?:\s+(?:and\s+)?(?:{_WORDS}))?)?)\b"
)
_CHOSEN = re.compile(
    r"\b(?:is|matches|corresponds\s+to)\s+(?:[Cc]hoice|[Oo]ption)\s+\**\s*(?P<word>\(?[A-E]\)?)\s*\**\s*[.!]?\s*$"
)
# A clause after the answer that gives its reason: `is $n = 5$, since $n = 4$ fails`.
_REASON = re.compile(r",?\s+(?:since|because|as\s+shown|given\s+that)\b")
# "The solutions are 2 and 5.": a plural noun naming the answers, then every value, not only the last.
_LISTED = re.compile(
    rf"\b(?:solutions|roots|zeros|zeroes|values|answers)\s+(?:are|were)\s*:?\s*"
    rf"(?P<values>{_LIST_VALUE}(?:{_LIST_SEPARATOR}{_LIST_VALUE})+)\s*\.?\s*$"
)


def _joined_inline(line: str, maths: list[re.Match[str]]) -> str:
    """The last inline math, with those just before it that give the same variable another value and that
    only a comma, `and` or `or` separates from it: `The solutions are $x = 5$ and $x = -1$` gives
    `x = 5, x = -1` (as E4 joins boxes). Other inline math before it is a step (`$m = 9$ and $n = 5$, and
    $m - n = 4$` gives `m - n = 4`)."""
    contents = [math.group("a") or math.group("b") for math in maths]
    variable = _EQUATION_OF.match(contents[-1])
    group = [len(maths) - 1]
    for k in range(len(maths) - 2, -1, -1):
        between = "".join(line[maths[k].end() : maths[group[-1]].start()].split())
        same = _EQUATION_OF.match(contents[k])
        if not variable or not same or same.group(1) != variable.group(1):
            break
        if len(between) > 40 or not _BOX_JOINER.fullmatch(between):
            break
        group.append(k)
    return ", ".join(dict.fromkeys(contents[k].strip() for k in reversed(group)))


_EQUATION_OF = re.compile(r"\s*([a-zA-Z])\s*=(?!=)")


def _clean(answer: str) -> str:
    """Drop what surrounds an answer but is not part of it: spaces, `**`, `$`, a final period or comma,
    and the commas of a thousands separator (`$10,455` is 10455)."""
    answer = answer.strip().strip("*").strip()
    answer = re.sub(r"^\$+|\$+$", "", answer).strip()
    answer = re.sub(r"[.,;:]+$", "", answer).strip()
    if answer.startswith("\\$"):
        answer = answer[2:].strip()
    if answer.startswith("$") and re.match(r"^\$\d", answer):
        answer = answer[1:]
    if _THOUSANDS.match(answer):
        answer = answer.replace(",", "")
    return answer


def judge(
    item: tuple[str | None, str | None, str | None],
    same_as: Callable[[str, str], bool | None] | None = None,
) -> tuple[str | None, str]:
    """`(pred_answer, verdict)` for one `(completion, gold, finish_reason)`; runs inside a verify worker.

    `same_as` replaces `equivalent` (verify passes a memoized one: the samples of a problem mostly agree)."""
    completion, gold, finish_reason = item
    if completion is None or gold is None:
        return None, "error"
    truncated = finish_reason == "length"
    pred = extract_answer(completion, complete=not truncated)
    if pred is None:
        return None, "truncated" if truncated else "no_answer"
    same = (same_as or equivalent)(gold, pred)
    if same is None:
        return pred, "error"
    return pred, "correct" if same else "wrong"


def equivalent(gold: str, pred: str) -> bool | None:
    """Whether `pred` states the gold answer; None when the gold itself cannot be read.

    math-verify's `verify` first, on both sides normalized alike; then the forms it misses that a careful
    grader accepts: times of day, choice letters, a decimal that is the exact value rounded, complex
    arithmetic, a percent sign, and a relation of one variable read as the interval it describes.
    """
    if _same_text(gold, pred):
        return True
    if _told_apart(gold, pred):
        return False
    gold_text, pred_text = normalize(gold), normalize(pred)
    if _same_text(gold_text, pred_text):
        return True
    for rule in (_same_time, _same_choice, _same_base):
        same = rule(gold_text, pred_text)
        if same is not None:
            return same
    gold_parsed = _parse_gold(gold_text)
    if not gold_parsed:
        return None
    pred_parsed = _parse(pred_text)
    return (
        _same_value(gold_parsed, pred_parsed, gold_text, pred_text)
        or _complex_equal(gold_parsed, pred_parsed)
        or _same_percent(gold_text, pred_text)
        or _same_rewritten(_as_interval, gold_text, pred_text)
        or _same_rewritten(_as_tuple, gold_text, pred_text)
    )


def _told_apart(gold: str, pred: str) -> bool:
    """Answers whose values may agree but that say different things, told apart before normalizing drops
    what differs: known units (`5 \\text{ hours}` is not `5 \\text{ minutes}`, `\\$5.4` is not `5.4` cents),
    the variable of a one-letter left-hand side (`x = 5` is not the line `y = 5`), a relation that leads
    only one side (`\\neq 5` is not 5), and degrees against a value in terms of pi."""
    units = _unit(gold), _unit(pred)
    if None not in units and _different_units(*units):
        return True
    letters = [_PLAIN_LHS.match(text) for text in (gold, pred)]
    single = all("," not in text and text.count("=") == 1 for text in (gold, pred))
    if all(letters) and single and letters[0].group(1) != letters[1].group(1):
        return True
    if bool(_LEADING_RELATION.match(gold)) != bool(_LEADING_RELATION.match(pred)):
        return True
    moduli = [_MODULUS.search(text) for text in (gold, pred)]
    if all(moduli) and _modulus(moduli[0].group()) != _modulus(moduli[1].group()):
        return True
    degrees = [bool(_DEGREE_MARK.search(text)) for text in (gold, pred)]
    return degrees[0] != degrees[1] and "\\pi" in (pred if degrees[0] else gold)


def _modulus(text: str) -> str:
    """The modulus of `\\pmod{7}`, `\\bmod 7` or `(\\text{mod } 7)`: `7`."""
    return re.sub(r"\\[a-z]+|\\text\{\s*mod\s*\}|mod|[\s{}()]", "", text)


_DEGREE_MARK = re.compile(r"\^\s*\{?\s*\\circ|°|\\text\{\s*degrees?\s*\}")
_PLAIN_LHS = re.compile(r"\s*([a-zA-Z])\s*=(?!=)")
_LEADING_RELATION = re.compile(r"\s*(?:\\ne(?:q)?(?![a-zA-Z])|\\[lg]eq?(?:slant)?(?![a-zA-Z])|[<>≠≤≥]|!=)")
_UNIT_TEXT = re.compile(
    r"\\(?:text|mbox|mathrm)\s*\{\s*~?\s*([a-zA-Z¢][a-zA-Z/ ]*?)\s*\}\s*(?:\^\s*\{?\s*([23])\s*\}?)?$"
)
_UNIT_WORD = re.compile(r"[\d}]\s*(?:\\[,;! ]|~|\s)*([a-zA-Z]{1,12}|¢)\s*(?:\^\s*\{?\s*([23])\s*\}?)?$")
_UNIT_NAMES = {
    "millimeter": ("mm", "millimetre"),
    "centimeter": ("cm", "centimetre"),
    "meter": ("m", "metre"),
    "kilometer": ("km", "kilometre"),
    "inch": ("in", "inches"),
    "foot": ("ft", "feet"),
    "yard": ("yd",),
    "mile": ("mi",),
    "second": ("s", "sec", "secs"),
    "minute": ("min", "mins"),
    "hour": ("h", "hr", "hrs"),
    "day": (),
    "week": (),
    "month": (),
    "year": ("yr", "yrs"),
    "degree": ("deg",),
    "radian": ("rad",),
    "dollar": (),
    "cent": ("¢",),
    "mile per hour": ("mph",),
    "kilometer per hour": ("km/h", "kph", "kmh"),
    "gallon": ("gal",),
    "gram": ("g",),
    "kilogram": ("kg",),
    "pound": ("lb", "lbs"),
    "ounce": ("oz",),
    "liter": ("l", "litre"),
    "milliliter": ("ml", "millilitre"),
}
_UNITS = {alias: name for name, aliases in _UNIT_NAMES.items() for alias in (name, *aliases)}


def _unit(text: str) -> tuple[str, str | None] | None:
    """The known unit an answer ends with (or a leading dollar sign), spelled one way, and its power when one
    is written (`cm^3` and `cubic centimeters` are `("centimeter", "3")`); None if none."""
    text = text.strip().rstrip(".").strip()
    if re.match(r"\\?\$\s*-?\.?\d", text):
        return "dollar", None
    if re.search(r"(?:\^\s*\{?\s*\\circ\s*\}?|°)$", text):
        return "degree", None
    match = _UNIT_TEXT.search(text) or _UNIT_WORD.search(text)
    if not match:
        return None
    words, power = match.group(1).strip().lower().split(), match.group(2)
    if len(words) == 2 and words[0] in _POWERS:
        power, words = _POWERS[words[0]], words[1:]
    word = " ".join(words)
    name = _UNITS.get(word) or _UNITS.get(word[:-1] if word.endswith("s") else word)
    return (name, power) if name else None


def _different_units(gold: tuple[str, str | None], pred: tuple[str, str | None]) -> bool:
    """Different units, or different powers where both sides write one (`cm^2` and `cm` agree)."""
    return gold[0] != pred[0] or (None not in (gold[1], pred[1]) and gold[1] != pred[1])


_POWERS = {"square": "2", "sq": "2", "cubic": "3"}


_BASE = re.compile(r"\s*\(?([0-9A-Za-z]+)\)?\s*_\s*\{?\s*(\d+)\s*\}?\s*")


def _same_base(gold: str, pred: str) -> bool | None:
    """A number written in a base (`2516_8`): the same digits in the same base; None unless both sides are."""
    numbers = _BASE.fullmatch(gold), _BASE.fullmatch(pred)
    if not all(numbers):
        return None
    return all(a.upper() == b.upper() for a, b in zip(numbers[0].groups(), numbers[1].groups(), strict=True))


def _same_value(gold: list[Any], pred: list[Any], gold_text: str, pred_text: str) -> bool:
    """math-verify's verdict, or a decimal on either side that rounds the other's exact value."""
    from math_verify import verify

    return (
        bool(verify(gold, pred, timeout_seconds=None))
        or _rounded(gold, pred_text)
        or _rounded(pred, gold_text)
    )


def _same_rewritten(rewrite: Callable[[str], str | None], gold: str, pred: str) -> bool:
    """Compared again once `rewrite` has changed either side (it returns None for a side it leaves as is):
    for forms math-verify reads apart only in one direction."""
    new_gold, new_pred = rewrite(gold) or gold, rewrite(pred) or pred
    if (new_gold, new_pred) == (gold, pred):
        return False
    gold_parsed, pred_parsed = _parse(new_gold), _parse(new_pred)
    return bool(gold_parsed) and _same_value(gold_parsed, pred_parsed, new_gold, new_pred)


_PERCENT = re.compile(r"(-?(?:\d+(?:\.\d*)?|\.\d+))\s*\\?%")


def _same_percent(gold: str, pred: str) -> bool:
    """`12.5%` is 12.5, and `33.33\\%` rounds `33\\frac{1}{3}`, when the other side is a number that starts
    with a digit (math-verify reads `50\\%` as 0.5, and keeps that reading first); against anything else the
    percent stays (`0.5\\%` is not `\\frac12`)."""
    for percent, other in ((gold, pred), (pred, gold)):
        if _without_percent(percent) and not _without_percent(other) and re.match(r"\s*-?\d", other):
            return _same_rewritten(_without_percent, gold, pred)
    return False


def _without_percent(text: str) -> str | None:
    """The number of a percent (`12.5%` gives 12.5); None for anything else."""
    number = _PERCENT.fullmatch(text)
    return number.group(1) if number else None


_LESS = {"<": False, "<=": True, r"\le": True, r"\leq": True, r"\leqslant": True}
_GREATER = {">": False, ">=": True, r"\ge": True, r"\geq": True, r"\geqslant": True}
_OPERATOR = re.compile(r"\s*(<=|>=|<|>|\\[lg]eq?(?:slant)?(?![a-zA-Z]))\s*")


def _as_interval(text: str) -> str | None:
    """A relation of one variable as the interval it describes: `x \\geq 3` is `[3, \\infty)`, `-2 < x < 5`
    is `(-2, 5)`, and relations joined by "or" the union of theirs (`x \\le 1 \\text{ or } x \\ge 4`); None
    for anything else."""
    pieces = _OR.split(text)
    if len(pieces) > 1:
        intervals = [_as_interval(piece) for piece in pieces]
        return None if None in intervals else " \\cup ".join(str(interval) for interval in intervals)
    parts = _OPERATOR.split(text.strip())
    if len(parts) == 3:
        left, op, right = parts
        if re.fullmatch(r"[a-zA-Z]", left) and right:
            lower, upper = (None, (right, _LESS[op])) if op in _LESS else ((right, _GREATER[op]), None)
        elif re.fullmatch(r"[a-zA-Z]", right) and left:
            lower, upper = ((left, _LESS[op]), None) if op in _LESS else (None, (left, _GREATER[op]))
        else:
            return None
    elif len(parts) == 5 and re.fullmatch(r"[a-zA-Z]", parts[2]) and parts[0] and parts[4]:
        low, op1, _, op2, high = parts
        if op1 in _LESS and op2 in _LESS:
            lower, upper = (low, _LESS[op1]), (high, _LESS[op2])
        elif op1 in _GREATER and op2 in _GREATER:
            lower, upper = (high, _GREATER[op2]), (low, _GREATER[op1])
        else:
            return None
    else:
        return None
    start = f"{'[' if lower[1] else '('}{lower[0]}" if lower else "(-\\infty"
    end = f"{upper[0]}{']' if upper[1] else ')'}" if upper else "\\infty)"
    return f"{start}, {end}"


_OR = re.compile(r"\s*(?:\\text\{\s*or\s*\}|\bor\b|\\lor(?![a-zA-Z])|\\vee(?![a-zA-Z]))\s*")
_CHOICE = re.compile(r"\(\s*([A-E])\s*\)\s*(.*)|\(?([A-E])\)?", re.DOTALL)
_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}")


def _same_choice(gold: str, pred: str) -> bool | None:
    """Multiple choice: `\\textbf{(B) }12` is `B` and is `12`; `(C) 24` is `C`. None when neither side
    is a choice letter."""
    gold_choice, pred_choice = _choice(gold), _choice(pred)
    if gold_choice and pred_choice:
        return gold_choice[0] == pred_choice[0]
    if gold_choice and gold_choice[1]:
        return equivalent(gold_choice[1], pred)
    if pred_choice and pred_choice[1]:
        return equivalent(gold, pred_choice[1])
    return None


def _choice(text: str) -> tuple[str, str] | None:
    """`(letter, value)` of a choice written `B`, `(B)`, `\\text{(B)}` or `(B) 12`; one letter only."""
    plain = re.sub(r"\\[ ,;:!]|~|\\quad", " ", _WRAPPER.sub(r"\1", text)).strip()
    match = _CHOICE.fullmatch(plain)
    if not match:
        return None
    if match.group(3):
        return match.group(3), ""
    value = match.group(2).strip()
    return None if re.search(r"\(\s*[A-E]\s*\)", value) else (match.group(1), value)


_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])")
_DEGREES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)")
_UNIT_AFTER_NUMBER = re.compile(
    r"(?P<number>-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?)\s+(?:[a-zA-Z]{2,}(?:\^\d)?\.?\s*|m\^[23]\s*)+"
)
_SIMPLE_LHS = re.compile(
    r"^\s*[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?(?:\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\))?\s*=(?!=)"
)
_SYMBOLS = {
    "π": r"\pi ",
    "≥": r" \geq ",
    "≤": r" \leq ",
    "≠": r" \neq ",
    "=>": r" \geq ",
    "=<": r" \leq ",
    "°": r"^\circ",
    "−": "-",
    "×": r" \times ",
    "{:}": ":",
}
_MIXED = re.compile(r"(-?\d+)\s+(\d+)/(\d+)")
# Scientific notation in plain text: 1.5e-3, 2.5E6, 1.5 \times 10^-3.
_E_NOTATION = re.compile(r"(-?\d+(?:\.\d+)?)[eE]([-+]?\d+)")
_POWER_OF_TEN = re.compile(r"10\s*\^\s*([-+]?\d+)")
_ROOT = re.compile(r"√\s*(\d+(?:\.\d+)?|[a-zA-Z]|\{[^{}]*\})")
_PERCENT = re.compile(r"(-?(?:\d+(?:\.\d*)?|\.\d+))\s*\\?%")
# Digit groups split by a thin space or another spacing command: `20\,000`, `1\!234`, `10~000`.
_SPACED_THOUSANDS = re.compile(r"-?\d{1,3}(?:(?:\\[,!; ]|~|\s)\d{3})+(?:\.\d+)?")


def normalize(answer: str) -> str:
    """One spelling for forms math-verify reads apart: words after a number (`10 weeks`), a final period,
    `$` and thousands separators (commas, `\\,`), a simple left-hand side
    (`f(x) = 2x + 3` is `2x + 3`), Unicode relations, `√` and `°`, and degrees inside trigonometric
    functions (so that `\\sin(90^\\circ - x)` is `\\cos x`); number words (`\\text{three}`), a repeating
    decimal (`0.\\overline{3}`), set-builder notation (`\\{x \\mid x > 5\\}` is `x > 5`), a remainder's
    modulus (`n \\equiv 3 \\pmod 7` is 3), and matrices written as `smallmatrix` or `[[1, 2], [3, 4]]`."""
    text = _clean(answer)
    for symbol, latex in _SYMBOLS.items():
        text = text.replace(symbol, latex)
    text = _number_word(text) or _repeating_decimal(text) or text
    builder = _SET_BUILDER.fullmatch(text)
    text = builder.group(2) if builder else text
    text = _CONGRUENT.sub("", _MODULUS.sub("", text)).strip() or text
    text = _matrix(text)
    text = _ROOT.sub(lambda root: "\\sqrt{" + root.group(1).strip("{}") + "}", text)
    text = _E_NOTATION.sub(r"\1 \\times 10^{\2}", text) if _E_NOTATION.fullmatch(text) else text
    text = _POWER_OF_TEN.sub(r"10^{\1}", text)
    mixed = _MIXED.fullmatch(text)
    if mixed:
        whole, numerator, denominator = mixed.groups()
        text = f"{whole}\\frac{{{numerator}}}{{{denominator}}}"
    if _SPACED_THOUSANDS.fullmatch(text):
        text = re.sub(r"\\[,!; ]|~|\s", "", text)
    unit = _UNIT_AFTER_NUMBER.fullmatch(text)
    if unit:
        text = _clean(unit.group("number"))
    text = _values_of_one_variable(text) or text
    if "," not in text and text.count("=") == 1 and _SIMPLE_LHS.match(text):
        text = _SIMPLE_LHS.sub("", text).strip()
    if _TRIG.search(text):
        text = _DEGREES.sub(r"\\frac{\1\\pi}{180}", text)
    return text


def _number_word(text: str) -> str | None:
    """`twelve`, `\\text{twenty-one}` or `two hundred and five` as digits; None for anything else."""
    words = " ".join(_WRAPPER.sub(r"\1", text).split()).lower()
    high, low = re.fullmatch(r"(?:(.+?) hundred)?(?:\s*(?:and\s+)?(.+))?", words).groups()
    if (high is None and low is None) or any(w is not None and w not in _NUMBER_WORDS for w in (high, low)):
        return None
    if high is not None and not 1 <= _NUMBER_WORDS[high] <= 9:
        return None
    return str(100 * _NUMBER_WORDS.get(high or "", 0) + _NUMBER_WORDS.get(low or "", 0))


_DOTS = re.compile(r"(-?\d*)\.(\d*?)(\d)\3+\s*(?:\\ldots|\\dots|\.\.\.|…)")
_REPEATING = re.compile(r"(-?)(\d*)\.(\d*)\\(?:overline|bar)\s*\{\s*(\d+)\s*\}")


def _repeating_decimal(text: str) -> str | None:
    """`0.\\overline{3}` (or `0.333\\ldots`, one digit repeated) as the fraction it is (`\\frac{1}{3}`); None
    for anything else."""
    dots = _DOTS.fullmatch(text.strip())
    if dots:
        text = f"{dots.group(1)}.{dots.group(2)}\\overline{{{dots.group(3)}}}"
    match = _REPEATING.fullmatch(text.strip())
    if not match:
        return None
    sign, whole, fixed, period = match.groups()
    value = Fraction(int(whole or 0)) + Fraction(int(fixed or 0), 10 ** len(fixed))
    value += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


# Set-builder notation: `\{x \mid x > 5\}` is the relation `x > 5` (which Q12 reads as an interval).
_SET_BUILDER = re.compile(r"\s*\\\{\s*([a-zA-Z])\s*(?:\\mid|\||:)\s*(.*\1.*?)\s*\\\}\s*")
# A remainder given with its modulus: `3 \pmod{7}`, `3 \bmod 7`, `3 (\text{mod } 7)`, `n \equiv 3 \pmod 7`.
_MODULUS = re.compile(
    r"\s*(?:\\pmod\s*\{?\s*\w+\s*\}?|\\(?:bmod|mod)(?![a-zA-Z])\s*\{?\s*\w+\s*\}?"
    r"|\(\s*(?:\\text\{\s*mod\s*\}|\\?mod)\s*\w+\s*\))\s*$"
)
_CONGRUENT = re.compile(r"^\s*[a-zA-Z]\s*\\equiv\s*")
_SMALL = re.compile(
    r"\\left\s*([(\[])\s*\\begin\{smallmatrix\}(.*?)\\end\{smallmatrix\}\s*\\right\s*[)\]]"
    r"|\\begin\{smallmatrix\}(.*?)\\end\{smallmatrix\}",
    re.DOTALL,
)
_NESTED_LIST = re.compile(r"\[\s*(\[[^\[\]]*\](?:\s*,\s*\[[^\[\]]*\])*)\s*\]")
_COLUMN = re.compile(
    r"\\begin\{([pb])matrix\}((?:(?!&|\\end).)*)\\end\{\1matrix\}"
    r"|\\left\s*[(\[]\s*\\begin\{array\}\{c\}((?:(?!&|\\end).)*)\\end\{array\}\s*\\right\s*[)\]]",
    re.DOTALL,
)


def _matrix(text: str) -> str:
    """A `smallmatrix` (in `\\left( \\right)` or not) or a nested list `[[1, 2], [3, 4]]` as a `pmatrix`."""

    def small(match: re.Match[str]) -> str:
        kind = "b" if match.group(1) == "[" else "p"
        return f"\\begin{{{kind}matrix}}{match.group(2) or match.group(3)}\\end{{{kind}matrix}}"

    text = _SMALL.sub(small, text)
    text = re.sub(r"\\\\\s*\[\s*-?[\d.]+\s*(?:pt|em|ex|mm)\s*\]", r"\\\\", text)  # `\\[2pt]` only spaces rows
    nested = _NESTED_LIST.fullmatch(text.strip())
    if nested:
        rows = re.findall(r"\[([^\[\]]*)\]", nested.group(1))
        body = " \\\\ ".join(" & ".join(cell.strip() for cell in row.split(",")) for row in rows)
        text = f"\\begin{{pmatrix}} {body} \\end{{pmatrix}}"
    return text


def _as_tuple(text: str) -> str | None:
    """A one-column matrix or `\\langle 1, 2 \\rangle` as the tuple `(1, 2)`: one vector, written as a
    column or a tuple; None for anything else."""
    angle = re.fullmatch(r"\s*\\langle(.*)\\rangle\s*", text, re.DOTALL)
    if angle:
        return f"({angle.group(1).strip()})"
    column = _COLUMN.fullmatch(text.strip())
    if column:
        entries = [entry.strip() for entry in (column.group(2) or column.group(3)).split("\\\\")]
        if len([entry for entry in entries if entry]) > 1:
            return f"({', '.join(entry for entry in entries if entry)})"
    return None


def _values_of_one_variable(text: str) -> str | None:
    """`x = -3 or x = 2` (or `x = 5, x = -1`) as the list `-3, 2`; None unless every part gives the same
    single-letter variable a value."""
    parts = re.split(_LIST_SEPARATOR, text.strip())
    if len(parts) < 2:
        return None
    sides = [re.fullmatch(r"([a-zA-Z])\s*=(?!=)\s*(.+)", part) for part in parts]
    if not all(sides) or len({side.group(1) for side in sides}) != 1:
        return None
    return ", ".join(side.group(2).strip() for side in sides)


def _same_text(gold: str, pred: str) -> bool:
    """Literal agreement catches answers sympy cannot read (names, words) but that match as written."""
    return (
        "".join(_WRAPPER.sub(r"\1", gold).split()).lower()
        == "".join(_WRAPPER.sub(r"\1", pred).split()).lower()
    )


# `3:00 p.m.`, `15:30`, `11 a.m.` (without minutes only with a.m./p.m.).
_TIME = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?:(?P<half>[ap])\.?\s*m\.?)?", re.IGNORECASE)


def _same_time(gold: str, pred: str) -> bool | None:
    """Times of day: `3:00 p.m.` is `15:00`; a time without a.m./p.m. matches either half of the day.
    None when either side is not a time."""
    times = []
    for text in (gold, pred):
        plain = re.sub(r"\\text\{|\\mbox\{|\}|\\[,;! ]|~", " ", text).strip()
        match = _TIME.fullmatch(plain)
        if not match:
            return None
        if match["m"] is None and not match["half"]:
            return None  # a bare number is not a time
        hour, minute, half = int(match["h"]), int(match["m"] or 0), (match["half"] or "").lower()
        if hour > 23 or minute > 59 or (half and not 1 <= hour <= 12):
            return None
        times.append((hour % 12 + (12 if half == "p" else 0) if half else hour, minute, bool(half)))
    (gold_hour, gold_minute, gold_half), (pred_hour, pred_minute, pred_half) = times
    if gold_minute != pred_minute:
        return False
    bare_hour = pred_hour if gold_half else gold_hour
    if gold_half == pred_half or not 1 <= bare_hour <= 12:  # 19:15 is a 24-hour time: 7:15 p.m. only
        return gold_hour == pred_hour
    return gold_hour % 12 == pred_hour % 12


def _parse(text: str) -> list[Any]:
    """math-verify's reading of one extracted answer, boxed so that all of it is read as one expression."""
    from math_verify import parse

    return parse(f"\\boxed{{{text}}}", parsing_timeout=None)


@functools.lru_cache(maxsize=4096)
def _parse_gold(text: str) -> list[Any]:
    """Gold answers repeat (n samples per problem), so each is read once per worker."""
    return _parse(text)


def _rounded(exact: list[Any], decimal: str) -> bool:
    """A decimal with at least two places that is the exact value rounded (`0.33` for 1/3, `1.41` for
    `\\sqrt 2`); the exact side must not itself be a decimal (7.8 does not round 7.78)."""
    match = re.fullmatch(r"-?\d*\.(\d{2,})", decimal)
    if not match or not exact or not hasattr(exact[0], "is_number") or not exact[0].is_number:
        return False
    if getattr(exact[0], "is_Rational", False) and _terminates(int(exact[0].q)):
        return False  # 1/8 is 0.125, exactly: 0.12 and 0.13 only come near it
    if isinstance(exact[-1], str) and re.fullmatch(r"\s*-?\d*\.\d+\s*", exact[-1]):
        return False
    try:
        value = complex(exact[0].evalf(30))
    except (TypeError, ValueError):
        return False
    places = len(match.group(1))
    return value.imag == 0 and abs(value.real - float(decimal)) <= 0.5 * 10**-places * (1 + 1e-9)


def _terminates(denominator: int) -> bool:
    """Whether a fraction with this denominator has a finite decimal expansion (only 2s and 5s in it)."""
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _complex_equal(gold: list[Any], pred: list[Any]) -> bool:
    """`(1+2i)(3-i)` is `5+5i`: math-verify may read `i` as a variable; expand with i = sqrt(-1)."""
    import sympy

    if not gold or not pred or not all(isinstance(side[0], sympy.Expr) for side in (gold, pred)):
        return False
    symbols = {s for side in (gold[0], pred[0]) for s in side.free_symbols if s.name == "i"}
    if not symbols:
        return False
    unit = {s: sympy.I for s in symbols}
    try:
        return sympy.expand(gold[0].subs(unit) - pred[0].subs(unit)) == 0
    except (TypeError, ValueError, AttributeError):
        return False
