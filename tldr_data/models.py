"""Where a model comes from: a local folder, or a Hub id; a name that is neither is reported at once.

Without this check a missing folder reaches `from_pretrained`, which takes it for a Hub id and retries the
network for most of a minute before failing with a page of text. A name is meant as a local path when it
starts with `.`, `/` or `~`, ends with `/`, has more than one `/`, or starts with a folder that exists here
(`models/tiny` beside a `models/` folder). Under HF_HUB_OFFLINE a Hub id must be in the local Hub cache;
otherwise one quick request (no retries) asks the Hub whether the id exists, so a machine without network says
so in a second (a missing `models/tiny` whose `models/` folder is missing too looks like a Hub id).
"""

from __future__ import annotations

import os
from pathlib import Path

from tldr_data.errors import InputError

_TRUE = {"1", "on", "yes", "true"}
HUB_PROBE_TIMEOUT_S = 10.0


def looks_local(name: str) -> bool:
    """True when `name` can only be meant as a local path (it cannot be, or is unlikely to be, a Hub id)."""
    if name.startswith((".", "/", "~")) or name.endswith("/") or name.count("/") > 1:
        return True
    head, sep, _ = name.partition("/")
    return bool(sep) and Path(head).is_dir()


def offline() -> bool:
    """The user asked for no network (HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE)."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def check_model(name: str, option: str) -> None:
    """Raise InputError naming `option` when `name` is no model folder here and cannot be fetched."""
    path = Path(name).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise InputError(f"{option} {name}: is a file; give a model folder or a Hub model id")
    if looks_local(name):
        raise InputError(f"{option} {name}: no such model folder")
    if _cached(name):
        return
    if offline():
        raise InputError(
            f"{option} {name}: no such local folder, and HF_HUB_OFFLINE is set and the Hub cache "
            "does not hold it; pass a model folder, or unset HF_HUB_OFFLINE to download it"
        )
    problem = _hub_problem(name)
    if problem:
        raise InputError(f"{option} {name}: no such local folder, and {problem}")


def _cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = [try_to_load_from_cache(repo_id, name) for name in ("config.json", "tokenizer_config.json")]
    except ValueError:
        return False
    return any(isinstance(path, str) for path in found)


def _hub_problem(repo_id: str) -> str | None:
    """Why the Hub cannot serve `repo_id`, from one request without retries; None when it can (or may)."""
    from huggingface_hub import model_info
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    try:
        model_info(repo_id, timeout=HUB_PROBE_TIMEOUT_S)
    except GatedRepoError:
        return None  # it exists; the loader reports the access it needs
    except RepositoryNotFoundError:
        return "the Hub has no such model (or it is private and no token is set)"
    except HFValidationError:
        return "it is not a valid Hub model id either"
    except HfHubHTTPError:
        return None  # the Hub answered with another error; the loader retries and reports it
    except Exception as err:  # noqa: BLE001 - any transport failure (DNS, refused, timeout) means the same
        return (
            f"the Hub cannot be reached ({type(err).__name__}); pass a model folder, "
            "or set HF_HUB_OFFLINE=1 to use the Hub cache only"
        )
    return None
