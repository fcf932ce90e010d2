"""The outbound-address guard every connector uses: only global addresses, unless the instance allows more.

Every address a connector instance can be configured with (a service URL, a WSDL and the addresses it
names, a proxy, an SFTP host) goes through one ``Guard``. A host is resolved once and refused when any
address it resolves to is not a global unicast address (``internal``): loopback, private, carrier-grade
NAT (100.64.0.0/10, which holds cloud metadata addresses), link-local (169.254.169.254), site-local,
unique-local, the IETF special blocks (0.0.0.0/8, 192.0.0.0/24, 198.18.0.0/15, ...), reserved,
multicast, unspecified, and IPv6 addresses that carry an internal IPv4 address inside (IPv4-mapped
``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``,
Teredo). The instance's config may allow more explicitly (``allow_internal: ["127.0.0.1",
"10.20.0.0/16", "erp.lan"]``); ``allowed_hosts`` (when set) further limits which host names may be
contacted at all. This stops a mis-typed or malicious config from making Hub reach into its own
network (SSRF).

``Guard.connect`` opens the TCP connection to an address the check passed, so a second DNS answer
(DNS rebinding: a name that is global when checked and 127.0.0.1 when connected) is never asked for.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlsplit

from hub.errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: getaddrinfo's shape: (host, port, proto=...) -> [(family, type, proto, canonname, sockaddr), ...]
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

#: JSON Schema of the guard's config keys, for connectors to merge into theirs.
SCHEMA_PROPERTIES = {
    "allow_internal": {"type": "array", "items": {"type": "string"},
                       "description": "Internal addresses, networks (CIDR) or host names this instance may reach"},
    "allowed_hosts": {"type": "array", "items": {"type": "string"},
                      "description": "If set, the only host names (wildcards allowed) this instance may reach"},
}

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a local-use translation prefix
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d


def embedded_ipv4(ip: Address) -> Iterator[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return
    if ip.ipv4_mapped is not None:
        yield ip.ipv4_mapped
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        yield ip.sixtofour
    if ip.teredo is not None:
        yield from ip.teredo


def internal(ip: Address) -> bool:
    """Whether ``ip`` is anything but a global unicast address (see the module docstring)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return internal(ip.ipv4_mapped)  # the same IPv4 destination
        if ip in _NAT64:
            return internal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))  # a translator reaches that IPv4
        if ip.is_site_local or ip in _NAT64_LOCAL or any(internal(v4) for v4 in embedded_ipv4(ip)):
            return True
    return (not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
            or ip.is_link_local or ip.is_private)


@dataclass(frozen=True)
class Guard:
    """What one connector instance may reach. ``resolve`` is getaddrinfo (tests replace it)."""

    allow_internal: Sequence[str] = ()
    allowed_hosts: Sequence[str] = ()
    resolve: Resolver = field(default=socket.getaddrinfo, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Guard:
        """The guard of an instance config (its ``allow_internal`` and ``allowed_hosts`` keys)."""
        return cls(tuple(config.get("allow_internal") or ()), tuple(config.get("allowed_hosts") or ()))

    def _allowed_internal(self, host: str, ip: Address) -> bool:
        candidates = [ip, *embedded_ipv4(ip)]
        for item in self.allow_internal:
            if item.lower().rstrip(".") == host:
                return True
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError:
                continue
            if any(c.version == network.version and c in network for c in candidates):
                return True
        return False

    def check_host(self, host: str, port: int | None = None, what: str = "address") -> list[Address]:
        """The addresses of ``host`` if it may be reached; ConfigError naming the reason otherwise."""
        if not host:
            raise ConfigError(f"{what}: no host name")
        name = host.lower().rstrip(".")
        if self.allowed_hosts and not any(fnmatch(name, p.lower()) for p in self.allowed_hosts):
            raise ConfigError(f"{what}: host {host!r} is not in allowed_hosts ({', '.join(self.allowed_hosts)})")
        try:
            infos = self.resolve(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise ConfigError(f"{what}: cannot resolve {host!r}: {reason}") from None
        addresses: list[Address] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise ConfigError(f"{what}: cannot resolve {host!r}: no address")
        for ip in addresses:
            if internal(ip) and not self._allowed_internal(name, ip):
                raise ConfigError(f"{what}: refused: {host} resolves to the internal address {ip}; "
                                  "list it in allow_internal if this instance may reach it")
        return addresses

    def check_url(self, url: str, schemes: Sequence[str] = ("https", "http"), what: str | None = None) -> str:
        """``url`` if its scheme is allowed and its host may be reached; ConfigError otherwise.

        ``what`` names the setting in the error (``proxy``); the URL itself when not given."""
        label = what or url
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"{label}: not a usable URL ({exc})") from None
        if parts.scheme not in schemes:
            raise ConfigError(f"{label}: scheme {parts.scheme or '(none)'!r} is not one of {', '.join(schemes)}")
        self.check_host(parts.hostname or "", port, what=label)
        return url

    def connect(self, host: str, port: int, timeout: float | None, what: str = "address",
                open_socket: Callable[[tuple[str, int]], socket.socket] | None = None) -> socket.socket:
        """A TCP connection to ``host`` made to an address this guard checked (no second DNS lookup).

        ``open_socket`` connects to one literal (address, port) (socket.create_connection by default);
        the first address that answers wins. ConfigError when the host may not be reached, the last
        OSError when none answers."""
        addresses = self.check_host(host, port, what=what)
        opener = open_socket or (lambda address: socket.create_connection(address, timeout))
        error: OSError | None = None
        for ip in addresses:
            try:
                return opener((str(ip), port))
            except OSError as exc:
                error = exc
        raise error or OSError(f"{what}: no address to connect to")
