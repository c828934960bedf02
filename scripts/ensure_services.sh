#!/bin/sh
# Start the machine's PostgreSQL and Redis when they do not answer and their binaries exist.
# Tests that need a missing service skip with a reason, or fail when CI=true.
answers() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; }

if ! answers 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || echo "could not start Redis"
  else
    echo "Redis is not installed: its tests will skip (or fail under CI=true)"
  fi
fi

if ! answers 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start \
      || echo "could not start PostgreSQL"
  else
    echo "PostgreSQL is not installed: its tests will skip (or fail under CI=true)"
  fi
fi

for i in 1 2 3 4 5 6 7 8 9 10; do
  answers 6379 && answers 5432 && exit 0
  sleep 1
done
exit 0
