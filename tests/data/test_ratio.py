"""The TLDR update rule against hand-computed values and its properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tldr_data.errors import ConfigError
from tldr_data.ratio import References, benefits, update

# The paper's 7B reference points (Qwen2.5-7B-Instruct vs R1-Distill-Qwen-7B on the AIME dev set).
REFS_7B = References(t_short=1120.943, a_short=0.2890625, t_long=7379.605, a_long=0.755859)

alphas = st.floats(min_value=1e-6, max_value=1 - 1e-6)
accs = st.floats(min_value=0.0, max_value=1.0)
tokens = st.floats(min_value=0.0, max_value=1e6)
etas = st.floats(min_value=0.0, max_value=100.0)
cs = st.floats(min_value=0.0, max_value=0.5)


def test_hand_computed_update_too_long_goes_short() -> None:
    # b_short = (7000 - 1120.943) / 6258.662 = 0.939347, b_long = (0.755859 - 0.60) / 0.4667965 = 0.333891,
    # a_short = 1 / (1 + exp(-4 * (0.939347 - 0.333891))) = 0.918477, alpha = 0.9999 * a + 0.00005 = 0.918435.
    step = update(0.5, 0.60, 7000, REFS_7B, eta=4.0)
    assert step.b_short == pytest.approx(0.939347, abs=1e-6)
    assert step.b_long == pytest.approx(0.333891, abs=1e-6)
    assert step.alpha_short == pytest.approx(0.9184, abs=1e-4)
    assert step.alpha_long == pytest.approx(1 - 0.9184, abs=1e-4)


def test_hand_computed_update_lost_accuracy_goes_long() -> None:
    step = update(0.5, 0.45, 2000, REFS_7B, eta=4.0)
    assert step.b_short == pytest.approx(0.140454, abs=1e-6)
    assert step.b_long == pytest.approx(0.655230, abs=1e-6)
    assert step.alpha_short == pytest.approx(0.1132, abs=1e-4)


def test_benefits_clip_at_zero() -> None:
    assert benefits(REFS_7B, acc=0.9, tokens=500) == (0.0, 0.0)


def test_the_system2_point_is_too_long_and_gets_more_short_data() -> None:
    step = update(0.5, REFS_7B.a_long, REFS_7B.t_long, REFS_7B)
    assert (step.b_short, step.b_long) == (pytest.approx(1.0), 0.0)
    assert step.alpha_short > 0.98


def test_extreme_inputs_stay_finite() -> None:
    step = update(1e-12, 0.0, 1e12, REFS_7B, eta=1e6, c=0.0)
    assert step.alpha_short == 1.0 and step.alpha_long == pytest.approx(0.0, abs=1e-300)


@given(alpha=alphas, acc=accs, tok=tokens, eta=etas, c=cs)
def test_weights_sum_to_one_and_stay_in_floor(alpha, acc, tok, eta, c) -> None:
    step = update(alpha, acc, tok, REFS_7B, eta=eta, c=c)
    assert step.alpha_short + step.alpha_long == pytest.approx(1.0, abs=1e-12)
    for weight in (step.alpha_short, step.alpha_long):
        assert c / 2 - 1e-15 <= weight <= 1 - c / 2 + 1e-15


@given(alpha=alphas, acc=accs, tok=tokens, more=tokens, eta=etas)
def test_more_tokens_never_lowers_alpha_short(alpha, acc, tok, more, eta) -> None:
    low = update(alpha, acc, tok, REFS_7B, eta=eta).alpha_short
    high = update(alpha, acc, tok + more, REFS_7B, eta=eta).alpha_short
    assert high >= low


@given(alpha=alphas, acc=accs, more=accs, tok=tokens, eta=etas)
def test_more_accuracy_never_raises_alpha_long(alpha, acc, more, tok, eta) -> None:
    low = update(alpha, acc, tok, REFS_7B, eta=eta).alpha_long
    high = update(alpha, min(acc + more, 1.0), tok, REFS_7B, eta=eta).alpha_long
    assert high <= low


@given(alpha=alphas, c=cs, point=st.sampled_from(["ideal", "worst"]))
def test_equal_benefits_are_a_fixed_point_up_to_the_floor(alpha, c, point) -> None:
    # (T_s, A_l): nothing to fix; (T_l, A_s): both fully off. Either way b_short == b_long and only the
    # c-floor moves the weight, towards 1/2.
    acc, tok = (REFS_7B.a_long, REFS_7B.t_short) if point == "ideal" else (REFS_7B.a_short, REFS_7B.t_long)
    step = update(alpha, acc, tok, REFS_7B, c=c)
    assert step.b_short == pytest.approx(step.b_long)
    assert step.alpha_short == pytest.approx((1 - c) * alpha + c / 2, abs=1e-12)


def test_fixed_point_is_exact_without_floor() -> None:
    assert update(0.3, REFS_7B.a_long, REFS_7B.t_short, REFS_7B, c=0.0).alpha_short == pytest.approx(
        0.3, abs=1e-15
    )


@given(alpha=alphas, acc=accs, tok=tokens, eta=etas, c=cs)
def test_constant_mode_never_moves(alpha, acc, tok, eta, c) -> None:
    step = update(alpha, acc, tok, REFS_7B, eta=eta, c=c, mode="constant")
    assert step.alpha_short == alpha
    assert step.alpha_long == 1 - alpha


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"refs": (1000, 0.3, 1000, 0.7)}, "T_l == T_s"),
        ({"refs": (1000, 0.5, 7000, 0.5)}, "A_l == A_s"),
        ({"acc": math.nan}, "accuracy=nan is not a finite number"),
        ({"tokens": -1.0}, "tokens=-1.0 is negative"),
        ({"acc": 1.5}, "accuracy=1.5 is not in [0, 1]"),
        ({"alpha_short": 0.0}, "alpha_short=0.0 is outside (0, 1)"),
        ({"alpha_short": 1.0}, "alpha_short=1.0 is outside (0, 1)"),
        ({"eta": -1.0}, "eta=-1.0 is negative"),
        ({"c": 1.0}, "c=1.0 is outside [0, 1)"),
        ({"c": -0.1}, "c=-0.1 is outside [0, 1)"),
        ({"mode": "pid"}, "mode='pid' is unknown"),
    ],
)
def test_bad_configuration_is_a_config_error(kwargs, message) -> None:
    args = {"alpha_short": 0.5, "acc": 0.5, "tokens": 3000.0, "refs": tuple(vars(REFS_7B).values())} | kwargs
    with pytest.raises(ConfigError) as err:
        refs = References(*args.pop("refs"))
        update(args.pop("alpha_short"), args.pop("acc"), args.pop("tokens"), refs, **args)
    assert message in str(err.value)


def test_references_reject_nan_and_negative() -> None:
    with pytest.raises(ConfigError, match="t_short=nan"):
        References(math.nan, 0.3, 7000, 0.7)
    with pytest.raises(ConfigError, match="t_long=-5 is negative"):
        References(1000, 0.3, -5, 0.7)


def test_references_parse() -> None:
    assert References.parse("1120.943, 0.2890625,7379.605,0.755859") == REFS_7B
    with pytest.raises(ConfigError, match="expected 4 comma-separated numbers"):
        References.parse("1,2,3")
