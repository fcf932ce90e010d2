#!/usr/bin/env bash
# Start the services the test suite talks to, if they are installed but not running.
# PostgreSQL (127.0.0.1:5432) is needed by the store suite; later suites add Redis and RabbitMQ.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
for i in $(seq 1 30); do up 5432 && break; sleep 1; done
up 5432 && echo "PostgreSQL is up on 127.0.0.1:5432" || echo "PostgreSQL is NOT reachable on 127.0.0.1:5432"

# OpenSSH's sshd: the SFTP connector tests start their own (hub/testing/sshd.py) on a loopback port; only
# the binary is needed here (the system's ssh service is not started).
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing openssh-server"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server) \
      >/dev/null 2>&1 || echo "could not install openssh-server"
  fi
fi
[ -x /usr/sbin/sshd ] && echo "OpenSSH sshd is installed" || echo "OpenSSH sshd is NOT installed (apt-get install openssh-server)"
exit 0
