"""Who is acting and through what: the context every read and write of the store carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

ACTOR_KINDS = ("user", "api_token", "connector", "system")


@dataclass(frozen=True)
class Actor:
    """The one responsible for a change: a user, an API token, a connector instance or the system.

    A user (or an API token acting for one) gets the access of that user's roles. Any other actor acts
    under ``role``, one of the system roles declared through the ``register_system_roles`` hook
    (built-in: ``system`` and ``connector``); an actor with no user and no declared role may read and
    write nothing.
    """

    kind: str
    name: str
    id: str | None = None
    user_id: uuid.UUID | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {', '.join(ACTOR_KINDS)}")

    @classmethod
    def system(cls, name: str = "system", role: str = "system") -> Actor:
        """Hub itself (a sweep, the demo, the operator at the shell), acting under system role ``role``."""
        return cls("system", name, role=role)

    @classmethod
    def connector(cls, instance: str) -> Actor:
        """A connector instance's sync run, acting under the ``connector`` system role."""
        return cls("connector", instance, id=instance, role="connector")

    @classmethod
    def for_user(cls, user_id: uuid.UUID, username: str) -> Actor:
        return cls("user", username, id=str(user_id), user_id=user_id)


@dataclass(frozen=True)
class Context:
    """An actor, the channel it came through (cli, api, ui or a connector name) and a request or run id."""

    actor: Actor
    source: str
    request_id: str | None = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def system(cls, source: str = "system") -> Context:
        return cls(Actor.system(), source)
