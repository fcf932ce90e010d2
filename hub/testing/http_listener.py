"""A loopback HTTP listener for tests of the outbound-address guard: it records every connection and request.

    with HttpListener() as listener:                      # http://127.0.0.1:PORT
        ...                                               # point a connector's proxy (or a redirect) at it
        assert listener.connections == 0                  # the guard refused before any byte was sent

A request in absolute form (``GET http://host:port/path``, as sent to a proxy) is forwarded to that
host, so the listener works as a plain HTTP proxy; with ``redirect`` set, every request is answered
``302 Location: <redirect>``; anything else gets 404. ``requests`` holds each request's head (request
line and headers, as received), so a test can see whether a bearer token reached it.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade"}


@dataclass
class HttpListener:
    """A threaded HTTP server on loopback that counts connections, keeps request heads and proxies or redirects."""

    host: str = "127.0.0.1"
    redirect: str | None = None
    port: int = 0
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpListener:
        listener = self

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with listener._lock:
                    listener.connections += 1
                return True

        self._httpd = _Server((self.host, self.port), _handler(self))
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> HttpListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def saw(self, text: str) -> bool:
        """Whether any request head received contained ``text``."""
        with self._lock:
            return any(text in head for head in self.requests)


def _handler(listener: HttpListener) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _any(self) -> None:
            with listener._lock:
                listener.requests.append(f"{self.requestline}\r\n{self.headers}")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if listener.redirect:
                self._answer(302, [("Location", listener.redirect)], b"")
            elif self.path.startswith(("http://", "https://")):
                self._forward(body)
            else:
                self._answer(404, [], b"not found")

        def _forward(self, body: bytes | None) -> None:
            target = urlsplit(self.path)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
            try:
                conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
                response = conn.getresponse()
                data = response.read()
                kept = [(k, v) for k, v in response.getheaders()
                        if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
                self._answer(response.status, kept, data)
            except (OSError, http.client.HTTPException) as e:
                self._answer(502, [], f"bad gateway: {e}".encode())
            finally:
                conn.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    return _Handler

