package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/datagen"
)

// latencyWarmup is produced at the latency rate before measuring, and
// waited for, so that neither side's figure includes its first assignment
// or its stores' first writes.
const latencyWarmup = 3 * time.Second

// tracker keeps, per symbol, each time its visible count changed: fed by
// polling tradeflow over HTTP or by consuming the peer's output.
type tracker struct {
	mu   sync.Mutex
	seen map[string][]seen
}

func newTracker() *tracker { return &tracker{seen: map[string][]seen{}} }

func (t *tracker) observe(sym string, n int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.seen[sym]; len(s) == 0 || s[len(s)-1].count != n {
		t.seen[sym] = append(s, seen{at: at, count: n})
	}
}

func (t *tracker) count(sym string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.seen[sym]; len(s) > 0 {
		return s[len(s)-1].count
	}
	return 0
}

// wait waits until every symbol's count is at least its target, at most a
// minute.
func (t *tracker) wait(ctx context.Context, target map[string]int64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := poll(ctx, pollEvery, func() (bool, error) {
		for sym, n := range target {
			if t.count(sym) < n {
				return false, nil
			}
		}
		return true, nil
	}, time.Now())
	if err != nil {
		got := map[string]int64{}
		for sym := range target {
			got[sym] = t.count(sym)
		}
		return fmt.Errorf("not every trade visible a minute after the last was produced (want %v, last seen %v): %w", target, got, err)
	}
	return nil
}

// latencies pairs the j-th trade of each symbol sent after base[sym] were
// visible with the first time its count reached base + j.
func (t *tracker) latencies(base map[string]int64, sent map[string][]time.Time) ([]time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []time.Duration
	for sym, times := range sent {
		s, k := t.seen[sym], 0
		for j, at := range times {
			rank := base[sym] + int64(j+1)
			for k < len(s) && s[k].count < rank {
				k++
			}
			if k == len(s) {
				return nil, fmt.Errorf("%s: trade %d of %d never seen", sym, j+1, len(times))
			}
			out = append(out, s[k].at.Sub(at))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no trades produced")
	}
	slices.Sort(out)
	return out, nil
}

// measure produces a warm-up at rate and waits for it, then produces for
// o.LatencyDuration and waits until every trade is visible in t.
func (b *bench) measure(ctx context.Context, c *cluster, g *datagen.Generator, t *tracker) (latencyResult, error) {
	var res latencyResult
	record := func(m map[string][]time.Time) func(string, time.Time) {
		return func(sym string, at time.Time) { m[sym] = append(m[sym], at) }
	}
	base := map[string]int64{}
	for _, sym := range datagen.Symbols() {
		base[sym] = t.count(sym)
	}
	warm := map[string][]time.Time{}
	if _, err := c.pace(ctx, g, b.o.Rate, latencyWarmup, record(warm)); err != nil {
		return res, err
	}
	for sym, ts := range warm {
		base[sym] += int64(len(ts))
	}
	if err := t.wait(ctx, base); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	sent := map[string][]time.Time{}
	start := time.Now()
	n, err := c.pace(ctx, g, b.o.Rate, b.o.LatencyDuration, record(sent))
	res.Trades, res.Rate = n, float64(n)/time.Since(start).Seconds()
	if err != nil {
		return res, err
	}
	target := map[string]int64{}
	for sym := range base {
		target[sym] = base[sym] + int64(len(sent[sym]))
	}
	if err := t.wait(ctx, target); err != nil {
		return res, err
	}
	lat, err := t.latencies(base, sent)
	if err != nil {
		return res, err
	}
	res.P50, res.P99, res.Max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
	return res, nil
}

// pollHTTP feeds t with every symbol's count from tradeflow's HTTP API
// every pollEvery until ctx is done.
func pollHTTP(ctx context.Context, addr string, t *tracker) error {
	cl := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		for _, sym := range datagen.Symbols() {
			n, err := countOverHTTP(cl, addr, sym)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			t.observe(sym, n, time.Now())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// peerCounts folds the peer's output, key "SYMBOL@windowStart@DISPOSITION"
// and value the count so far, into a total per symbol: the latest value of
// each key, summed.
type peerCounts struct {
	latest map[string]int64
	total  map[string]int64
}

func newPeerCounts() *peerCounts {
	return &peerCounts{latest: map[string]int64{}, total: map[string]int64{}}
}

// add applies one output record and returns its symbol and new total.
func (p *peerCounts) add(key, value []byte) (string, int64, error) {
	k := string(key)
	i := strings.LastIndexByte(k, '@')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(k[:i], '@')
	}
	if j <= 0 {
		return "", 0, fmt.Errorf("peer output key %q: want SYMBOL@windowStart@DISPOSITION", k)
	}
	n, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("peer output %q: value %q: %w", k, value, err)
	}
	sym := k[:j]
	p.total[sym] += n - p.latest[k]
	p.latest[k] = n
	return sym, p.total[sym], nil
}

func (p *peerCounts) sum() int64 {
	var n int64
	for _, v := range p.total {
		n += v
	}
	return n
}

// consumeOutput reads topic from its start, feeding t (if not nil) with
// each symbol's total as records arrive, until ctx is done or, with
// untilEnd, the end offsets of when it was called are reached.
func (c *cluster) consumeOutput(ctx context.Context, topic string, t *tracker, untilEnd bool) (*peerCounts, error) {
	var end int64
	if untilEnd {
		var err error
		if end, err = c.endOffsets(ctx, topic); err != nil {
			return nil, err
		}
	}
	pc := newPeerCounts()
	if untilEnd && end == 0 {
		return pc, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var read int64
	for {
		fs := cl.PollFetches(ctx)
		now := time.Now()
		if ctx.Err() != nil {
			if untilEnd {
				return pc, ctx.Err()
			}
			return pc, nil
		}
		if err := fs.Err(); err != nil {
			return pc, fmt.Errorf("consume %s: %w", topic, err)
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			read++
			sym, n, err := pc.add(r.Key, r.Value)
			if err != nil {
				ferr = err
				return
			}
			if t != nil {
				t.observe(sym, n, now)
			}
		})
		if ferr != nil {
			return pc, ferr
		}
		if untilEnd && read >= end {
			return pc, nil
		}
	}
}
