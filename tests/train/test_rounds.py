"""tldr_train.rounds: the ratio each round trains with follows from the previous round's dev metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tldr_data.ratio import References, update
from tldr_train.rounds import run_round

pytestmark = pytest.mark.slow


def test_two_rounds_follow_the_update_rule(run_copy: Path):
    first = run_round(run_copy)
    second = run_round(run_copy)
    state = json.loads((run_copy / "state.json").read_text())
    refs = References(**state["references"])
    assert state["history"] == [first, second]
    assert first["alpha_short"] == state["alpha0"] == 0.5
    for previous, entry in zip(state["history"], state["history"][1:], strict=False):
        expected = update(
            previous["alpha_short"], previous["dev_accuracy"], previous["dev_tokens"], refs, eta=state["eta"], c=state["c"]
        )
        assert entry["alpha_short"] == pytest.approx(expected.alpha_short, abs=1e-12)
    print(json.dumps(state, indent=1)[:3000])
