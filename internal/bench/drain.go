package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// drainResult is one backlog drain.
type drainResult struct {
	Partitions int32
	Trades     int64
	Produce    time.Duration // pre-producing the backlog, not part of the figure
	FirstReady time.Duration // worker start to Ready
	Elapsed    time.Duration // worker start to every count visible
	usage
}

func (d drainResult) rate() float64 { return float64(d.Trades) / d.Elapsed.Seconds() }

// runDrain pre-produces the backlog, then starts a worker and times it
// from start (start-up included) until every trade is counted in its
// count view. profile, if set, receives a CPU profile of that span.
func (b *bench) runDrain(ctx context.Context, name string, partitions int32, profile string) error {
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, partitions)
	if err != nil {
		return err
	}
	defer c.close()
	g := b.generator(b.o.Seed)
	if err := c.produceUsers(ctx, g); err != nil {
		return err
	}
	res := drainResult{Partitions: partitions, Trades: b.o.Trades}
	if res.Produce, err = c.produceBacklog(ctx, g, b.o.Trades); err != nil {
		return err
	}
	tracePath := ""
	if name == Drain {
		tracePath = b.o.Trace
	}
	stopProfile, err := startProfile(profile, tracePath)
	if err != nil {
		return err
	}
	r, err := c.startWorker("worker")
	if err != nil {
		return errors.Join(err, stopProfile())
	}
	res.FirstReady, err = r.waitReady(ctx)
	if err == nil {
		res.Elapsed, err = r.waitVisible(ctx, b.o.Trades, b.symbols())
	}
	err = errors.Join(err, stopProfile())
	res.usage = mon.finish()
	res.BrokerBytes = c.logBytes(ctx)
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	if name == Drain {
		b.res.drain = &res
	} else {
		b.res.drainLarge = &res
	}
	b.res.addUsage(name, res.usage)
	b.printf("%-11s %d partitions: %d trades in %v = %.0f trades/s (from worker start, start-up included, to all counted in the count view, polled every %v; ready after %v; producing took %v, not counted); %v\n",
		name, partitions, res.Trades, res.Elapsed.Round(time.Millisecond), res.rate(), visibleEvery,
		res.FirstReady.Round(time.Millisecond), res.Produce.Round(time.Millisecond), res.usage)
	return nil
}

// startProfile starts a CPU profile into path and an execution trace
// (go tool trace) into tracePath; empty: none.
func startProfile(path, tracePath string) (stop func() error, err error) {
	stops := []func() error{}
	stopAll := func() error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s())
		}
		return errors.Join(errs...)
	}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stops = append(stops, func() error { pprof.StopCPUProfile(); return f.Close() })
	}
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("trace: %w", err), stopAll())
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			return nil, errors.Join(fmt.Errorf("trace: %w", err), stopAll())
		}
		stops = append(stops, func() error { trace.Stop(); return f.Close() })
	}
	return stopAll, nil
}
