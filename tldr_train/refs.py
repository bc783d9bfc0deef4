"""Start a TLDR run: record pools, dev set, decoding protocol and training settings; measure the references.

The two reference points (T_s, A_s from the System-1 model; T_l, A_l from the original System-2 model) are
measured on the dev set with the protocol that every later round reuses, and the run folder gets its
`state.json`. A killed `init` resumes its measurements when run again with the same settings.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tldr_data import duck
from tldr_data.errors import ConfigError, SchemaError
from tldr_data.mix import REQUIRED
from tldr_data.models import check_model
from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, References
from tldr_data.schema import require_columns
from tldr_train import run
from tldr_train.evaluate import Protocol, measure
from tldr_train.launch import Launch
from tldr_train.run import DEFAULT_ALPHA0, DEFAULT_TOL, REFS, RunState
from tldr_train.training import Training


def init_run(
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
    tol: float = DEFAULT_TOL,
    alpha0: float = DEFAULT_ALPHA0,
    mode: str = "tldr",
    seed: int = 0,
    steps: int = 32,
    mix_size: int | None = None,
    training: Training | None = None,
    continuous: bool = True,
    launch: Launch | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Create the run folder `output` with the measured references; return the state as a dict.

    `mix_size` defaults to steps x batch size x gradient accumulation, i.e. one pass over each mixture.
    `protocol`, `training` and `launch` (how stages run: a training launcher, K generation processes) are
    recorded in the state and reused by every round. `continuous` carries the optimizer, schedule and step
    from round to round (False: each round starts a fresh optimizer).
    """
    started = time.perf_counter()
    folder = Path(output)
    run.check_new(folder)
    training = training or Training()
    launch = launch or Launch()
    launch.check()
    if steps < 1:
        raise ConfigError(f"--steps {steps}: a round trains at least 1 step")
    size = mix_size or steps * training.batch_size * training.grad_accum
    if size < 1:
        raise ConfigError(f"--mix-size {size}: a mixture needs at least 1 row")
    # Settings are checked (by RunState) before the first minute of generation is spent.
    state = RunState(eta=float(eta), c=float(c), mode=mode, alpha0=float(alpha0), tol=float(tol), seed=seed)
    _check_inputs(short_pool, long_pool, dev)
    check_model(str(short_model), "--short-model")
    check_model(str(long_model), "--long-model")
    protocol = (protocol or Protocol()).resolved()
    processes = launch.generation()
    short = measure(
        short_model, dev, folder / REFS / "short", protocol, system="system1", progress=progress, **processes
    )
    long = measure(
        long_model, dev, folder / REFS / "long", protocol, system="system2", progress=progress, **processes
    )
    try:
        state.references = References(
            short["mean_tokens"], short["accuracy"], long["mean_tokens"], long["accuracy"]
        )
    except ConfigError as err:
        raise ConfigError(f"{err} (see {folder / REFS})") from None
    state.config = {
        "short_model": _located(short_model),
        "long_model": _located(long_model),
        "short_pool": _located(short_pool),
        "long_pool": _located(long_pool),
        "dev": _located(dev),
        "protocol": protocol.to_dict(),
        "steps": steps,
        "mix_size": size,
        "training": asdict(training),
        "continuous": continuous,
        "launch": asdict(launch),
        "reference_runs": {"short": _relative(short, folder), "long": _relative(long, folder)},
    }
    run.save(folder, state)
    return {**state.to_dict(), "run": str(folder), "seconds": round(time.perf_counter() - started, 3)}


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


def _relative(measurement: dict[str, Any], folder: Path) -> dict[str, Any]:
    verified = Path(measurement["verified"]).relative_to(folder)
    return {**measurement, "verified": str(verified)}
