"""A real OpenSSH sshd on a loopback port, with its own config, host keys and SFTP user, for tests and the demo.

    server = SshServer.create()            # needs root and /usr/sbin/sshd (ensure_openssh() installs it)
    server.start()
    server.put("inbox/a.csv", b"...")      # files appear in the SFTP user's start directory
    config = {"host": server.host, "port": server.port, "username": server.user,
              "private_key": server.private_key, "known_hosts": server.known_hosts}
    server.drop_sessions()                 # connection reset: kill the per-connection processes
    server.stop(); server.start()          # the daemon down and up again, on the same port
    server.regenerate_host_keys()          # a changed host key (restarts the daemon)
    server.close()                         # stop it and remove its files

The daemon runs in the foreground (``sshd -D -e``) as a child process (with ``die_with_parent``, one that
ends with the process that started it), listening on 127.0.0.1 only,
with ``UsePAM no``, ``Subsystem sftp internal-sftp`` and ``ForceCommand internal-sftp -d <data>``: the
account can only do SFTP, starting in the server's own data directory. It accepts only its SFTP user
(``AllowUsers``), by key (a fresh ed25519 client key) or password. The user is a dedicated system account
(default ``hubsftp``, shell ``nologin``) created with useradd; its password is random, set once with
chpasswd and kept in a root-only file, so concurrent test processes share it. Files written through
``put`` and ``mkdir`` belong to that user, so it can rename and remove them over SFTP.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
DEFAULT_USER = "hubsftp"
STATE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hub-test-sshd"


class SshdUnavailable(RuntimeError):
    """OpenSSH's sshd cannot be run here (not installed and not installable, or not root)."""


def ensure_openssh(install: bool = True, timeout: float = 600) -> Path:
    """The sshd binary; installs Debian's openssh-server with apt-get when it is missing and ``install``."""
    if SSHD.exists():
        return SSHD
    if not install:
        raise SshdUnavailable(f"{SSHD} is missing: apt-get install openssh-server")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SshdUnavailable(f"{SSHD} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _locked(STATE_DIR / "apt.lock"):
        if not SSHD.exists():
            for argv in (["apt-get", "update", "-qq"],
                         ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "openssh-server"]):
                done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
                if done.returncode != 0:
                    raise SshdUnavailable(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    if not SSHD.exists():
        raise SshdUnavailable(f"openssh-server was installed but {SSHD} is still missing")
    return SSHD


def ensure_user(name: str = DEFAULT_USER) -> str:
    """Create the SFTP account if missing (no shell, no home); its password (random, kept root-only)."""
    if os.geteuid() != 0:
        raise SshdUnavailable("starting sshd for an SFTP user needs root")
    secret = STATE_DIR / f"{name}.password"
    with _locked(STATE_DIR / "user.lock"):
        if not _user_exists(name):
            done = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                   "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True, check=False)
            if done.returncode not in (0, 9):  # 9: it exists (made by a concurrent process)
                raise SshdUnavailable(f"useradd {name} failed: {done.stderr.strip()}")
        if not secret.exists():
            password = secrets.token_urlsafe(24)
            done = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True, text=True,
                                  check=False)
            if done.returncode != 0:
                raise SshdUnavailable(f"chpasswd failed: {done.stderr.strip()}")
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password)
        return secret.read_text().strip()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def reachable(path: Path) -> bool:
    """Whether other users (the SFTP user) may traverse every existing folder on the way to ``path``."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass
class SshServer:
    """One sshd: its state directory (config, keys, log), its SFTP user's data directory and its port."""

    base: Path
    data: Path
    user: str
    password: str = field(repr=False)
    port: int
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _owned: bool = field(default=False, repr=False)
    #: sshd ends when the process that started it does (however it ends); start it from the main thread then
    die_with_parent: bool = False

    @classmethod
    def create(cls, base: Path | None = None, data: Path | None = None, user: str = DEFAULT_USER,
               port: int | None = None, install: bool = True) -> SshServer:
        """A configured, stopped server (host and client keys made); ``base``/``data`` default to temp dirs."""
        ensure_openssh(install)
        password = ensure_user(user)
        owned = base is None
        base = Path(base or tempfile.mkdtemp(prefix="hub-sshd-"))
        if not reachable(base.parent) or (data is not None and not reachable(Path(data).parent)):
            raise SshdUnavailable(f"{base} and {data or base / 'data'} must be reachable by other users: sshd reads "
                                  f"authorized_keys there as {user}, who works in the data folder")
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)  # the user reads authorized_keys in here
        data = Path(data or base / "data")
        data.mkdir(parents=True, exist_ok=True)
        server = cls(base, data, user, password, port or free_port(), _owned=owned)
        server._chown(data)
        if not (base / "ssh_host_ed25519_key").exists():
            _keygen(base / "ssh_host_ed25519_key", "hub-test-host")
        if not (base / "client_key").exists():
            _keygen(base / "client_key", "hub-test-client")
        shutil.copyfile(base / "client_key.pub", base / "authorized_keys")
        os.chmod(base / "authorized_keys", 0o644)
        return server

    # -- what a client needs ----------------------------------------------------------------------------
    @property
    def private_key(self) -> str:
        """The client's private key (OpenSSH format), accepted for ``user``."""
        return (self.base / "client_key").read_text()

    @property
    def host_key_line(self) -> str:
        """The server's public host key as ``type base64``."""
        kind, blob = (self.base / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        return f"{kind} {blob}"

    @property
    def known_hosts(self) -> str:
        """An OpenSSH known_hosts line pinning this server's host key."""
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {self.host_key_line}\n"

    # -- files --------------------------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        """A path inside the data directory (what the SFTP user sees as ``relative``)."""
        return self.data / relative

    def mkdir(self, relative: str) -> Path:
        target = self.data / relative
        missing = [p for p in [target, *target.parents] if not p.exists() and self.data in p.parents]
        target.mkdir(parents=True, exist_ok=True)
        for p in missing:
            self._chown(p)
        return target

    def put(self, relative: str, content: bytes, mtime: float | None = None) -> Path:
        """Write a file as if uploaded by the finance system (owned by the SFTP user)."""
        target = self.data / relative
        if Path(relative).parent != Path("."):
            self.mkdir(str(Path(relative).parent))
        tmp = target.with_name(f".{target.name}.put")
        tmp.write_bytes(content)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        self._chown(tmp)
        os.replace(tmp, target)
        return target

    def _chown(self, path: Path) -> None:
        entry = pwd.getpwnam(self.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    # -- the daemon ---------------------------------------------------------------------------------------
    def write_config(self) -> Path:
        config = self.base / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.base / 'ssh_host_ed25519_key'}",
            f"PidFile {self.base / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.base / 'authorized_keys'}",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin no",
            f"AllowUsers {self.user}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PermitEmptyPasswords no",
            "Subsystem sftp internal-sftp",
            f"ForceCommand internal-sftp -d {self.data}",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTTY no",
            "LoginGraceTime 30",
            "MaxStartups 100:30:200",
            "LogLevel VERBOSE",
            "",
        ]))
        return config

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        """Start sshd and wait until it answers with its banner."""
        if self.running():
            return
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation directory
        config = self.write_config()
        check = subprocess.run([str(SSHD), "-t", "-f", str(config)], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise SshdUnavailable(f"sshd rejects its config: {check.stderr.strip()}")
        from hub.sync.lifeline import preexec

        with open(self.base / "sshd.log", "ab") as log:
            self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=preexec() if self.die_with_parent else None)
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise SshdUnavailable(f"sshd exited at start:\n{self.log_text()[-3000:]}")
            if self.answers():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise SshdUnavailable(f"sshd did not answer on port {self.port}:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def answers(self) -> bool:
        """Whether sshd accepts a connection and sends its banner."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def drop_sessions(self) -> int:
        """Kill every connection's processes (clients see their connection reset); the daemon listens on."""
        if self.proc is None:
            return 0
        victims = _descendants(self.proc.pid)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(victims)

    def stop(self) -> None:
        """Stop the daemon and drop its sessions."""
        if self.proc is None:
            return
        self.drop_sessions()  # first, so the daemon still reaps its children
        time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def regenerate_host_keys(self) -> None:
        """A new host key (as after a reinstall or an attack); the daemon is restarted with it if running."""
        was_running = self.running()
        self.stop()
        _keygen(self.base / "ssh_host_ed25519_key", "hub-test-host")
        if was_running:
            self.start()

    def log_text(self) -> str:
        try:
            return (self.base / "sshd.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop the daemon; remove its directories when they were made by ``create``."""
        self.stop()
        if self._owned:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> SshServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
