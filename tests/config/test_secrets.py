"""Secrets: $VAR interpolation, the keyring, the 0600 file fallback, and where a provider's key comes from."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest

from config import secrets
from config.errors import SecretError
from config.secrets import FileStore, SecretStore, env_reference, interpolate, mask, provider_key


class BrokenKeyring(keyring.backend.KeyringBackend):
    """Looks usable, then fails on use: a locked desktop keyring, or one with no way to prompt for its password."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.InitError("Prompt dismissed")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """The headless case: keyring's fail backend, as subprocess tests get via PYTHON_KEYRING_BACKEND."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- $VAR interpolation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "var"),
    [
        ("$ZAI_API_KEY", "ZAI_API_KEY"),
        ("${ZAI_API_KEY}", "ZAI_API_KEY"),
        ("  $X  ", "X"),
        ("$_under", "_under"),
        ("$1BAD", None),
        ("${X", None),
        ("$X}", None),
        ("pre$X", None),
        ("$X-Y", None),
        ("sk-ant-123", None),
        ("", None),
        (None, None),
    ],
)
def test_env_reference(raw: str | None, var: str | None) -> None:
    assert env_reference(raw) == var


def test_interpolate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCM_T_SET", "value")
    monkeypatch.setenv("CCM_T_EMPTY", "")
    assert interpolate("$CCM_T_SET") == "value"
    assert interpolate("${CCM_T_SET}") == "value"
    assert interpolate("$CCM_T_EMPTY") is None  # empty counts as unset
    assert interpolate("$CCM_T_UNSET") is None
    assert interpolate("literal$CCM_T_SET") == "literal$CCM_T_SET"
    assert interpolate(None) is None


@pytest.mark.parametrize(
    ("secret", "shown"),
    [(None, "(none)"), ("", "(none)"), ("short", "………"), ("sk-ant-api03-abcdefgh1234", "sk-…1234")],
)
def test_mask_never_shows_the_secret(secret: str | None, shown: str) -> None:
    assert mask(secret) == shown


# -- the keyring ------------------------------------------------------------------------------------------
def test_keyring_store_round_trip(memory_keyring: keyring.backend.KeyringBackend) -> None:
    store = SecretStore()
    assert store.set("provider:zai", "k1") == "keyring"
    assert store.lookup("provider:zai") == ("k1", "keyring")
    assert memory_keyring.get_password("ccm", "provider:zai") == "k1"
    assert store.backend_name == "keyring"
    assert store.delete("provider:zai") is True
    assert store.delete("provider:zai") is False
    assert store.lookup("provider:zai") == (None, None)
    assert not store.file.path.exists()  # the file is never created while the keyring works


def test_setting_in_the_keyring_removes_a_stale_file_copy() -> None:
    store = SecretStore()
    store.file.set("provider:zai", "old")
    store.set("provider:zai", "new")
    assert store.file.get("provider:zai") is None
    assert store.get("provider:zai") == "new"


def test_move_keeps_a_secret_across_a_rename() -> None:
    store = SecretStore()
    store.set("provider:zai", "k")
    assert store.move("provider:zai", "provider:z") is True
    assert store.get("provider:z") == "k" and store.get("provider:zai") is None
    assert store.move("provider:none", "provider:x") is False


# -- the 0600 file fallback --------------------------------------------------------------------------------
@pytest.mark.usefixtures("no_keyring")
def test_fallback_file_is_0600_in_a_0700_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "new-home" / "secrets.json"
    store = SecretStore(FileStore(path))
    with caplog.at_level(logging.WARNING, logger="ccm.secrets"):
        assert store.set("provider:zai", "k1") == "file"
        assert store.set("provider:kimi", "k2") == "file"
        assert store.get("provider:zai") == "k1"
        assert store.where("provider:kimi") == "file"
        assert store.delete("provider:kimi") is True
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert json.loads(path.read_text()) == {"provider:zai": "k1"}
    assert store.backend_name == f"file ({path})"
    warnings = [r for r in caplog.records if r.name == "ccm.secrets"]
    assert len(warnings) == 1  # once per process, however many calls
    assert "fail.Keyring" in warnings[0].getMessage() and str(path) in warnings[0].getMessage()
    assert "k1" not in caplog.text and "k2" not in caplog.text


@pytest.mark.usefixtures("no_keyring")
def test_fallback_rewrites_atomically(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secrets.json"
    files = FileStore(path)
    files.set("a", "1")
    path.chmod(0o644)  # a copy someone made readable: the next write is 0600 again
    inode = path.stat().st_ino
    files.set("b", "2")
    assert path.stat().st_ino != inode  # a new file renamed over the old one, never rewritten in place
    assert _mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.json", "secrets.json.lock"]  # no temp file left


def test_failed_rewrite_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "home" / "secrets.json"
    files = FileStore(path)
    files.set("a", "1")
    before = path.read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        files.set("b", "2")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.json", "secrets.json.lock"]


def test_unreadable_file_is_an_error_and_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    for content in ("[1, 2]", "{not json"):
        path.write_text(content)
        with pytest.raises(SecretError, match="cannot read"):
            FileStore(path).set("a", "1")
        assert path.read_text() == content


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.null.Keyring(),  # silently drops writes: must not be used
        keyring.backends.fail.Keyring(),
        keyring.backends.chainer.ChainerBackend(),  # chains nothing usable here
    ],
    ids=["null", "fail", "empty-chainer"],
)
def test_unusable_backends_fall_back_to_the_file(
    backend: keyring.backend.KeyringBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chainer chains every installed backend class of priority > 0 (test classes included): none here.
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [])
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        store = SecretStore()
        assert store.set("provider:zai", "k") == "file"
        assert store.lookup("provider:zai") == ("k", "file")
    finally:
        keyring.set_keyring(previous)


def test_keyring_failing_on_use_falls_back_once(caplog: pytest.LogCaptureFixture) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        store = SecretStore()
        with caplog.at_level(logging.WARNING, logger="ccm.secrets"):
            assert store.set("provider:zai", "k") == "file"
            assert store.get("provider:zai") == "k"
            assert store.delete("provider:zai") is True
        assert [r.getMessage().split(";")[0] for r in caplog.records] == ["no usable OS keyring (InitError)"]
    finally:
        keyring.set_keyring(previous)


# -- provider_key: where a provider's key comes from ---------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "env", "in_keyring", "in_file", "expected"),
    [
        ("sk-literal", {"Z": "from-var", "ZAI_API_KEY": "from-env"}, True, True, ("sk-literal", "config file")),
        ("$Z", {"Z": "from-var", "ZAI_API_KEY": "from-env"}, True, True, ("from-var", "$Z")),
        ("${Z}", {"Z": "from-var"}, True, False, ("from-var", "$Z")),
        ("$Z", {"ZAI_API_KEY": "from-env"}, True, True, ("from-keyring", "keyring")),  # $Z unset: go on
        (None, {"ZAI_API_KEY": "from-env"}, True, True, ("from-keyring", "keyring")),
        (None, {"ZAI_API_KEY": "from-env"}, False, True, ("from-file", "secrets.json")),
        (None, {"ZAI_API_KEY": "from-env"}, False, False, ("from-env", "$ZAI_API_KEY")),
        ("$Z", {}, False, False, (None, "missing")),
        (None, {}, False, False, (None, "missing")),
    ],
    ids=["literal", "var", "braced-var", "unset-var", "keyring", "file", "name-env", "unset-nothing", "nothing"],
)
def test_provider_key_resolution_order(
    monkeypatch: pytest.MonkeyPatch,
    raw: str | None,
    env: dict[str, str],
    in_keyring: bool,
    in_file: bool,
    expected: tuple[str | None, str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = secrets.store()
    if in_keyring:
        store.set("provider:zai", "from-keyring")
    if in_file:
        store.file.set("provider:zai", "from-file")
    assert provider_key("zai", raw, "ZAI_API_KEY") == expected


@pytest.mark.usefixtures("no_keyring")
def test_provider_key_from_the_file_when_no_keyring_works() -> None:
    secrets.store().set("provider:zai", "k")
    assert provider_key("zai", None, "ZAI_API_KEY") == ("k", "secrets.json")
    assert provider_key("zai", "$ZAI_UNSET", "ZAI_API_KEY") == ("k", "secrets.json")


def test_credentials_written_into_a_url_are_found_and_masked() -> None:
    url = "https://bob:hunter2-long-password@gw.example/v1?api-version=2024-10-21&key=AIzaSecretValue123456"
    assert secrets.url_secrets(url) == ["hunter2-long-password", "AIzaSecretValue123456"]
    shown = secrets.shown_url(url)
    assert shown == "https://bob:…word@gw.example/v1?api-version=2024-10-21&key=…3456"
    assert secrets.shown_url("https://api.example/v1") == "https://api.example/v1" and secrets.shown_url(None) is None
