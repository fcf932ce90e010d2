"""requests sessions whose every connection goes through the outbound-address guard (hub.sync.net).

    session = guarded_session(guard, proxy="http://proxy.example:3128")   # proxy optional

Each new TCP connection (to the service, or to the proxy when one is configured) is made by
``Guard.connect``: the host is resolved once, every address checked, and the socket opened to a checked
address, so DNS rebinding cannot slip an internal address in between the check and the connection; TLS
still verifies the certificate against the host name. The session ignores the environment
(``trust_env = False``: no HTTP(S)_PROXY, NO_PROXY, netrc or CA bundle from it), never follows a redirect
(a 3xx answer is returned as it is, whatever ``allow_redirects`` says), and speaks only http and https. A
proxy must be an http(s) URL that passes the guard like any other address (ConfigError naming ``proxy``
before any connection). Through a proxy, the proxy resolves the service's name; the service URL is
checked here before the request, but the proxy's own DNS answer is not (see docs/connectors.md).
"""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from hub.sync.net import Guard


class _Guarded:
    """The connect step of a urllib3 connection, made through the guard (mixed into HTTP and HTTPS)."""

    guard: Guard
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        def open_socket(address: tuple[str, int]) -> socket.socket:
            return urllib3_connection.create_connection(address, self.timeout, source_address=self.source_address,
                                                        socket_options=self.socket_options)
        try:
            return self.guard.connect(self._dns_host, self.port, None, what=f"{self._dns_host}:{self.port}",
                                      open_socket=open_socket)
        except TimeoutError as e:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                            f"(connect timeout={self.timeout})") from e
        except OSError as e:
            raise NewConnectionError(self, f"Failed to establish a new connection: {e}") from e  # type: ignore[arg-type]


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connection pools (direct and through a proxy) connect through ``guard``."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"guard": guard})
        https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"guard": guard})
        self.pools = {"http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
                      "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self.pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self.pools
        return manager


class GuardedSession(requests.Session):
    """A session that never follows a redirect: a 3xx answer is returned to the caller as it is."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None  # (max_redirects = 0 would raise TooManyRedirects even with allow_redirects=False)


def guarded_session(guard: Guard, proxy: str | None = None) -> GuardedSession:
    """A session that reaches only what ``guard`` allows, through ``proxy`` (checked first) when given."""
    session = GuardedSession()
    session.trust_env = False  # no proxies, NO_PROXY, netrc or CA settings from the environment
    for prefix in list(session.adapters):
        del session.adapters[prefix]
    adapter = GuardedAdapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if proxy:
        guard.check_url(proxy, what="proxy")
        session.proxies = {"http": proxy, "https": proxy}
    return session
