#!/usr/bin/env bash
# Runs a main class from the pinned Kafka jars (resolving them on first use):
#   kafka-run.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:29092 --list
# Useful classes: kafka.tools.StorageTool, org.apache.kafka.tools.TopicCommand,
# org.apache.kafka.tools.consumer.ConsoleConsumer, org.apache.kafka.tools.BrokerApiVersionsCommand,
# org.apache.kafka.tools.GetOffsetShell, org.apache.kafka.tools.consumer.group.ConsumerGroupCommand.
# Tools log warnings to stderr; set KAFKA_TOOLS_OPTS for extra JVM flags.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Resolve the jars into target/lib when missing or older than pom.xml (the sed drops
# the stray colour codes Maven 3.8 prints even with -B -q).
if [[ ! "$here/target/lib/.complete" -nt "$here/pom.xml" ]]; then
  rm -rf "$here/target/lib"
  mvn -B -q -f "$here/pom.xml" package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2
  touch "$here/target/lib/.complete"
fi
[[ $# -ge 1 ]] || { echo "usage: $0 MAIN_CLASS [ARGS...]" >&2; exit 2; }
# shellcheck disable=SC2086
exec java -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${KAFKA_TOOLS_OPTS:-} \
  -Dlog4j2.configurationFile="$here/log4j2-tools.properties" \
  -cp "$here/target/lib/*" "$@"
