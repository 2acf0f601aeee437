package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/telemetry"
	"github.com/tradeflow/tradeflow/settlement"
)

// Options configure the processor groups of one worker.
type Options struct {
	Brokers []string
	// Kit builds every processor's and view's goka clients.
	Kit     *gokaext.Kit
	Rules   settlement.Rules
	Policy  settlement.Policy
	Metrics *Metrics
	Log     *slog.Logger
	// ExpireEvery is how often windows past retention are removed.
	ExpireEvery time.Duration
	// LateWrites is how long after a worker takes a partition over a
	// former owner's buffered changelog writes may still land: that
	// owner's session timeout and producer delivery timeout (see
	// Counter.LateWrites). Zero: at any time.
	LateWrites time.Duration
	// OnAssigned, when set, is told each group's input topics and the
	// partitions of them it owns after every rebalance.
	OnAssigned func(group string, topics []string, partitions []int32)
	// Store, when set, is where the fused count keeps its windows (the
	// count view's index): the settle group counts (fused.go) and there is
	// no count group. Nil: the count group counts (TRADEFLOW_COUNT=hop).
	Store WindowStore
	// TradePartitions is stocktrade's partition count (Layout.Trades),
	// which the fused count needs.
	TradePartitions int32
}

func (o Options) validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if o.Kit == nil || o.Metrics == nil || o.Log == nil {
		errs = append(errs, errors.New("Kit, Metrics and Log must be set"))
	}
	if o.ExpireEvery <= 0 {
		errs = append(errs, fmt.Errorf("expire interval %v must be positive", o.ExpireEvery))
	}
	if o.LateWrites < 0 {
		errs = append(errs, fmt.Errorf("late-writes bound %v is negative", o.LateWrites))
	}
	if o.Store != nil && o.TradePartitions < 1 {
		errs = append(errs, fmt.Errorf("the fused count needs stocktrade's partition count, not %d", o.TradePartitions))
	}
	errs = append(errs, o.Rules.Validate(), o.Policy.Validate())
	return errors.Join(errs...)
}

// Pipeline runs the users view and the settle, count and users-check
// groups of one worker.
type Pipeline struct {
	opts    Options
	users   *UsersView
	counter *Counter
	settle  group
	count   group // absent (proc nil) with the fused count
	check   group
	ready   atomic.Bool // latches once everything ran
}

// group is one running processor group; assigned is set once it received
// its first partition assignment.
type group struct {
	name     string
	proc     *goka.Processor
	assigned *atomic.Bool
	visits   *gokaext.VisitGate
}

// NewPipeline builds the groups of the topology (topology.go), each with
// the kit's processor options and what its callbacks rely on.
func NewPipeline(o Options) (*Pipeline, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("processor options: %w", err)
	}
	users, err := NewUsersView(o.Brokers, o.Kit, o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("users view: %w", err)
	}
	p := &Pipeline{opts: o, users: users, counter: &Counter{Policy: o.Policy, Metrics: o.Metrics, Log: o.Log,
		LateWrites: o.LateWrites, ExpireEvery: o.ExpireEvery, Store: o.Store, Partitions: o.TradePartitions}}
	build := func(name string, graph *goka.GroupGraph, extra ...goka.ProcessorOption) (group, error) {
		g := group{name: name, assigned: new(atomic.Bool), visits: gokaext.NewVisitGate()}
		opts := append(o.Kit.ProcessorOptions(g.visits, string(CountTable)),
			goka.WithRebalanceCallback(p.rebalanced(graph, g.assigned)))
		proc, err := goka.NewProcessor(o.Brokers, graph, append(opts, extra...)...)
		if err != nil {
			return g, fmt.Errorf("%s: %w", name, err)
		}
		g.proc = proc
		return g, nil
	}
	// A tombstone in stocktrade or the windows topic reaches the callback,
	// which dead-letters it, instead of being dropped by goka.
	settler := NewSettler(o.Rules, users, o.Policy, o.Metrics)
	if p.fused() {
		settler.Count = p.counter
	}
	if p.settle, err = build("settle group", settler.Graph(), goka.WithNilHandling(goka.NilProcess)); err != nil {
		return nil, err
	}
	// Recovery applies the stale rule, so a former owner's late value does
	// not replace a newer one.
	if !p.fused() {
		if p.count, err = build("count group", p.counter.Graph(), goka.WithNilHandling(goka.NilProcess), goka.WithUpdateCallback(countUpdate(o.Metrics))); err != nil {
			return nil, err
		}
	}
	if p.check, err = build("users-check group", UsersCheckGraph(o.Metrics)); err != nil {
		return nil, err
	}
	return p, nil
}

// rebalanced is a group's rebalance callback: it notes the first
// assignment, logs what was assigned and revoked, and updates the
// metrics and OnAssigned.
func (p *Pipeline) rebalanced(graph *goka.GroupGraph, first *atomic.Bool) goka.RebalanceCallback {
	group := string(graph.Group())
	var topics []string
	for _, e := range graph.InputStreams() {
		topics = append(topics, e.Topic())
	}
	var owned []int32
	return func(a goka.Assignment) {
		now := slices.Sorted(maps.Keys(a))
		var added, revoked []int32
		for _, n := range now {
			if !slices.Contains(owned, n) {
				added = append(added, n)
			}
		}
		for _, o := range owned {
			if !slices.Contains(now, o) {
				revoked = append(revoked, o)
			}
		}
		owned = now
		if p.fused() && graph.Group() == SettleGroup {
			p.counter.owns(now)
		}
		p.opts.Metrics.Rebalances.WithLabelValues(group).Inc()
		p.opts.Metrics.Assigned.WithLabelValues(group).Set(float64(len(now)))
		p.opts.Log.Info("partitions assigned", "group", group, "topics", topics, "partitions", len(now),
			"assigned", added, "revoked", revoked)
		if p.opts.OnAssigned != nil {
			p.opts.OnAssigned(group, topics, now)
		}
		first.Store(true)
	}
}

// RestoreSources are where the count group's table and the users view
// report their restore progress.
func (p *Pipeline) RestoreSources() []telemetry.Source {
	sources := []telemetry.Source{telemetry.ViewSource(string(UsersTable), p.users.View)}
	if !p.fused() {
		sources = append(sources, telemetry.ProcessorSource(string(CountTable), p.count.proc))
	}
	return sources
}

// fused reports whether the settle group counts (fused.go).
func (p *Pipeline) fused() bool { return p.opts.Store != nil }

func (p *Pipeline) groups() []group {
	if p.fused() {
		return []group{p.settle, p.check}
	}
	return []group{p.settle, p.count, p.check}
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
	ok := p.users.Recovered()
	for _, g := range p.groups() {
		ok = ok && g.proc.Recovered() && g.assigned.Load()
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
	if !p.fused() {
		g.Go(func() error { return named(p.count.name, p.count.proc.Run(ctx)) })
	}
	g.Go(func() error { return named(p.check.name, p.check.proc.Run(ctx)) })
	g.Go(func() error {
		if err := waitRecovered(ctx, p.users.View); err != nil {
			return nil
		}
		return named(p.settle.name, p.settle.proc.Run(ctx))
	})
	if p.fused() {
		g.Go(func() error { return p.expireFusedLoop(ctx) })
	} else {
		g.Go(func() error { p.expireLoop(ctx); return nil })
	}
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
	if err := p.count.proc.WaitForReadyContext(ctx); err != nil {
		return
	}
	t := time.NewTicker(p.opts.ExpireEvery)
	defer t.Stop()
	for {
		err := p.count.visits.Visit(ctx, func(ctx context.Context) error { return p.count.proc.VisitAll(ctx, ExpireVisit, nil) })
		if err != nil && ctx.Err() == nil {
			p.opts.Log.Warn("expiring windows did not finish; will retry", "every", p.opts.ExpireEvery, "err", err)
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

// expireFusedLoop is the fused count's expireLoop: once the settle group
// runs, and then every ExpireEvery, a visit (Counter.expireFused) whose
// writes go through a producer of the kit's.
func (p *Pipeline) expireFusedLoop(ctx context.Context) error {
	if err := p.settle.proc.WaitForReadyContext(ctx); err != nil {
		return nil
	}
	prod, err := p.opts.Kit.Producer(p.opts.Brokers, string(CountTable))
	if err != nil {
		return fmt.Errorf("fused count's expiry producer: %w", err)
	}
	defer prod.Close()
	failed := new(atomic.Int64)
	write := func(key string, value []byte) {
		prod.Emit(string(CountTable), key, value).Then(func(err error) {
			if err != nil && failed.Add(1) == 1 {
				p.opts.Log.Warn("fused count: a write of an expire visit failed (a tombstone stays out of the changelog until a restart expires its window again; a rewrite is repeated at the next visit)", "window", key, "err", err)
			}
		})
	}
	t := time.NewTicker(p.opts.ExpireEvery)
	defer t.Stop()
	for {
		failed.Store(0)
		p.counter.expireFused(write)
		p.counter.rotate()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
