"""Chaos, SSRF: internal targets a connector could be configured with, each of which the guard must refuse.

Every target goes through the one outbound-address guard (`hub.sync.net.Guard`) as a connector URL, and,
for the proxy cases, as the SCIM connector's ``proxy`` setting: a listener on loopback stands in for an
internal service, and it must receive nothing (the bearer token least of all).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from hub.errors import ConfigError, HubError
from hub.sync.net import Guard

#: Hosts that name this machine, its private networks, link-local, carrier-grade NAT (which holds a cloud
#: metadata address), reserved and multicast ranges, and the IPv6 forms that embed an internal IPv4 address.
HOSTS = [
    "127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "017700000001", "0.0.0.0", "0",
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200",
    "192.0.0.1", "198.18.0.1", "240.0.0.1", "224.0.0.1", "255.255.255.255",
    "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:100.64.0.1]",
    "[64:ff9b::a9fe:a9fe]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[2002:a9fe:a9fe::]", "[fe80::1]",
    "[fc00::1]", "[fd00:ec2::254]", "[fec0::1]", "[ff02::1]", "[::127.0.0.1]",
]
URL_TRICKS = [
    "http://user@127.0.0.1/", "http://127.0.0.1#@example.com/", "http://127.0.0.1:80\\@example.com/",
    "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://127.0.0.1/", "dict://127.0.0.1:6379/info",
]


@dataclass
class SsrfReport:
    tried: int = 0
    refused: int = 0
    proxy_tried: int = 0
    proxy_refused: int = 0
    leaked_bytes: int = 0
    problems: list[str] = field(default_factory=list)


class Listener:
    """A TCP listener on loopback that counts the bytes anyone sends it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def _refused(url: str) -> bool:
    try:
        Guard().check_url(url)
    except ConfigError:
        return True
    return False


def _scim_through_proxy(proxy: str) -> bool:
    """Whether a SCIM instance whose proxy is ``proxy`` is refused (before anything is sent)."""
    from connectors.hr.scim import ScimConnector

    config = {"url": "https://scim.example.com/scim/v2", "token": "chaos-bearer-token", "proxy": proxy,
              "timeout": 2}
    try:
        connector = ScimConnector(config)
        connector.check()
    except HubError:
        return True
    except Exception:  # a refusal must be a HubError; anything else counts as not refused
        return False
    return False


def run() -> SsrfReport:
    report = SsrfReport()
    for host in HOSTS:
        for url in (f"http://{host}/", f"https://{host}:8443/scim/v2"):
            report.tried += 1
            if _refused(url):
                report.refused += 1
            else:
                report.problems.append(f"ssrf: {url} passed the guard")
    for url in URL_TRICKS:
        report.tried += 1
        if _refused(url):
            report.refused += 1
        else:
            report.problems.append(f"ssrf: {url} passed the guard")
    listener = Listener()
    try:
        for proxy in (f"http://127.0.0.1:{listener.port}", f"http://[::ffff:127.0.0.1]:{listener.port}",
                      f"http://2130706433:{listener.port}", f"socks5://127.0.0.1:{listener.port}"):
            report.proxy_tried += 1
            if _scim_through_proxy(proxy):
                report.proxy_refused += 1
            else:
                report.problems.append(f"ssrf: SCIM proxy {proxy} was not refused")
    finally:
        listener.close()
    report.leaked_bytes = len(listener.received)
    if listener.received:
        report.problems.append(f"ssrf: the internal listener received {len(listener.received)} bytes"
                               + (" including the bearer token" if b"chaos-bearer-token" in listener.received else ""))
    return report
