"""The run folder: its layout, its state file and the only code that writes that file.

A TLDR run is one folder:

    RUN/state.json           references, settings and every round's update (RunState below)
    RUN/refs/{short,long}/   the reference measurements (refs.py)
    RUN/round-NNN/mix/       the round's mixture (tldr-data mix's folder)
    RUN/round-NNN/ckpt/      the round's checkpoint (tldr-train sft's folder)
    RUN/round-NNN/dev/       the round's dev measurement (traces/ + verified.parquet; logs/ of its processes)
    RUN/round-NNN/logs/      train.log, when training runs through a launcher (torchrun, accelerate launch)
    RUN/round-NNN/test/      the round's held-out measurement, where `sweep --test` took one
                             (`tldr-train eval`'s folder; its done-marker holds eval's summary)
    RUN/sweep/ratio-R/       the static baseline at short-pool weight R beside the run (sweep.py),
                             itself a run folder in this layout

Every stage output above is finished when its done-marker (tldr_data.done, `<output>.done.json`) exists.
`refs`, `rounds`, `pick` and `report` import this module, not each other. State layout, version 1:

    {
      "version": 1,
      "references": {"t_short": 1120.9, "a_short": 0.289, "t_long": 7379.6, "a_long": 0.756} | null,
      "eta": 4.0, "c": 0.0001, "mode": "tldr", "alpha0": 0.5, "tol": 0.3, "seed": 0,
      "config": {...free-form: pools, dev set, decoding protocol...},
      "history": [
        {"round": 0, "alpha_short": 0.5, "dev_accuracy": 0.6, "dev_tokens": 7000.0,
         "b_short": 0.94, "b_long": 0.33, "next_alpha_short": 0.918,
         "checkpoint": "round-000/ckpt", "mixture": "round-000/mix", ...extra keys...}
      ]
    }

`alpha_short` in a history entry is the weight the round trained with; `next_alpha_short` is the weight the
next round trains with, so the current ratio is the last entry's `next_alpha_short` (or `alpha0`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tldr_data.atomic import write_json
from tldr_data.errors import ConfigError, InputError, OutputExistsError, SchemaError
from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, References, Update, check_alpha, check_settings, update

VERSION = 1
STATE = "state.json"
REFS = "refs"
SWEEP = "sweep"
MIX, CKPT, DEV, LOGS, TEST = "mix", "ckpt", "dev", "logs", "test"
DEFAULT_TOL = 0.3
DEFAULT_ALPHA0 = 0.5
DEFAULT_RATIOS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the static sweep's short-pool weights


def check_tol(tol: float, name: str = "tol") -> None:
    """tol is the accepted accuracy loss of the checkpoint choice: a fraction of A_l in [0, 1]."""
    if not 0.0 <= tol <= 1.0:
        raise ConfigError(f"{name} {tol}: outside [0, 1]; it is the accepted accuracy loss (paper: 0.3)")


@dataclass
class RunState:
    """References, settings and history of one TLDR run; `RunState.load`/`save` map it to JSON."""

    references: References | None = None
    eta: float = DEFAULT_ETA
    c: float = DEFAULT_C
    mode: str = "tldr"
    alpha0: float = DEFAULT_ALPHA0
    tol: float = DEFAULT_TOL
    seed: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = VERSION

    def __post_init__(self) -> None:
        check_settings(eta=self.eta, c=self.c, mode=self.mode)
        check_alpha(self.alpha0, self.mode)
        check_tol(self.tol)

    @property
    def current_alpha(self) -> float:
        """The short-pool weight the next round trains with."""
        return self.history[-1]["next_alpha_short"] if self.history else self.alpha0

    @property
    def next_round(self) -> int:
        """The number of the round that has not run yet."""
        return self.history[-1]["round"] + 1 if self.history else 0

    def record(
        self,
        acc: float,
        tokens: float,
        *,
        round: int | None = None,
        checkpoint: str | None = None,
        mixture: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Apply the update rule to a finished round's dev metrics and append the entry to the history.

        Rounds only move forward: recording a round number that is not after the last one is refused, so that
        re-running a finished step cannot duplicate it.
        """
        if self.references is None:
            raise ConfigError("the run state has no references yet; run `tldr-train init` first")
        number = self.next_round if round is None else round
        if self.history and number <= self.history[-1]["round"]:
            raise ConfigError(
                f"round {number} is not after the last recorded round {self.history[-1]['round']}; "
                "it is already in the history"
            )
        step: Update = update(
            self.current_alpha, acc, tokens, self.references, eta=self.eta, c=self.c, mode=self.mode
        )
        entry = {
            "round": number,
            "alpha_short": self.current_alpha,
            "dev_accuracy": acc,
            "dev_tokens": tokens,
            "b_short": step.b_short,
            "b_long": step.b_long,
            "next_alpha_short": step.alpha_short,
            "checkpoint": checkpoint,
            "mixture": mixture,
            **extra,
        }
        self.history.append(entry)
        return entry

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, `version` first."""
        body = asdict(self)
        return {"version": body.pop("version"), **body}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the state atomically, so a killed process leaves the previous state intact."""
        return write_json(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "run state") -> RunState:
        """Build a state from its JSON object, rejecting unknown versions and keys by name."""
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected a JSON object")
        version = data.get("version")
        if version != VERSION:
            raise SchemaError(
                f"{where}: unsupported run state version {version!r}; this tldr reads version {VERSION}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            names = ", ".join(key if key.isprintable() else repr(key) for key in unknown)
            raise SchemaError(f"{where}: unknown key(s) {names}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if values.get("references") is not None:
            try:
                values["references"] = References(**values["references"])
            except ConfigError as err:
                raise ConfigError(f"{where}: {err}") from None
            except TypeError as err:
                raise SchemaError(
                    f"{where}: references must have t_short, a_short, t_long, a_long ({err})"
                ) from None
        check_schema(data, STATE_SCHEMA, where)
        rounds = [entry["round"] for entry in values.get("history", [])]
        if any(later <= earlier for earlier, later in zip(rounds, rounds[1:], strict=False)):
            raise SchemaError(f"{where}: history rounds {rounds} do not go strictly upwards")
        try:
            return cls(**values)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunState:
        """Read a state file; a missing or malformed file is an input error naming it."""
        source = Path(path)
        if not source.is_file():
            raise InputError(f"{source}: no such run state file")
        try:
            data = json.loads(source.read_text(encoding="utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as err:
            raise SchemaError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except (json.JSONDecodeError, ValueError) as err:
            raise SchemaError(f"{source}: not valid JSON ({err})") from None
        return cls.from_dict(data, where=str(source))


_NUMBER = {"type": "number"}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_TEXT = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 1}
# Every key a state file may hold, with its JSON type; a history entry's keys are all required, since
# choosing, reporting and continuing rounds read each of them.
ENTRY_SCHEMA = {
    "type": "object",
    "required": [
        "round",
        "alpha_short",
        "dev_accuracy",
        "dev_tokens",
        "b_short",
        "b_long",
        "next_alpha_short",
        "checkpoint",
    ],
    "properties": {
        "round": {"type": "integer", "minimum": 0},
        "alpha_short": _FRACTION,
        "dev_accuracy": _FRACTION,
        "dev_tokens": {"type": "number", "minimum": 0},
        "b_short": _NUMBER,
        "b_long": _NUMBER,
        "next_alpha_short": _FRACTION,
        "checkpoint": _TEXT,
        "mixture": {"type": ["string", "null"]},
    },
}
STATE_SCHEMA = {
    "type": "object",
    "properties": {
        "references": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["t_short", "a_short", "t_long", "a_long"],
                    "additionalProperties": False,
                    "properties": {name: _NUMBER for name in ("t_short", "a_short", "t_long", "a_long")},
                },
            ]
        },
        "eta": _NUMBER,
        "c": _NUMBER,
        "mode": _TEXT,
        "alpha0": _FRACTION,
        "tol": _FRACTION,
        "seed": {"type": "integer"},
        "config": {"type": "object"},
        "history": {"type": "array", "items": ENTRY_SCHEMA},
    },
}
CONFIG_SCHEMA = {
    "type": "object",
    "properties": {
        "short_model": _TEXT,
        "long_model": _TEXT,
        "short_pool": _TEXT,
        "long_pool": _TEXT,
        "dev": _TEXT,
        "protocol": {"type": "object"},
        "steps": _COUNT,
        "mix_size": _COUNT,
        "training": {"type": "object"},
    },
}


def check_schema(data: Any, schema: dict[str, Any], where: str, prefix: str = "") -> None:
    """Validate JSON data against a schema; the first problem becomes one SchemaError naming the key."""
    import jsonschema

    strict = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=strict)(schema)
    errors = list(validator.iter_errors(data))
    if not errors:
        return
    first = jsonschema.exceptions.best_match(errors)
    path = prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.path)
    path = path.lstrip(".") or "the file"
    if first.validator == "required":
        same = [e for e in errors if e.validator == "required" and list(e.path) == list(first.path)]
        missing = [name for e in same for name in e.validator_value if name not in e.instance]
        raise SchemaError(f"{where}: {path}: missing key(s) {', '.join(dict.fromkeys(missing))}")
    raise SchemaError(f"{where}: {path}: {first.message}")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def round_folder(run: str | os.PathLike, number: int) -> Path:
    """`RUN/round-NNN`: where round `number` keeps its mixture, checkpoint and dev measurement."""
    return Path(run) / f"round-{number:03d}"


def ratio_folder(run: str | os.PathLike, ratio: float) -> Path:
    """`RUN/sweep/ratio-R`: the static run at short-pool weight `ratio` (`ratio-0.25`, `ratio-1`)."""
    return Path(run) / SWEEP / f"ratio-{ratio:g}"


def swept_ratios(run: str | os.PathLike) -> list[float]:
    """The ratios of the static runs beside `run`, ascending."""
    folders = (Path(run) / SWEEP).glob("ratio-*")
    return sorted(
        float(folder.name.removeprefix("ratio-")) for folder in folders if (folder / STATE).is_file()
    )


def load(run: str | os.PathLike, *needs: str) -> RunState:
    """The run's state, with a next step in the message when the folder is not a run yet.

    `needs` are the `config` keys the caller reads (the protocol is always needed); each must be there,
    of its type (CONFIG_SCHEMA), or the state is refused naming the key, before any work starts.
    """
    folder = Path(run)
    if not (folder / STATE).is_file():
        raise InputError(
            f"{folder}: not a run folder (no {STATE}); start it with `tldr-train init -o {folder}`"
        )
    state = RunState.load(folder / STATE)
    if state.references is None:
        raise InputError(f"{folder / STATE}: has no references yet; start the run with `tldr-train init`")
    missing = [key for key in ("protocol", *needs) if key not in state.config]
    if missing:
        raise SchemaError(
            f"{folder / STATE}: config.{missing[0]} is missing (`tldr-train init` records it); "
            "the state file is incomplete"
        )
    check_schema(state.config, CONFIG_SCHEMA, str(folder / STATE), prefix="config")
    return state


def save(run: str | os.PathLike, state: RunState) -> Path:
    """Write `RUN/state.json`; the last step of every command that changes a run."""
    return state.save(Path(run) / STATE)


def check_new(run: str | os.PathLike) -> None:
    """A new folder, or one that a killed `init` left with only its reference measurements in it."""
    folder = Path(run)
    if (folder / STATE).exists():
        raise OutputExistsError(
            f"{folder} already holds a run ({STATE}); choose another folder for a new run"
        )
    if folder.exists() and (not folder.is_dir() or any(p.name != REFS for p in folder.iterdir())):
        raise OutputExistsError(f"{folder} exists and is not a run folder; choose a new folder for the run")


def record_round(
    run: str | os.PathLike, acc: float, tokens: float, *, checkpoint: str, mixture: str | None = None
) -> dict[str, Any]:
    """Record a round trained outside `tldr-train round`: apply the update and append it to the history.

    `checkpoint` is required because the next round continues from it.
    """
    state = load(run)
    entry = state.record(acc, tokens, checkpoint=checkpoint, mixture=mixture)
    save(run, state)
    return entry
