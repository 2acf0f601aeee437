# tradeflow: `make test` is what CI runs (.ci/run). It needs Go, Java 17,
# Maven, kcat, wrk, podman, Prometheus (prometheus, promtool), Chromium and
# the Python clients of interop/; `.ci/run` installs all but the first
# three on a fresh machine.
SHELL := bash
GO ?= go
# Below Linux's ephemeral port range (32768-60999): a listening port there
# can collide with a client connection's local port, and Kafka then fails
# to start with "Address already in use" (seen once at 39092).
KAFKA_PORT ?= 29092
# Tests that need an external tool fail instead of skipping.
export TRADEFLOW_REQUIRE_TOOLS := 1

.PHONY: test test-go test-java test-kafka bench-smoke fuzz kafka-up kafka-down proto build

build:
	$(GO) build -o tradeflow ./cmd/tradeflow

# Unit tests and the integration suite on the embedded broker, then the
# integration suite again on a real Apache Kafka broker, the short chaos run
# on each broker with the fused count and on the embedded one with the count
# group (each on its own: it times takeovers), then a short fuzz.
test: test-go test-java test-kafka chaos-short chaos-short-hop chaos-short-kafka fuzz bench-smoke

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# A small benchmark run, to prove the benchmark works; speed figures never
# fail it (BENCHMARKS.md has the real runs).
bench-smoke:
	set -o pipefail; $(GO) run ./cmd/tradeflow-bench -trades 20000 -restore 20000 -latency-duration 3s \
	  -partitions-large 50 -wrk-duration 2s -http-backlog 5000 2>&1 | grep -v '^time='
	set -o pipefail; $(GO) run ./cmd/tradeflow-bench -profile market -symbols 500 -users 5000 -trades 20000 \
	  -restore 20000 -partitions-large 50 -scenarios drain,drain-large,restore-users 2>&1 | grep -v '^time='

# The Kafka Streams peer's own tests (the rules, input by input).
test-java:
	cd interop/kstreams && mvn -B -q test

# The integration suite against real Apache Kafka (interop/kafka).
test-kafka:
	interop/kafka/kafka-up.sh
	TRADEFLOW_TEST_BROKERS=127.0.0.1:$(KAFKA_PORT) $(GO) test -count=1 -timeout 20m ./integration/; \
	  rc=$$?; interop/kafka/kafka-down.sh; exit $$rc

# A short run of every decoder's fuzz target (trades and users, count
# values), seeded with the bad-input corpus. A count of executions, not a
# duration: Go 1.26's fuzz coordinator can fail a target with "context
# deadline exceeded" at the end of a -fuzztime duration on a loaded
# machine, with no failing input (go.dev/issue/75804, fixed in Go 1.27); a
# count has no deadline to race.
FUZZTIME ?= 50000x
FUZZ_PACKAGES := ./settlement/ ./internal/compact/ ./internal/ledger/ ./views/ksql/
fuzz:
	@for p in $(FUZZ_PACKAGES); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "fuzz $$p $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	  done; \
	done

kafka-up:
	interop/kafka/kafka-up.sh

kafka-down:
	interop/kafka/kafka-down.sh

# Regenerate proto/*.pb.go (needs protoc; protoc-gen-go is pinned by go.mod).
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	cd proto && PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --go_out=. --go_opt=paths=source_relative *.proto

# The long chaos run: a few hundred thousand trades while workers are
# killed and restarted, the broker is restarted and the connection to it is
# cut (through Toxiproxy) for 30 s; every per-minute count must equal the
# ground truth. `make chaos-short` runs the short version (about 70 s), on
# its own so that nothing else competes for the CPU while it times
# takeovers.
# A rolling restart of three workers with and without static membership
# (TRADEFLOW_GROUP_INSTANCE_ID): partitions moved and time to ready. A
# measurement; it prints figures and checks the counts.
.PHONY: rolling
rolling:
	TRADEFLOW_ROLLING=1 $(GO) test -count=1 -run TestRollingRestart -v -timeout 10m ./integration/

# Workers on 1,000 partitions growing from 1 to 2 to 4 (market profile):
# time to ready and to stable groups, partitions per worker, exact counts.
# A measurement; it prints figures.
.PHONY: scale-out
scale-out:
	TRADEFLOW_SCALE=1 $(GO) test -count=1 -run TestScaleOut -v -timeout 30m ./integration/

# Whole drains by `tradeflow worker` processes against `tradeflow broker`:
# the market profile's 1M-trade backlog at 6 and 1,000 partitions, with 1
# and 2 workers; time to all counted, trades/s, each process's peak RSS,
# exact counts. A measurement; it prints figures. TRADEFLOW_DRAIN_* shape
# it (integration/drain_test.go); TRADEFLOW_TEST_BROKERS points it at a
# real Kafka.
# A trading day's count table (8,000 symbols × 1,440 minutes) restored into
# an empty `tradeflow worker` process: time to ready, peak RSS, queries.
.PHONY: restore-worker
restore-worker:
	TRADEFLOW_RESTORE=1 $(GO) test -count=1 -run TestRestoreWorker -v -timeout 1h ./integration/

.PHONY: drain-workers scale-50m
drain-workers:
	TRADEFLOW_DRAIN=1 $(GO) test -count=1 -run TestDrainWorkers -v -timeout 2h ./integration/

# The seed's experiment at full size: 50M trades on 1,000 partitions,
# about 50k per partition (100,000 symbols drawn evenly), drained by one
# worker against `tradeflow broker`, then against Apache Kafka
# (interop/kafka). Not in CI: about an hour, and tens of GB of disk.
SCALE_50M := TRADEFLOW_DRAIN=1 TRADEFLOW_DRAIN_TRADES=50000000 TRADEFLOW_DRAIN_PARTITIONS=1000 \
  TRADEFLOW_DRAIN_WORKERS=1 TRADEFLOW_DRAIN_SYMBOLS=100000 TRADEFLOW_DRAIN_SKEW=0 TRADEFLOW_DRAIN_SPAN=10m
scale-50m:
	$(SCALE_50M) $(GO) test -count=1 -run TestDrainWorkers -v -timeout 4h ./integration/
	interop/kafka/kafka-up.sh
	$(SCALE_50M) TRADEFLOW_TEST_BROKERS=127.0.0.1:$(KAFKA_PORT) $(GO) test -count=1 -run TestDrainWorkers -v -timeout 4h ./integration/; \
	  rc=$$?; interop/kafka/kafka-down.sh; exit $$rc

.PHONY: chaos chaos-short chaos-short-hop chaos-short-kafka chaos-kafka
chaos-short:
	TRADEFLOW_CHAOS=short TRADEFLOW_CHAOS_COUNT=fused $(GO) test -count=1 -run TestChaos -v -timeout 10m ./integration/

# The same with the workers counting in the count group (TRADEFLOW_COUNT=hop,
# two of them in LevelDB).
chaos-short-hop:
	TRADEFLOW_CHAOS=short TRADEFLOW_CHAOS_COUNT=hop $(GO) test -count=1 -run TestChaos -v -timeout 10m ./integration/

# The same with a real Apache Kafka as the broker that is killed and
# restarted (interop/kafka).
chaos-short-kafka:
	TRADEFLOW_CHAOS=short TRADEFLOW_CHAOS_KAFKA=1 TRADEFLOW_CHAOS_COUNT=fused $(GO) test -count=1 -run TestChaos -v -timeout 10m ./integration/

chaos-kafka:
	TRADEFLOW_CHAOS=full TRADEFLOW_CHAOS_KAFKA=1 $(GO) test -count=1 -run TestChaos -v -timeout 30m ./integration/

chaos:
	TRADEFLOW_CHAOS=full $(GO) test -count=1 -run TestChaos -v -timeout 30m ./integration/
