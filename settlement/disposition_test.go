package settlement

import (
	"math"
	"testing"
)

// sampledID and unsampledID are in and out of the 30 % sample: vectors the
// Kafka Streams peer checks too (interop RulesTest.secSampleVectors).
var (
	sampledID   = TradeID{Topic: "stocktrade", Partition: 0, Offset: 4}
	unsampledID = TradeID{Topic: "stocktrade", Partition: 0, Offset: 0}
)

func TestDecide(t *testing.T) {
	rules := DefaultRules()
	cases := []struct {
		name            string
		rules           Rules
		known           bool
		quantity, price int32
		id              TradeID
		want            Disposition
	}{
		{"unknown user beats large trade", rules, false, 1000, 101, unsampledID, Rejected},
		{"unknown user beats sample", rules, false, 1, 1, sampledID, Rejected},
		{"unknown user, small, unsampled", rules, false, 1, 1, unsampledID, Rejected},
		{"large beats sample", rules, true, 1000, 101, sampledID, Pending},
		{"large, unsampled", rules, true, 1000, 101, unsampledID, Pending},
		{"amount == threshold is not large", rules, true, 1000, 100, unsampledID, Completed},
		{"amount == threshold, sampled", rules, true, 1000, 100, sampledID, Flagged},
		{"amount == threshold + 1 is large", rules, true, 100001, 1, unsampledID, Pending},
		{"7 x 14287 = 100009 is large", rules, true, 7, 14287, unsampledID, Pending},
		{"amount 99999", rules, true, 99999, 1, unsampledID, Completed},
		{"max int32 squared does not overflow", rules, true, math.MaxInt32, math.MaxInt32, sampledID, Pending},
		{"max int32 x 2 does not overflow", rules, true, math.MaxInt32, 2, unsampledID, Pending},
		{"small and sampled", rules, true, 1, 1, sampledID, Flagged},
		{"small and unsampled", rules, true, 1, 1, unsampledID, Completed},
		{"threshold 0: every trade is large", Rules{LargeTrade: 0, FlagRate: 1}, true, 1, 1, unsampledID, Pending},
		{"threshold max int64: nothing is large", Rules{LargeTrade: math.MaxInt64, FlagRate: 0}, true, math.MaxInt32, math.MaxInt32, sampledID, Completed},
		{"rate 1 flags every small trade", Rules{LargeTrade: 100000, FlagRate: 1}, true, 1, 1, unsampledID, Flagged},
		{"rate 0 flags none", Rules{LargeTrade: 100000, FlagRate: 0}, true, 1, 1, sampledID, Completed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rules.Decide(tc.known, tc.quantity, tc.price, tc.id); got != tc.want {
				t.Fatalf("Decide(known=%v, %d x %d, %+v) = %v, want %v", tc.known, tc.quantity, tc.price, tc.id, got, tc.want)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	cases := []struct {
		name            string
		quantity, price int32
		want            int64
	}{
		{"small", 1934, 974, 1883716},
		{"threshold", 1000, 100, 100000},
		{"max int32 squared", math.MaxInt32, math.MaxInt32, 4611686014132420609},
		{"max int32 x 2", math.MaxInt32, 2, 4294967294},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Amount(tc.quantity, tc.price); got != tc.want {
				t.Fatalf("Amount(%d, %d) = %d, want %d", tc.quantity, tc.price, got, tc.want)
			}
		})
	}
}

func TestDispositionNames(t *testing.T) {
	cases := []struct {
		d            Disposition
		name, reason string
	}{
		{Rejected, "Rejected", "No user account specified"},
		{Pending, "Pending", "Large trade"},
		{Flagged, "SEC Flagged", "This trade looks sus"},
		{Completed, "Completed", "Within same day limit"},
	}
	if len(cases) != len(Dispositions()) {
		t.Fatalf("%d dispositions, the table has %d", len(Dispositions()), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if got := tc.d.Reason(); got != tc.reason {
				t.Errorf("Reason() = %q, want %q", got, tc.reason)
			}
			got, err := ParseDisposition(tc.name)
			if err != nil || got != tc.d {
				t.Errorf("ParseDisposition(%q) = %v, %v; want %v", tc.name, got, err, tc.d)
			}
		})
	}
	for _, s := range []string{"", "completed", "Flagged", "SEC flagged", "Disposition(7)"} {
		t.Run("bad "+s, func(t *testing.T) {
			if d, err := ParseDisposition(s); err == nil {
				t.Fatalf("ParseDisposition(%q) = %v, want an error", s, d)
			}
		})
	}
	if got := Disposition(7).String(); got != "Disposition(7)" {
		t.Errorf("Disposition(7).String() = %q", got)
	}
}

// Vectors shared with the Kafka Streams peer (interop RulesTest): murmur2
// of "topic/partition/offset", positive, mod 10^6, below round(rate*10^6).
func TestSampledVectors(t *testing.T) {
	for off := int64(0); off <= 13; off++ {
		want := off == 4 || off == 8 || off == 9 || off == 10
		id := TradeID{Topic: "stocktrade", Partition: 0, Offset: off}
		if got := DefaultRules().Sampled(id); got != want {
			t.Errorf("Sampled(%+v) at 0.30 = %v, want %v", id, got, want)
		}
	}
	// stocktrade/5/123456789: h % 10^6 = 770898, so the draw is in the
	// sample exactly from rate 0.770899 on.
	id := TradeID{Topic: "stocktrade", Partition: 5, Offset: 123456789}
	cases := []struct {
		rate float64
		want bool
	}{{0.770898, false}, {0.770899, true}, {0, false}, {1, true}}
	for _, tc := range cases {
		if got := (Rules{FlagRate: tc.rate}).Sampled(id); got != tc.want {
			t.Errorf("Sampled(%+v) at %v = %v, want %v", id, tc.rate, got, tc.want)
		}
	}
}

// sampledShare is the share of n trade identities (6 partitions, increasing
// offsets) that r puts in the sample; it also checks each draw is stable.
func sampledShare(tb testing.TB, r Rules, n int) float64 {
	tb.Helper()
	in := 0
	for i := 0; i < n; i++ {
		id := TradeID{Topic: "stocktrade", Partition: int32(i % 6), Offset: int64(i / 6)}
		s := r.Sampled(id)
		if s != r.Sampled(id) {
			tb.Fatalf("Sampled(%+v) changed between calls", id)
		}
		if s {
			in++
		}
	}
	return float64(in) / float64(n)
}

func TestSampledShare(t *testing.T) {
	const n = 200_000
	cases := []struct {
		name      string
		rate, tol float64
	}{
		{"rate 0 is none", 0, 0},
		{"rate 1 is all", 1, 0},
		// 0.005 is about five standard deviations of a fair draw at n=200k.
		{"rate 0.3", 0.3, 0.005},
		{"rate 0.05", 0.05, 0.005},
		{"rate 0.5", 0.5, 0.005},
		{"rate 0.000001", 0.000001, 0.00002},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := sampledShare(t, Rules{FlagRate: tc.rate}, n)
			if math.Abs(got-tc.rate) > tc.tol {
				t.Fatalf("share sampled at rate %v over %d ids = %v, want within %v", tc.rate, n, got, tc.tol)
			}
		})
	}
}

// A higher rate samples a superset: raising the rate never unflags a trade.
func TestSampledMonotoneInRate(t *testing.T) {
	lo, hi := Rules{FlagRate: 0.3}, Rules{FlagRate: 0.31}
	for i := int64(0); i < 50_000; i++ {
		id := TradeID{Topic: "stocktrade", Partition: int32(i % 3), Offset: i}
		if lo.Sampled(id) && !hi.Sampled(id) {
			t.Fatalf("%+v sampled at 0.3 but not at 0.31", id)
		}
	}
}

// The draw depends on every part of the identity, and on nothing else.
func TestSampledDependsOnIdentity(t *testing.T) {
	r := Rules{FlagRate: 0.5}
	base := TradeID{Topic: "stocktrade", Partition: 1, Offset: 0}
	vary := map[string]func(TradeID, int) TradeID{
		"topic":     func(id TradeID, i int) TradeID { id.Topic = "t" + string(rune('a'+i)); return id },
		"partition": func(id TradeID, i int) TradeID { id.Partition = int32(i); return id },
		"offset":    func(id TradeID, i int) TradeID { id.Offset = int64(i); return id },
	}
	for name, f := range vary {
		t.Run(name, func(t *testing.T) {
			seen := map[bool]bool{}
			for i := 0; i < 20; i++ {
				seen[r.Sampled(f(base, i))] = true
			}
			if !seen[true] || !seen[false] {
				t.Fatalf("20 ids varying only the %s all drew %v", name, seen)
			}
		})
	}
	if (Rules{FlagRate: 0.5, LargeTrade: 1}).Sampled(base) != (Rules{FlagRate: 0.5, LargeTrade: 1 << 40}).Sampled(base) {
		t.Error("the threshold changed the draw")
	}
}

func TestRulesValidate(t *testing.T) {
	cases := []struct {
		name    string
		rules   Rules
		wantErr bool
	}{
		{"defaults", DefaultRules(), false},
		{"rate 0", Rules{LargeTrade: 100000, FlagRate: 0}, false},
		{"rate 1", Rules{LargeTrade: 100000, FlagRate: 1}, false},
		{"threshold 0", Rules{LargeTrade: 0, FlagRate: 0.3}, false},
		{"rate negative", Rules{LargeTrade: 100000, FlagRate: -0.01}, true},
		{"rate above 1", Rules{LargeTrade: 100000, FlagRate: 1.0001}, true},
		{"rate NaN", Rules{LargeTrade: 100000, FlagRate: math.NaN()}, true},
		{"rate +Inf", Rules{LargeTrade: 100000, FlagRate: math.Inf(1)}, true},
		{"threshold negative", Rules{LargeTrade: -1, FlagRate: 0.3}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rules.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate(%+v) = %v, want error: %v", tc.rules, err, tc.wantErr)
			}
		})
	}
}
