"""Guarded requests sessions against real loopback listeners: the checked address is the one connected to,
proxies and redirects cannot lead past the guard, and the environment's proxies are ignored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from hub.errors import ConfigError
from hub.sync.guarded_http import guarded_session
from hub.sync.net import Guard
from hub.testing.dns import FixedResolver
from hub.testing.http_listener import HttpListener


@pytest.fixture
def target() -> Iterator[HttpListener]:
    """The internal service an attacker wants to reach: 127.0.0.1."""
    with HttpListener("127.0.0.1") as server:
        yield server


@pytest.fixture
def allowed() -> Iterator[HttpListener]:
    """A server the instance may reach (allow_internal lists 127.0.0.2)."""
    with HttpListener("127.0.0.2") as server:
        yield server


def test_the_connection_goes_to_the_address_the_guard_checked(target: HttpListener) -> None:
    resolve = FixedResolver("127.0.0.1")
    session = guarded_session(Guard(("127.0.0.1",), resolve=resolve))
    response = session.get(f"http://hr.test:{target.port}/scim", timeout=5)  # the system cannot resolve hr.test
    assert response.status_code == 404 and target.saw("Host: hr.test")
    assert resolve.calls == ["hr.test"]


def test_a_name_that_rebinds_to_an_internal_address_is_refused(target: HttpListener) -> None:
    guard = Guard(("127.0.0.2",), resolve=FixedResolver("127.0.0.2", "127.0.0.1"))
    url = f"http://hr.test:{target.port}/scim"
    guard.check_url(url)  # the first answer passes the check ...
    with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1"):
        guarded_session(guard).get(url, timeout=5)  # ... the second is checked again, not trusted
    assert target.connections == 0


def test_a_redirect_to_an_internal_address_is_not_followed(target: HttpListener) -> None:
    with HttpListener("127.0.0.2", redirect=f"{target.url}/latest/meta-data/") as redirector:
        session = guarded_session(Guard(("127.0.0.2",)))
        for follow in (True, False):
            response = session.get(redirector.url, timeout=5, allow_redirects=follow)
            assert response.status_code == 302 and response.headers["Location"].startswith(target.url)
    assert target.connections == 0


def test_a_proxy_goes_through_the_guard(target: HttpListener, allowed: HttpListener) -> None:
    with pytest.raises(ConfigError, match=r"^proxy: refused: 127\.0\.0\.1 resolves to the internal address"):
        guarded_session(Guard(("127.0.0.2",)), proxy=target.url)
    assert target.connections == 0
    session = guarded_session(Guard(("127.0.0.2", "127.0.0.1")), proxy=target.url)
    assert session.get(f"{allowed.url}/x", timeout=5).status_code == 404
    assert target.saw(f"GET {allowed.url}/x") and allowed.saw("GET /x")  # forwarded by the proxy


def test_proxies_from_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch, target: HttpListener,
                                                  allowed: HttpListener) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, target.url)
    monkeypatch.setenv("NO_PROXY", "")
    assert guarded_session(Guard(("127.0.0.2",))).get(f"{allowed.url}/x", timeout=5).status_code == 404
    assert allowed.connections == 1 and target.connections == 0


def test_an_https_request_tunnels_through_the_proxy_the_guard_checked(target: HttpListener) -> None:
    resolve = FixedResolver("127.0.0.1")
    guard = Guard(("proxy.test", "127.0.0.2"), resolve=resolve)
    session = guarded_session(guard, proxy=f"http://proxy.test:{target.port}")  # a name only the guard resolves
    with pytest.raises(requests.exceptions.ProxyError):  # the listener does not speak CONNECT
        session.get("https://127.0.0.2:4443/x", timeout=5)
    assert target.connections == 1
    assert resolve.calls == ["proxy.test", "proxy.test"]  # checked when configured and again when connecting
