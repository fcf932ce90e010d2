"""The outbound-address guard: which addresses are internal, what allow_internal opens, and connections made
to the address that was checked (against real loopback listeners)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest

from hub.errors import ConfigError
from hub.sync.net import Guard, internal
from hub.testing.dns import FixedResolver
from hub.testing.http_listener import HttpListener

#: (address, internal?, what it is)
ADDRESSES = [
    ("8.8.8.8", False, "global IPv4"),
    ("2606:4700:4700::1111", False, "global IPv6"),
    ("127.0.0.1", True, "loopback"),
    ("127.1.2.3", True, "loopback /8"),
    ("10.1.2.3", True, "private 10/8"),
    ("172.16.0.1", True, "private 172.16/12"),
    ("192.168.1.1", True, "private 192.168/16"),
    ("100.64.0.1", True, "carrier-grade NAT 100.64/10"),
    ("100.100.100.200", True, "a cloud metadata address in 100.64/10"),
    ("169.254.169.254", True, "link-local (cloud metadata)"),
    ("0.0.0.0", True, "unspecified"),
    ("0.1.2.3", True, "this network 0/8"),
    ("192.0.0.1", True, "IETF protocol assignments 192.0.0/24"),
    ("192.0.0.170", True, "NAT64 discovery 192.0.0.170"),
    ("192.0.2.1", True, "documentation TEST-NET-1"),
    ("198.18.0.1", True, "benchmarking 198.18/15"),
    ("198.51.100.1", True, "documentation TEST-NET-2"),
    ("203.0.113.1", True, "documentation TEST-NET-3"),
    ("224.0.0.1", True, "multicast (link-local)"),
    ("239.1.2.3", True, "multicast (admin-scoped)"),
    ("233.252.0.1", True, "multicast (documentation)"),
    ("240.0.0.1", True, "reserved 240/4"),
    ("255.255.255.255", True, "limited broadcast"),
    ("::1", True, "IPv6 loopback"),
    ("::", True, "IPv6 unspecified"),
    ("fe80::1", True, "IPv6 link-local"),
    ("fec0::1", True, "IPv6 site-local (deprecated)"),
    ("fc00::1", True, "IPv6 unique-local"),
    ("fd00:ec2::254", True, "IPv6 unique-local (cloud metadata)"),
    ("ff02::1", True, "IPv6 multicast (link)"),
    ("ff0e::1", True, "IPv6 multicast (global scope)"),
    ("2001:db8::1", True, "IPv6 documentation"),
    ("100::1", True, "IPv6 discard-only"),
    ("::ffff:127.0.0.1", True, "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", True, "IPv4-mapped private"),
    ("::ffff:100.64.0.1", True, "IPv4-mapped carrier-grade NAT"),
    ("::ffff:8.8.8.8", False, "IPv4-mapped global"),
    ("::127.0.0.1", True, "IPv4-compatible loopback"),
    ("::169.254.169.254", True, "IPv4-compatible link-local"),
    ("2002:7f00:1::1", True, "6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::1", True, "6to4 of 169.254.169.254"),
    ("2002:808:808::1", False, "6to4 of 8.8.8.8"),
    ("64:ff9b::7f00:1", True, "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", True, "NAT64 of 169.254.169.254"),
    ("64:ff9b::6440:1", True, "NAT64 of 100.64.0.1"),
    ("64:ff9b::808:808", False, "NAT64 of 8.8.8.8"),
    ("64:ff9b:1::808:808", True, "local-use NAT64 prefix"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", True, "Teredo"),
]


@pytest.mark.parametrize(("address", "expected", "kind"), ADDRESSES, ids=[a[2] for a in ADDRESSES])
def test_only_global_unicast_addresses_are_external(address: str, expected: bool, kind: str) -> None:
    assert internal(ipaddress.ip_address(address)) is expected, kind


@pytest.mark.parametrize(("address", "expected", "kind"), ADDRESSES, ids=[a[2] for a in ADDRESSES])
def test_the_guard_refuses_every_internal_literal(address: str, expected: bool, kind: str) -> None:
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host}:8080/api"
    if expected:
        with pytest.raises(ConfigError, match=r"internal address .*list it in allow_internal"):
            Guard().check_url(url)
    else:
        assert Guard().check_url(url) == url


def test_a_name_that_resolves_to_an_internal_address_is_refused() -> None:
    for answer in ("100.64.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "fec0::1"):
        shown = re.escape(str(ipaddress.ip_address(answer)))
        with pytest.raises(ConfigError, match=rf"hr\.example\.com resolves to the internal address {shown};"):
            Guard(resolve=FixedResolver(answer)).check_host("hr.example.com", 443)


def test_allow_internal_opens_addresses_networks_and_names() -> None:
    assert Guard(("127.0.0.1",)).check_host("127.0.0.1") == [ipaddress.ip_address("127.0.0.1")]
    assert Guard(("10.20.0.0/16",)).check_host("10.20.3.4")
    assert Guard(("10.20.0.0/16",), resolve=FixedResolver("::ffff:10.20.3.4")).check_host("erp.lan")
    assert Guard(("erp.lan",), resolve=FixedResolver("10.9.9.9")).check_host("ERP.lan.")
    with pytest.raises(ConfigError, match=r"internal address 10\.21\.0\.1"):
        Guard(("10.20.0.0/16",)).check_host("10.21.0.1")
    with pytest.raises(ConfigError, match="not in allowed_hosts"):
        Guard(allowed_hosts=("*.example.com",)).check_host("example.org")


def test_a_bad_url_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^proxy: scheme 'socks5' is not one of https, http"):
        Guard().check_url("socks5://8.8.8.8:1080", what="proxy")
    with pytest.raises(ConfigError, match=r"^proxy: not a usable URL"):
        Guard().check_url("http://8.8.8.8:99999", what="proxy")
    with pytest.raises(ConfigError, match="cannot resolve"):
        Guard().check_host("no-such-host.invalid")


@pytest.fixture
def listener() -> Iterator[HttpListener]:
    with HttpListener() as server:
        yield server


def test_connect_opens_the_address_that_was_checked(listener: HttpListener) -> None:
    resolve = FixedResolver("127.0.0.1")
    guard = Guard(("127.0.0.1",), resolve=resolve)
    with guard.connect("erp.test", listener.port, 5) as sock:  # a name the system resolver does not know
        sock.sendall(b"GET / HTTP/1.1\r\nHost: erp.test\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404")
    assert resolve.calls == ["erp.test"] and listener.connections == 1


def test_connect_refuses_before_connecting(listener: HttpListener) -> None:
    with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1"):
        Guard(resolve=FixedResolver("127.0.0.1")).connect("erp.test", listener.port, 5)
    assert listener.connections == 0
