package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/tradeflow/tradeflow/datagen"
)

// TestHotSymbolDoesNotBlock drains a backlog where one symbol carries
// most trades (Zipf skew 2: the hottest takes about 60%), so one
// stocktrade partition holds most of the work. goka runs each partition in
// its own goroutine: the other partitions must finish in proportion to
// their own size, not wait for the hot one. It watches the settle group's
// committed offset of every partition and reports each partition's
// records, finish time and rate.
func TestHotSymbolDoesNotBlock(t *testing.T) {
	c := newCluster(t)
	const partitions = 6
	c.createTopic(t, "stocktrade", partitions, nil)
	c.createTopic(t, "users", 3, map[string]*string{"cleanup.policy": ptrTo("compact")})
	m := datagen.MarketOptions{Symbols: 200, Users: 2000, Skew: 2, Span: 30 * time.Minute, Malformed: 0.01, Unknown: 0.01, LateAge: time.Hour}
	w := newMarketWorkload(t, 3, m, 150_000)
	c.produce(t, w.Users...)
	c.produce(t, w.Trades...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ends, err := c.Admin.ListEndOffsets(ctx, "stocktrade")
	if err != nil {
		t.Fatal(err)
	}
	size := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { size[o.Partition] = o.Offset })
	hot := int32(0)
	for p, n := range size {
		if n > size[hot] {
			hot = p
		}
	}

	start := time.Now()
	p := c.startWorker(t, t.TempDir(), "TRADEFLOW_FLAG_RATE=0")
	finished := map[int32]time.Duration{}
	for len(finished) < partitions && ctx.Err() == nil {
		commits, err := c.Admin.FetchOffsets(ctx, "tradeflow-settle")
		if err == nil {
			commits.Each(func(o kadm.OffsetResponse) {
				if _, done := finished[o.Partition]; !done && o.Topic == "stocktrade" && o.At >= size[o.Partition] {
					finished[o.Partition] = time.Since(start)
				}
			})
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(finished) < partitions {
		t.Fatalf("only partitions %v finished within 3 min", finished)
	}
	awaitCounts(t, p.HTTP, w.Truth, time.Minute, w.symbols...)

	var lines []string
	for q := range int32(partitions) {
		lines = append(lines, fmt.Sprintf("p%d%s: %d records, committed to the end after %v (%.0f records/s from worker start)",
			q, map[bool]string{true: " (hot)"}[q == hot], size[q], finished[q].Round(10*time.Millisecond), float64(size[q])/finished[q].Seconds()))
	}
	t.Logf("settle group, per stocktrade partition:\n%s", strings.Join(lines, "\n"))
	// A cold partition holds a small share of the work; it must be done
	// well before the hot one. Commits are at most a second apart.
	var cold []time.Duration
	for q, d := range finished {
		if q != hot {
			cold = append(cold, d)
		}
	}
	slowest := slices.Max(cold)
	if share := float64(size[hot]) / float64(len(w.Trades)); share < 0.4 {
		t.Fatalf("the hot partition holds %.0f%% of the trades; the test wants a skewed workload", 100*share)
	}
	if slowest >= finished[hot] {
		t.Errorf("the slowest cold partition finished after %v, the hot one after %v: cold partitions waited for the hot one", slowest, finished[hot])
	}
}
