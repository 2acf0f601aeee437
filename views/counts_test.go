package views

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/ledger"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// newTestCounts runs Counts over the count table of a goka tester and
// writes windows to the table's changelog as the count group would.
func newTestCounts(tb testing.TB, windows ...*pb.WindowCounts) *Counts {
	tb.Helper()
	tt := tester.New(tb)
	kit := gokaext.New(gokaext.Options{Kafka: kclient.Config{ClientID: "test"}, ViewStorage: store.LevelDB(tb.TempDir()), Log: slog.New(slog.DiscardHandler)})
	c, err := NewCounts(nil, kit, processor.NewMetrics(prometheus.NewRegistry()), goka.WithViewTester(tt))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("count view: %v", err)
		}
	})
	for _, w := range windows {
		tt.Consume(string(processor.CountTable), settlement.WindowKey(w.Symbol, w.WindowStart), w)
	}
	return c
}

func counts(symbol string, start, c, p, f, r int64) *pb.WindowCounts {
	return &pb.WindowCounts{Symbol: symbol, WindowStart: start, Completed: c, Pending: p, Flagged: f, Rejected: r, Applied: ledger.Offsets(map[int32]int64{0: 1})}
}

func TestCountsWindows(t *testing.T) {
	c := newTestCounts(t,
		counts("ZVV", t0, 1, 0, 0, 0),
		counts("ZVV", t0+120_000, 3, 0, 0, 0),
		counts("ZVV", t0+60_000, 2, 0, 0, 0),
		counts("ZVV", 0, 9, 0, 0, 0),    // the epoch: sorts first by key
		counts("ZV", t0, 5, 0, 0, 0),    // a prefix of ZVV
		counts("ZVVA", t0, 6, 0, 0, 0),  // ZVV is a prefix of it
		counts("ZVV@X", t0, 7, 0, 0, 0), // a symbol with '@' starting with "ZVV@"
		counts("A@B", t0, 0, 1, 2, 3),
	)
	cases := []struct {
		name       string
		symbol     string
		from, to   int64
		wantStarts []int64
	}{
		{"newest first, only the symbol's windows", "ZVV", math.MinInt64, math.MaxInt64, []int64{t0 + 120_000, t0 + 60_000, t0, 0}},
		{"from inclusive", "ZVV", t0 + 60_000, math.MaxInt64, []int64{t0 + 120_000, t0 + 60_000}},
		{"to inclusive", "ZVV", math.MinInt64, t0, []int64{t0, 0}},
		{"one window", "ZVV", t0 + 60_000, t0 + 60_000, []int64{t0 + 60_000}},
		{"empty range", "ZVV", t0 + 1, t0 + 59_999, nil},
		{"symbol that prefixes another", "ZV", math.MinInt64, math.MaxInt64, []int64{t0}},
		{"symbol with '@'", "ZVV@X", math.MinInt64, math.MaxInt64, []int64{t0}},
		{"unknown symbol", "NOPE", math.MinInt64, math.MaxInt64, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := c.Windows(tc.symbol, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var starts []int64
			for _, w := range ws {
				starts = append(starts, w.WindowStart)
				if w.WindowEnd != w.WindowStart+60_000 {
					t.Errorf("window %d ends at %d", w.WindowStart, w.WindowEnd)
				}
			}
			if !reflect.DeepEqual(starts, tc.wantStarts) {
				t.Errorf("window starts %v, want %v", starts, tc.wantStarts)
			}
		})
	}
	ws, err := c.Windows("A@B", math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Window{{WindowStart: t0, WindowEnd: t0 + 60_000, Pending: 1, Flagged: 2, Rejected: 3}}; !reflect.DeepEqual(ws, want) {
		t.Errorf("A@B windows %+v, want %+v", ws, want)
	}
}

// The HTTP API over the real Counts view: the order and shape come from
// the view, not from a fake.
func TestAPIOverCountsView(t *testing.T) {
	c := newTestCounts(t,
		counts("ZVV", t0, 1, 2, 3, 4),
		counts("ZVV", t0+60_000, 0, 5, 0, 0),
	)
	h := newAPI(c).Handler()
	_, body := get(t, h, "/v1/counts/ZVV")
	want := `{"symbol":"ZVV","windows":[` +
		`{"windowStart":1700000100000,"windowEnd":1700000160000,"completed":0,"pending":5,"flagged":0,"rejected":0},` +
		`{"windowStart":1700000040000,"windowEnd":1700000100000,"completed":1,"pending":2,"flagged":3,"rejected":4}]}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("body\n %s\nwant\n %s", got, want)
	}
	_, body = get(t, h, "/v1/tables/PENDING_PER_MINUTE?symbol=ZVV")
	if got := decodeJSON[[]Row](t, body); !reflect.DeepEqual(got, []Row{{"ZVV", t0 + 60_000, t0 + 120_000, 5}, {"ZVV", t0, t0 + 60_000, 2}}) {
		t.Errorf("pending rows %+v", got)
	}
}

// A late write of a worker that had lost the partition (it counts fewer
// trades than the value held) does not replace the newer value.
func TestCountsIgnoreStaleValues(t *testing.T) {
	newer := counts("ZVV", t0, 5, 0, 0, 0)
	newer.Applied = ledger.Offsets(map[int32]int64{0: 20})
	older := counts("ZVV", t0, 3, 0, 0, 0)
	older.Applied = ledger.Offsets(map[int32]int64{0: 12})
	later := counts("ZVV", t0, 6, 0, 0, 0)
	later.Applied = ledger.Offsets(map[int32]int64{0: 21})
	c := newTestCounts(t, newer, older)
	ws, err := c.Windows("ZVV", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Completed != 5 {
		t.Fatalf("windows %+v, want completed 5 from the newer value", ws)
	}
	c2 := newTestCounts(t, newer, older, later)
	if ws, _ := c2.Windows("ZVV", t0, t0); len(ws) != 1 || ws[0].Completed != 6 {
		t.Fatalf("windows %+v, want completed 6 from the latest value", ws)
	}
}
