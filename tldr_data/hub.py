"""Upload a folder the toolkit wrote (a mixture) to a Hugging Face Hub dataset repository.

Each TLDR round pushes its mixture to its own branch (`round-003`), so every round's data stays addressable
by revision while `main` holds whatever the user pushes without one. The Hub answers bursts with 429 and
has transient 5xx; those are retried with exponential backoff, anything else fails at once.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tldr_data.errors import HubError, InputError

RETRYABLE = frozenset({429, 500, 502, 503, 504})
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")
T = TypeVar("T")


def push(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
) -> dict[str, Any]:
    """Create the dataset repo (and branch) if needed and upload `folder` to it; return what was pushed.

    `token` defaults to the HF_TOKEN environment variable, then to the token saved by `hf auth login`.
    `retries` counts attempts per Hub call; waits are `backoff * 2**attempt` seconds.
    """
    from huggingface_hub import HfApi

    source = Path(folder)
    if not source.is_dir():
        raise InputError(f"{source}: no such folder to push")
    if retries < 1:
        raise InputError(f"retries={retries}: need at least 1 attempt")
    token = check_push(repo_id, revision, token)
    api = HfApi(token=token)
    started = time.perf_counter()
    calls = _Retrying(retries, backoff, where=f"{source} -> {repo_id}")
    calls(api.create_repo, repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision:
        calls(api.create_branch, repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    commit = calls(
        api.upload_folder,
        folder_path=str(source),
        repo_id=repo_id,
        repo_type="dataset",
        revision=revision,
        commit_message=f"tldr: upload {source.name}" + (f" ({revision})" if revision else ""),
    )
    files = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    return {
        "repo_id": repo_id,
        "revision": revision or "main",
        "url": f"{api.endpoint}/datasets/{repo_id}" + (f"/tree/{revision}" if revision else ""),
        "commit_url": getattr(commit, "commit_url", None),
        "commit": getattr(commit, "oid", None),
        "files": files,
        "bytes": sum((source / name).stat().st_size for name in files),
        "attempts": calls.attempts,
        "seconds": round(time.perf_counter() - started, 3),
    }


def check_push(repo_id: str, revision: str | None = None, token: str | None = None) -> str:
    """Check a push's settings before any work is done for it; return the token to push with.

    `token` defaults to the HF_TOKEN environment variable, then to the token saved by `hf auth login`.
    """
    from huggingface_hub import get_token

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InputError(f"{repo_id!r}: expected a repository id ORG/NAME")
    if revision is not None and not _valid_branch(revision):
        raise InputError(
            f"--revision {revision!r}: not a valid branch name (letters, digits, `-`, `_`, `.` and `/` "
            "between parts; no spaces, `..` or leading/trailing `/`)"
        )
    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise InputError(
            "no Hugging Face token found: set HF_TOKEN, or run `hf auth login` (a token with write access)"
        )
    return token


def _valid_branch(name: str) -> bool:
    """A git branch name the Hub accepts: safe characters, no empty, dot-led or `.lock` parts."""
    parts = name.split("/")
    return (
        bool(_BRANCH.fullmatch(name))
        and all(part and not part.startswith(".") and not part.endswith(".lock") for part in parts)
        and ".." not in name
    )


class _Retrying:
    """Call Hub functions, retrying 429/5xx with exponential backoff; failures become one-line HubErrors."""

    def __init__(self, retries: int, backoff: float, where: str) -> None:
        self.retries, self.backoff, self.where = retries, backoff, where
        self.attempts = 0

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError

        tries = 0
        while True:
            tries += 1
            self.attempts += 1
            try:
                return fn(*args, **kwargs)
            except HfHubHTTPError as err:
                status = err.response.status_code if err.response is not None else None
                if status not in RETRYABLE or tries >= self.retries:
                    raise self._failed(fn, err) from err
            except httpx2.TransportError as err:
                if tries >= self.retries:
                    raise self._failed(fn, err) from err
            except (OSError, ValueError) as err:
                raise self._failed(fn, err) from err
            time.sleep(self.backoff * 2 ** (tries - 1))

    def _failed(self, fn: Callable, err: Exception) -> HubError:
        return HubError(f"{fn.__name__} failed for {self.where}: {_first_line(err)}")


def _first_line(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
