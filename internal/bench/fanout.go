package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutResult is the same backlog drained by a running worker without
// change-stream clients, with them, and without again (so that a trend
// over the three shows).
type fanoutResult struct {
	Clients int
	Trades  int64
	// Before, With, After: from the first trade produced to all counted.
	Before, With, After time.Duration
	Events              int64 // events the clients received while they were connected
	Ended               int   // clients whose stream ended before they hung up
	usage
}

func (f fanoutResult) rate(d time.Duration) float64 { return float64(f.Trades) / d.Seconds() }

// runFanout measures what serving server-sent events costs the pipeline:
// a worker that is already running drains Trades trades, then the same
// again with FanoutClients clients on GET /v1/counts/{symbol}/changes
// (spread over the symbols), then again without them.
func (b *bench) runFanout(ctx context.Context) error {
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
	res, err := b.measureFanout(ctx, c, r)
	res.usage = mon.finish()
	res.BrokerBytes = c.logBytes(ctx)
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	b.res.fanout = &res
	b.res.addUsage(Fanout, res.usage)
	b.printf("%-11s %d trades at a time into a running worker, from the first produced to all counted: %v (%.0f trades/s) without clients, %v (%.0f trades/s) with %d clients of GET /v1/counts/{symbol}/changes, %v (%.0f trades/s) without again; the clients got %d events, %d streams ended early; %v\n",
		Fanout, res.Trades, res.Before.Round(time.Millisecond), res.rate(res.Before), res.With.Round(time.Millisecond), res.rate(res.With),
		res.Clients, res.After.Round(time.Millisecond), res.rate(res.After), res.Events, res.Ended, res.usage)
	return nil
}

func (b *bench) measureFanout(ctx context.Context, c *cluster, r *running) (fanoutResult, error) {
	res := fanoutResult{Clients: b.o.FanoutClients, Trades: b.o.Trades}
	if _, err := r.waitReady(ctx); err != nil {
		return res, err
	}
	g := b.generator(b.o.Seed + 1)
	var total int64
	phase := func() (time.Duration, error) {
		start := time.Now()
		if _, err := c.produceBacklog(ctx, g, b.o.Trades); err != nil {
			return 0, err
		}
		total += b.o.Trades
		_, err := poll(ctx, visibleEvery, func() (bool, error) {
			n, err := visible(r.w.Counts, b.symbols())
			return n == total, err
		}, start)
		return time.Since(start), err
	}
	var err error
	if res.Before, err = phase(); err != nil {
		return res, fmt.Errorf("drain without clients: %w", err)
	}
	addr, stopHTTP, err := serve(r.w.Handler())
	if err != nil {
		return res, err
	}
	defer stopHTTP()
	cctx, hangUp := context.WithCancel(ctx)
	var events atomic.Int64
	var ended atomic.Int32
	var connected, done sync.WaitGroup
	symbols := b.symbols()
	for i := range res.Clients {
		connected.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			if err := follow(cctx, "http://"+addr+"/v1/counts/"+symbols[i%len(symbols)]+"/changes", &connected, &events); err != nil && cctx.Err() == nil {
				ended.Add(1)
			}
		}()
	}
	connected.Wait()
	res.With, err = phase()
	hangUp()
	done.Wait()
	res.Events, res.Ended = events.Load(), int(ended.Load())
	if err != nil {
		return res, fmt.Errorf("drain with clients: %w", err)
	}
	if res.After, err = phase(); err != nil {
		return res, fmt.Errorf("drain without clients again: %w", err)
	}
	return res, nil
}

// follow reads one change stream until ctx is done, counting its events;
// connected is told once the stream's headers arrived (or it failed).
func follow(ctx context.Context, url string, connected *sync.WaitGroup, events *atomic.Int64) error {
	once := sync.OnceFunc(connected.Done)
	defer once()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	once()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "event: ") {
			events.Add(1)
		}
	}
	if err := lines.Err(); err != nil {
		return err
	}
	return errors.New("stream ended")
}
