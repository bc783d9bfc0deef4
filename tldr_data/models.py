"""Where a model comes from: a local folder, or a Hub id; a name that is neither is reported at once.

Without this check a missing folder reaches `from_pretrained`, which takes it for a Hub id and retries the
network for most of a minute before failing with a page of text. A name is meant as a local path when it
starts with `.`, `/` or `~`, ends with `/`, has more than one `/`, or starts with a folder that exists here
(`models/tiny` beside a `models/` folder). Under HF_HUB_OFFLINE a Hub id must be in the local Hub cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from tldr_data.errors import InputError

_TRUE = {"1", "on", "yes", "true"}


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
    if offline() and not _cached(name):
        raise InputError(
            f"{option} {name}: no such local folder, and HF_HUB_OFFLINE is set and the Hub cache "
            "does not hold it; pass a model folder, or unset HF_HUB_OFFLINE to download it"
        )


def _cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = [try_to_load_from_cache(repo_id, name) for name in ("config.json", "tokenizer_config.json")]
    except ValueError:
        return False
    return any(isinstance(path, str) for path in found)
