#!/usr/bin/env python3
"""Produce JSONL records through librdkafka (confluent-kafka) with Java's
partitioning (murmur2_random), explicit timestamps, acks=all, idempotence.

usage: produce.py BOOTSTRAP < records.jsonl
each line: {"topic": str, "key": str|null, "value": str|null, "timestamp": ms}
A null value is a tombstone. Exits non-zero if any record is not delivered.
"""
import json
import sys

from confluent_kafka import Producer


def main() -> int:
    p = Producer({
        "bootstrap.servers": sys.argv[1],
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    })
    failed = []

    def report(err, msg):
        if err is not None:
            failed.append(f"{msg.topic()}: {err}")

    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        key = r.get("key")
        value = r.get("value")
        while True:
            try:
                p.produce(r["topic"],
                          key=None if key is None else key.encode(),
                          value=None if value is None else value.encode("utf-8", "surrogateescape"),
                          timestamp=int(r.get("timestamp") or 0),
                          on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        n += 1
        p.poll(0)
    left = p.flush(60)
    if left or failed:
        print(f"produce.py: {left} undelivered, {len(failed)} failed: {failed[:3]}", file=sys.stderr)
        return 1
    print(f"produce.py: {n} records delivered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
