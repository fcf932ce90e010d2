"""One SOAP service as the connector sees it: a zeep client loaded through the guarded transport, and calls.

``Service.load`` checks the WSDL URL (guard, scheme) before any connection, loads the WSDL with DTDs,
entities and (by default) imports forbidden, picks the service and port, and checks the address it will
post to the same way. ``call`` sends one operation and returns zeep's parsed answer; ``records`` sends one
and returns the elements found at a result path, each parsed on its own (``parse``), so one malformed
record does not lose its page. Every error leaves as a Hub error (see ``soap_transport``).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import zeep
import zeep.exceptions as zx
from lxml import etree
from zeep.helpers import serialize_object
from zeep.loader import parse_xml
from zeep.proxy import ServiceProxy
from zeep.xsd.types import builtins as xb
from zeep.xsd.types.complex import ComplexType

from connectors.erp.soap_transport import GuardedTransport, dtd_in, status_error, translate
from hub.errors import ConfigError, PermanentError, RetryableError
from hub.sync.net import Guard

Node = Any  # an lxml element


@dataclass(frozen=True)
class Options:
    """How to reach a service: credentials, limits and what the instance may contact."""

    guard: Guard
    timeout: float = 30.0
    max_bytes: int = 64 * 1024 * 1024
    auth: tuple[str, str] | None = None
    service: str | None = None
    port: str | None = None
    endpoint: str | None = None
    imports: str = "none"
    retryable: Sequence[re.Pattern[str]] = ()


@dataclass
class Service:
    """A loaded WSDL and the port the connector calls."""

    wsdl: str
    client: zeep.Client
    proxy: ServiceProxy
    address: str
    transport: GuardedTransport
    retryable: Sequence[re.Pattern[str]]

    @classmethod
    def load(cls, wsdl: str, options: Options) -> Service:
        """The service of ``wsdl``; ConfigError (before any connection) when a URL may not be contacted."""
        host = (urlsplit(wsdl).hostname or "").lower()
        post_host = (urlsplit(options.endpoint).hostname or "").lower() if options.endpoint else host
        transport = GuardedTransport(options.guard, {host}, {post_host}, options.timeout, options.max_bytes,
                                     options.auth)
        transport.allowed(wsdl, transport.load_hosts, "load")
        if options.endpoint:
            transport.allowed(options.endpoint, transport.post_hosts, "post to")
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, xml_huge_tree=False,
                                 forbid_external=options.imports == "none")
        with translate(f"loading the WSDL {wsdl}", loading=True):
            client = zeep.Client(wsdl, transport=transport, settings=settings)
        services = client.wsdl.services
        if not services:
            raise ConfigError(f"soap: the WSDL {wsdl} defines no service")
        name = options.service or next(iter(services))
        if name not in services:
            raise ConfigError(f"soap: service: the WSDL has no service {name!r}; services: {', '.join(services)}")
        ports = services[name].ports
        port_name = options.port or next(iter(ports), None)
        if port_name not in ports:
            raise ConfigError(f"soap: port: service {name!r} has no port {port_name!r}; ports: {', '.join(ports)}")
        port = ports[port_name]
        address = options.endpoint or (port.binding_options or {}).get("address")
        if not address:
            raise ConfigError(f"soap: the WSDL names no address for port {port_name!r}; set endpoint")
        transport.allowed(address, transport.post_hosts, "post to")
        proxy = ServiceProxy(client, port.binding, **{**port.binding_options, "address": address})
        return cls(wsdl, client, proxy, address, transport, options.retryable)

    def close(self) -> None:
        self.transport.session.close()

    # -- operations -------------------------------------------------------------------------------------
    def operation(self, name: str) -> Any:
        """The binding's operation ``name``; ConfigError listing the operations there are."""
        binding = self.proxy._binding
        try:
            return binding.get(name)
        except ValueError:
            raise ConfigError(f"soap: {self.wsdl} has no operation {name!r}; operations: "
                              f"{', '.join(sorted(binding.all()))}") from None

    def exchange(self, name: str, args: Mapping[str, Any]) -> tuple[Node, Any]:
        """Send operation ``name`` with ``args``; the answer's envelope (faults raised as Hub errors)."""
        operation = self.operation(name)
        binding = self.proxy._binding
        try:
            envelope, headers = binding._create(name, (), dict(args), client=self.client,
                                                options=self.proxy._binding_options)
        except (zx.Error, TypeError, ValueError) as e:
            raise PermanentError(f"soap: {name}: the request does not fit the WSDL: {e}") from e
        response = self.transport.post_xml(self.address, envelope, headers)
        status = response.status_code
        if status in (401, 403):
            raise status_error(status, name)
        if dtd_in(response.content):
            raise PermanentError(f"soap: {name}: refused an answer with a DTD or entity declarations")
        try:
            doc = parse_xml(response.content, self.transport, settings=self.client.settings)
        except zx.XMLSyntaxError as e:
            if status == 200:
                raise RetryableError(f"soap: {name}: malformed response (not well-formed XML): {e.message}") from e
            raise status_error(status, name, retry_after=response.headers.get("Retry-After")) from e
        except (zx.DTDForbidden, zx.EntitiesForbidden) as e:
            raise PermanentError(f"soap: {name}: refused a response with a DTD or entities") from e
        fault = doc.find("soap-env:Body/soap-env:Fault", namespaces=binding.nsmap)
        if fault is not None:
            with translate(name, self.retryable):
                binding.process_error(doc, operation)
        if status != 200:
            raise status_error(status, name, retry_after=response.headers.get("Retry-After"))
        return doc, operation

    def call(self, name: str, args: Mapping[str, Any]) -> Any:
        """Operation ``name``'s answer as zeep parses it."""
        doc, operation = self.exchange(name, args)
        with translate(name):
            return operation.process_reply(doc)

    def records(self, name: str, args: Mapping[str, Any], path: Sequence[str]) -> tuple[list[Node], Any]:
        """The elements at ``path`` in operation ``name``'s answer, and their XSD element (see ``parse``)."""
        element = self.result_element(name, path)
        doc, _ = self.exchange(name, args)
        body = doc.find("soap-env:Body", namespaces=self.proxy._binding.nsmap)
        nodes = [n for n in (body if body is not None else []) if isinstance(n.tag, str)][:1]
        for step in path:
            nodes = [c for n in nodes for c in n if isinstance(c.tag, str) and etree.QName(c).localname == step]
        return nodes, element

    def result_element(self, name: str, path: Sequence[str]) -> Any:
        """The XSD element at ``path`` below operation ``name``'s output; ConfigError naming a wrong step."""
        output = self.operation(name).output
        element = getattr(output, "body", None)
        if element is None:
            raise ConfigError(f"soap: {name}: only document/literal operations are supported")
        for depth, step in enumerate(path):
            children = dict(element.type.elements) if isinstance(element.type, ComplexType) else {}
            if step not in children:
                where = ".".join(path[:depth]) or "the answer"
                raise ConfigError(f"soap: result_path {'.'.join(path)!r} of {name}: {where} has no element "
                                  f"{step!r}; it has: {', '.join(children) or 'none'}")
            element = children[step]
        return element

    def parse(self, node: Node, element: Any) -> dict[str, Any]:
        """One record element as plain JSON values; ValueError (with the reason) when it does not parse."""
        try:
            value = element.parse(node, self.client.wsdl.types)
            data = plain(serialize_object(value, dict))
        except Exception as e:  # zeep raises whatever its type conversions raise: the record is quarantined
            raise ValueError(self._culprit(node, element) or f"{type(e).__name__}: {e}") from e
        if not isinstance(data, dict):
            raise ValueError(f"not a record but {type(data).__name__}")
        return data

    def _culprit(self, node: Node, element: Any) -> str | None:
        """Which field of a record element does not parse, in words (None when no single field is to blame)."""
        if not isinstance(element.type, ComplexType):
            return None
        children = dict(element.type.elements)
        for child in node:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name not in children:
                return f"unexpected element {name!r}"
            try:
                children[name].parse(child, self.client.wsdl.types)
            except Exception:
                kind = getattr(children[name].type, "name", None) or type(children[name].type).__name__
                return f"{name}: {child.text!r} is not a valid {kind}"
        return None

    def fields(self, name: str, path: Sequence[str]) -> dict[str, str]:
        """The record fields at ``path`` of operation ``name``'s output and their JSON types."""
        element = self.result_element(name, path)
        if not isinstance(element.type, ComplexType):
            return {}
        return {n: json_type(e) for n, e in element.type.elements}


def json_type(element: Any) -> str:
    """The JSON type the values of an XSD element have in records (decimals and dates are text)."""
    if element.max_occurs == "unbounded" or (isinstance(element.max_occurs, int) and element.max_occurs > 1):
        return "array"
    kind = element.type
    if isinstance(kind, ComplexType):
        return "object"
    if isinstance(kind, xb.Boolean):
        return "boolean"
    if isinstance(kind, xb.Integer):
        return "integer"
    if isinstance(kind, xb.Float | xb.Double):
        return "number"
    return "string"


def plain(value: Any) -> Any:
    """``value`` in JSON types: decimals as exact text, dates and times in ISO 8601, bytes in base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, etree._Element):
        return etree.tostring(value, encoding="unicode")
    return str(value)


def raw_text(node: Node) -> str:
    return etree.tostring(node, encoding="unicode")


def child_text(node: Node, name: str) -> str | None:
    """The text of ``node``'s child element called ``name`` (any namespace), if there is one."""
    for child in node:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child.text
    return None

