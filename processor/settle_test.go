package processor

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// fakeUsers is the users table as a map.
type fakeUsers map[string]*pb.User

func (f fakeUsers) Region(userid string) (string, bool, error) {
	if u, ok := f[userid]; ok {
		return u.Regionid, true, nil
	}
	return "", false, nil
}

type failingUsers struct{}

func (failingUsers) Region(string) (string, bool, error) {
	return "", false, errors.New("storage is gone")
}

var testUsers = fakeUsers{
	"User_5": {Userid: "User_5", Regionid: "Region_5", Gender: "FEMALE", Registertime: 1493819720340},
	"User_6": {Userid: "User_6"}, // known, without a region
}

// settleHarness runs the settle group on a tester and tracks its outputs.
type settleHarness struct {
	tt                                    *tester.Tester
	m                                     *Metrics
	userTrades, settlements, windows, dlq *tester.QueueTracker
}

func newSettle(tb testing.TB, rules settlement.Rules, users Users) *settleHarness {
	tb.Helper()
	tt := tester.New(tb)
	m, _ := newMetrics(tb)
	s := NewSettler(rules, users, testPolicy, m)
	runProcessor(tb, tt, s.Graph(), goka.WithNilHandling(goka.NilProcess))
	return &settleHarness{
		tt: tt, m: m,
		userTrades:  tt.NewQueueTracker(string(UserTradesTopic)),
		settlements: tt.NewQueueTracker(string(SettlementsTopic)),
		windows:     tt.NewQueueTracker(string(WindowsTopic)),
		dlq:         tt.NewQueueTracker(string(DeadLetterTopic)),
	}
}

// consume feeds one stocktrade record; a nil value is a tombstone.
func (h *settleHarness) consume(key string, value []byte, opts ...tester.EmitOption) {
	if value == nil {
		h.tt.Consume(string(TradesTopic), key, nil, opts...)
		return
	}
	h.tt.Consume(string(TradesTopic), key, value, opts...)
}

func tradeJSON(userid string, quantity, price int64) []byte {
	v := `{"side":"BUY","quantity":` + itoa(quantity) + `,"symbol":"ZVZZT","price":` + itoa(price) + `,"account":"XYZ789"`
	if userid != "" {
		v += `,"userid":"` + userid + `"`
	}
	return []byte(v + "}")
}

func TestSettleValidTrade(t *testing.T) {
	cases := []struct {
		name            string
		rules           settlement.Rules
		userid          string
		quantity, price int64
		at              time.Time
		wantRegion      string
		want            settlement.Disposition
	}{
		{"known user, small, unsampled", settlement.DefaultRules(), "User_5", 1934, 10, eventTime, "Region_5", settlement.Completed},
		{"known user without a region", settlement.DefaultRules(), "User_6", 1934, 10, eventTime, "", settlement.Completed},
		{"unknown user: rejected, empty regionid", settlement.DefaultRules(), "User_9", 1934, 10, eventTime, "", settlement.Rejected},
		{"no userid: rejected", settlement.DefaultRules(), "", 1934, 10, eventTime, "", settlement.Rejected},
		{"large trade", settlement.DefaultRules(), "User_5", 1000, 101, eventTime, "Region_5", settlement.Pending},
		{"amount at the threshold", settlement.DefaultRules(), "User_5", 1000, 100, eventTime, "Region_5", settlement.Completed},
		{"max int32 amount", settlement.DefaultRules(), "User_5", math.MaxInt32, math.MaxInt32, eventTime, "Region_5", settlement.Pending},
		{"sampled", settlement.Rules{LargeTrade: 100000, FlagRate: 1}, "User_5", 1, 1, eventTime, "Region_5", settlement.Flagged},
		{"unknown user beats sample", settlement.Rules{LargeTrade: 100000, FlagRate: 1}, "User_9", 1, 1, eventTime, "", settlement.Rejected},
		{"last ms of a window", settlement.DefaultRules(), "User_5", 1, 1, eventTime.Add(time.Minute - time.Millisecond), "Region_5", settlement.Completed},
		{"epoch", settlement.DefaultRules(), "User_5", 1, 1, time.UnixMilli(0), "Region_5", settlement.Completed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newSettle(t, tc.rules, testUsers)
			h.consume("ZVZZT", tradeJSON(tc.userid, tc.quantity, tc.price), tester.WithTime(tc.at))

			ts := tc.at.UnixMilli()
			ut := one(t, UserTradesTopic, drain(h.userTrades))
			if ut.key != tc.userid {
				t.Errorf("user_trades key %q, want the userid %q", ut.key, tc.userid)
			}
			equalProto(t, "user_trades value", decode(t, ut.value, new(pb.UserTrade)), &pb.UserTrade{
				Userid: tc.userid, Regionid: tc.wantRegion, Quantity: int32(tc.quantity), Symbol: "ZVZZT",
				Price: int32(tc.price), Account: "XYZ789", Side: "BUY",
				Timestamp: ts, SourcePartition: 0, SourceOffset: 0,
			})

			wantSettlement := &pb.TradeSettlement{
				User: tc.userid, Symbol: "ZVZZT", Amount: float64(tc.quantity * tc.price),
				Disposition: tc.want.String(), Reason: tc.want.Reason(), Timestamp: ts,
				SourcePartition: 0, SourceOffset: 0,
			}
			st := one(t, SettlementsTopic, drain(h.settlements))
			if st.key != "ZVZZT" {
				t.Errorf("trade-settlements key %q, want the symbol", st.key)
			}
			equalProto(t, "trade-settlements value", decode(t, st.value, new(pb.TradeSettlement)), wantSettlement)

			w := one(t, WindowsTopic, drain(h.windows))
			if want := settlement.WindowKey("ZVZZT", settlement.WindowStart(ts)); w.key != want {
				t.Errorf("%s key %q, want %q", WindowsTopic, w.key, want)
			}
			if string(w.value) != string(st.value) {
				t.Errorf("%s value differs from the trade-settlements value", WindowsTopic)
			}

			none(t, DeadLetterTopic, drain(h.dlq))
			if got := testutil.ToFloat64(h.m.Settled.WithLabelValues(tc.want.String())); got != 1 {
				t.Errorf("settled{%s} = %v, want 1", tc.want, got)
			}
			if got := total(t, h.m.DeadLetters); got != 0 {
				t.Errorf("dead letters: %v, want none", got)
			}
		})
	}
}

// The SEC sample is drawn from the trade's identity stocktrade/partition/
// offset: on the tester's one partition, the offsets the Kafka Streams peer
// lists (interop RulesTest) are flagged, and replaying gives the same.
func TestSettleSampleFollowsTradeIdentity(t *testing.T) {
	flagged := map[int64]bool{4: true, 8: true, 9: true, 10: true}
	h := newSettle(t, settlement.DefaultRules(), testUsers)
	for off := int64(0); off <= 13; off++ {
		h.consume("ZVZZT", tradeJSON("User_5", 1, 1), tester.WithTime(eventTime))
		s := decode(t, one(t, SettlementsTopic, drain(h.settlements)).value, new(pb.TradeSettlement))
		want := settlement.Completed
		if flagged[off] {
			want = settlement.Flagged
		}
		if s.SourceOffset != off || s.Disposition != want.String() {
			t.Errorf("trade at offset %d: settlement offset %d, %q; want %d, %q", off, s.SourceOffset, s.Disposition, off, want)
		}
	}
	if got := testutil.ToFloat64(h.m.Settled.WithLabelValues(settlement.Flagged.String())); got != 4 {
		t.Errorf("settled{SEC Flagged} = %v, want 4", got)
	}
}

func TestSettleBadInput(t *testing.T) {
	valid := tradeJSON("User_5", 1, 1)
	cases := []struct {
		name   string
		key    string
		value  []byte
		opts   []tester.EmitOption
		reason string
	}{
		{"not JSON", "ZVZZT", []byte("not json"), []tester.EmitOption{tester.WithTime(eventTime)}, "not a JSON object"},
		{"null value", "ZVZZT", nil, []tester.EmitOption{tester.WithTime(eventTime)}, "value is null"},
		{"empty key", "", valid, []tester.EmitOption{tester.WithTime(eventTime)}, "record key (symbol) is empty"},
		{"side lower-case", "ZVZZT", []byte(`{"side":"buy","quantity":1,"symbol":"ZVZZT","price":1}`), []tester.EmitOption{tester.WithTime(eventTime)}, `field side is "buy"`},
		{"quantity beyond int32", "ZVZZT", []byte(`{"side":"BUY","quantity":2147483648,"symbol":"ZVZZT","price":1}`), []tester.EmitOption{tester.WithTime(eventTime)}, "field quantity is 2147483648"},
		{"no timestamp", "ZVZZT", valid, nil, "no timestamp"},
		{"timestamp before the epoch", "ZVZZT", valid, []tester.EmitOption{tester.WithTime(time.UnixMilli(-1))}, "no timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newSettle(t, settlement.DefaultRules(), testUsers)
			h.consume(tc.key, tc.value, tc.opts...)

			dl := one(t, DeadLetterTopic, drain(h.dlq))
			checkDeadLetter(t, dl, TradesTopic, "0", tc.key, tc.value, tc.reason)
			none(t, UserTradesTopic, drain(h.userTrades))
			none(t, SettlementsTopic, drain(h.settlements))
			none(t, WindowsTopic, drain(h.windows))
			if got := testutil.ToFloat64(h.m.DeadLetters.WithLabelValues(string(TradesTopic))); got != 1 {
				t.Errorf("dead letters{stocktrade} = %v, want 1", got)
			}
			if got := total(t, h.m.Settled); got != 0 {
				t.Errorf("settled: %v, want none", got)
			}
		})
	}
}

// A failing users lookup is not bad input: the group stops (and restarts
// from its last commit) rather than settle the trade as Rejected.
func TestSettleUsersLookupFails(t *testing.T) {
	tt := tester.New(t)
	m, _ := newMetrics(t)
	s := NewSettler(settlement.DefaultRules(), failingUsers{}, testPolicy, m)
	p, err := goka.NewProcessor(nil, s.Graph(), goka.WithTester(tt), goka.WithNilHandling(goka.NilProcess),
		goka.WithLogger(gokaext.GokaLogger(quietLog())))
	if err != nil {
		t.Fatal(err)
	}
	settlements := tt.NewQueueTracker(string(SettlementsTopic))
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	go tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_5", 1, 1), tester.WithTime(eventTime))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "storage is gone") {
			t.Fatalf("processor stopped with %v, want the lookup error", err)
		}
	case <-time.After(10 * time.Second):
		p.Stop()
		t.Fatal("the processor did not stop on a failed lookup")
	}
	none(t, SettlementsTopic, drain(settlements))
	if got := total(t, m.Settled); got != 0 {
		t.Errorf("settled: %v, want none", got)
	}
}

// The settle step appends window_prev_offset to an encoded settlement by
// its field number; it must be the descriptor's.
func TestWindowPrevFieldIsTheDescriptors(t *testing.T) {
	f := (&pb.TradeSettlement{}).ProtoReflect().Descriptor().Fields().ByName("window_prev_offset")
	if f == nil {
		t.Fatal("TradeSettlement has no field window_prev_offset")
	}
	if int(f.Number()) != windowPrevField || f.Kind() != protoreflect.Int64Kind || f.Cardinality() != protoreflect.Optional {
		t.Fatalf("window_prev_offset is field %d, %v, %v; the settle step writes field %d as an optional varint", f.Number(), f.Kind(), f.Cardinality(), windowPrevField)
	}
}
