"""Field encryption: AES-GCM with the record and field bound in, several keys at once, a keyed blind index.

A stored value reads ``enc:v1:<key id>:<base64(nonce || ciphertext+tag)>``. The associated data is
``module:record_id:field``, so a ciphertext copied to another record or field fails to decrypt.
``HUB_ENCRYPTION_KEYS`` lists ``id:base64key`` pairs separated by commas; the first is the one new
values are written with, the others stay readable until `hub keys rotate` has moved every value off them.
The blind index is HMAC-SHA256 under a separate key (``HUB_BLIND_INDEX_KEY``) of the normalised value.

Two more MAC keys are derived from the blind-index key with HKDF-SHA256, one per purpose (the label is the
HKDF ``info``): ``content-hash`` keys every hash Hub stores of a record's content (binding hashes, outbound
echo hashes), so a database reader cannot confirm a guessed value offline; ``audit-chain`` keys the audit
trail's chain (see ``hub.core.audit``). Like the blind-index key, they do not rotate, and none of them is
ever stored in the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.errors import ConfigError, HubError

PREFIX = "enc:v1:"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class DecryptionError(HubError):
    """A stored value that does not decrypt: wrong key, wrong record or field, or tampered."""


def generate_key() -> str:
    """A new random 256-bit key, base64 encoded, for HUB_ENCRYPTION_KEYS or HUB_BLIND_INDEX_KEY."""
    return base64.b64encode(os.urandom(32)).decode()


def _decode_key(name: str, text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name}: key is not valid base64") from None
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{name}: key is {len(key)} bytes; AES needs 16, 24 or 32")
    return key


def associated_data(module: str, record_id: object, field: str) -> bytes:
    """What binds a ciphertext to one field of one record."""
    return f"{module}:{record_id}:{field}".encode()


class Mac:
    """HMAC-SHA256 under one key, its padded key blocks hashed once (RFC 2104's precomputation).

    The digests are ``hmac.digest(key, data, "sha256")``'s, at about the cost of one SHA-256 of ``data``:
    the one-shot call sets the key up again each time, which costs several times a short record's hash,
    and content hashes and audit links are on the hot path of every bulk load.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, data: bytes) -> str:
        """The MAC of ``data``, as 64 hex digits."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one ``purpose`` ("content-hash", "audit-chain"), derived from ``secret`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"hub:{purpose}:v1".encode()).derive(secret)


@dataclass(frozen=True)
class Keyring:
    """The configured encryption keys (the first encrypts), the blind-index key and the MAC keys derived from it."""

    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes
    content_key: bytes = field(init=False, repr=False)
    audit_key: bytes = field(init=False, repr=False)
    _content_mac: Mac = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_key", derive_key(self.index_key, "content-hash"))
        object.__setattr__(self, "audit_key", derive_key(self.index_key, "audit-chain"))
        object.__setattr__(self, "_content_mac", Mac(self.content_key))

    @classmethod
    def from_config(cls, encryption_keys: str, blind_index_key: str) -> Keyring:
        """Parse ``id:base64,id:base64`` and the blind-index key; ConfigError names what is wrong."""
        pairs: list[tuple[str, bytes]] = []
        for item in filter(None, (p.strip() for p in encryption_keys.split(","))):
            kid, sep, text = item.partition(":")
            if not sep or not _KEY_ID.match(kid):
                raise ConfigError(f"HUB_ENCRYPTION_KEYS: {kid!r} is not of the form id:base64key")
            if any(kid == k for k, _ in pairs):
                raise ConfigError(f"HUB_ENCRYPTION_KEYS: key id {kid!r} appears twice")
            pairs.append((kid, _decode_key(f"HUB_ENCRYPTION_KEYS[{kid}]", text)))
        if not pairs:
            raise ConfigError("HUB_ENCRYPTION_KEYS: no key configured")
        return cls(tuple(pairs), _decode_key("HUB_BLIND_INDEX_KEY", blind_index_key))

    @property
    def primary_id(self) -> str:
        """The id of the key new values are encrypted with."""
        return self.keys[0][0]

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """A fresh ciphertext of ``plaintext`` (a random nonce: equal plaintexts differ)."""
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), aad)
        return f"{PREFIX}{kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, aad: bytes) -> str:
        """The plaintext of ``token``, or DecryptionError."""
        kid = key_id(token)
        key = dict(self.keys).get(kid)
        if key is None:
            raise DecryptionError(f"value was encrypted with key {kid!r}, which is not configured")
        raw = base64.b64decode(token.rsplit(":", 1)[1])
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode()
        except InvalidTag:
            raise DecryptionError("value does not decrypt for this record and field") from None

    def content_hash(self, text: str) -> str:
        """The keyed hash Hub stores of some content (canonical text): HMAC-SHA256 under the content-hash key.

        Every stored hash of a record's content goes through here: an unkeyed hash of a record with a
        tax id in it lets anyone who reads the database test guesses offline.
        """
        return self._content_mac.hexdigest(text.encode())

    def blind_index(self, module: str, field: str, value: str) -> str:
        """The keyed digest equality search uses; case, spaces and hyphens do not matter."""
        normal = re.sub(r"[\s-]+", "", value).casefold()
        return hmac.new(self.index_key, f"{module}.{field}:{normal}".encode(), hashlib.sha256).hexdigest()


def key_id(token: str) -> str:
    """The key id a stored value was encrypted with."""
    if not token.startswith(PREFIX):
        raise DecryptionError("value is not an encrypted field value")
    return token[len(PREFIX):].split(":", 1)[0]


def is_encrypted(value: object) -> bool:
    """Whether ``value`` is a stored ciphertext."""
    return isinstance(value, str) and value.startswith(PREFIX)
