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

	"github.com/tradeflow/tradeflow/internal/compact"
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

func (s *memStore) EachSymbol(fn func(string, int32, int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type sym struct {
		source int32
		newest int64
	}
	syms := map[string]sym{}
	for key, v := range s.values {
		symbol, start, _ := settlement.ParseWindowKey(key)
		p, ok := compact.SourcePartition(v)
		if !ok {
			p = -1
		}
		if cur, seen := syms[symbol]; !seen || start > cur.newest {
			syms[symbol] = sym{p, start}
		}
	}
	for symbol, x := range syms {
		fn(symbol, x.source, x.newest)
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
}

func newFused(tb testing.TB) *fusedHarness {
	tb.Helper()
	tt := tester.New(tb)
	m, _ := newMetrics(tb)
	st := &memStore{values: map[string][]byte{}}
	c := &Counter{Policy: testPolicy, Metrics: m, Log: quietLog(), Store: st, ExpireEvery: time.Minute}
	s := NewSettler(settlement.Rules{LargeTrade: 100000, FlagRate: 0}, testUsers, testPolicy, m)
	s.Count = c
	runProcessor(tb, tt, s.Graph(), goka.WithNilHandling(goka.NilProcess))
	return &fusedHarness{tt: tt, m: m, store: st, counter: c,
		counts: tt.NewQueueTracker(string(CountTable)), dlq: tt.NewQueueTracker(string(DeadLetterTopic))}
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

func TestFusedRefusesAKeyThatIsNotTheSymbol(t *testing.T) {
	h := newFused(t)
	v := tradeJSON("User_5", 10, 20)
	h.tt.Consume(string(TradesTopic), "OTHER", v, tester.WithTime(eventTime))
	checkDeadLetter(t, one(t, DeadLetterTopic, drain(h.dlq)), TradesTopic, "0", "OTHER", v, "is not the trade's symbol")
	none(t, goka.Stream(CountTable), drain(h.counts))
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
