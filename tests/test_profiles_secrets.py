"""Secrets in profiles are references (env:NAME, file:/path), resolved when a connector is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import secrets
from gateway.errors import ConfigError
from gateway.profiles.load import build_connector, load_profiles, resolve_options
from gateway.profiles.profile import BuyerProfile, ChannelSpec


class TokenConnector:
    """A connector taking a secret option, for these tests."""

    name = "token"

    def __init__(self, url: str, api_token: str) -> None:
        self.url, self.api_token, self.channel = url, api_token, f"token:{url}"


TARGET = f"{__name__}:TokenConnector"


def test_literal_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """A literal secret in a profile fails naming file and key, and the value is not repeated."""
    (tmp_path / "acme.toml").write_text(
        f'default = true\n[channel]\nconnector = "{TARGET}"\n'
        'options = { url = "https://x", api_token = "hunter2-very-secret" }\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    text = str(caught.value)
    assert "acme.toml: channel.options.api_token: a secret must not be written" in text
    assert 'api_token = "env:VARIABLE"' in text
    assert "hunter2" not in text


def test_literal_secret_in_mapping_options_is_refused(tmp_path: Path) -> None:
    """A mapping option holding a secret (cXML shared_secret) must be a reference too."""
    (tmp_path / "ariba.toml").write_text(
        'default = true\nformat = "cxml"\n[options]\nshared_secret = "abc"\n'
        '[channel]\nconnector = "memory"\n'
    )
    with pytest.raises(ConfigError, match=r"options\.shared_secret: a secret must not be written"):
        load_profiles(tmp_path)


def test_reference_loads_and_resolves_at_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """env: references load unresolved; build_connector passes the resolved secret in."""
    (tmp_path / "acme.toml").write_text(
        f'default = true\n[channel]\nconnector = "{TARGET}"\n'
        'options = { url = "https://x", api_token = "env:ACME_TOKEN" }\n'
    )
    profile = load_profiles(tmp_path)["acme"]
    assert profile.channel is not None
    assert profile.channel.options["api_token"] == "env:ACME_TOKEN"
    monkeypatch.setenv("ACME_TOKEN", "s3cret")
    connector = build_connector(profile.channel)
    assert isinstance(connector, TokenConnector) and connector.api_token == "s3cret"


def test_resolve_env_file_and_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """resolve() reads env vars and files (final newline dropped) and names a missing reference."""
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("IGW_TEST_SECRET", "from-env")
    monkeypatch.delenv("IGW_TEST_ABSENT", raising=False)
    assert secrets.resolve("env:IGW_TEST_SECRET") == "from-env"
    assert secrets.resolve(f"file:{secret_file}") == "from-file"
    with pytest.raises(ConfigError, match="'env:IGW_TEST_ABSENT': environment variable"):
        secrets.resolve("env:IGW_TEST_ABSENT")
    with pytest.raises(ConfigError, match="cannot read"):
        secrets.resolve(f"file:{tmp_path / 'absent'}")
    with pytest.raises(ConfigError, match="expected 'env:NAME' or 'file:/path'"):
        secrets.resolve("vault:x")


def test_resolve_options_resolves_only_secret_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """resolve_options fills secret mapping options and leaves the others and the input as is."""
    monkeypatch.setenv("IGW_TEST_SHARED", "shh")
    profile = BuyerProfile(options={"shared_secret": "env:IGW_TEST_SHARED", "to_domain": "DUNS"})
    resolved = resolve_options(profile)
    assert resolved.options == {"shared_secret": "shh", "to_domain": "DUNS"}
    assert profile.options["shared_secret"] == "env:IGW_TEST_SHARED"


def test_build_connector_unknown_secret_names_reference() -> None:
    """Building a connector whose secret variable is unset fails naming the reference."""
    spec = ChannelSpec(connector=TARGET, options={"url": "u", "api_token": "env:IGW_NOT_SET_X"})
    with pytest.raises(ConfigError, match="IGW_NOT_SET_X"):
        build_connector(spec)


def test_secret_key_detection() -> None:
    """Keys naming passwords, tokens, keys and secrets are secret; ordinary keys are not."""
    for key in ("password", "passphrase", "api_token", "shared_secret", "private_key", "apikey"):
        assert secrets.is_secret_key(key), key
    for key in ("directory", "url", "sender_id", "create"):
        assert not secrets.is_secret_key(key), key
