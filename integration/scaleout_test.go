package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeflow/tradeflow/datagen"
)

// TestScaleOut measures a group of workers growing from 1 to 2 to 4 on
// 1,000 partitions with the market profile: for each new worker, the time
// until it is ready and until all three groups are stable again with
// every partition owned, how the partitions are spread over the workers,
// and, at the end, exact counts on every worker. A measurement, so opt-in:
// TRADEFLOW_SCALE=1 (make scale-out).
func TestScaleOut(t *testing.T) {
	if os.Getenv("TRADEFLOW_SCALE") == "" {
		t.Skip("a measurement: TRADEFLOW_SCALE=1 (make scale-out)")
	}
	const partitions = 1000
	c := newCluster(t)
	c.createTopic(t, "stocktrade", partitions, nil)
	c.createTopic(t, "users", 6, map[string]*string{"cleanup.policy": ptrTo("compact")})
	m := datagen.MarketOptions{Symbols: 4000, Users: 20_000, Skew: 1.1, Span: 30 * time.Minute, Malformed: 0.01, Unknown: 0.01, LateAge: time.Hour}
	w := newMarketWorkload(t, 5, m, 200_000)
	c.produce(t, w.Users...)
	half := len(w.Trades) / 2
	c.produce(t, w.Trades[:half]...)

	// The count group's three groups, as measured in BENCHMARKS.md.
	env := []string{"TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_COUNT=hop", fmt.Sprintf("TRADEFLOW_PARTITIONS=%d", partitions)}
	began := time.Now()
	workers := []*proc{c.startWorker(t, t.TempDir(), env...)}
	t.Logf("1 worker: ready after %v", time.Since(began).Round(10*time.Millisecond))
	stable := c.awaitStable(t, 1, partitions, 5*time.Minute)
	t.Logf("1 worker: groups stable %v after start; %s", time.Since(began).Round(10*time.Millisecond), stable)

	for _, n := range []int{2, 4} {
		began := time.Now()
		var readies []string
		for len(workers) < n {
			workers = append(workers, c.startWorker(t, t.TempDir(), env...))
			readies = append(readies, time.Since(began).Round(10*time.Millisecond).String())
		}
		stable := c.awaitStable(t, n, partitions, 5*time.Minute)
		t.Logf("%d workers: new workers ready after %s; all groups stable %v after the first new one started; %s",
			n, strings.Join(readies, ", "), time.Since(began).Round(10*time.Millisecond), stable)
		if n == 2 {
			c.produce(t, w.Trades[half:]...)
		}
	}
	for i, wk := range workers {
		took := awaitCounts(t, wk.HTTP, w.Truth, 5*time.Minute, w.symbols...)
		t.Logf("worker %d serves exact counts (%d windows) %v after the check began", i, len(w.Truth), took.Round(time.Millisecond))
	}
}

// awaitStable waits until each of tradeflow's three groups is Stable with
// n members that together own all partitions of its input, and returns
// how the partitions are spread ("settle 500/500, ...").
func (c *cluster) awaitStable(tb testing.TB, n, partitions int, within time.Duration) string {
	tb.Helper()
	groups := []string{"tradeflow-settle", "tradeflow-count", "tradeflow-users-check"}
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		described, err := c.Admin.DescribeGroups(ctx, groups...)
		cancel()
		if err != nil {
			last = err.Error()
			continue
		}
		var spread []string
		ok := true
		for _, g := range groups {
			dg := described[g]
			var counts []int
			total := 0
			for _, m := range dg.Members {
				a, isConsumer := m.Assigned.AsConsumer()
				owned := 0
				if isConsumer {
					for _, tp := range a.Topics {
						owned += len(tp.Partitions)
					}
				}
				counts = append(counts, owned)
				total += owned
			}
			slices.Sort(counts)
			want := partitions
			if g == "tradeflow-users-check" {
				want = 6
			}
			if dg.State != "Stable" || len(dg.Members) != n || total != want {
				ok = false
			}
			spread = append(spread, fmt.Sprintf("%s %s %v", strings.TrimPrefix(g, "tradeflow-"), dg.State, counts))
		}
		last = strings.Join(spread, ", ")
		if ok {
			return "partitions per worker: " + last
		}
	}
	tb.Fatalf("groups not stable with %d members within %v: %s", n, within, last)
	return ""
}
