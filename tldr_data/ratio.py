"""The TLDR update rule: how the short/long mixture weight moves after each dev evaluation.

Pure functions, no I/O (docs/ALGORITHM.md, "Update rule"):

    b_short = max((tok - T_s) / |T_l - T_s|, 0)     # still too long   -> more short data
    b_long  = max((A_l - acc) / |A_l - A_s|, 0)     # lost accuracy    -> more long data
    a       = softmax(log(alpha_prev) + eta * [b_short, b_long])
    alpha   = (1 - c) * a + c / 2

The rule is an integral controller: the weights stop moving where the normalised length excess equals the
normalised accuracy deficit (`b_short == b_long`), e.g. at the ideal point (T_s, A_l). The System-2 model's
own point (T_l, A_l) is *not* at rest: it is too long (b_short = 1), so it gets more short data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tldr_data.errors import ConfigError

MODES = ("tldr", "constant")
DEFAULT_ETA = 4.0
DEFAULT_C = 1e-4

# math.exp overflows just above 709.78; clamping the exponent there keeps the logistic finite and monotone.
_MAX_EXP = 709.0


@dataclass(frozen=True)
class References:
    """Mean dev tokens and accuracy of the System-1 model (short) and the original System-2 model (long)."""

    t_short: float
    a_short: float
    t_long: float
    a_long: float

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            _require_finite(f"references {name}", value)
        for name in ("t_short", "t_long"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"references {name}={getattr(self, name)} is negative; token means are >= 0"
                )
        for name in ("a_short", "a_long"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"references {name}={getattr(self, name)} is not an accuracy in [0, 1]")
        if self.t_long == self.t_short:
            raise ConfigError(
                f"degenerate references: T_l == T_s == {self.t_long} tokens, so length cannot be normalised; "
                "measure both models on the same dev set again"
            )
        if self.a_long == self.a_short:
            raise ConfigError(
                f"degenerate references: A_l == A_s == {self.a_long}, so accuracy cannot be normalised; "
                "measure both models on the same dev set again"
            )

    @classmethod
    def parse(cls, text: str) -> References:
        """Read `T_S,A_S,T_L,A_L` (the order of the `--refs` option)."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 4:
            raise ConfigError(f"--refs {text!r}: expected 4 comma-separated numbers T_S,A_S,T_L,A_L")
        try:
            values = [float(part) for part in parts]
        except ValueError:
            raise ConfigError(
                f"--refs {text!r}: expected 4 comma-separated numbers T_S,A_S,T_L,A_L"
            ) from None
        return cls(*values)


@dataclass(frozen=True)
class Update:
    """The next mixture weights and the two benefits that moved them."""

    alpha_short: float
    alpha_long: float
    b_short: float
    b_long: float


def benefits(refs: References, acc: float, tokens: float) -> tuple[float, float]:
    """(b_short, b_long): normalised length excess and accuracy deficit, both clipped at 0."""
    _check_measurement(acc, tokens)
    b_short = max((tokens - refs.t_short) / abs(refs.t_long - refs.t_short), 0.0)
    b_long = max((refs.a_long - acc) / abs(refs.a_long - refs.a_short), 0.0)
    return b_short, b_long


def update(
    alpha_short: float,
    acc: float,
    tokens: float,
    refs: References,
    *,
    eta: float = DEFAULT_ETA,
    c: float = DEFAULT_C,
    mode: str = "tldr",
) -> Update:
    """One TLDR step from the ratio a round trained with and that round's dev accuracy and mean tokens.

    `mode="constant"` is the static-mixture baseline: benefits are reported, the ratio does not move.
    """
    check_settings(eta=eta, c=c, mode=mode)
    check_alpha(alpha_short, mode)
    b_short, b_long = benefits(refs, acc, tokens)
    if mode == "constant":
        return Update(alpha_short, 1.0 - alpha_short, b_short, b_long)
    # The softmax of two log-weights is the logistic of their difference (the log-odds). Computing each side
    # from the log-odds never forms exp of a large logit, so it cannot overflow, and it is monotone in each
    # benefit, floating-point rounding included.
    log_odds = (math.log(alpha_short) - math.log1p(-alpha_short)) + eta * b_short - eta * b_long
    a_short = 1.0 / (1.0 + math.exp(min(-log_odds, _MAX_EXP)))
    a_long = 1.0 / (1.0 + math.exp(min(log_odds, _MAX_EXP)))
    return Update((1.0 - c) * a_short + c / 2, (1.0 - c) * a_long + c / 2, b_short, b_long)


def check_settings(*, eta: float, c: float, mode: str) -> None:
    """Reject settings the rule cannot use, naming the setting."""
    _require_finite("eta", eta)
    if eta < 0:
        raise ConfigError(f"eta={eta} is negative; it is a step size >= 0 (paper: 4)")
    _require_finite("c", c)
    if not 0.0 <= c < 1.0:
        raise ConfigError(
            f"c={c} is outside [0, 1); it is the floor mass that keeps both pools alive (paper: 1e-4)"
        )
    if mode not in MODES:
        raise ConfigError(f"mode={mode!r} is unknown; choose one of: {', '.join(MODES)}")


def check_alpha(alpha_short: float, mode: str = "tldr") -> None:
    """The TLDR rule's short-pool weight lies strictly inside (0, 1): the update takes its log.

    A constant mixture takes no log, so it may hold one pool only (0 or 1, the ends of a static sweep).
    """
    _require_finite("alpha_short", alpha_short)
    if mode == "constant" and 0.0 <= alpha_short <= 1.0:
        return
    if not 0.0 < alpha_short < 1.0:
        raise ConfigError(f"alpha_short={alpha_short} is outside (0, 1); both pools need a positive weight")


def _check_measurement(acc: float, tokens: float) -> None:
    _require_finite("accuracy", acc)
    _require_finite("tokens", tokens)
    if not 0.0 <= acc <= 1.0:
        raise ConfigError(f"accuracy={acc} is not in [0, 1]")
    if tokens < 0:
        raise ConfigError(f"tokens={tokens} is negative; it is a mean completion length")


def _require_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} is not a finite number")
