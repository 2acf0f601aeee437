package processor

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/store"
	pb "github.com/tradeflow/tradeflow/proto"
)

// Helpers for the goka tester (one partition, offsets counting from 0 per
// topic; partitioning, rebalancing and recovery need the embedded broker).

// eventTime is the event time the tests give their records: on a minute.
var eventTime = time.UnixMilli(1700000040000).UTC()

// newMetrics is a Metrics on a fresh registry; at the end of the test the
// registry must pass the Prometheus linter.
func newMetrics(tb testing.TB) (*Metrics, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tb.Cleanup(func() {
		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			tb.Errorf("lint metrics: %v", err)
		}
		for _, p := range problems {
			tb.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	})
	return m, reg
}

// runProcessor starts a processor of graph on tt with the options the
// pipeline gives it (pipeline.go), and stops it when the test ends.
func runProcessor(tb testing.TB, tt *tester.Tester, graph *goka.GroupGraph, opts ...goka.ProcessorOption) *goka.Processor {
	tb.Helper()
	p, err := goka.NewProcessor(nil, graph, append([]goka.ProcessorOption{goka.WithTester(tt),
		goka.WithLogger(gokaext.GokaLogger(quietLog()))}, opts...)...)
	if err != nil {
		tb.Fatalf("new processor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("processor %s: %v", graph.Group(), err)
		}
	})
	return p
}

// record is one record a tracker read from a topic.
type record struct {
	headers goka.Headers
	key     string
	value   []byte
}

// drain returns what was written to the tracker's topic since the last call.
func drain(q *tester.QueueTracker) []record {
	var out []record
	for {
		h, k, v, ok := q.NextRawWithHeaders()
		if !ok {
			return out
		}
		out = append(out, record{h, k, v})
	}
}

// one asserts that exactly one record was written and returns it.
func one(tb testing.TB, topic goka.Stream, recs []record) record {
	tb.Helper()
	if len(recs) != 1 {
		tb.Fatalf("%s: %d records, want 1: %+v", topic, len(recs), recs)
	}
	return recs[0]
}

func none(tb testing.TB, topic goka.Stream, recs []record) {
	tb.Helper()
	if len(recs) != 0 {
		tb.Errorf("%s: %d records, want none: %+v", topic, len(recs), recs)
	}
}

// decode unmarshals b into a new M.
func decode[M proto.Message](tb testing.TB, b []byte, m M) M {
	tb.Helper()
	if err := proto.Unmarshal(b, m); err != nil {
		tb.Fatalf("decode %T: %v", m, err)
	}
	return m
}

func equalProto(tb testing.TB, what string, got, want proto.Message) {
	tb.Helper()
	if !proto.Equal(got, want) {
		tb.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// checkDeadLetter asserts rec is the dead letter of the record (key, value)
// at topic/0/offset, refused for a reason containing reason.
func checkDeadLetter(tb testing.TB, rec record, topic goka.Stream, offset, key string, value []byte, reason string) {
	tb.Helper()
	if rec.key != key {
		tb.Errorf("dead letter key %q, want %q", rec.key, key)
	}
	if string(rec.value) != string(value) || (value == nil) != (rec.value == nil) {
		tb.Errorf("dead letter value %q, want the input %q", rec.value, value)
	}
	want := map[string]string{HeaderTopic: string(topic), HeaderPartition: "0", HeaderOffset: offset}
	for h, v := range want {
		if got := string(rec.headers[h]); got != v {
			tb.Errorf("dead letter header %s = %q, want %q", h, got, v)
		}
	}
	if got := string(rec.headers[HeaderReason]); reason == "" || !strings.Contains(got, reason) {
		tb.Errorf("dead letter reason %q, want it to contain %q", got, reason)
	}
}

// encodeSettlement encodes a TradeSettlement as the settle group writes it.
func encodeSettlement(tb testing.TB, s *pb.TradeSettlement) []byte {
	tb.Helper()
	b, err := marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testKit is a gokaext.Kit with tables in kind under dir and the worker's
// default timings.
func testKit(tb testing.TB, kind store.Kind, dir string) *gokaext.Kit {
	tb.Helper()
	procs, views, err := store.Builders(kind, dir)
	if err != nil {
		tb.Fatal(err)
	}
	return gokaext.New(gokaext.Options{
		Kafka:            kclient.Config{ClientID: "test", Group: kclient.GroupTimings{Session: 6 * time.Second, Heartbeat: time.Second, Rebalance: 10 * time.Second}},
		ProcessorStorage: procs, ViewStorage: views,
		Producer:        gokaext.ProducerTimings{Linger: 5 * time.Millisecond, Delivery: 2 * time.Minute, Close: 15 * time.Second},
		Rejoin:          gokaext.RejoinTimings{BackoffMin: 250 * time.Millisecond, BackoffMax: 5 * time.Second, GiveUp: 2 * time.Minute},
		ChangelogLinger: 10 * time.Millisecond,
		Log:             quietLog(),
	})
}
