package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/datagen"
)

// TestMarketDrainExact is the market drain at CI size: datagen's market
// profile (hundreds of symbols with Zipf skew, thousands of users, some
// unknown users and malformed values) on 200 partitions, drained by one
// worker; every window's counts must equal a ground truth computed here
// from the values, by the README's rules.
func TestMarketDrainExact(t *testing.T) {
	for _, count := range []string{"hop", "fused"} {
		t.Run(count, func(t *testing.T) {
			c := newCluster(t)
			m := datagen.MarketOptions{Symbols: 300, Users: 3000, Skew: 1.1, Span: 30 * time.Minute,
				Malformed: 0.02, Unknown: 0.02, LateAge: time.Hour}
			w := newMarketWorkload(t, 11, m, 20_000)
			c.createTopic(t, "stocktrade", 200, nil)
			c.createTopic(t, "users", 6, map[string]*string{"cleanup.policy": ptrTo("compact")})
			c.produce(t, w.Users...)
			c.produce(t, w.Trades...)
			p := c.startWorker(t, t.TempDir(), "TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_PARTITIONS=200", "TRADEFLOW_COUNT="+count)
			took := awaitCounts(t, p.HTTP, w.Truth, 3*time.Minute, w.symbols...)
			t.Logf("%s count: %d trades (%d valid) over %d symbols and %d windows counted exactly %v after the worker was ready",
				count, len(w.Trades), w.Valid, len(w.symbols), len(w.Truth), took.Round(time.Millisecond))
		})
	}
}

// A worker started with the fused count beside one counting with the
// count group stops, naming the setting, instead of counting the same
// windows beside it.
func TestFusedCountRefusesBesideTheCountGroup(t *testing.T) {
	c := newCluster(t)
	hop := c.startWorker(t, t.TempDir(), "TRADEFLOW_COUNT=hop")
	fused := c.launchWorker(t, t.TempDir(), "TRADEFLOW_COUNT=fused")
	awaitRefusal(t, fused, "beside a hop worker", "TRADEFLOW_COUNT=hop are running")
	hop.mustRun()
}

// awaitRefusal waits for w to exit non-zero within 90 s, its log saying
// each of why.
func awaitRefusal(t *testing.T, w *proc, when string, why ...string) {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		if err == nil {
			t.Fatalf("the fused worker exited 0 %s; want a failure", when)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the fused worker still runs 90s after starting %s", when)
	}
	log, err := os.ReadFile(w.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range why {
		if !strings.Contains(string(log), want) {
			t.Errorf("the fused worker's log does not say %q:\n%s", want, log)
		}
	}
}

// A worker started with the fused count while the windows topic holds
// records the count group has not counted (hop workers stopped before
// they caught up) stops, naming the setting, instead of leaving them
// uncounted.
func TestFusedCountRefusesACountGroupBacklog(t *testing.T) {
	c := newCluster(t)
	c.createTopic(t, "tradeflow-windows", 6, nil)
	c.produce(t, &kgo.Record{Topic: "tradeflow-windows", Key: []byte("ZVV@0"), Value: []byte{}})
	w := c.launchWorker(t, t.TempDir(), "TRADEFLOW_COUNT=fused")
	awaitRefusal(t, w, "with a count group backlog",
		"has 1 records of tradeflow-windows in 1 partitions left to count", "run with TRADEFLOW_COUNT=hop until it has")
}

// marketWorkload is a market-profile workload and its ground truth.
type marketWorkload struct {
	workload
	symbols []string
}

// newMarketWorkload generates n trades and every user with datagen's
// market profile, and computes the truth from the values themselves (see
// count).
func newMarketWorkload(tb testing.TB, seed uint64, m datagen.MarketOptions, n int) *marketWorkload {
	tb.Helper()
	g, err := datagen.NewMarket(seed, m)
	if err != nil {
		tb.Fatal(err)
	}
	w := &marketWorkload{workload: workload{Truth: map[winKey]tally{}, LargeTrade: 100000}, symbols: g.Symbols()}
	now := time.Now()
	for i := 1; i <= g.Users(); i++ {
		k, v := g.User(i)
		w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte(k), Value: v, Timestamp: now})
	}
	bad := malformedSet()
	for range n {
		k, v := g.Trade()
		ts := g.EventTime(now).UnixMilli()
		w.Trades = append(w.Trades, &kgo.Record{Topic: "stocktrade", Key: []byte(k), Value: v, Timestamp: time.UnixMilli(ts)})
		if err := w.count(k, v, ts, g.Users(), bad); err != nil {
			tb.Fatal(err)
		}
	}
	if w.BadTrades == 0 || w.Valid == 0 {
		tb.Fatalf("workload of %d malformed and %d valid trades; want both", w.BadTrades, w.Valid)
	}
	return w
}

// malformedSet is datagen's malformed values, to tell them apart.
func malformedSet() map[string]bool {
	bad := map[string]bool{}
	for _, v := range datagen.MalformedValues() {
		bad[v] = true
	}
	return bad
}

// count adds one trade to the truth, by the README's rules: a malformed
// value counts nowhere; a user beyond the table (users of them) is
// Rejected; a quantity × price above the large-trade threshold is
// Pending; the rest Completed (flag rate 0).
func (w *marketWorkload) count(k string, v []byte, ts int64, users int, bad map[string]bool) error {
	if bad[string(v)] {
		w.BadTrades++
		return nil
	}
	var tr struct {
		Quantity, Price int64
		Symbol, Userid  string
	}
	if err := json.Unmarshal(v, &tr); err != nil || tr.Symbol != k {
		return fmt.Errorf("generated trade %s (key %s): %v", v, k, err)
	}
	var user int
	if _, err := fmt.Sscanf(tr.Userid, "User_%d", &user); err != nil {
		return fmt.Errorf("userid %q: %v", tr.Userid, err)
	}
	w.Valid++
	key := winKey{k, ts - ts%60_000}
	t := w.Truth[key]
	switch {
	case user > users:
		t.Rejected++
	case tr.Quantity*tr.Price > w.LargeTrade:
		t.Pending++
	default:
		t.Completed++
	}
	w.Truth[key] = t
	return nil
}
