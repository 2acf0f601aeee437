package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/tradeflow/tradeflow/internal/testkit"
	"github.com/tradeflow/tradeflow/processor"
)

// peerPrefix starts the application id of every run of the Kafka Streams
// peer: its consumer group and the prefix of its topics, output included.
const peerPrefix = "tradeflow-bench-ks-"

// sideRun is one drain or latency run of one side.
type sideRun struct {
	Elapsed time.Duration // drain: process or worker start to every trade counted
	First   time.Duration // drain: process or worker start to the first trade counted
	PeakRSS int64         // bytes: this process for tradeflow, the JVM for the peer
	Cores   float64       // that process's CPU time ÷ wall time of the run
	Heap    int64         // the peer's peak heap, MiB; -1 for tradeflow
	Lat     latencyResult // latency runs
	Note    string
}

// peerResult is the kstreams scenario's figures, every run of each side.
type peerResult struct {
	Trades           int64
	TFDrain, KSDrain []sideRun
	TFLat, KSLat     []sideRun
}

func (r *peerResult) rate(runs []sideRun) float64 {
	return median(runs, func(s sideRun) float64 { return float64(r.Trades) / s.Elapsed.Seconds() })
}

// steady is the median rate from each run's first counted trade to its
// last: start-up (joining, restoring, the first fetch) left out.
func (r *peerResult) steady(runs []sideRun) float64 {
	return median(runs, func(s sideRun) float64 { return s.steady(r.Trades) })
}

func (s sideRun) steady(trades int64) float64 {
	return float64(trades) / (s.Elapsed - s.First).Seconds()
}

// median of f over runs (testkit.Median).
func median(runs []sideRun, f func(sideRun) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	return testkit.Median(v)
}

// peerArgs are the peer's arguments common to every run: the broker, the
// rules and window grace of this benchmark, then o.KStreamsArgs.
func (b *bench) peerArgs(appID string) []string {
	o := b.o
	args := []string{
		"--bootstrap-servers", strings.Join(o.Kafka, ","), "--application-id", appID,
		"--output-topic", appID + "-counts",
		"--threshold", strconv.FormatInt(o.Rules.LargeTrade, 10),
		"--flag-rate", strconv.FormatFloat(o.Rules.FlagRate, 'f', -1, 64),
		"--grace-seconds", strconv.FormatInt(int64(o.Policy.Grace/time.Second), 10),
	}
	if o.KStreamsSettlements {
		// The same work per trade as tradeflow: user_trades and
		// trade-settlements written too.
		args = append(args, "--settlement-topics", appID)
	}
	return append(args, o.KStreamsArgs...)
}

// runKStreams compares tradeflow with the Kafka Streams peer on the real
// broker of o.Kafka: the same backlog drained by each (o.Runs times,
// alternating), then the latency at o.Rate (o.Runs times, alternating).
func (b *bench) runKStreams(ctx context.Context) error {
	c, err := connectCluster(b.o)
	if err != nil {
		return err
	}
	defer c.close()
	b.printf("%-11s broker %s, Kafka %s (guessed from ApiVersions); stocktrade and users recreated with %d partitions, replication 1\n",
		KStreams, strings.Join(b.o.Kafka, ","), c.brokerVersions(ctx), b.o.Partitions)
	if b.o.KStreamsSettlements {
		b.printf("%-11s the peer writes UserTrade and TradeSettlement records per trade as tradeflow does (--settlement-topics; -kstreams-settlements=false: counts only)\n", KStreams)
	} else {
		b.printf("%-11s the peer writes counts only, not user_trades and trade-settlements as tradeflow does (-kstreams-settlements=false)\n", KStreams)
	}
	if err := c.recreateInputs(ctx, peerPrefix); err != nil {
		return err
	}
	g := b.generator(b.o.Seed)
	if err := c.produceUsers(ctx, g); err != nil {
		return err
	}
	produced, err := c.produceBacklog(ctx, g, b.o.Trades)
	if err != nil {
		return err
	}
	ends, err := c.adm.ListEndOffsets(ctx, string(processor.TradesTopic))
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return err
	}
	b.printf("%-11s backlog: %d users, %d trades produced in %v (not counted)\n", KStreams, g.Users(), b.o.Trades, produced.Round(time.Millisecond))
	res := &peerResult{Trades: b.o.Trades}
	defer func() { b.res.peer = res }()
	run := 0
	next := func() string { run++; return fmt.Sprintf("%s%d-%d", peerPrefix, time.Now().Unix(), run) }
	for i := 1; i <= b.o.Runs; i++ {
		tf, err := b.tradeflowDrain(ctx, c, i)
		if err != nil {
			return fmt.Errorf("tradeflow drain %d: %w", i, err)
		}
		res.TFDrain = append(res.TFDrain, tf)
		ks, err := b.peerDrain(ctx, c, next(), i, ends)
		if err != nil {
			return fmt.Errorf("Kafka Streams drain %d: %w", i, err)
		}
		res.KSDrain = append(res.KSDrain, ks)
	}
	for i := 1; i <= b.o.Runs && b.o.Market == nil; i++ {
		tf, err := b.tradeflowLatency(ctx, c, i)
		if err != nil {
			return fmt.Errorf("tradeflow latency %d: %w", i, err)
		}
		res.TFLat = append(res.TFLat, tf)
		ks, err := b.peerLatency(ctx, c, next(), i)
		if err != nil {
			return fmt.Errorf("Kafka Streams latency %d: %w", i, err)
		}
		res.KSLat = append(res.KSLat, ks)
	}
	b.printPeerSummary(res)
	return errors.Join(c.resetTradeflow(ctx), c.deletePrefixed(ctx, peerPrefix))
}

// tradeflowDrain drains the backlog with a fresh in-process worker, timed
// as the drain scenario does.
func (b *bench) tradeflowDrain(ctx context.Context, c *cluster, i int) (sideRun, error) {
	if err := c.resetTradeflow(ctx); err != nil {
		return sideRun{}, err
	}
	mon := startMonitor()
	defer mon.close()
	profile, tracePath := "", ""
	if i == 1 { // the first run's, with -cpuprofile and -trace
		profile, tracePath = b.o.CPUProfile, b.o.Trace
	}
	stopProfile, err := startProfile(profile, tracePath)
	if err != nil {
		return sideRun{}, err
	}
	r, err := c.startWorker(fmt.Sprintf("drain-%d", i))
	if err != nil {
		return sideRun{}, errors.Join(err, stopProfile())
	}
	ready, err := r.waitReady(ctx)
	var res sideRun
	if err == nil {
		res.Elapsed, res.First, err = r.waitVisibleFirst(ctx, b.o.Trades, b.symbols())
	}
	err = errors.Join(err, stopProfile())
	u := mon.finish()
	if err = errors.Join(err, r.stop()); err != nil {
		return res, err
	}
	u.BrokerBytes = c.logBytes(ctx)
	res.PeakRSS, res.Cores, res.Heap = u.PeakRSS, u.Cores, -1
	b.res.addUsage(fmt.Sprintf("%s tradeflow drain %d", KStreams, i), u)
	b.printf("%-11s tradeflow     drain %d: %d trades in %v = %.0f trades/s (worker start to all counted in its count view, polled every %v; ready after %v; first counted after %v: %.0f trades/s from there); peak RSS %s (this process), CPU %.2f cores, load %s\n",
		KStreams, i, b.o.Trades, res.Elapsed.Round(time.Millisecond), float64(b.o.Trades)/res.Elapsed.Seconds(), visibleEvery,
		ready.Round(time.Millisecond), res.First.Round(time.Millisecond), res.steady(b.o.Trades), mib(res.PeakRSS), res.Cores, u.Load)
	return res, nil
}

// peerDrain runs the peer on the backlog under a new application id, timed
// from process start until its group has committed the end of every
// stocktrade partition (at_least_once commits only after flushing its
// caches and producer, so every count is in its output by then), polled
// every visibleEvery; then checks that its output counts every trade once.
func (b *bench) peerDrain(ctx context.Context, c *cluster, appID string, i int, ends kadm.ListedOffsets) (sideRun, error) {
	var res sideRun
	p, err := startPeer(b.o, c.dir, appID, append(b.peerArgs(appID), "--until-idle", "1"))
	if err != nil {
		return res, err
	}
	out := appID + "-counts"
	res.Elapsed, err = poll(ctx, visibleEvery, func() (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		if res.First == 0 && c.wrote(ctx, out) {
			res.First = time.Since(p.started)
		}
		return c.caughtUp(ctx, appID, ends)
	}, p.started)
	if err != nil {
		_, serr := p.stop(true, 30*time.Second)
		return res, errors.Join(err, serr)
	}
	sum, err := p.waitExit(ctx)
	if err != nil {
		return res, err
	}
	res.PeakRSS, res.Cores = p.usage(res.Elapsed)
	res.Heap = sum.int("peak_heap_mb")
	pc, err := c.consumeOutput(ctx, out, nil, true)
	if err != nil {
		return res, err
	}
	if n := pc.sum(); n != b.o.Trades {
		return res, fmt.Errorf("its output %s counts %d trades, %d produced", out, n, b.o.Trades)
	}
	if b.o.KStreamsSettlements {
		if err := c.holdsRecords(ctx, b.o.Trades, appID+"-user_trades", appID+"-trade-settlements"); err != nil {
			return res, err
		}
	}
	b.printf("%-11s Kafka Streams drain %d: %d trades in %v = %.0f trades/s (JVM start to the group committed the end of stocktrade, polled every %v; output sums to %d; first count in its output after %v: %.0f trades/s from there); peak RSS %s (the JVM's VmHWM; its own figure %s MiB), peak heap %d MiB, CPU %.2f cores (to caught up); summary: %s\n",
		KStreams, i, b.o.Trades, res.Elapsed.Round(time.Millisecond), float64(b.o.Trades)/res.Elapsed.Seconds(), visibleEvery,
		pc.sum(), res.First.Round(time.Millisecond), res.steady(b.o.Trades), mib(res.PeakRSS), sum.kv["peak_rss_mb"], res.Heap, res.Cores, sum.raw)
	return res, c.deletePrefixed(ctx, appID)
}

// tradeflowLatency runs a fresh worker whose settle group starts at the end
// of stocktrade, and measures as the latency scenario does (counts polled
// over HTTP every pollEvery), after a warm-up.
func (b *bench) tradeflowLatency(ctx context.Context, c *cluster, i int) (sideRun, error) {
	var res sideRun
	if err := c.resetTradeflow(ctx); err != nil {
		return res, err
	}
	if err := c.commitAtEnd(ctx, string(processor.SettleGroup), string(processor.TradesTopic)); err != nil {
		return res, err
	}
	mon := startMonitor()
	defer mon.close()
	r, err := c.startWorker(fmt.Sprintf("latency-%d", i))
	if err != nil {
		return res, err
	}
	lat, err := func() (latencyResult, error) {
		if _, err := r.waitReady(ctx); err != nil {
			return latencyResult{}, err
		}
		addr, stopHTTP, err := serve(r.w.Handler())
		if err != nil {
			return latencyResult{}, err
		}
		defer stopHTTP()
		t := newTracker()
		pctx, cancel := context.WithCancel(ctx)
		polled := make(chan error, 1)
		go func() { polled <- pollHTTP(pctx, addr, t) }()
		lat, err := b.measure(pctx, c, b.generator(b.o.Seed+uint64(i)), t)
		cancel()
		return lat, errors.Join(err, <-polled)
	}()
	u := mon.finish()
	if err = errors.Join(err, r.stop()); err != nil {
		return res, err
	}
	u.BrokerBytes = c.logBytes(ctx)
	res.Lat, res.PeakRSS, res.Cores, res.Heap = lat, u.PeakRSS, u.Cores, -1
	b.res.addUsage(fmt.Sprintf("%s tradeflow latency %d", KStreams, i), u)
	b.printf("%-11s tradeflow     latency %d: %d trades at %.0f/s for %v after a %v warm-up: produce → count visible over HTTP p50 %v, p99 %v, max %v (polled every %v); peak RSS %s, CPU %.2f cores\n",
		KStreams, i, lat.Trades, lat.Rate, b.o.LatencyDuration, latencyWarmup, ms(lat.P50), ms(lat.P99), ms(lat.Max), pollEvery, mib(res.PeakRSS), res.Cores)
	return res, nil
}

// peerLatency runs the peer under a new application id whose group starts
// at the end of stocktrade, and measures from its output topic: a trade's
// latency is the time its symbol's total (the latest count of every window
// and disposition of the symbol, summed) first reached the trade's rank,
// as this process consumed it, minus the time it was handed to the
// producer.
func (b *bench) peerLatency(ctx context.Context, c *cluster, appID string, i int) (sideRun, error) {
	var res sideRun
	out := appID + "-counts"
	if err := c.commitAtEnd(ctx, appID, string(processor.TradesTopic)); err != nil {
		return res, err
	}
	if _, err := c.adm.CreateTopic(ctx, 1, 1, nil, out); err != nil {
		return res, fmt.Errorf("create %s: %w", out, err)
	}
	p, err := startPeer(b.o, c.dir, appID, b.peerArgs(appID))
	if err != nil {
		return res, err
	}
	t := newTracker()
	cctx, cancel := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() {
		_, err := c.consumeOutput(cctx, out, t, false)
		consumed <- err
	}()
	lat, err := func() (latencyResult, error) {
		// Its group is stable once the stream threads have their tasks.
		if _, err := poll(ctx, 50*time.Millisecond, func() (bool, error) {
			if err := p.exited(); err != nil {
				return false, err
			}
			gs, err := c.adm.DescribeGroups(ctx, appID)
			if err != nil {
				return false, nil //nolint:nilerr // not there yet
			}
			g, ok := gs[appID]
			return ok && g.State == "Stable" && len(g.Members) > 0, nil
		}, p.started); err != nil {
			return latencyResult{}, err
		}
		return b.measure(ctx, c, b.generator(b.o.Seed+uint64(i)), t)
	}()
	wall := time.Since(p.started)
	cancel()
	err = errors.Join(err, <-consumed)
	sum, serr := p.stop(true, 30*time.Second)
	if err = errors.Join(err, serr); err != nil {
		return res, err
	}
	res.PeakRSS, res.Cores = p.usage(wall)
	res.Lat, res.Heap = lat, sum.int("peak_heap_mb")
	b.printf("%-11s Kafka Streams latency %d: %d trades at %.0f/s for %v after a %v warm-up: produce → count in its output topic, consumed here: p50 %v, p99 %v, max %v; peak RSS %s, peak heap %d MiB, CPU %.2f cores; summary: %s\n",
		KStreams, i, lat.Trades, lat.Rate, b.o.LatencyDuration, latencyWarmup, ms(lat.P50), ms(lat.P99), ms(lat.Max), mib(res.PeakRSS), res.Heap, res.Cores, sum.raw)
	return res, c.deletePrefixed(ctx, appID)
}

// printPeerSummary prints each side's median and tradeflow ÷ Kafka Streams.
func (b *bench) printPeerSummary(r *peerResult) {
	b.printf("%-11s medians of %d runs each (ratio = tradeflow ÷ Kafka Streams):\n", KStreams, b.o.Runs)
	rss := func(s sideRun) float64 { return float64(s.PeakRSS) / (1 << 20) }
	p50 := func(s sideRun) float64 { return msf(s.Lat.P50) }
	p99 := func(s sideRun) float64 { return msf(s.Lat.P99) }
	line := func(what string, tf, ks float64, unit, better string) {
		b.printf("            %-22s tradeflow %10s %-8s Kafka Streams %10s %-8s ratio %.2f (%s is better)\n", what, num(tf), unit, num(ks), unit, tf/ks, better)
	}
	line("drain throughput", r.rate(r.TFDrain), r.rate(r.KSDrain), "trades/s", "higher")
	line("steady-state throughput", r.steady(r.TFDrain), r.steady(r.KSDrain), "trades/s", "higher")
	line("drain peak RSS", median(r.TFDrain, rss), median(r.KSDrain, rss), "MiB", "lower")
	if len(r.TFLat) == 0 || len(r.KSLat) == 0 {
		b.printf("            latency not run (the market profile runs the drains only)\n")
		return
	}
	line("latency p50", median(r.TFLat, p50), median(r.KSLat, p50), "ms", "lower")
	line("latency p99", median(r.TFLat, p99), median(r.KSLat, p99), "ms", "lower")
}

// holdsRecords checks that each topic holds n records (its partitions'
// end offsets summed: topics written once, never compacted).
func (c *cluster) holdsRecords(ctx context.Context, n int64, topics ...string) error {
	ends, err := c.adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return err
	}
	for _, t := range topics {
		var got int64
		ends.Each(func(o kadm.ListedOffset) {
			if o.Topic == t {
				got += o.Offset
			}
		})
		if got != n {
			return fmt.Errorf("%s holds %d records, want one per trade (%d)", t, got, n)
		}
	}
	return nil
}
