#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft, broker+controller) on loopback in
# the background and waits until it serves requests. Idempotent: if the broker
# of KAFKA_DIR is already up, it only prints the ready line again.
#
# env: KAFKA_DIR (/tmp/tradeflow-kafka)  KAFKA_PORT (29092)  KAFKA_CONTROLLER_PORT (29093)
#      KAFKA_HEAP_OPTS (-Xmx1g -Xms1g)  KAFKA_START_TIMEOUT seconds (90)
#      KAFKA_EXTRA_CONFIG: extra server.properties lines, appended last (they win)
#      KAFKA_RESTART=1: start the stopped (or killed) broker of KAFKA_DIR again on
#        its data and configuration, instead of a fresh one (the chaos test's
#        broker restart)
# prints: kafka-up: Apache Kafka <version> ready at 127.0.0.1:<port>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${KAFKA_DIR:-/tmp/tradeflow-kafka}"
port="${KAFKA_PORT:-29092}"
cport="${KAFKA_CONTROLLER_PORT:-29093}"
timeout="${KAFKA_START_TIMEOUT:-90}"
log="$dir/logs/server.log"

# ApiVersions v0 request over bash's /dev/tcp: true iff the broker answers
# with error_code 0, i.e. it accepts and processes requests.
api_versions_ok() {
  local resp
  resp="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # size=12, api_key=18 (ApiVersions), version=0, correlation_id=1, client_id="up"
    printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02up" >&3
    head -c 10 <&3 | od -An -tx1' _ "$port" 2>/dev/null | tr -d ' \n')" || return 1
  # 4 bytes size, correlation_id 00000001, error_code 0000
  [[ "${resp:8:12}" == "000000010000" ]]
}

# The pid file's process is alive and is still a Kafka broker (not a reused pid).
alive() {
  [[ -f "$dir/kafka.pid" ]] && grep -qa 'kafka.Kafka' "/proc/$(cat "$dir/kafka.pid")/cmdline" 2>/dev/null
}

ready_line() {
  local v
  v="$(grep -m1 -o 'Kafka version: [^ ]*' "$log" | sed 's/Kafka version: //')"
  echo "kafka-up: Apache Kafka ${v:-?} ready at 127.0.0.1:$port"
}

if alive && grep -q 'Kafka Server started' "$log" 2>/dev/null && api_versions_ok; then
  ready_line
  exit 0
fi
if alive; then
  echo "kafka-up: a broker of $dir is running but not ready; run kafka-down.sh first" >&2
  exit 1
fi

# A fresh directory and configuration: stale data from a dead broker is
# thrown away.
fresh() {
  if [[ -e "$dir" ]]; then
    if [[ -n "$(ls -A "$dir")" && ! -f "$dir/server.properties" ]]; then
      echo "kafka-up: $dir exists and is not a kafka-up directory; refusing to wipe it" >&2
      exit 1
    fi
    rm -rf "$dir"
  fi
  mkdir -p "$dir/data" "$dir/logs"

  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Keep every record: test data often carries old event times, which the default
# 7-day time retention would delete within log.retention.check.interval.ms (5 min).
log.retention.ms=-1
${KAFKA_EXTRA_CONFIG:-}
EOF

  # (kafka-run.sh resolves the jars on first use: Maven Central, ~45 MB)
  cluster_id="$("$here/kafka-run.sh" kafka.tools.StorageTool random-uuid)"
  "$here/kafka-run.sh" kafka.tools.StorageTool format --standalone \
    -t "$cluster_id" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 || {
    cat "$dir/logs/format.log" >&2; exit 1; }
}

if [[ "${KAFKA_RESTART:-}" == 1 ]]; then
  if [[ ! -f "$dir/server.properties" ]]; then
    echo "kafka-up: KAFKA_RESTART=1 but $dir holds no broker to restart" >&2
    exit 1
  fi
  # The new start is told apart from the old one by a new log.
  if [[ -f "$log" ]]; then mv "$log" "$log.$(date +%s%N)"; fi
else
  fresh
fi

# setsid: the broker outlives this shell and its process group.
# shellcheck disable=SC2086
setsid nohup java ${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g} \
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
  -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
  -cp "$here/target/lib/*" kafka.Kafka "$dir/server.properties" \
  >"$dir/logs/stdout.log" 2>&1 </dev/null &
echo $! >"$dir/kafka.pid"

deadline=$((SECONDS + timeout))
# $! is the forked shell until it has exec'd java: for its first seconds a
# process without kafka.Kafka in its command line is not yet a failure.
started=$SECONDS
until grep -q 'Kafka Server started' "$log" 2>/dev/null && api_versions_ok; do
  if { ! alive && ((SECONDS - started >= 3)); } || ((SECONDS >= deadline)); then
    echo "kafka-up: broker did not come up within ${timeout}s (alive: $(alive && echo yes || echo no)); log tail:" >&2
    tail -n 40 "$log" "$dir/logs/stdout.log" >&2 2>/dev/null || true
    alive && kill -KILL "$(cat "$dir/kafka.pid")" 2>/dev/null || true
    exit 1
  fi
  sleep 0.3
done
ready_line
