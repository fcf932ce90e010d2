"""A stand-in DNS resolver for tests of the outbound-address guard: fixed answers, calls recorded.

    resolve = FixedResolver("127.0.0.2", "127.0.0.1")   # first answer, then the next (the last repeats)
    guard = Guard(("127.0.0.2",), resolve=resolve)      # a name that is allowed when checked, then rebinds
    resolve.calls                                        # ["hr.test", "hr.test"]
"""

from __future__ import annotations

import socket
from typing import Any


class FixedResolver:
    """getaddrinfo's shape, answering every name with the next of ``answers`` (the last one repeated)."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int | None, proto: int = 0) -> list[tuple[Any, ...]]:
        answer = self.answers[min(len(self.calls), len(self.answers) - 1)]
        self.calls.append(host)
        family = socket.AF_INET6 if ":" in answer else socket.AF_INET
        return [(family, socket.SOCK_STREAM, proto, "", (answer, port or 0))]
