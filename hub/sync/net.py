"""The outbound-address guard every connector uses: no requests to internal addresses unless allowed.

A connector URL (an ERP endpoint, a WSDL, an SFTP host) is resolved and refused when any address
it resolves to is loopback, private, link-local, reserved, multicast or unspecified, unless the
instance's config allows it explicitly (``allow_internal: ["127.0.0.1", "10.20.0.0/16", "erp.lan"]``).
``allowed_hosts`` (when set) further limits which host names may be contacted at all. This stops a
mis-typed or malicious config from making Hub reach into its own network (SSRF).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlsplit

from hub.errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: JSON Schema of the guard's config keys, for connectors to merge into theirs.
SCHEMA_PROPERTIES = {
    "allow_internal": {"type": "array", "items": {"type": "string"},
                       "description": "Internal addresses, networks (CIDR) or host names this instance may reach"},
    "allowed_hosts": {"type": "array", "items": {"type": "string"},
                      "description": "If set, the only host names (wildcards allowed) this instance may reach"},
}


def _internal(ip: Address) -> bool:
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
                                     and _internal(ip.ipv4_mapped)))


@dataclass(frozen=True)
class Guard:
    """What one connector instance may reach."""

    allow_internal: Sequence[str] = ()
    allowed_hosts: Sequence[str] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Guard:
        """The guard of an instance config (its ``allow_internal`` and ``allowed_hosts`` keys)."""
        return cls(tuple(config.get("allow_internal") or ()), tuple(config.get("allowed_hosts") or ()))

    def _allowed_internal(self, host: str, ip: Address) -> bool:
        for item in self.allow_internal:
            if item == host:
                return True
            try:
                if ip in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def check_host(self, host: str, port: int | None = None, what: str = "address") -> list[Address]:
        """The addresses of ``host`` if it may be reached; ConfigError naming the reason otherwise."""
        if not host:
            raise ConfigError(f"{what}: no host name")
        if self.allowed_hosts and not any(fnmatch(host.lower(), p.lower()) for p in self.allowed_hosts):
            raise ConfigError(f"{what}: host {host!r} is not in allowed_hosts ({', '.join(self.allowed_hosts)})")
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise ConfigError(f"{what}: cannot resolve {host!r}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for ip in addresses:
            if _internal(ip) and not self._allowed_internal(host, ip):
                raise ConfigError(f"{what}: refused: {host} resolves to the internal address {ip}; "
                                  "list it in allow_internal if this instance may reach it")
        return addresses

    def check_url(self, url: str, schemes: Sequence[str] = ("https", "http")) -> str:
        """``url`` if its scheme is allowed and its host may be reached; ConfigError otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in schemes:
            raise ConfigError(f"{url}: scheme {parts.scheme or '(none)'!r} is not one of {', '.join(schemes)}")
        self.check_host(parts.hostname or "", parts.port, what=url)
        return url
