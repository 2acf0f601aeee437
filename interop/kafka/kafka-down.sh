#!/usr/bin/env bash
# Stops the broker started by kafka-up.sh (SIGTERM, up to KAFKA_STOP_TIMEOUT
# seconds (30) for a controlled shutdown, then SIGKILL) and removes KAFKA_DIR.
# Idempotent: nothing running and no directory is success.
set -euo pipefail
dir="${KAFKA_DIR:-/tmp/tradeflow-kafka}"
timeout="${KAFKA_STOP_TIMEOUT:-30}"

if [[ -f "$dir/kafka.pid" ]]; then
  pid="$(cat "$dir/kafka.pid")"
  if grep -qa 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "kafka-down: broker $pid did not stop in ${timeout}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
fi
if [[ -e "$dir" ]]; then
  if [[ -n "$(ls -A "$dir")" && ! -f "$dir/server.properties" ]]; then
    echo "kafka-down: $dir is not a kafka-up directory; leaving it" >&2
    exit 1
  fi
  rm -rf "$dir"
fi
echo "kafka-down: stopped, $dir removed"
