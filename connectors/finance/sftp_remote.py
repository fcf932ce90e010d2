"""Remote files over SFTP for the finance connector: pinned host keys, private keys, atomic uploads, free names.

    keys = parse_known_hosts(text)          # ConfigError naming known_hosts and the line
    pkey = load_private_key(text, passphrase)
    upload(sftp, folder, name, content)     # a dot-named temporary file, then posix-rename over the target
    free_name(sftp, folder, name, fp)       # folder/name, or a variant with the file's fingerprint when taken

Paramiko and socket errors are not translated here; the connector does that at its boundary.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import posixpath
import uuid
from dataclasses import dataclass
from typing import Any

import paramiko

from hub.errors import ConfigError, PermanentError

TYPE_NAME = "sftp-finance"


@dataclass(frozen=True)
class Remote:
    """A file in a remote folder: its name, size and modification time (seconds)."""

    name: str
    size: int
    mtime: int

    @classmethod
    def of(cls, name: str, attrs: paramiko.SFTPAttributes) -> Remote:
        return cls(name, int(attrs.st_size or 0), int(attrs.st_mtime or 0))

    @property
    def fp(self) -> str:
        return f"{self.size}:{self.mtime}"


def makedirs(sftp: paramiko.SFTPClient, folder: str) -> None:
    parts = [p for p in folder.split("/") if p]
    path = "/" if folder.startswith("/") else ""
    for part in parts:
        path = posixpath.join(path, part) if path else part
        try:
            sftp.stat(path)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                sftp.mkdir(path)
            sftp.stat(path)


def free_name(sftp: paramiko.SFTPClient, folder: str, name: str, fp: str) -> str:
    """``folder/name``, or a name with the file's fingerprint (and a counter) when that is taken."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    options = [name] + [f"{stem}.{fp.replace(':', '-')}{'-' + str(n) if n else ''}{dot}{ext}" for n in range(100)]
    for option in options:
        try:
            sftp.stat(posixpath.join(folder, option))
        except FileNotFoundError:
            return posixpath.join(folder, option)
    raise PermanentError(f"{TYPE_NAME}: no free name for {name!r} in {folder!r}")


def upload(sftp: paramiko.SFTPClient, folder: str, name: str, content: bytes) -> None:
    """Write ``folder/name`` atomically: to a dot-named temporary file, then rename over it."""
    tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.part")
    sftp.putfo(io.BytesIO(content), tmp, file_size=len(content), confirm=True)
    sftp.posix_rename(tmp, posixpath.join(folder, name))


def read_json(sftp: paramiko.SFTPClient, path: str) -> dict[str, Any] | None:
    buffer = io.BytesIO()
    try:
        sftp.getfo(path, buffer)
    except FileNotFoundError:
        return None
    try:
        found = json.loads(buffer.getvalue())
    except ValueError as e:
        raise PermanentError(f"{TYPE_NAME}: the write record {path!r} is corrupt: {e}") from None
    return found if isinstance(found, dict) and isinstance(found.get("results"), list) else None


# -- keys -----------------------------------------------------------------------------------------------
def fingerprint(key: paramiko.PKey) -> str:
    """A key's OpenSSH-style fingerprint (``SHA256:...``)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def parse_known_hosts(text: str) -> list[tuple[list[str], paramiko.PKey]]:
    """(host names, key) per known_hosts line; ConfigError naming ``known_hosts`` and the line otherwise."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise ConfigError(f"{TYPE_NAME} config: known_hosts line {number}: markers (@cert-authority, @revoked) "
                              "are not supported; pin the host key itself")
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
        except Exception as e:
            raise ConfigError(f"{TYPE_NAME} config: known_hosts line {number}: not a host key line ({e})") from None
        if entry is None or entry.key is None:
            raise ConfigError(f"{TYPE_NAME} config: known_hosts line {number}: not a host key line "
                              "(expected 'host keytype base64', as in ~/.ssh/known_hosts)")
        entries.append((list(entry.hostnames), entry.key))
    if not entries:
        raise ConfigError(f"{TYPE_NAME} config: known_hosts: no host key; pin the server's key (ssh-keyscan, "
                          "checked with the finance system)")
    return entries


def load_private_key(text: str, passphrase: str | None = None) -> paramiko.PKey:
    """The private key in ``text`` (ed25519, ECDSA or RSA); ConfigError naming ``private_key`` otherwise."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text), passphrase or None)
        except paramiko.PasswordRequiredException:
            raise ConfigError(f"{TYPE_NAME} config: private_key: is encrypted; give private_key_passphrase") from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError):
            continue
    raise ConfigError(f"{TYPE_NAME} config: private_key: not an ed25519, ECDSA or RSA private key (or the "
                      "passphrase is wrong)")
