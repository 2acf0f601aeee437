// Package bench measures tradeflow against the embedded broker, in one
// process, and prints figures: backlog drain at a few and at many
// partitions, a copy-only goka baseline, end-to-end latency at a fixed rate,
// restore of the count table from its changelog, and HTTP query throughput
// under wrk. On a real broker, the kstreams scenario compares tradeflow's
// drain, memory and latency with the Kafka Streams peer (interop/kstreams).
// `go run ./cmd/tradeflow-bench` runs it; it never fails on a target, only
// on a scenario that cannot finish.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tradeflow/tradeflow/datagen"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
	"github.com/tradeflow/tradeflow/worker"
)

// Scenario names, in the order they run.
const (
	Drain      = "drain"
	Copy       = "copy"
	DrainLarge = "drain-large"
	Latency    = "latency"
	Restore    = "restore"
	// RestoreUsers restores the users table of the profile's users (the
	// market profile's million by default); not among the defaults.
	RestoreUsers = "restore-users"
	HTTP         = "http"
	// Fanout drains with change-stream clients and without.
	Fanout = "fanout"
	// KStreams needs Options.Kafka, so it is not among the defaults.
	KStreams = "kstreams"
)

// Scenarios are the default scenarios, in the order they run: the copy
// baseline right after the drain it is compared with, so both see similar
// noise.
func Scenarios() []string { return []string{Drain, Copy, DrainLarge, Latency, Restore, HTTP, Fanout} }

// known is every scenario, in the order they run.
func known() []string { return append(Scenarios(), KStreams, RestoreUsers) }

// backlogSpan is how far back the pre-produced trades' event times reach:
// inside the window grace, so no trade is dropped as late.
const backlogSpan = 50 * time.Minute

// Options configure a benchmark run.
type Options struct {
	Trades          int64            // backlog of the drain and copy scenarios
	Partitions      int32            // partitions of every scenario but drain-large
	PartitionsLarge int32            // partitions of drain-large
	Rate            float64          // trades/s of the latency and http scenarios
	LatencyDuration time.Duration    // how long the latency scenario produces
	Restore         int64            // count-table entries the restore scenario recovers
	WrkDuration     time.Duration    // how long wrk runs
	WrkThreads      int              // wrk -t
	WrkConnections  int              // wrk -c
	HTTPBacklog     int64            // trades drained before wrk starts, so queries find windows
	FanoutClients   int              // change-stream clients of the fanout scenario
	Scenarios       []string         // which scenarios run
	CPUProfile      string           // file for a CPU profile of the drain scenario (and of the kstreams scenario's first tradeflow drain); empty = none
	Trace           string           // file for an execution trace of the same; empty = none
	RestoreProfile  string           // file for a CPU profile of the restore scenario (worker start to ready); empty = none
	BrokerInMemory  bool             // the embedded broker keeps its log in memory, not in a temp dir as `run` does under its data dir
	Store           store.Kind       // where the workers keep their tables
	Count           worker.CountMode // where the workers count
	Timeout         time.Duration    // bound on one scenario
	Seed            uint64           // datagen seed
	// Market, when set, makes every scenario's trades the market
	// profile's (datagen.MarketOptions); nil is the quickstart.
	Market       *datagen.MarketOptions
	Kafka        []string // a real broker the kstreams scenario owns: it recreates stocktrade and users
	KStreamsJar  string   // the peer's runnable jar
	KStreamsJVM  []string // java options before -jar
	KStreamsArgs []string // the peer's options after those the scenario sets
	// KStreamsSettlements makes the peer write user_trades and
	// trade-settlements equivalents too, as tradeflow does.
	KStreamsSettlements bool
	Runs                int // runs of each side in the kstreams scenario
	ClientID            string
	Rules               settlement.Rules
	Policy              settlement.Policy
	Log                 *slog.Logger // the workers' log
	Out                 io.Writer    // where figures go
}

// DefaultOptions are the settings.
func DefaultOptions() Options {
	return Options{
		Trades: 1_000_000, Partitions: 6, PartitionsLarge: 1000, Rate: 5000,
		LatencyDuration: 20 * time.Second, Restore: 1_000_000, WrkDuration: 10 * time.Second,
		// One wrk thread drives as many requests as two here, and a
		// second only takes a core from the server on this 2-core machine.
		WrkThreads: 1, WrkConnections: 32, FanoutClients: 100,
		HTTPBacklog: 100_000, Scenarios: Scenarios(), Timeout: 15 * time.Minute, Seed: 1,
		Store: store.KindMemory, Count: worker.CountFused, ClientID: "tradeflow-bench", Rules: settlement.DefaultRules(),
		Policy: settlement.Policy{Grace: time.Hour, Retention: 24 * time.Hour},
		// interop/kstreams/README.md's settings for this 2-core machine.
		KStreamsJar: "interop/kstreams/target/lib/kstreams.jar", KStreamsJVM: []string{"-Xmx1g"},
		KStreamsArgs: []string{"--threads", "2", "--commit-interval-ms", "100"}, KStreamsSettlements: true, Runs: 2,
	}
}

// Validate checks the options; Run does too.
func (o Options) Validate() error {
	var errs []error
	if o.Trades < 1 || o.Restore < 1 || o.HTTPBacklog < 1 {
		errs = append(errs, fmt.Errorf("trades %d, restore %d, http backlog %d: must be at least 1", o.Trades, o.Restore, o.HTTPBacklog))
	}
	if o.Partitions < 1 || o.PartitionsLarge < 1 {
		errs = append(errs, fmt.Errorf("partitions %d, large %d: must be at least 1", o.Partitions, o.PartitionsLarge))
	}
	if o.Rate <= 0 || o.LatencyDuration <= 0 || o.WrkDuration <= 0 || o.Timeout <= 0 {
		errs = append(errs, errors.New("rate and durations must be above zero"))
	}
	if o.FanoutClients < 1 {
		errs = append(errs, fmt.Errorf("fanout clients %d: want at least 1", o.FanoutClients))
	}
	if o.WrkThreads < 1 || o.WrkConnections < o.WrkThreads {
		errs = append(errs, fmt.Errorf("wrk threads %d, connections %d: want at least 1 thread and a connection per thread", o.WrkThreads, o.WrkConnections))
	}
	if o.Policy.Grace < backlogSpan+5*time.Minute {
		errs = append(errs, fmt.Errorf("window grace %v: the backlog's event times span %v, so the grace must be at least %v", o.Policy.Grace, backlogSpan, backlogSpan+5*time.Minute))
	}
	if err := o.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Market != nil {
		if err := o.Market.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("market profile: %w", err))
		}
		// The latency and http scenarios follow each symbol's count over
		// HTTP, which suits the quickstart's 7 symbols; so do the
		// kstreams scenario's latency runs, which the market profile
		// leaves out (its drains run).
		for _, sc := range o.Scenarios {
			if sc != Drain && sc != DrainLarge && sc != Copy && sc != Restore && sc != RestoreUsers && sc != KStreams {
				errs = append(errs, fmt.Errorf("scenario %s: the market profile runs %s, %s, %s, %s, %s and %s (its drains)", sc, Drain, DrainLarge, Copy, Restore, RestoreUsers, KStreams))
			}
		}
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(known(), s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (want some of %s)", s, strings.Join(known(), ",")))
		}
	}
	if slices.Contains(o.Scenarios, KStreams) && (len(o.Kafka) == 0 || o.KStreamsJar == "" || o.Runs < 1) {
		errs = append(errs, fmt.Errorf("scenario %s: needs a real broker (-kafka), the peer's jar and at least one run", KStreams))
	}
	if o.Log == nil || o.Out == nil {
		errs = append(errs, errors.New("log and out are required"))
	}
	if err := errors.Join(o.Rules.Validate(), o.Policy.Validate()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run runs the chosen scenarios, printing the machine and settings first,
// a line per scenario as it finishes, and a table of figures and targets
// last. It returns the scenarios' errors; targets missed are not errors.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	o.HTTPBacklog = min(o.HTTPBacklog, o.Trades)
	b := &bench{o: o, res: &results{failed: map[string]bool{}, skipped: map[string]string{}}}
	b.printHeader()
	steps := map[string]func(context.Context) error{
		Drain:        func(ctx context.Context) error { return b.runDrain(ctx, Drain, o.Partitions, o.CPUProfile) },
		DrainLarge:   func(ctx context.Context) error { return b.runDrain(ctx, DrainLarge, o.PartitionsLarge, "") },
		Copy:         b.runCopy,
		Latency:      b.runLatency,
		Restore:      b.runRestore,
		HTTP:         b.runHTTP,
		Fanout:       b.runFanout,
		KStreams:     b.runKStreams,
		RestoreUsers: b.runRestoreUsers,
	}
	var errs []error
	for _, name := range known() {
		if !slices.Contains(o.Scenarios, name) || ctx.Err() != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		err := steps[name](sctx)
		cancel()
		if err != nil {
			b.printf("%-11s FAILED: %v\n", name, err)
			b.res.failed[name] = true
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	b.printTable()
	return errors.Join(errs...)
}

// bench is one run: its options and the figures gathered so far.
type bench struct {
	o   Options
	res *results
}

// generator is the profile's trade generator for seed (Options.Validate
// checked the market options).
func (b *bench) generator(seed uint64) *datagen.Generator {
	if b.o.Market == nil {
		return datagen.New(seed)
	}
	g, _ := datagen.NewMarket(seed, *b.o.Market)
	return g
}

// symbols are the profile's symbols.
func (b *bench) symbols() []string { return b.generator(0).Symbols() }

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.o.Out, format, args...) }

// workerOptions are the options of a benchmark worker: tradeflow's
// defaults with the benchmark's rules, policy and store.
func (o Options) workerOptions(brokers []string, dataDir, clientID string, partitions int32) worker.Options {
	return worker.Options{
		Brokers: brokers, DataDir: dataDir, Store: o.Store, Count: o.Count, Log: o.Log,
		Kafka:  kclient.Config{ClientID: clientID},
		Topics: processor.TopicPlan{Partitions: partitions, Replication: -1},
		Rules:  o.Rules, Policy: o.Policy,
		Timings: worker.DefaultTimings(20 * time.Second),
	}
}
