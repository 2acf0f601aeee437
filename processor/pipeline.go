package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/tradeflow/tradeflow/settlement"
)

// Options configure the processor groups of one worker.
type Options struct {
	Brokers []string
	Procs   Builders // for processors
	Views   Builders // for the users view
	Rules   settlement.Rules
	Policy  settlement.Policy
	Metrics *Metrics
	Log     *slog.Logger
	// ExpireEvery is how often windows past retention are removed.
	ExpireEvery time.Duration
}

// Pipeline runs the users view and the settle, count and users-check
// groups of one worker.
type Pipeline struct {
	opts    Options
	users   *UsersView
	settle  *goka.Processor
	count   *goka.Processor
	check   *goka.Processor
	counter *Counter

	// assigned[i] is set once group i (settle, count, check) received its
	// first partition assignment; ready latches once everything ran.
	assigned [3]atomic.Bool
	ready    atomic.Bool
}

// NewPipeline builds the groups; it checks that their topics exist.
func NewPipeline(o Options) (*Pipeline, error) {
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = time.Minute
	}
	users, err := NewUsersView(o.Brokers, o.Views, o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("users view: %w", err)
	}
	p := &Pipeline{opts: o, users: users, counter: &Counter{Policy: o.Policy, Metrics: o.Metrics}}
	settler := NewSettler(o.Rules, users, o.Policy, o.Metrics)
	opts := func(i int, extra ...goka.ProcessorOption) []goka.ProcessorOption {
		return append(append(o.Procs.processorOptions(),
			goka.WithRebalanceCallback(func(goka.Assignment) { p.assigned[i].Store(true) })), extra...)
	}
	if p.settle, err = goka.NewProcessor(o.Brokers, settler.Graph(), opts(0, goka.WithNilHandling(goka.NilProcess))...); err != nil {
		return nil, fmt.Errorf("settle group: %w", err)
	}
	if p.count, err = goka.NewProcessor(o.Brokers, p.counter.Graph(), opts(1, goka.WithNilHandling(goka.NilProcess), goka.WithUpdateCallback(countUpdate(o.Metrics)))...); err != nil {
		return nil, fmt.Errorf("count group: %w", err)
	}
	if p.check, err = goka.NewProcessor(o.Brokers, UsersCheckGraph(o.Metrics), opts(2)...); err != nil {
		return nil, fmt.Errorf("users-check group: %w", err)
	}
	return p, nil
}

// Ready reports whether every group has joined, received its partitions
// and recovered its tables, and the users view has recovered. goka says a
// processor is running before its first assignment too, so the first
// assignment is waited for. Once ready, a worker stays ready through later
// rebalances: its views keep serving while partitions move.
func (p *Pipeline) Ready() bool {
	if p.ready.Load() {
		return true
	}
	ok := p.users.Recovered() && p.settle.Recovered() && p.count.Recovered() && p.check.Recovered()
	for i := range p.assigned {
		ok = ok && p.assigned[i].Load()
	}
	if ok {
		p.ready.Store(true)
	}
	return ok
}

// Run runs until ctx is done or a group fails. The settle group starts only
// once the users view has recovered: the users table is fully loaded
// before trades are joined.
func (p *Pipeline) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return named("users view", p.users.Run(ctx)) })
	g.Go(func() error { return named("count group", p.count.Run(ctx)) })
	g.Go(func() error { return named("users-check group", p.check.Run(ctx)) })
	g.Go(func() error {
		if err := waitRecovered(ctx, p.users.View); err != nil {
			return nil
		}
		return named("settle group", p.settle.Run(ctx))
	})
	g.Go(func() error { p.expireLoop(ctx); return nil })
	return g.Wait()
}

func named(what string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func waitRecovered(ctx context.Context, v *goka.View) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !v.Recovered() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// expireLoop visits the count table's windows once the count group is
// running, then every ExpireEvery, removing windows past retention.
func (p *Pipeline) expireLoop(ctx context.Context) {
	if err := p.count.WaitForReadyContext(ctx); err != nil {
		return
	}
	t := time.NewTicker(p.opts.ExpireEvery)
	defer t.Stop()
	for {
		if err := p.count.VisitAll(ctx, ExpireVisit, nil); err != nil && ctx.Err() == nil {
			p.opts.Log.Warn("expiring windows failed; will retry", "err", err)
		} else {
			p.counter.rotate()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
