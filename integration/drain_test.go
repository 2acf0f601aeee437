package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/datagen"
)

// TestDrainWorkers measures whole drains by `tradeflow worker` processes,
// each with its own data dir, against a `tradeflow broker` process (or the
// Kafka of TRADEFLOW_TEST_BROKERS): a backlog is written first, then the
// workers start together, and the drain is timed from their start until
// the settle and count groups have committed the end of their inputs and
// every worker serves exact counts. Each process's peak RSS (VmHWM) is its
// own, not the broker's. A measurement, so opt-in: TRADEFLOW_DRAIN=1
// (make drain-workers, make scale-50m); the shape comes from
// TRADEFLOW_DRAIN_* (see drainShape).
func TestDrainWorkers(t *testing.T) {
	if os.Getenv("TRADEFLOW_DRAIN") == "" {
		t.Skip("a measurement: TRADEFLOW_DRAIN=1 (make drain-workers, make scale-50m)")
	}
	s, err := drainShapeFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shape: %+v", s)
	for _, partitions := range s.Partitions {
		for _, workers := range s.Workers {
			t.Run(fmt.Sprintf("%dp-%dw", partitions, workers), func(t *testing.T) { drainWorkers(t, s, partitions, workers) })
		}
	}
}

// drainShape is what TestDrainWorkers drains, from TRADEFLOW_DRAIN_TRADES,
// _PROFILE (market or quickstart), _PARTITIONS and _WORKERS (comma lists:
// one run per pair), _SYMBOLS, _SKEW (0: even), _USERS, _SPAN and _COUNT
// (the workers' TRADEFLOW_COUNT, fused by default, as tradeflow).
type drainShape struct {
	Count      string
	Trades     int
	Profile    string
	Market     datagen.MarketOptions
	Partitions []int
	Workers    []int
}

func drainShapeFromEnv(getenv func(string) string) (drainShape, error) {
	s := drainShape{Count: "fused", Trades: 1_000_000, Profile: "market", Market: datagen.DefaultMarket(), Partitions: []int{6, 1000}, Workers: []int{1, 2}}
	s.Market.Malformed = 0.01
	ints := func(name string, into *[]int) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		*into = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("%s=%q: want a comma-separated list of positive integers", name, v)
			}
			*into = append(*into, n)
		}
		return nil
	}
	one := func(name string, into *int) error {
		var l []int
		if err := ints(name, &l); err != nil || l == nil {
			return err
		}
		if len(l) != 1 {
			return fmt.Errorf("%s: want one number", name)
		}
		*into = l[0]
		return nil
	}
	errs := []error{ints("TRADEFLOW_DRAIN_PARTITIONS", &s.Partitions), ints("TRADEFLOW_DRAIN_WORKERS", &s.Workers),
		one("TRADEFLOW_DRAIN_TRADES", &s.Trades), one("TRADEFLOW_DRAIN_SYMBOLS", &s.Market.Symbols), one("TRADEFLOW_DRAIN_USERS", &s.Market.Users)}
	switch v := getenv("TRADEFLOW_DRAIN_COUNT"); v {
	case "":
	case "fused", "hop":
		s.Count = v
	default:
		errs = append(errs, fmt.Errorf("TRADEFLOW_DRAIN_COUNT=%q: want fused or hop", v))
	}
	if v := getenv("TRADEFLOW_DRAIN_SKEW"); v != "" {
		var err error
		if s.Market.Skew, err = strconv.ParseFloat(v, 64); err != nil {
			errs = append(errs, fmt.Errorf("TRADEFLOW_DRAIN_SKEW=%q: %v", v, err))
		}
	}
	if v := getenv("TRADEFLOW_DRAIN_SPAN"); v != "" {
		var err error
		if s.Market.Span, err = time.ParseDuration(v); err != nil {
			errs = append(errs, fmt.Errorf("TRADEFLOW_DRAIN_SPAN=%q: %v", v, err))
		}
	}
	if v := getenv("TRADEFLOW_DRAIN_PROFILE"); v != "" {
		s.Profile = v
	}
	if s.Profile != "market" && s.Profile != "quickstart" {
		errs = append(errs, fmt.Errorf("TRADEFLOW_DRAIN_PROFILE=%q: want market or quickstart", s.Profile))
	}
	for _, err := range errs {
		if err != nil {
			return s, err
		}
	}
	return s, s.Market.Validate()
}

func drainWorkers(t *testing.T, s drainShape, partitions, workers int) {
	c := newCluster(t)
	c.createTopic(t, "stocktrade", int32(partitions), nil)
	c.createTopic(t, "users", 6, map[string]*string{"cleanup.policy": ptrTo("compact")})
	g := datagen.New(1)
	if s.Profile == "market" {
		var err error
		if g, err = datagen.NewMarket(1, s.Market); err != nil {
			t.Fatal(err)
		}
	}
	w, wrote := c.produceBacklog(t, g, s.Trades)
	t.Logf("backlog: %d users, %d trades (%d malformed) over %d symbols and %d windows written in %v; stocktrade per partition: %s",
		g.Users(), s.Trades, w.BadTrades, len(w.symbols), len(w.Truth), wrote.Round(10*time.Millisecond), c.spread(t, "stocktrade"))

	// pprof on, so a long run can be profiled while it drains
	// (curl http://<worker>/debug/pprof/heap; the address is logged).
	env := []string{"TRADEFLOW_FLAG_RATE=0", fmt.Sprintf("TRADEFLOW_PARTITIONS=%d", partitions), "TRADEFLOW_PPROF=true", "TRADEFLOW_COUNT=" + s.Count}
	within := 10*time.Minute + time.Duration(s.Trades/5000)*time.Second
	began := time.Now()
	var procs []*proc
	for range workers {
		p := c.launchWorker(t, t.TempDir(), env...)
		t.Logf("worker %d: HTTP %s, log %s", len(procs)+1, p.HTTP, p.log)
		procs = append(procs, p)
	}
	var readies []string
	for _, p := range procs {
		p.waitReady(t, within)
		readies = append(readies, time.Since(began).Round(10*time.Millisecond).String())
	}
	settled := c.awaitCommitted(t, "tradeflow-settle", "stocktrade", began, within, procs)
	counted := settled // the fused count counts in the settle group
	if s.Count == "hop" {
		counted = c.awaitCommitted(t, "tradeflow-count", "tradeflow-windows", began, within, procs)
	}
	for _, p := range procs {
		awaitCounts(t, p.HTTP, w.Truth, within, w.symbols...)
	}
	served := time.Since(began)
	var rss []string
	for _, p := range procs {
		rss = append(rss, p.peakRSS(t))
	}
	broker := "external"
	if c.Broker != nil {
		broker = c.Broker.peakRSS(t)
	}
	t.Logf("%s profile, %s count, %d partitions, %d worker(s), %d trades: ready after %s; settle group at its end after %v, count group after %v "+
		"(%.0f trades/s); every worker serves exact counts after %v (%.0f trades/s); worker peak RSS %s; broker peak RSS %s",
		s.Profile, s.Count, partitions, workers, s.Trades, strings.Join(readies, ", "), settled.Round(10*time.Millisecond), counted.Round(10*time.Millisecond),
		float64(s.Trades)/counted.Seconds(), served.Round(10*time.Millisecond), float64(s.Trades)/served.Seconds(), strings.Join(rss, ", "), broker)
}

// produceBacklog writes g's users and n trades, computing the truth as it
// goes without keeping the records, and returns the workload (no records,
// the truth) and how long writing took.
func (c *cluster) produceBacklog(tb testing.TB, g *datagen.Generator, n int) (*marketWorkload, time.Duration) {
	tb.Helper()
	start := time.Now()
	w := &marketWorkload{workload: workload{Truth: map[winKey]tally{}, LargeTrade: 100000}, symbols: g.Symbols()}
	var mu sync.Mutex
	var firstErr error
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			firstErr = err
			mu.Unlock()
		}
	}
	ctx := context.Background()
	now := time.Now()
	for i := 1; i <= g.Users(); i++ {
		k, v := g.User(i)
		c.Client.Produce(ctx, &kgo.Record{Topic: "users", Key: []byte(k), Value: v, Timestamp: now}, done)
	}
	bad := malformedSet()
	for range n {
		k, v := g.Trade()
		ts := g.EventTime(now).UnixMilli()
		c.Client.Produce(ctx, &kgo.Record{Topic: "stocktrade", Key: []byte(k), Value: v, Timestamp: time.UnixMilli(ts)}, done)
		if err := w.count(k, v, ts, g.Users(), bad); err != nil {
			tb.Fatal(err)
		}
	}
	if err := c.Client.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		tb.Fatalf("produce: %v", firstErr)
	}
	return w, time.Since(start)
}

// spread is the least, median and most records of topic's partitions.
func (c *cluster) spread(tb testing.TB, topic string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := c.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		tb.Fatal(err)
	}
	var sizes []int64
	ends.Each(func(o kadm.ListedOffset) { sizes = append(sizes, o.Offset) })
	if len(sizes) == 0 {
		return "no partitions"
	}
	slices.Sort(sizes)
	return fmt.Sprintf("least %d, median %d, most %d", sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1])
}

// awaitCommitted waits until group has committed the end offset of every
// partition of topic, polled every 500 ms, and returns the time since from;
// it fails at once when one of workers has exited.
func (c *cluster) awaitCommitted(tb testing.TB, group, topic string, from time.Time, within time.Duration, workers []*proc) time.Duration {
	tb.Helper()
	var lag int64 = -1
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		for _, w := range workers {
			w.mustRun()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ends, err := c.Admin.ListEndOffsets(ctx, topic)
		var committed kadm.OffsetResponses
		if err == nil {
			committed, err = c.Admin.FetchOffsets(ctx, group)
		}
		cancel()
		if err != nil {
			continue
		}
		lag = 0
		ends.Each(func(e kadm.ListedOffset) {
			at := int64(0)
			if o, ok := committed.Lookup(topic, e.Partition); ok && o.At > 0 {
				at = o.At
			}
			lag += max(0, e.Offset-at)
		})
		if lag == 0 {
			return time.Since(from)
		}
	}
	tb.Fatalf("%s has not committed the end of %s within %v: %d records behind", group, topic, within, lag)
	return 0
}

// peakRSS is the process's VmHWM, as "123 MiB".
func (p *proc) peakRSS(tb testing.TB) string { return p.memory(tb, "VmHWM") }

// memory is a /proc/<pid>/status figure of the process (VmHWM, VmRSS) in
// MiB.
func (p *proc) memory(tb testing.TB, field string) string {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return "unknown (" + line + ")"
			}
			return fmt.Sprintf("%d MiB", kb>>10)
		}
	}
	return "unknown (no " + field + ")"
}
