"""The proxy password is a secret: masked wherever the config shows, used only on the wire, and
never written in an operation file or a profile (``${VARIABLE}`` instead, as for SQL urls)."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from _hostile_server import HostileServer, hostile_server
from coupa_connector import Connection
from coupa_connector.client import ConnectionConfig, SecretURL
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations import OperationFileError, OpLog, load_operation_file
from coupa_connector.operations._runner import Runner

PASSWORD = "pr0xy-pa55-that-must-not-leak"
PROXY = f"http://proxyuser:{PASSWORD}@proxy.example.com:3128"


@pytest.fixture(scope="module")
def proxy() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


def _config(proxy_url: str, **kw: object) -> ConnectionConfig:
    return ConnectionConfig(
        "https://acme.coupahost.com",
        client_id="cid",
        client_secret="s3cret",  # type: ignore[arg-type]
        proxy=proxy_url,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_the_password_is_masked_wherever_the_config_shows() -> None:
    config = _config(PROXY)
    assert isinstance(config.proxy, SecretURL)
    shown = [
        repr(config),
        str(config),
        repr(vars(config)),
        str(vars(config)),
        repr(config.__getstate__()),  # type: ignore[attr-defined]
        json.dumps(vars(config), default=str),
        f"{config.proxy}",
    ]
    for text in shown:
        assert PASSWORD not in text
        assert "proxyuser:**********@proxy.example.com:3128" in text
    assert config.proxy.get_secret_value() == PROXY
    # Worker processes get the config pickled: the proxy must still work there.
    again = pickle.loads(pickle.dumps(config))
    assert again == config and again.proxy is not None
    assert again.proxy.get_secret_value() == PROXY
    # The log scrubber is seeded with it.
    assert PASSWORD in config.secrets()


def test_a_bad_proxy_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        _config(f"ftp://proxyuser:{PASSWORD}@proxy.example.com")
    assert "is not a proxy URL" in str(caught.value) and PASSWORD not in str(caught.value)


def test_requests_go_through_the_proxy_and_logs_never_show_the_password(
    proxy: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    url = f"http://proxyuser:{PASSWORD}@127.0.0.1:{port}"
    config = ConnectionConfig(
        "http://coupa.example.test",
        api_key="k3y-value",  # type: ignore[arg-type]
        proxy=url,  # type: ignore[arg-type]
        allow_http=True,
        rate_limit=None,
    )
    before = len(proxy.proxied)
    with caplog.at_level(logging.DEBUG), Connection(config) as conn:
        assert conn.request("GET", "/api/suppliers", params={"limit": 1}) == []
    [(target, headers)] = proxy.proxied[before:]
    assert target == "http://coupa.example.test/api/suppliers?limit=1"
    sent = base64.b64decode(headers["Proxy-Authorization"].split()[1]).decode()
    assert sent == f"proxyuser:{PASSWORD}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and PASSWORD not in logged


def write(tmp_path: Path, text: str, name: str = "ops.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


OPS = """
    vars: {out: "OUT", pw: from-the-file}
    connection:
      url: http://coupa.example.test
      allow_http: true
      api_key_env: PROXY_TEST_API_KEY
      rate_limit: null
      proxy: "PROXY_URL"
    operations:
      suppliers:
        source: {type: coupa.query, object: suppliers}
        target: {type: file, path: "${out}/suppliers.jsonl"}
"""


def ops_file(tmp_path: Path, proxy_url: str) -> Path:
    text = OPS.replace("PROXY_URL", proxy_url).replace("OUT", str(tmp_path))
    return write(tmp_path, text)


@pytest.mark.parametrize(
    ("proxy_url", "source"),
    [
        (PROXY, "the url"),
        ("http://proxyuser:${pw}@proxy.example.com:3128", "vars: in the file"),
    ],
)
def test_a_written_proxy_password_is_refused_by_validate_and_run(
    tmp_path: Path, proxy_url: str, source: str
) -> None:
    path = ops_file(tmp_path, proxy_url)
    with pytest.raises(OperationFileError) as caught:
        load_operation_file(path)
    [problem] = caught.value.problems
    assert problem.line == 7
    assert problem.message == (
        f"connection: proxy: a password in {source}; secrets never go in an operation file. "
        "Write it as ${VARIABLE} (e.g. http://proxyuser:${PROXY_PASSWORD}@proxy.example.com:3128)"
        " and set the environment variable or pass --var"
    )
    for command in ("validate", "run"):
        done = subprocess.run(
            [sys.executable, "-m", "coupa_connector", command, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (command, done.stderr)
        assert "connection: proxy: a password in" in done.stderr
        assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_proxy_password_from_a_variable_is_used_and_masked_in_the_debug_log(
    proxy: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    path = ops_file(tmp_path, f"http://proxyuser:${{PROXY_PASSWORD}}@127.0.0.1:{port}")
    monkeypatch.setenv("PROXY_TEST_API_KEY", "k3y-value")
    with pytest.raises(OperationFileError, match=r"\$\{PROXY_PASSWORD\} is not set"):
        load_operation_file(path)
    before = len(proxy.proxied)
    opfile = load_operation_file(path, {"PROXY_PASSWORD": PASSWORD})
    with OpLog(tmp_path / "log.sqlite") as log:
        [result] = Runner(opfile, oplog=log, debug=True, debug_dir=tmp_path).run()
    assert result.status == "success", result
    seen = [headers["Proxy-Authorization"] for _target, headers in proxy.proxied[before:]]
    assert seen and all(
        base64.b64decode(h.split()[1]).decode() == f"proxyuser:{PASSWORD}" for h in seen
    )
    assert result.debug_log is not None
    text = Path(result.debug_log).read_text()
    assert "GET /api/suppliers" in text and PASSWORD not in text


def profile_file(tmp_path: Path, proxy_url: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(
        "[profiles.acme]\n"
        'url = "https://acme.coupahost.com"\n'
        'client_id = "cid"\n'
        'client_secret_env = "ACME_SECRET"\n'
        f'proxy = "{proxy_url}"\n'
    )
    return path


def test_a_profile_takes_the_proxy_password_only_from_the_environment(tmp_path: Path) -> None:
    env = {"ACME_SECRET": "s3cret", "PROXY_PASSWORD": PASSWORD}
    literal = profile_file(tmp_path, PROXY, "literal.toml")
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig.from_profile("acme", literal, env)
    message = str(caught.value)
    assert "proxy: a password in the url; secrets never go in a profile" in message
    assert "${VARIABLE}" in message and PASSWORD not in message
    indirect = profile_file(
        tmp_path, "http://proxyuser:${PROXY_PASSWORD}@proxy.example.com:3128", "indirect.toml"
    )
    config = ConnectionConfig.from_profile("acme", indirect, env)
    assert config.proxy is not None and config.proxy.get_secret_value() == PROXY
    with pytest.raises(ConfigurationError, match=r"\$\{PROXY_PASSWORD\} is not set"):
        ConnectionConfig.from_profile("acme", indirect, {"ACME_SECRET": "s3cret"})
    # Through the CLI: a clean error and exit 2, the password nowhere.
    ops = ops_file(tmp_path, "http://proxy.example.com:3128")
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", "run", str(ops), "--profile", "acme"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COUPA_CONFIG_FILE": str(literal), **env},
    )
    assert done.returncode == 2 and "secrets never go in a profile" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr
