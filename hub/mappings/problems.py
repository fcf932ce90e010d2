"""Spec problems: collected while a spec is checked, raised together as one SpecError."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from hub.errors import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (a dotted path in the spec) and what."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class SpecError(ValidationError):
    """A mapping spec that cannot be used; ``problems`` lists every ``path: problem`` found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        listing = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__("", f"mapping spec has {count} {noun}:\n{listing}")


class Problems:
    """A collector of problems; ``raise_if_any()`` turns them into one SpecError."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append(Problem(path, problem))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.items)


def join_path(base: str, key: str | int) -> str:
    """``fields`` + ``email`` -> ``fields.email``; ``transform`` + 2 -> ``transform[2]``."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'email'?)`` when a close name exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
