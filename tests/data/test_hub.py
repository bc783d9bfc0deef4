"""Pushing folders with the real huggingface_hub client against a loopback Hub, and with HF_TOKEN for real."""

from __future__ import annotations

import os
import uuid

import pytest

from tldr_data.errors import HubError, InputError
from tldr_data.hub import push


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "mix"
    (root / "data").mkdir(parents=True)
    (root / "README.md").write_text("---\ntags: [tldr]\n---\n# a mixture\n")
    (root / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    return root


def test_push_creates_repo_branch_and_uploads_every_file(fake_hub, folder) -> None:
    summary = push(folder, "me/tldr-mix", revision="round-003", private=True, backoff=0)
    assert summary["revision"] == "round-003" and summary["attempts"] == 3
    assert summary["files"] == ["README.md", "data/train-00000-of-00001.parquet"]
    assert fake_hub.repos["me/tldr-mix"]["visibility"] == "private"
    assert ("me/tldr-mix", "round-003") in fake_hub.branches
    uploaded = fake_hub.files[("me/tldr-mix", "round-003")]
    assert uploaded == {name: (folder / name).read_bytes() for name in summary["files"]}


def test_push_without_revision_goes_to_main_without_a_branch(fake_hub, folder) -> None:
    summary = push(folder, "me/tldr-mix", backoff=0)
    assert summary["revision"] == "main" and not fake_hub.branches
    assert set(fake_hub.files[("me/tldr-mix", "main")]) == {"README.md", "data/train-00000-of-00001.parquet"}


def test_push_retries_503_and_429(fake_hub, folder) -> None:
    # create_repo and create_branch surface 429/5xx to us; the commit is also retried inside huggingface_hub.
    fake_hub.fail["create"] = [503, 429]
    fake_hub.fail["branch"] = [502]
    fake_hub.fail["commit"] = [503]
    summary = push(folder, "me/tldr-mix", revision="round-001", backoff=0)
    assert summary["attempts"] == 6
    assert sum(1 for _, path in fake_hub.requests if path == "/api/repos/create") == 3
    assert sum(1 for _, path in fake_hub.requests if "/commit/" in path) == 2
    assert set(fake_hub.files[("me/tldr-mix", "round-001")]) == set(summary["files"])


def test_push_gives_up_after_the_retries(fake_hub, folder) -> None:
    fake_hub.fail["create"] = [503] * 3
    with pytest.raises(HubError, match=r"create_repo failed for .*mix -> me/tldr-mix: .*503"):
        push(folder, "me/tldr-mix", retries=3, backoff=0)
    assert sum(1 for _, path in fake_hub.requests if path == "/api/repos/create") == 3
    assert not fake_hub.files


def test_push_does_not_retry_a_refusal(fake_hub, folder) -> None:
    fake_hub.fail["create"] = [403, 403]
    with pytest.raises(HubError, match="create_repo failed"):
        push(folder, "me/tldr-mix", backoff=0)
    assert fake_hub.fail["create"] == [403]


def test_push_rejects_bad_arguments(tmp_path, folder) -> None:
    with pytest.raises(InputError, match="no such folder"):
        push(tmp_path / "missing", "me/x")
    with pytest.raises(InputError, match="expected a repository id ORG/NAME"):
        push(folder, "just-a-name")


@pytest.mark.requires_hf_token
@pytest.mark.skipif(not os.environ.get("HF_TOKEN"), reason="HF_TOKEN is not set: no real Hub push")
def test_real_push_to_the_hub(folder, monkeypatch) -> None:
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import HfApi

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    api = HfApi(token=os.environ["HF_TOKEN"])
    repo_id = f"{api.whoami()['name']}/tldr-test-{uuid.uuid4().hex[:8]}"
    try:
        summary = push(folder, repo_id, revision="round-000", private=True)
        files = api.list_repo_files(repo_id, repo_type="dataset", revision="round-000")
        assert set(summary["files"]) <= set(files)
    finally:
        api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)
