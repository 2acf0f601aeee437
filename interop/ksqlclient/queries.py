"""Runs the original system's queries against tradeflow with a third-party
ksqlDB client (ksql-python-ng: /info, /ksql and the chunked /query over
HTTP/1.1, /query-stream over HTTP/2), and prints what it got as one JSON
object for the Go test to check.

usage: queries.py <url> <token> <symbol> <push seconds>
"""
import json
import sys
import time

from ksql import KSQLAPI


def main():
    url, token, symbol, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    # The Python clients send Basic auth; tradeflow takes its token as the
    # password. KSQLAPI reads /info first (check_version).
    client = KSQLAPI(url, api_key="tradeflow", secret=token, timeout=30)
    out = {"version": client.get_ksql_version()}
    out["tables"] = [t["name"] for e in client.ksql("SHOW TABLES;") for t in e["tables"]]

    # The original system's pull query, over the chunked /query.
    pull = "".join(client.query("SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='%s';" % symbol))
    out["pull"] = json.loads(pull)

    # A push query over HTTP/2: the current rows, then changes, for a while.
    buf, lines = "", []
    deadline = time.time() + seconds
    stream = client.query("SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='%s' EMIT CHANGES;" % symbol, use_http2=True)
    for chunk in stream:
        buf += chunk
        *done, buf = buf.split("\n")
        lines += [json.loads(l) for l in done if l.strip()]
        if time.time() > deadline:
            break
    stream.close()
    out["push"] = lines
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
