package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/datagen"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/views"
)

// firstErr keeps the first error of asynchronous produce callbacks.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// flush waits for every produced record and returns the first failure.
func (c *cluster) flush(ctx context.Context, fe *firstErr) error {
	if err := c.kcl.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := fe.get(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// produceUsers writes every user datagen's trades name.
func (c *cluster) produceUsers(ctx context.Context, g *datagen.Generator) error {
	fe := &firstErr{}
	for n := 1; n <= g.Users(); n++ {
		k, v := g.User(n)
		c.kcl.Produce(ctx, &kgo.Record{Topic: string(processor.UsersTable), Key: []byte(k), Value: v, Timestamp: time.Now()}, fe.set)
	}
	return c.flush(ctx, fe)
}

// produceBacklog writes n trades whose event times rise evenly over the
// last backlogSpan, and returns how long that took.
func (c *cluster) produceBacklog(ctx context.Context, g *datagen.Generator, n int64) (time.Duration, error) {
	start := time.Now()
	first := start.Add(-backlogSpan)
	step := backlogSpan / time.Duration(n)
	fe := &firstErr{}
	for i := range n {
		if i%10_000 == 0 {
			if err := fe.get(); err != nil {
				return 0, fmt.Errorf("produce: %w", err)
			}
		}
		k, v := g.Trade()
		ts := first.Add(time.Duration(i) * step)
		c.kcl.Produce(ctx, &kgo.Record{Topic: string(processor.TradesTopic), Key: []byte(k), Value: v, Timestamp: ts}, fe.set)
	}
	if err := c.flush(ctx, fe); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// pace produces trades at rate, stamped with the time they are handed to
// the producer, until ctx is done or d has passed; sent sees each trade's
// symbol and that time. It returns the number of trades produced.
func (c *cluster) pace(ctx context.Context, g *datagen.Generator, rate float64, d time.Duration, sent func(symbol string, at time.Time)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	fe := &firstErr{}
	start := time.Now()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	var n int64
	for ctx.Err() == nil {
		due := int64(time.Since(start).Seconds() * rate)
		for ; n < due; n++ {
			k, v := g.Trade()
			now := time.Now()
			if sent != nil {
				sent(k, now)
			}
			c.kcl.Produce(context.WithoutCancel(ctx), &kgo.Record{Topic: string(processor.TradesTopic), Key: []byte(k), Value: v, Timestamp: now}, fe.set)
		}
		if err := fe.get(); err != nil {
			return n, fmt.Errorf("produce: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer fcancel()
	return n, c.flush(fctx, fe)
}

// visible sums the symbols' counts in the worker's count view.
func visible(counts *views.Counts, symbols []string) (int64, error) {
	var n int64
	for _, sym := range symbols {
		ws, err := counts.Windows(sym, math.MinInt64, math.MaxInt64)
		if err != nil {
			return 0, err
		}
		for _, w := range ws {
			n += w.Completed + w.Pending + w.Flagged + w.Rejected
		}
	}
	return n, nil
}

// visibleEvery is how often waitVisible scans the count view. A scan
// reads every window of every symbol through goka's merged iterator and
// costs milliseconds of CPU while the drain runs; at 20 ms it took a sixth
// of the drain profile, so the completion time has this resolution instead.
const visibleEvery = 100 * time.Millisecond

// waitVisible waits until the worker's count view holds want trades and
// returns the time since the worker started. More than want is an error:
// a trade counted twice.
func (r *running) waitVisible(ctx context.Context, want int64, symbols []string) (time.Duration, error) {
	d, _, err := r.waitVisibleFirst(ctx, want, symbols)
	return d, err
}

// waitVisibleFirst is waitVisible that also says when the first trade was
// visible (since the worker started; within visibleEvery).
func (r *running) waitVisibleFirst(ctx context.Context, want int64, symbols []string) (all, first time.Duration, err error) {
	var last int64
	d, err := poll(ctx, visibleEvery, func() (bool, error) {
		if err := r.failed(); err != nil {
			return false, err
		}
		if !r.w.Counts.Recovered() {
			return false, nil
		}
		n, err := visible(r.w.Counts, symbols)
		if n > want {
			return false, fmt.Errorf("%d trades counted, %d produced", n, want)
		}
		if n > 0 && first == 0 {
			first = time.Since(r.started)
		}
		last = n
		return n == want, err
	}, r.started)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%d of %d trades visible after %v: %w", last, want, d.Round(time.Millisecond), err)
	}
	return d, first, err
}
