package processor

import (
	"context"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

var testPolicy = settlement.Policy{Grace: time.Hour, Retention: 24 * time.Hour}

// countHarness runs the count group on a tester.
type countHarness struct {
	c         *Counter
	tt        *tester.Tester
	m         *Metrics
	p         *goka.Processor
	dlq       *tester.QueueTracker
	changelog *tester.QueueTracker
}

func newCount(tb testing.TB, policy settlement.Policy) *countHarness {
	tb.Helper()
	tt := tester.New(tb)
	m, _ := newMetrics(tb)
	c := &Counter{Policy: policy, Metrics: m, Log: quietLog()}
	p := runProcessor(tb, tt, c.Graph(), goka.WithNilHandling(goka.NilProcess))
	return &countHarness{
		c: c, tt: tt, m: m, p: p,
		dlq:       tt.NewQueueTracker(string(DeadLetterTopic)),
		changelog: tt.NewQueueTracker(string(CountTable)),
	}
}

// settled is a settlement of symbol at event time ts from stocktrade
// partition/offset, as the settle group writes it to the windows topic.
type settled struct {
	symbol      string
	at          time.Time
	disposition settlement.Disposition
	partition   int32
	offset      int64
}

func (s settled) key() string {
	return settlement.WindowKey(s.symbol, settlement.WindowStart(s.at.UnixMilli()))
}

func (s settled) proto() *pb.TradeSettlement {
	return &pb.TradeSettlement{
		User: "User_5", Symbol: s.symbol, Amount: 10, Disposition: s.disposition.String(),
		Reason: s.disposition.Reason(), Timestamp: s.at.UnixMilli(),
		SourcePartition: s.partition, SourceOffset: s.offset,
	}
}

func (h *countHarness) send(tb testing.TB, s settled) {
	tb.Helper()
	h.tt.Consume(string(WindowsTopic), s.key(), encodeSettlement(tb, s.proto()))
}

func (h *countHarness) window(tb testing.TB, key string) *pb.WindowCounts {
	tb.Helper()
	v := h.tt.TableValue(CountTable, key)
	if v == nil {
		return nil
	}
	w, ok := v.(*pb.WindowCounts)
	if !ok {
		tb.Fatalf("table value of %s is a %T", key, v)
	}
	return w
}

func windowCounts(symbol string, at time.Time, c, p, f, r int64, applied map[int32]int64) *pb.WindowCounts {
	return &pb.WindowCounts{
		Symbol: symbol, WindowStart: settlement.WindowStart(at.UnixMilli()),
		Completed: c, Pending: p, Flagged: f, Rejected: r, Applied: ledger.Offsets(applied),
	}
}

func TestCountPerDisposition(t *testing.T) {
	h := newCount(t, testPolicy)
	next := eventTime.Add(time.Minute)
	for _, s := range []settled{
		{"ZVZZT", eventTime, settlement.Completed, 0, 0},
		{"ZVZZT", eventTime.Add(10 * time.Second), settlement.Pending, 0, 1},
		{"ZVZZT", eventTime.Add(20 * time.Second), settlement.Flagged, 0, 2},
		{"ZVZZT", eventTime.Add(30 * time.Second), settlement.Rejected, 0, 3},
		{"ZVZZT", eventTime.Add(59999 * time.Millisecond), settlement.Completed, 0, 4},
		{"ZVZZT", next, settlement.Completed, 0, 5},   // the next window
		{"ZVV", eventTime, settlement.Rejected, 3, 7}, // another symbol, another partition
	} {
		h.send(t, s)
	}
	cases := []struct {
		name string
		key  string
		want *pb.WindowCounts
	}{
		{"one of each, two completed", settlement.WindowKey("ZVZZT", eventTime.UnixMilli()),
			windowCounts("ZVZZT", eventTime, 2, 1, 1, 1, map[int32]int64{0: 4})},
		{"next window", settlement.WindowKey("ZVZZT", next.UnixMilli()),
			windowCounts("ZVZZT", next, 1, 0, 0, 0, map[int32]int64{0: 5})},
		{"other symbol", settlement.WindowKey("ZVV", eventTime.UnixMilli()),
			windowCounts("ZVV", eventTime, 0, 0, 0, 1, map[int32]int64{3: 7})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			equalProto(t, tc.key, h.window(t, tc.key), tc.want)
		})
	}
	if keys := h.tt.GetTableKeys(CountTable); len(keys) != 3 {
		t.Errorf("table keys %v, want 3", keys)
	}
	none(t, DeadLetterTopic, drain(h.dlq))
	for name, c := range map[string]float64{
		"duplicates": testutil.ToFloat64(h.m.Duplicates), "late": testutil.ToFloat64(h.m.Late), "expired": testutil.ToFloat64(h.m.Expired),
	} {
		if c != 0 {
			t.Errorf("%s = %v, want 0", name, c)
		}
	}
}

// A settlement is applied once per source coordinates: the count step keeps
// per window the highest stocktrade offset applied for each partition.
func TestCountSkipsReplays(t *testing.T) {
	at := eventTime
	s := func(partition int32, offset int64) settled {
		return settled{"ZVZZT", at, settlement.Completed, partition, offset}
	}
	cases := []struct {
		name        string
		in          []settled
		wantCount   int64
		wantApplied map[int32]int64
		wantDups    float64
	}{
		{"first at offset 0 counts", []settled{s(0, 0)}, 1, map[int32]int64{0: 0}, 0},
		{"replay of offset 0", []settled{s(0, 0), s(0, 0)}, 1, map[int32]int64{0: 0}, 1},
		{"replay of the last offset", []settled{s(0, 5), s(0, 5)}, 1, map[int32]int64{0: 5}, 1},
		{"older offset", []settled{s(0, 5), s(0, 3)}, 1, map[int32]int64{0: 5}, 1},
		{"newer offset counts", []settled{s(0, 5), s(0, 6)}, 2, map[int32]int64{0: 6}, 0},
		{"another source partition counts", []settled{s(0, 5), s(1, 3), s(1, 3)}, 2, map[int32]int64{0: 5, 1: 3}, 1},
		{"a replayed run after a crash", []settled{s(0, 1), s(0, 2), s(0, 3), s(0, 2), s(0, 3), s(0, 4)}, 4, map[int32]int64{0: 4}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newCount(t, testPolicy)
			for _, in := range tc.in {
				h.send(t, in)
			}
			key := settlement.WindowKey("ZVZZT", at.UnixMilli())
			equalProto(t, key, h.window(t, key), windowCounts("ZVZZT", at, tc.wantCount, 0, 0, 0, tc.wantApplied))
			if got := testutil.ToFloat64(h.m.Duplicates); got != tc.wantDups {
				t.Errorf("duplicates = %v, want %v", got, tc.wantDups)
			}
		})
	}
}

// A settlement whose window closed (end + grace <= stream time, the newest
// event time the partition has seen) is dropped and counted in a metric.
func TestCountDropsLate(t *testing.T) {
	end := eventTime.Add(time.Minute) // end of the window at eventTime
	cases := []struct {
		name     string
		grace    time.Duration
		streamAt time.Time
		lateAt   time.Time
		wantLate bool
	}{
		{"end + grace == stream time", time.Hour, end.Add(time.Hour), eventTime, true},
		{"1 ms inside grace", time.Hour, end.Add(time.Hour - time.Millisecond), eventTime, false},
		{"last ms of the window, at the boundary", time.Hour, end.Add(time.Hour), end.Add(-time.Millisecond), true},
		{"no grace, stream time at the end", 0, end, eventTime, true},
		{"no grace, 1 ms before the end", 0, end.Add(-time.Millisecond), eventTime, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newCount(t, settlement.Policy{Grace: tc.grace, Retention: 24 * time.Hour})
			// Stream time moves with any record of the partition, here another symbol's.
			h.send(t, settled{"ZJZZT", tc.streamAt, settlement.Completed, 1, 0})
			late := settled{"ZVZZT", tc.lateAt, settlement.Completed, 0, 9}
			h.send(t, late)

			w := h.window(t, late.key())
			wantLate := 0.0
			if tc.wantLate {
				wantLate = 1
				if w != nil {
					t.Errorf("late settlement counted: %v", w)
				}
			} else if w == nil || w.Completed != 1 {
				t.Errorf("settlement within grace: window %v, want completed 1", w)
			}
			if got := testutil.ToFloat64(h.m.Late); got != wantLate {
				t.Errorf("late = %v, want %v", got, wantLate)
			}
			none(t, DeadLetterTopic, drain(h.dlq))
		})
	}
}

func TestCountBadInput(t *testing.T) {
	good := settled{"ZVZZT", eventTime, settlement.Completed, 0, 1}
	start := settlement.WindowStart(eventTime.UnixMilli())
	unknown := good.proto()
	unknown.Disposition = "Approved"
	cases := []struct {
		name   string
		key    string
		value  []byte
		reason string
	}{
		{"not protobuf", good.key(), []byte{0xff, 0xff, 0xff}, "decode"},
		{"null value", good.key(), nil, "window key does not match its settlement"},
		{"key of another symbol", settlement.WindowKey("ZVV", start), encodeSettlement(t, good.proto()), "window key does not match"},
		{"key of another window", settlement.WindowKey("ZVZZT", start+60_000), encodeSettlement(t, good.proto()), "window key does not match"},
		{"key without a window", "ZVZZT", encodeSettlement(t, good.proto()), "window key does not match"},
		{"key not canonical", "ZVZZT@0" + itoa(start), encodeSettlement(t, good.proto()), "window key does not match"},
		{"unknown disposition", good.key(), encodeSettlement(t, unknown), `unknown disposition "Approved"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newCount(t, testPolicy)
			if tc.value == nil {
				h.tt.Consume(string(WindowsTopic), tc.key, nil)
			} else {
				h.tt.Consume(string(WindowsTopic), tc.key, tc.value)
			}
			checkDeadLetter(t, one(t, DeadLetterTopic, drain(h.dlq)), WindowsTopic, "0", tc.key, tc.value, tc.reason)
			if keys := h.tt.GetTableKeys(CountTable); len(keys) != 0 {
				t.Errorf("table keys %v, want none", keys)
			}
			if got := testutil.ToFloat64(h.m.DeadLetters.WithLabelValues(string(WindowsTopic))); got != 1 {
				t.Errorf("dead letters{%s} = %v, want 1", WindowsTopic, got)
			}
		})
	}
}

// The expire visitor deletes windows past retention (end + retention <=
// stream time) and writes a tombstone to the changelog for each.
func TestCountExpire(t *testing.T) {
	ret := 24 * time.Hour
	old := eventTime.Add(-ret - time.Minute) // its end + retention == eventTime
	cases := []struct {
		name        string
		streamAt    time.Time
		wantExpired bool
	}{
		{"end + retention == stream time", eventTime, true},
		{"1 ms before", eventTime.Add(-time.Millisecond), false},
		{"long after", eventTime.Add(ret), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newCount(t, settlement.Policy{Grace: time.Hour, Retention: ret})
			expiring := settled{"ZVZZT", old, settlement.Completed, 0, 1}
			fresh := settled{"ZVZZT", tc.streamAt, settlement.Completed, 0, 2}
			h.send(t, expiring)
			h.send(t, fresh)
			drain(h.changelog) // the updates
			h.c.rotate()       // two visits ago: the visit writes
			h.c.rotate()       // neither window again

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.p.VisitAll(ctx, ExpireVisit, nil); err != nil {
				t.Fatalf("visit: %v", err)
			}

			if h.window(t, fresh.key()) == nil {
				t.Errorf("the current window %s was removed", fresh.key())
			}
			tombstones := drain(h.changelog)
			gone := h.window(t, expiring.key()) == nil
			wantMetric := 0.0
			if tc.wantExpired {
				wantMetric = 1
				if !gone {
					t.Errorf("window %s past retention is still in the table", expiring.key())
				}
				tomb := one(t, goka.Stream(CountTable), tombstones)
				if tomb.key != expiring.key() || tomb.value != nil {
					t.Errorf("changelog got %q=%q, want a tombstone for %s", tomb.key, tomb.value, expiring.key())
				}
			} else {
				if gone {
					t.Errorf("window %s within retention was removed", expiring.key())
				}
				none(t, goka.Stream(CountTable), tombstones)
			}
			if got := testutil.ToFloat64(h.m.Expired); got != wantMetric {
				t.Errorf("expired = %v, want %v", got, wantMetric)
			}
		})
	}
}

// The expire visit writes the windows written since the visit before last
// again, unchanged, so that a late write of a worker that lost the
// partition does not stay the last value in the changelog.
func TestCountRewritesRecentWindows(t *testing.T) {
	h := newCount(t, testPolicy)
	a := settled{"ZVZZT", eventTime, settlement.Completed, 0, 1}
	b := settled{"ZXZZT", eventTime, settlement.Pending, 0, 2}
	h.send(t, a)
	h.send(t, b)
	written := map[string]string{}
	for _, r := range drain(h.changelog) {
		written[r.key] = string(r.value)
	}
	visit := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range h.expireVisit(t) {
			out[r.key] = string(r.value)
		}
		return out
	}
	for i := range 2 { // written since the visit before last
		got := visit()
		if len(got) != 2 || got[a.key()] != written[a.key()] || got[b.key()] != written[b.key()] {
			t.Fatalf("visit %d wrote %d windows, want both again unchanged", i+1, len(got))
		}
	}
	if got := visit(); len(got) != 0 {
		t.Fatalf("third visit wrote %v, want nothing: no window changed since", got)
	}
}

// The visit writes recent windows again only while a former owner's write
// may still land: for LateWrites and two visit intervals after this worker
// took the partition over, measured from the first record it counted in
// that session generation.
func TestCountRewritesOnlyAfterATakeover(t *testing.T) {
	h := newCount(t, testPolicy)
	clock := time.Unix(1_700_000_000, 0)
	h.c.now = func() time.Time { return clock }
	h.c.LateWrites, h.c.ExpireEvery = 2*time.Minute, time.Minute
	visit := func() int {
		t.Helper()
		return len(h.expireVisit(t))
	}
	h.send(t, settled{"ZVZZT", eventTime, settlement.Completed, 0, 1})
	drain(h.changelog)
	clock = clock.Add(4 * time.Minute) // LateWrites and two intervals
	if n := visit(); n != 1 {
		t.Fatalf("visit at the bound wrote %d windows, want the recent one again", n)
	}
	h.send(t, settled{"ZVZZT", eventTime, settlement.Completed, 0, 2})
	drain(h.changelog)
	clock = clock.Add(time.Second)
	if n := visit(); n != 0 {
		t.Fatalf("visit past the bound wrote %d windows, want none: no former owner can still write", n)
	}
	// A new session generation is a new takeover: its clock starts again.
	if h.c.lateWritesPossible(0, 1) != true {
		t.Fatal("a new generation of the partition is not treated as a takeover")
	}
	clock = clock.Add(4*time.Minute + time.Second)
	if h.c.lateWritesPossible(0, 1) {
		t.Fatal("generation 1 still treated as a recent takeover past the bound")
	}
}

// expireVisit runs one expire visit, ends it as expireLoop does, and
// returns what it wrote to the changelog.
func (h *countHarness) expireVisit(t *testing.T) []record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.p.VisitAll(ctx, ExpireVisit, nil); err != nil {
		t.Fatalf("visit: %v", err)
	}
	h.c.rotate()
	return drain(h.changelog)
}
