-- wrk: the original system's pull query through ksqlDB's POST /query-stream
-- (the delimited format, ksqlDB's default), for the benchmark's http scenario.
wrk.method = "POST"
wrk.body = '{"sql":"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL=\'ZVV\';","properties":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/vnd.ksqlapi.delimited.v1"
