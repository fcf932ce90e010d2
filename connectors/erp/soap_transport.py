"""The SOAP connector's hardened transport: only allowed hosts, no DTDs, bounded in time and size; errors by intent.

``GuardedTransport`` is the zeep transport every SOAP connector uses. Each URL it loads (the WSDL and, when
imports are allowed, what the WSDL imports) or posts to (the service address) must:

* use http or https (zeep would otherwise open ``file://`` and local paths named by a WSDL);
* name a host the instance may contact: loads only the WSDL's own host, posts only the WSDL's host (or
  the configured ``endpoint``'s), so a WSDL cannot send the credentials elsewhere;
* pass the SSRF guard (``hub.sync.net.Guard``): no internal address unless ``allow_internal`` lists it;
  the connection itself is opened to the address the guard checked (``hub.sync.guarded_http``), so a
  name that resolves differently a second time (DNS rebinding) cannot reach an internal address.

Redirects are not followed, and proxies from the environment (HTTP(S)_PROXY) are not used. Every request
has the connect/read timeout and an overall deadline, and a response larger than the limit is cut off. A
loaded document with a DTD (``<!DOCTYPE``) or entity declaration is refused before any XML parser expands
anything; zeep parses with ``forbid_dtd``, ``forbid_entities`` and ``forbid_external`` as well.

``translate`` maps what zeep, requests and the socket raise to Hub's errors: SOAP Client faults (bad data)
are PermanentError, Server faults and malformed responses RetryableError; HTTP statuses and transport
failures as every HTTP connector (hub.sync.http_errors): 401/403 AuthError, 408/425/429/5xx (with
Retry-After) and timeouts, resets and refused connections RetryableError, other 4xx PermanentError; a
WSDL that is refused is ConfigError.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
import zeep
import zeep.exceptions as zx
from lxml import etree

from hub.errors import AuthError, ConfigError, HubError, PermanentError, RetryableError
from hub.sync.guarded_http import guarded_session
from hub.sync.http_errors import error_class, transport_error
from hub.sync.http_errors import status_error as http_status_error
from hub.sync.net import Guard

#: SOAP fault codes (their local part, lower case) that mean "the request was wrong" and "try again".
CLIENT_CODES = frozenset({"client", "sender"})
SERVER_CODES = frozenset({"server", "receiver"})
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class GuardedTransport(zeep.Transport):
    """A zeep transport that contacts only allowed hosts, refuses DTDs, and bounds every request."""

    def __init__(self, guard: Guard, load_hosts: Collection[str], post_hosts: Collection[str], timeout: float,
                 max_bytes: int, auth: tuple[str, str] | None = None) -> None:
        session = guarded_session(guard)  # every connection to an address the guard checked; no env proxies
        session.auth = auth
        super().__init__(timeout=timeout, operation_timeout=timeout, session=session)
        for prefix in list(session.adapters):
            if not prefix.startswith(("http://", "https://")):
                del session.adapters[prefix]  # zeep mounts file://; nothing but HTTP here
        self.guard, self.timeout, self.max_bytes = guard, timeout, max_bytes
        self.load_hosts = frozenset(h.lower() for h in load_hosts)
        self.post_hosts = frozenset(h.lower() for h in post_hosts)

    def allowed(self, url: str, hosts: frozenset[str], what: str) -> str:
        """``url`` if it is http(s), names one of ``hosts`` and passes the guard; ConfigError otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ConfigError(f"soap: refused to {what} {url!r}: only http and https URLs are allowed")
        host = (parts.hostname or "").lower()
        if host not in hosts:
            hint = ("a WSDL may only import from its own host" if what == "load"
                    else "set endpoint to post to another host")
            raise ConfigError(f"soap: refused to {what} {url!r}: host {host!r} is not the service's host "
                              f"({', '.join(sorted(hosts))}); {hint}")
        return self.guard.check_url(url)

    def load(self, url: str) -> bytes:
        """The document at ``url`` (the WSDL or an allowed import), refused if it declares a DTD or entities."""
        self.allowed(url, self.load_hosts, "load")
        response = self._send("GET", url, None, {}, self.timeout)
        if response.status_code >= 400:
            raise status_error(response.status_code, f"loading {url}", loading=True)
        content: bytes = response.content
        refuse_dtd(content, url)
        return content

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> requests.Response:
        self.allowed(address, self.post_hosts, "post to")
        return self._send("POST", address, message, headers, self.operation_timeout or self.timeout)

    def get(self, address: str, params: Any, headers: dict[str, str]) -> requests.Response:
        raise PermanentError("soap: HTTP GET bindings are not supported")

    def _send(self, method: str, url: str, body: bytes | str | None, headers: dict[str, str],
              timeout: float) -> requests.Response:
        deadline = time.monotonic() + timeout
        try:
            response = self.session.request(method, url, data=body, headers=headers, timeout=timeout,
                                            stream=True, allow_redirects=False)
            with response:
                if 300 <= response.status_code < 400:
                    raise ConfigError(f"soap: {url} redirects to {response.headers.get('Location')!r}; redirects "
                                      "are not followed: configure the final URL")
                chunks, size = [], 0
                for chunk in response.iter_content(65536):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PermanentError(f"soap: the response of {url} is larger than {self.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise RetryableError(f"soap: {url} took longer than {timeout:g} s to answer")
                    chunks.append(chunk)
                response._content = b"".join(chunks)
                response._content_consumed = True
            return response
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError, OSError) as e:
            raise transport_error(f"soap: {url}", e, timeout) from e
        except requests.exceptions.RequestException as e:
            raise PermanentError(f"soap: request to {url} failed: {e}") from e


def dtd_in(content: bytes) -> str | None:
    """What in ``content`` declares a DTD or entities (billion laughs, external entities), or None."""
    if _DTD.search(content):
        return "a DTD or entity declaration"
    if b"\x00" not in content[:4] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # ASCII-compatible: the search above has seen any declaration
    try:
        docinfo = etree.fromstring(content, _SAFE).getroottree().docinfo
    except etree.XMLSyntaxError:
        return None  # not XML at all: the parser that follows reports it in context
    return "a DTD" if docinfo.doctype or docinfo.internalDTD is not None else None


def refuse_dtd(content: bytes, url: str) -> None:
    """ConfigError when a loaded document (a WSDL, an import) has a DTD or entity declarations."""
    problem = dtd_in(content)
    if problem:
        raise ConfigError(f"soap: refused {url}: the document contains {problem} (<!DOCTYPE/<!ENTITY); DTDs and "
                          "entities are never processed")


def status_error(status: int, what: str, loading: bool = False, retry_after: str | None = None) -> HubError:
    """The Hub error of an HTTP status without a SOAP fault (hub.sync.http_errors); a WSDL that cannot be
    loaded for a status that is neither retryable nor refused credentials is ConfigError."""
    kind = error_class(status)
    if kind is AuthError:
        return AuthError(f"soap: {what}: HTTP {status}: the credentials were refused")
    if loading and kind is PermanentError:
        return ConfigError(f"soap: {what}: HTTP {status}")
    return http_status_error(status, f"soap: {what}: HTTP {status}", retry_after)


def fault_error(fault: zx.Fault, what: str, retryable: Sequence[re.Pattern[str]] = ()) -> HubError:
    """Client (Sender) faults are permanent, Server (Receiver) faults retryable; others by message patterns."""
    code = str(fault.code or "")
    local = code.rsplit(":", 1)[-1].rsplit("}", 1)[-1].lower()
    message = " ".join(str(fault.message or "").split())
    text = f"soap: {what}: fault {code or '(no code)'}: {message}"
    if local in SERVER_CODES or any(p.search(f"{code}: {message}") for p in retryable):
        return RetryableError(text)
    return PermanentError(text)


@contextmanager
def translate(what: str, retryable: Sequence[re.Pattern[str]] = (), loading: bool = False) -> Iterator[None]:
    """Translate zeep, requests and socket errors raised inside into Hub errors naming ``what``."""
    try:
        yield
    except HubError:
        raise
    except zx.Fault as e:
        raise fault_error(e, what, retryable) from e
    except zx.TransportError as e:
        if e.status_code == 200 or "invalid XML" in str(e.message):
            raise RetryableError(f"soap: {what}: malformed response (not XML): {_short(e.message)}") from e
        raise status_error(e.status_code, what, loading) from e
    except (zx.DTDForbidden, zx.EntitiesForbidden) as e:
        error = ConfigError if loading else PermanentError
        raise error(f"soap: {what}: refused a document with a DTD or entities: {e}") from e
    except zx.ExternalReferenceForbidden as e:
        raise ConfigError(f"soap: {what}: refused: the WSDL imports another document ({e}); imports are "
                          "forbidden (wsdl_imports: none)") from e
    except zx.XMLSyntaxError as e:
        if loading:
            raise ConfigError(f"soap: {what}: the WSDL is not well-formed XML: {_short(e.message)}") from e
        raise RetryableError(f"soap: {what}: malformed response: {_short(e.message)}") from e
    except (zx.XMLParseError, zx.WsdlSyntaxError, zx.LookupError, zx.NamespaceError, NotImplementedError) as e:
        if loading:
            raise ConfigError(f"soap: {what}: not a usable WSDL: {e}") from e
        raise PermanentError(f"soap: {what}: the response does not fit the WSDL: {e}") from e
    except zx.ValidationError as e:
        raise PermanentError(f"soap: {what}: the request does not fit the WSDL: {e}") from e
    except (requests.exceptions.RequestException, OSError) as e:
        raise transport_error(f"soap: {what}", e) from e


def _short(text: object, limit: int = 300) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit] + "..."
