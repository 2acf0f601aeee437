package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tradeflow/tradeflow/datagen"
)

// pollEvery is how often the latency scenario reads the counts over HTTP.
const pollEvery = 5 * time.Millisecond

// latencyResult is the end-to-end latency at a fixed rate.
type latencyResult struct {
	Trades        int64
	Rate          float64 // achieved
	P50, P99, Max time.Duration
	usage
}

// runLatency starts a worker, waits until it is ready, then produces at
// the fixed rate while polling GET /v1/counts/{symbol} for every symbol.
// A trade's latency is the time of the first poll answer in which its
// symbol's count reached the trade's rank within that symbol, minus the
// time it was handed to the producer (a symbol's trades share one
// stocktrade partition, so they are counted in order).
func (b *bench) runLatency(ctx context.Context) error {
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, b.o.Partitions)
	if err != nil {
		return err
	}
	defer c.close()
	g := b.generator(b.o.Seed)
	if err := c.produceUsers(ctx, g); err != nil {
		return err
	}
	r, err := c.startWorker("worker")
	if err != nil {
		return err
	}
	res, err := b.measureLatency(ctx, c, r, g)
	res.usage = mon.finish()
	res.BrokerBytes = c.logBytes(ctx)
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	b.res.latency = &res
	b.res.addUsage(Latency, res.usage)
	b.printf("%-11s %d trades at %.0f/s for %v: produce → count visible over HTTP p50 %v, p99 %v, max %v (polled every %v); %v\n",
		Latency, res.Trades, res.Rate, b.o.LatencyDuration, ms(res.P50), ms(res.P99), ms(res.Max), pollEvery, res.usage)
	return nil
}

func (b *bench) measureLatency(ctx context.Context, c *cluster, r *running, g *datagen.Generator) (latencyResult, error) {
	var res latencyResult
	if _, err := r.waitReady(ctx); err != nil {
		return res, err
	}
	addr, stopHTTP, err := serve(r.w.Handler())
	if err != nil {
		return res, err
	}
	defer stopHTTP()
	p := &poller{addr: addr, cl: &http.Client{Timeout: 5 * time.Second}, seen: map[string][]seen{}}
	want := make(chan map[string]int64, 1)
	polled := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { polled <- p.run(pctx, want) }()

	sent := map[string][]time.Time{}
	start := time.Now()
	n, err := c.pace(ctx, g, b.o.Rate, b.o.LatencyDuration, func(sym string, at time.Time) { sent[sym] = append(sent[sym], at) })
	res.Trades, res.Rate = n, float64(n)/time.Since(start).Seconds()
	if err != nil {
		cancel()
		<-polled
		return res, err
	}
	counts := map[string]int64{}
	for sym, ts := range sent {
		counts[sym] = int64(len(ts))
	}
	want <- counts
	if err := <-polled; err != nil {
		return res, err
	}
	lat, err := p.latencies(sent)
	if err != nil {
		return res, err
	}
	slices.Sort(lat)
	res.P50, res.P99, res.Max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
	return res, nil
}

// seen is the first poll answer with a new count for a symbol.
type seen struct {
	at    time.Time
	count int64
}

// poller reads every symbol's count over HTTP every pollEvery.
type poller struct {
	addr string
	cl   *http.Client
	seen map[string][]seen
}

// run polls until the counts received on want are all visible (at most
// a minute after they arrive) or ctx is done.
func (p *poller) run(ctx context.Context, want <-chan map[string]int64) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	var target map[string]int64
	var deadline <-chan time.Time
	for {
		reached := target != nil
		for _, sym := range datagen.Symbols() {
			n, err := countOverHTTP(p.cl, p.addr, sym)
			if err != nil {
				return err
			}
			if s := p.seen[sym]; len(s) == 0 || s[len(s)-1].count != n {
				p.seen[sym] = append(s, seen{at: time.Now(), count: n})
			}
			if n < target[sym] {
				reached = false
			}
		}
		if reached {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case target = <-want:
			deadline = time.After(time.Minute)
		case <-deadline:
			return fmt.Errorf("not every trade visible a minute after the last was produced (want %v, last seen %v)", target, p.last())
		case <-t.C:
		}
	}
}

func (p *poller) last() map[string]int64 {
	m := map[string]int64{}
	for sym, s := range p.seen {
		m[sym] = s[len(s)-1].count
	}
	return m
}

// latencies pairs the j-th trade of each symbol with the first answer that
// showed at least j.
func (p *poller) latencies(sent map[string][]time.Time) ([]time.Duration, error) {
	var out []time.Duration
	for sym, times := range sent {
		s, k := p.seen[sym], 0
		for j, at := range times {
			for k < len(s) && s[k].count < int64(j+1) {
				k++
			}
			if k == len(s) {
				return nil, fmt.Errorf("%s: trade %d of %d never seen", sym, j+1, len(times))
			}
			out = append(out, s[k].at.Sub(at))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no trades produced")
	}
	return out, nil
}

// quantile of sorted durations, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
