"""Connection settings: validation, safe reprs, environment variables and profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupa_connector.client import ConnectionConfig, RateLimit, RetryPolicy, SecretStr, Timeout
from coupa_connector.errors import ConfigurationError

SECRET = "very-secret-value-123"


def test_secret_str_never_shows_its_value() -> None:
    s = SecretStr(SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s) and SECRET not in f"{s}"
    assert s.get_secret_value() == SECRET
    assert s == SecretStr(SECRET) and s != SecretStr("other")


def test_repr_is_safe_to_paste() -> None:
    cfg = ConnectionConfig(
        "acme.coupahost.com",
        client_id="cid",
        client_secret=SECRET,  # type: ignore[arg-type]
        api_key="key-" + SECRET,  # type: ignore[arg-type]
        proxy="http://user:pw-" + SECRET + "@proxy.local:3128",
    )
    text = repr(cfg)
    assert SECRET not in text and "**********" in text
    assert "https://acme.coupahost.com" in text and "cid" in text


def test_url_normalisation_and_token_url_default() -> None:
    cfg = ConnectionConfig("acme.coupacloud.com/", client_id="a", client_secret=SECRET)  # type: ignore[arg-type]
    assert cfg.url == "https://acme.coupacloud.com"
    assert cfg.resolved_token_url == "https://acme.coupacloud.com/oauth2/token"
    assert cfg.auth_mode == "oauth"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80"])
def test_plain_http_allowed_on_loopback(url: str) -> None:
    assert ConnectionConfig(url, api_key=SECRET).url == url  # type: ignore[arg-type]


def test_plain_http_refused_elsewhere_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        ConnectionConfig("http://acme.example.com", api_key=SECRET)  # type: ignore[arg-type]
    cfg = ConnectionConfig("http://acme.example.com", api_key=SECRET, allow_http=True)  # type: ignore[arg-type]
    assert cfg.url.startswith("http://")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "No credentials"),
        ({"client_id": "x"}, "client_secret is missing"),
        ({"api_key": SECRET, "wire_format": "yaml"}, "wire_format"),
        ({"api_key": SECRET, "concurrency": 0}, "concurrency"),
        ({"api_key": SECRET, "rate_limit": -1.0}, "rate_limit"),
        ({"api_key": SECRET, "ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConnectionConfig("https://acme.coupahost.com", **kwargs)  # type: ignore[arg-type]


def test_value_objects() -> None:
    assert Timeout.of(5) == Timeout(5, 5, 5, 5)
    assert RateLimit() == RateLimit(25.0, 20)
    cfg = ConnectionConfig("https://a.coupahost.com", api_key=SECRET, max_retries=2)  # type: ignore[arg-type]
    assert cfg.retry == RetryPolicy(max_retries=2)
    assert cfg.rate == RateLimit(25.0, 20)
    assert cfg.secrets() == (SECRET,)


def test_from_env() -> None:
    env = {
        "COUPA_URL": "https://acme.coupahost.com",
        "COUPA_CLIENT_ID": "cid",
        "COUPA_CLIENT_SECRET": SECRET,
        "COUPA_SCOPES": "core.invoice.read, core.supplier.read",
        "COUPA_TIMEOUT": "12",
        "COUPA_RATE_LIMIT": "off",
        "COUPA_CONCURRENCY": "4",
        "COUPA_VERIFY": "false",
        "COUPA_WIRE_FORMAT": "XML",
    }
    cfg = ConnectionConfig.from_env(env)
    assert cfg.scopes == ("core.invoice.read", "core.supplier.read")
    assert cfg.timeout == Timeout.of(12) and cfg.rate_limit is None and cfg.concurrency == 4
    assert cfg.verify is False and cfg.wire_format == "xml"
    assert cfg.client_secret is not None and cfg.client_secret.get_secret_value() == SECRET


def test_from_env_names_the_bad_variable() -> None:
    with pytest.raises(ConfigurationError, match="COUPA_CONCURRENCY"):
        ConnectionConfig.from_env(
            {"COUPA_URL": "https://a.coupahost.com", "COUPA_CONCURRENCY": "many"}
        )
    with pytest.raises(ConfigurationError, match="COUPA_URL"):
        ConnectionConfig.from_env({})


def test_profiles(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        'default_profile = "acme"\n'
        "[profiles.acme]\n"
        'url = "https://acme.coupahost.com"\n'
        'client_id = "cid"\n'
        'client_secret_env = "ACME_SECRET"\n'
        'scopes = ["core.invoice.read"]\n'
        "rate_limit = 10.0\n"
        "[profiles.bad]\n"
        'url = "https://b.coupahost.com"\n'
        'api_key = "k-123456"\n'
        "colour = 1\n"
    )
    cfg = ConnectionConfig.from_profile(path=file, environ={"ACME_SECRET": SECRET})
    assert cfg.client_secret == SecretStr(SECRET) and cfg.rate_limit == 10.0
    with pytest.raises(ConfigurationError, match="ACME_SECRET"):
        ConnectionConfig.from_profile("acme", path=file, environ={})
    with pytest.raises(ConfigurationError, match="unknown key 'colour'"):
        ConnectionConfig.from_profile("bad", path=file, environ={})
    with pytest.raises(ConfigurationError, match="profiles: acme, bad"):
        ConnectionConfig.from_profile("nope", path=file, environ={})
    env = {
        "COUPA_PROFILE": "acme",
        "COUPA_CONFIG_FILE": str(file),
        "ACME_SECRET": SECRET,
        "COUPA_CONCURRENCY": "3",
    }
    cfg = ConnectionConfig.from_env(env)
    assert cfg.client_id == "cid" and cfg.concurrency == 3


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('allow_http = "false"', "allow_http must be true or false, not 'false'"),
        ('verify = "false"', "verify must be true or false"),
        ('concurrency = "eight"', "concurrency must be a whole number"),
        ("concurrency = true", "concurrency must be a whole number"),
        ('rate_limit = "fast"', "rate_limit must be a number"),
        ("scopes = 5", "scopes must be text or a list of text"),
        ("timeout = 0\nallow_http = true", "timeout connect must be a positive number"),
        ("timeout = -2.5\nallow_http = true", "timeout connect must be a positive number"),
        ('timeout = "soon"', "timeout must be a number of seconds"),
    ],
)
def test_profile_values_of_the_wrong_type_are_named_not_trusted(
    tmp_path: Path, setting: str, message: str
) -> None:
    # TOML keeps "false" a string, which Python would take as true: plain http would slip in.
    file = tmp_path / "config.toml"
    file.write_text(f'[profiles.p]\nurl = "http://example.com"\napi_key = "k-123456"\n{setting}\n')
    with pytest.raises(ConfigurationError, match=message):
        ConnectionConfig.from_profile("p", path=file, environ={})


def test_the_default_profile_serves_when_the_environment_names_nothing(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        'default_profile = "sb"\n[profiles.sb]\nurl = "http://127.0.0.1:9"\napi_key = "k-1"\n'
    )
    cfg = ConnectionConfig.from_env({"COUPA_CONFIG_FILE": str(file)})
    assert cfg.url == "http://127.0.0.1:9"
    # The environment still wins when it names an instance.
    env = {"COUPA_CONFIG_FILE": str(file), "COUPA_URL": "http://localhost:8", "COUPA_API_KEY": "x"}
    assert ConnectionConfig.from_env(env).url == "http://localhost:8"
    with pytest.raises(ConfigurationError, match="COUPA_URL is not set"):
        ConnectionConfig.from_env({"COUPA_CONFIG_FILE": str(tmp_path / "none.toml")})
