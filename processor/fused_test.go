package processor

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// memStore is a WindowStore in a map, as the count view's index keeps
// windows (views has the real one and its tests).
type memStore struct {
	mu       sync.Mutex
	values   map[string][]byte
	caughtUp int // CaughtUp calls
}

func (s *memStore) Update(key string, fn func([]byte) []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if next := fn(s.values[key]); next != nil {
		s.values[key] = next
	}
	return nil
}

func (s *memStore) EachSymbol(fn func(string, int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	newest := map[string]int64{}
	for key := range s.values {
		symbol, start, _ := settlement.ParseWindowKey(key)
		if cur, seen := newest[symbol]; !seen || start > cur {
			newest[symbol] = start
		}
	}
	for symbol, start := range newest {
		fn(symbol, start)
	}
}

func (s *memStore) Expire(symbol string, before int64, gone func(string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for key := range s.values {
		if sym, start, _ := settlement.ParseWindowKey(key); sym == symbol && start < before {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		gone(key)
		delete(s.values, key)
	}
}

func (s *memStore) CaughtUp(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caughtUp++
	return nil
}

func (s *memStore) window(tb testing.TB, key string) *pb.WindowCounts {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		tb.Fatalf("store holds no window %s", key)
	}
	return decode(tb, v, &pb.WindowCounts{})
}

// fusedHarness runs the settle group with the fused count on a tester.
type fusedHarness struct {
	tt          *tester.Tester
	m           *Metrics
	store       *memStore
	counter     *Counter
	counts, dlq *tester.QueueTracker
	loop        *tester.QueueTracker
}

func newFused(tb testing.TB) *fusedHarness { return newFusedOn(tb, 1) }

// newFusedOn is newFused with stocktrade in partitions partitions (the
// tester runs partition 0 only).
func newFusedOn(tb testing.TB, partitions int32) *fusedHarness {
	tb.Helper()
	tt := tester.New(tb)
	m, _ := newMetrics(tb)
	st := &memStore{values: map[string][]byte{}}
	c := &Counter{Policy: testPolicy, Metrics: m, Log: quietLog(), Store: st, ExpireEvery: time.Minute, Partitions: partitions}
	s := NewSettler(settlement.Rules{LargeTrade: 100000, FlagRate: 0}, testUsers, testPolicy, m)
	s.Count = c
	runProcessor(tb, tt, s.Graph(), goka.WithNilHandling(goka.NilProcess))
	return &fusedHarness{tt: tt, m: m, store: st, counter: c,
		counts: tt.NewQueueTracker(string(CountTable)), dlq: tt.NewQueueTracker(string(DeadLetterTopic)),
		loop: tt.NewQueueTracker(string(RekeyTopic))}
}

var fusedKey = settlement.WindowKey("ZVZZT", eventTime.UnixMilli())

func TestFusedCountsInTheSettleGroup(t *testing.T) {
	h := newFused(t)
	for _, userid := range []string{"User_5", "", "User_5"} {
		h.tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON(userid, 10, 20), tester.WithTime(eventTime))
	}
	recs := drain(h.counts)
	if len(recs) != 3 {
		t.Fatalf("count table got %d records, want one per trade (3)", len(recs))
	}
	for _, r := range recs {
		if r.key != fusedKey {
			t.Errorf("count table record key %q, want %q", r.key, fusedKey)
		}
	}
	last := decode(t, recs[2].value, &pb.WindowCounts{})
	want := &pb.WindowCounts{Symbol: "ZVZZT", WindowStart: eventTime.UnixMilli(), Completed: 2, Rejected: 1,
		Applied: []*pb.SourceOffset{{Partition: 0, Offset: 2}}}
	equalProto(t, "last count value", last, want)
	equalProto(t, "the store's window", h.store.window(t, fusedKey), want)
	if h.store.caughtUp != 1 {
		t.Errorf("CaughtUp called %d times in one generation, want once", h.store.caughtUp)
	}
	none(t, DeadLetterTopic, drain(h.dlq))
}

func TestFusedSkipsReplays(t *testing.T) {
	h := newFused(t)
	// The window already counts this partition's trades up to offset 5:
	// the tester's first record (offset 0) is a replay.
	held := windowCounts("ZVZZT", eventTime, 6, 0, 0, 0, map[int32]int64{0: 5})
	b, err := CountsCodec().Encode(held)
	if err != nil {
		t.Fatal(err)
	}
	h.store.values[fusedKey] = b
	h.tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_5", 10, 20), tester.WithTime(eventTime))
	got := decode(t, one(t, goka.Stream(CountTable), drain(h.counts)).value, &pb.WindowCounts{})
	equalProto(t, "a replay's value, written again", got, held)
	if d := testutil.ToFloat64(h.m.Duplicates); d != 1 {
		t.Errorf("duplicates %v, want 1", d)
	}
}

// A trade whose key is not its symbol, in the partition its symbol's home
// is anyway, is counted there.
func TestFusedCountsAnotherKeyInItsSymbolsPartition(t *testing.T) {
	h := newFused(t)
	h.tt.Consume(string(TradesTopic), "OTHER", tradeJSON("User_5", 10, 20), tester.WithTime(eventTime))
	got := decode(t, one(t, goka.Stream(CountTable), drain(h.counts)).value, &pb.WindowCounts{})
	equalProto(t, "count value", got, &pb.WindowCounts{Symbol: "ZVZZT", WindowStart: eventTime.UnixMilli(), Completed: 1,
		Applied: []*pb.SourceOffset{{Partition: 0, Offset: 0}}})
	none(t, RekeyTopic, drain(h.loop))
}

// A trade whose symbol's home is another partition is re-keyed there by
// the loop stream, as the windows record the count group would get; the
// tester runs partition 0 only, so the loop record arrives in the wrong
// partition and is dead-lettered, not counted.
func TestFusedRekeysToTheSymbolsPartition(t *testing.T) {
	h := newFusedOn(t, 2)
	if h.counter.home("ZVZZT") != 1 {
		t.Fatalf("ZVZZT's home of 2 partitions is %d; the test needs 1", h.counter.home("ZVZZT"))
	}
	h.tt.Consume(string(TradesTopic), "OTHER", tradeJSON("User_5", 10, 20), tester.WithTime(eventTime))
	loop := one(t, RekeyTopic, drain(h.loop))
	if loop.key != "ZVZZT" {
		t.Errorf("loop record keyed %q, want the symbol", loop.key)
	}
	s := decode(t, loop.value, &pb.TradeSettlement{})
	if s.Symbol != "ZVZZT" || s.SourcePartition != 0 || s.SourceOffset != 0 || s.Disposition != settlement.Completed.String() {
		t.Errorf("loop record %v", s)
	}
	none(t, goka.Stream(CountTable), drain(h.counts))
	checkDeadLetter(t, one(t, DeadLetterTopic, drain(h.dlq)), RekeyTopic, "0", "ZVZZT", loop.value, "not its symbol's partition 1")
}

// Re-keyed settlements are counted under their stocktrade partition and
// offset, beside the trades counted where they were read: a replay is
// skipped, and a predecessor not counted yet keeps its offset open.
func TestFusedCountsRekeyedSettlements(t *testing.T) {
	h := newFused(t)
	rekeyed := func(offset int64, prev *int64) []byte {
		b, err := settlementCodec().Encode(&pb.TradeSettlement{User: "User_5", Symbol: "ZVZZT", Amount: 200,
			Disposition: settlement.Completed.String(), Timestamp: eventTime.UnixMilli(),
			SourcePartition: 3, SourceOffset: offset, WindowPrevOffset: prev})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h.tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_5", 10, 20), tester.WithTime(eventTime))
	h.tt.Consume(string(RekeyTopic), "ZVZZT", rekeyed(10, nil))
	h.tt.Consume(string(RekeyTopic), "ZVZZT", rekeyed(10, nil)) // a replay
	// Its predecessor, 12, was not counted yet.
	twelve := int64(12)
	h.tt.Consume(string(RekeyTopic), "ZVZZT", rekeyed(14, &twelve))
	recs := drain(h.counts)
	if len(recs) != 4 {
		t.Fatalf("count table got %d records, want 4", len(recs))
	}
	got := decode(t, recs[3].value, &pb.WindowCounts{})
	equalProto(t, "count value", got, &pb.WindowCounts{Symbol: "ZVZZT", WindowStart: eventTime.UnixMilli(), Completed: 3,
		Applied: []*pb.SourceOffset{{Partition: 0, Offset: 0}, {Partition: 3, Offset: 14, Gaps: []*pb.OffsetRange{{First: 11, Last: 12}}}}})
	if d := testutil.ToFloat64(h.m.Duplicates); d != 1 {
		t.Errorf("duplicates %v, want 1", d)
	}
	if g := testutil.ToFloat64(h.m.Gaps); g != 1 {
		t.Errorf("gaps %v, want 1", g)
	}
	none(t, DeadLetterTopic, drain(h.dlq))
}

func TestFusedExpireAndRewrite(t *testing.T) {
	h := newFused(t)
	old := eventTime.Add(-testPolicy.Retention - 2*settlement.WindowSize)
	h.tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_5", 10, 20), tester.WithTime(old))
	h.tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_5", 10, 20), tester.WithTime(eventTime))
	drain(h.counts)
	h.counter.owns([]int32{0})
	type write struct {
		key       string
		tombstone bool
	}
	var writes []write
	h.counter.expireFused(func(key string, value []byte) { writes = append(writes, write{key, value == nil}) })
	oldKey := settlement.WindowKey("ZVZZT", old.UnixMilli())
	want := []write{{oldKey, true}, {fusedKey, false}}
	if len(writes) != 2 || writes[0] != want[0] || writes[1] != want[1] {
		t.Errorf("expire visit wrote %+v, want the old window's tombstone and the recent one again %+v", writes, want)
	}
	if _, ok := h.store.values[oldKey]; ok {
		t.Error("the expired window is still in the store")
	}
	if e := testutil.ToFloat64(h.m.Expired); e != 1 {
		t.Errorf("expired %v, want 1", e)
	}
	// Not owned: nothing is written.
	h.counter.owns(nil)
	writes = nil
	h.counter.expireFused(func(key string, value []byte) { writes = append(writes, write{key, value == nil}) })
	if len(writes) != 0 {
		t.Errorf("a visit of a partition not owned wrote %+v", writes)
	}
}
