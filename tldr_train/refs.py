"""Start a TLDR run: record pools, dev set, decoding protocol and training settings; measure the references.

The two reference points (T_s, A_s from the System-1 model; T_l, A_l from the original System-2 model) are
measured on the dev set with the protocol that every later round reuses, and the run folder gets its
`state.json`. A killed `refs` resumes its measurements when run again with the same settings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tldr_data import duck
from tldr_data.errors import ConfigError, OutputExistsError, SchemaError
from tldr_data.mix import REQUIRED
from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, References
from tldr_data.runstate import RunState
from tldr_data.schema import require_columns
from tldr_train.evaluate import Protocol, measure
from tldr_train.launch import generation_processes, launcher_argv

STATE = "state.json"
REFS = "refs"
# A round's training settings unless the run says otherwise: the paper's constant learning rate, which
# also keeps one schedule meaningful across rounds that continue one optimisation.
TRAINING_DEFAULTS = {"batch_size": 8, "grad_accum": 1, "lr_scheduler_type": "constant"}


def refs(
    short_model: str,
    long_model: str,
    short_pool: str | os.PathLike,
    long_pool: str | os.PathLike,
    dev: str | os.PathLike,
    output: str | os.PathLike,
    *,
    protocol: Protocol | None = None,
    eta: float = DEFAULT_ETA,
    c: float = DEFAULT_C,
    tol: float = 0.3,
    alpha0: float = 0.5,
    mode: str = "tldr",
    seed: int = 0,
    steps: int = 32,
    mix_size: int | None = None,
    training: dict[str, Any] | None = None,
    continuous: bool = True,
    launch: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Create the run folder `output` with the measured references; return the state as a dict.

    `mix_size` defaults to steps x batch size x gradient accumulation, i.e. one pass over each mixture.
    `training` holds sft.train's keyword settings (learning_rate, batch_size, ...), reused by every round;
    the learning rate is constant unless set otherwise, as in the paper. `continuous` carries optimizer,
    scheduler and step from round to round (False: each round starts a fresh optimizer). `launch` says how
    stages run: {"train": "torchrun --nproc_per_node 8", "data_parallel": 4, "tensor_parallel": 2}
    (default: everything in this process).
    """
    started = time.perf_counter()
    run = Path(output)
    _check_run_folder(run)
    training = {**TRAINING_DEFAULTS, **(training or {})}
    launch = _checked_launch(launch or {})
    if steps < 1:
        raise ConfigError(f"--steps {steps}: a round trains at least 1 step")
    size = mix_size or steps * training["batch_size"] * training["grad_accum"]
    if size < 1:
        raise ConfigError(f"--mix-size {size}: a mixture needs at least 1 row")
    # Settings are checked (by RunState) before the first minute of generation is spent.
    state = RunState(eta=float(eta), c=float(c), mode=mode, alpha0=float(alpha0), tol=float(tol), seed=seed)
    _check_inputs(short_pool, long_pool, dev)
    protocol = (protocol or Protocol()).resolved()
    processes = generation_processes({"launch": launch})
    short = measure(
        short_model, dev, run / REFS / "short", protocol, system="system1", progress=progress, **processes
    )
    long = measure(
        long_model, dev, run / REFS / "long", protocol, system="system2", progress=progress, **processes
    )
    try:
        state.references = References(
            short["mean_tokens"], short["accuracy"], long["mean_tokens"], long["accuracy"]
        )
    except ConfigError as err:
        raise ConfigError(f"{err} (see {run / REFS})") from None
    state.config = {
        "short_model": _located(short_model),
        "long_model": _located(long_model),
        "short_pool": _located(short_pool),
        "long_pool": _located(long_pool),
        "dev": _located(dev),
        "protocol": protocol.to_dict(),
        "steps": steps,
        "mix_size": size,
        "training": training,
        "continuous": continuous,
        "launch": launch,
        "reference_runs": {"short": _relative(short, run), "long": _relative(long, run)},
    }
    state.save(run / STATE)
    return {**state.to_dict(), "run": str(run), "seconds": round(time.perf_counter() - started, 3)}


def _checked_launch(launch: dict[str, Any]) -> dict[str, Any]:
    """The run's launch settings, checked now (launcher known, counts positive) rather than at round 0."""
    unknown = sorted(set(launch) - {"train", "data_parallel", "tensor_parallel"})
    if unknown:
        raise ConfigError(f"launch settings: unknown key(s) {', '.join(unknown)}")
    if launch.get("train"):
        launcher_argv(launch["train"])
    for key, flag in (("data_parallel", "--data-parallel"), ("tensor_parallel", "--tensor-parallel-size")):
        if launch.get(key, 1) < 1:
            raise ConfigError(f"{flag} {launch[key]}: must be at least 1")
    return {"train": None, "data_parallel": 1, "tensor_parallel": 1, **launch}


def _check_run_folder(run: Path) -> None:
    """A new folder, or one that a killed `refs` left with only its measurements in it."""
    if (run / STATE).exists():
        raise OutputExistsError(f"{run} already holds a run ({STATE}); choose another folder for a new run")
    if run.exists() and (not run.is_dir() or any(p.name != REFS for p in run.iterdir())):
        raise OutputExistsError(f"{run} exists and is not a run folder; choose a new folder for the run")


def _check_inputs(short_pool, long_pool, dev) -> None:
    """Pools need what `mix` reads; the dev set is `problems`. Found now, not after the references."""
    con = duck.connect()
    for label, path, required in [
        ("short pool", short_pool, None),
        ("long pool", long_pool, None),
        ("dev set", dev, "problems"),
    ]:
        names = duck.columns(con, duck.scan([path]))
        if required:
            require_columns(names, required, f"{label} {path}")
        else:
            missing = [name for name in REQUIRED if name not in names]
            if missing:
                raise SchemaError(
                    f"{label} {path}: missing column(s) {', '.join(missing)}; "
                    "build pools with `tldr-data select`"
                )


def _located(path: str | os.PathLike) -> str:
    """An absolute path for local files (rounds run from any directory), a hub id unchanged."""
    local = Path(path)
    return str(local.resolve()) if local.exists() else str(path)


def _relative(measurement: dict[str, Any], run: Path) -> dict[str, Any]:
    verified = Path(measurement["verified"]).relative_to(run)
    return {**measurement, "verified": str(verified)}
