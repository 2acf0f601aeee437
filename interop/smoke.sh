#!/usr/bin/env bash
# End-to-end check of the interop pieces (under a minute once built): a fresh
# broker on its own ports, topics made with the Kafka CLI, users and trades
# produced by the Java client, the Kafka Streams peer run until idle, and its
# counts compared with the ones worked out by hand below. Exit 0 iff they match.
#   env: SMOKE_KAFKA_DIR (/tmp/tradeflow-interop-smoke), SMOKE_PORT (39292)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KAFKA_DIR="${SMOKE_KAFKA_DIR:-/tmp/tradeflow-interop-smoke}"
export KAFKA_PORT="${SMOKE_PORT:-39292}"
export KAFKA_CONTROLLER_PORT="$((KAFKA_PORT + 1))"
bs="127.0.0.1:$KAFKA_PORT"
work="$(mktemp -d)"
trap '"$here/kafka/kafka-down.sh" >/dev/null; rm -rf "$work"' EXIT

[[ -f "$here/javaclient/target/lib/javaclient.jar" ]] || "$here/javaclient/build.sh"
[[ -f "$here/kstreams/target/lib/kstreams.jar" ]] || "$here/kstreams/build.sh"
"$here/kafka/kafka-up.sh"
for t in stocktrade:6 users:3; do
  "$here/kafka/kafka-run.sh" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" \
    --create --topic "${t%:*}" --partitions "${t#*:}" --replication-factor 1 >/dev/null
done

T=1700000040000 # a minute boundary
cat >"$work/users.jsonl" <<JSONL
{"topic":"users","key":"User_1","value":{"registertime":1500000000000,"userid":"User_1","regionid":"Region_1","gender":"MALE"},"timestamp":$T}
{"topic":"users","key":"User_2","value":{"registertime":1500000000000,"userid":"User_2","regionid":"Region_2","gender":"FEMALE"},"timestamp":$T}
{"topic":"users","key":"User_3","value":{"registertime":1500000000000,"userid":"User_3","regionid":"Region_3","gender":"OTHER"},"timestamp":$T}
{"topic":"users","key":"User_3","value":null,"timestamp":$T}
{"topic":"users","key":"User_1","value":"garbage","timestamp":$T}
JSONL
# User_3 is deleted by the tombstone; the invalid "garbage" leaves User_1 as it was.
cat >"$work/trades.jsonl" <<JSONL
{"topic":"stocktrade","key":"ZVV","value":{"side":"BUY","quantity":10,"symbol":"ZVV","price":100,"account":"ABC123","userid":"User_1"},"timestamp":$((T + 0))}
{"topic":"stocktrade","key":"ZVV","value":{"side":"BUY","quantity":10,"symbol":"ZVV","price":100,"account":"ABC123"},"timestamp":$((T + 1))}
{"topic":"stocktrade","key":"ZVV","value":{"side":"SELL","quantity":10,"symbol":"ZVV","price":100,"account":"ABC123","userid":"User_3"},"timestamp":$((T + 2))}
{"topic":"stocktrade","key":"ZVV","value":{"side":"SELL","quantity":2000,"symbol":"ZVV","price":100,"account":"ABC123","userid":"User_1"},"timestamp":$((T + 3))}
{"topic":"stocktrade","key":"ZWZZT","value":{"side":"BUY","quantity":5,"symbol":"ZWZZT","price":5,"account":"XYZ789","userid":"User_2"},"timestamp":$((T + 4))}
{"topic":"stocktrade","key":"ZWZZT","value":{"side":"BUY","quantity":5,"symbol":"ZWZZT","price":5,"account":"XYZ789","userid":"User_2"},"timestamp":$((T + 5))}
{"topic":"stocktrade","key":"ZWZZT","value":{"side":"BUY","quantity":5,"symbol":"ZWZZT","price":5,"account":"XYZ789","userid":"User_2"},"timestamp":$((T + 61000))}
{"topic":"stocktrade","key":"ZJZZT","value":{"side":"BUY","quantity":5,"symbol":"ZJZZT","price":5,"account":"XYZ789","userid":"User_9"},"timestamp":$((T + 6))}
{"topic":"stocktrade","key":"ZVV","value":"{not json","timestamp":$((T + 7))}
JSONL
# Where the Java client (murmur2 of the key) puts them, in input order:
cat >"$work/want-offsets.txt" <<TXT
stocktrade 0 0
stocktrade 0 1
stocktrade 0 2
stocktrade 0 3
stocktrade 0 4
stocktrade 0 5
stocktrade 0 6
stocktrade 5 0
stocktrade 0 7
TXT
# So, line by line: Completed (0/0 not in the SEC sample), Rejected (no userid),
# Rejected (deleted user), Pending (200000 > 100000), SEC Flagged (0/4 is in the
# 30 % sample), Completed (0/5), Completed (0/6, next minute), Rejected (unknown
# user), skipped (not JSON).
cat >"$work/want.txt" <<TXT
ZJZZT@$T@Rejected=1
ZVV@$T@Completed=1
ZVV@$T@Pending=1
ZVV@$T@Rejected=2
ZWZZT@$T@Completed=1
ZWZZT@$T@SEC Flagged=1
ZWZZT@$((T + 60000))@Completed=1
TXT

jc=(java -cp "$here/javaclient/target/lib/*" tradeflow.interop.JsonlProducer --offsets "$bs")
"${jc[@]}" "$work/users.jsonl" >/dev/null
"${jc[@]}" "$work/trades.jsonl" >"$work/offsets.txt"
diff -u "$work/want-offsets.txt" "$work/offsets.txt"

java -Xmx1g -cp "$here/kstreams/target/lib/*" tradeflow.interop.Main \
  --bootstrap-servers "$bs" --application-id "smoke-$$" --until-idle 5 2>"$work/kstreams.log" ||
  { tail -n 30 "$work/kstreams.log" >&2; exit 1; }
"$here/kafka/kafka-run.sh" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bs" \
  --topic kstreams-counts --from-beginning --timeout-ms 5000 \
  --formatter-property print.key=true --formatter-property key.separator== 2>/dev/null \
  >"$work/got.txt" || true # it exits non-zero on its timeout
# The topic is a changelog of counts: the last value of each key wins.
tac "$work/got.txt" | awk -F= '!seen[$1]++' | sort >"$work/final.txt"
if diff -u "$work/want.txt" "$work/final.txt"; then
  echo "smoke: kstreams counts match the hand-worked ones"
else
  echo "smoke: MISMATCH" >&2
  exit 1
fi
