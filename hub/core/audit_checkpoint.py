"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint says "event ``seq`` had hash ``hash``" and is signed with an Ed25519 key that is not in the
database (``HUB_AUDIT_SIGNING_KEY``, or ``var/audit-signing.key`` created with mode 0600 on first use).
Someone who can write to the database can neither forge a checkpoint nor make the chain agree with one
after cutting events off its end; ``hub audit verify --since-checkpoint FILE`` checks both.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.config import Settings
from hub.core.audit import Anchor
from hub.core.types import utcnow
from hub.errors import ConfigError, ValidationError

KEY_FILE = "audit-signing.key"


def generate_signing_key() -> str:
    """A new Ed25519 private key, base64 of its 32 raw bytes (for HUB_AUDIT_SIGNING_KEY)."""
    return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


def _parse(name: str, text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name}: not valid base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{name}: an Ed25519 private key is 32 bytes, this is {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def signing_key(settings: Settings, create: bool = False) -> Ed25519PrivateKey:
    """The checkpoint signing key: HUB_AUDIT_SIGNING_KEY, else the key file in the var directory (made, mode
    0600, when ``create`` and there is none yet)."""
    if settings.audit_signing_key:
        return _parse("HUB_AUDIT_SIGNING_KEY", settings.audit_signing_key)
    path = settings.var_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise ConfigError(f"no audit signing key: set HUB_AUDIT_SIGNING_KEY or create {path} "
                              "(`hub audit checkpoint` makes one)")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_signing_key() + "\n")
    return _parse(str(path), path.read_text())


def _message(seq: int, head: str, at: str) -> bytes:
    return json.dumps({"seq": seq, "hash": head, "at": at}, sort_keys=True, separators=(",", ":")).encode()


def _public_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that event ``seq`` of the chain had hash ``hash`` at time ``at``."""

    seq: int
    hash: str
    at: str
    signature: str

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, seq: int, head: str) -> Checkpoint:
        at = utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")
        return cls(seq, head, at, base64.b64encode(key.sign(_message(seq, head, at))).decode())

    def to_json(self, key: Ed25519PrivateKey) -> str:
        """The checkpoint file's text (with the public key, for the reader's information only)."""
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at, "signature": self.signature,
                           "public_key": _public_text(key.public_key())}, indent=2) + "\n"

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq, self.hash)


def load(path: Path, key: Ed25519PrivateKey) -> Checkpoint:
    """The checkpoint in ``path`` if its signature is good under ``key``'s public half, else ValidationError."""
    name = str(path)
    try:
        data: Any = json.loads(path.read_text())
    except OSError as exc:
        raise ValidationError(name, f"cannot read it: {exc.strerror}") from None
    except ValueError:
        raise ValidationError(name, "is not a JSON checkpoint") from None
    if not isinstance(data, dict):
        raise ValidationError(name, "is not a JSON checkpoint")
    seq, head, at, signature = (data.get(k) for k in ("seq", "hash", "at", "signature"))
    if not (isinstance(seq, int) and seq >= 0 and isinstance(head, str) and isinstance(at, str)
            and isinstance(signature, str)):
        raise ValidationError(name, "needs seq (a whole number), hash, at and signature")
    try:
        key.public_key().verify(base64.b64decode(signature, validate=True), _message(seq, head, at))
    except (InvalidSignature, binascii.Error, ValueError):
        raise ValidationError(name, "the signature does not match: the checkpoint was altered or signed "
                                    "with another key") from None
    return Checkpoint(seq, head, at, signature)
