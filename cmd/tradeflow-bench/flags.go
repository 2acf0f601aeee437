package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/tradeflow/tradeflow/datagen"
	"github.com/tradeflow/tradeflow/internal/bench"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/worker"
)

// options are the benchmark's options from the settings and the flags,
// figures to stdout; help is set when -h asked for the usage. flag has
// printed the usage, and any error, on stderr.
func options(cfg settings, log *slog.Logger, args []string) (o bench.Options, help bool, err error) {
	o = bench.DefaultOptions()
	fs := flag.NewFlagSet("tradeflow-bench", flag.ContinueOnError)
	fs.Int64Var(&o.Trades, "trades", o.Trades, "trades pre-produced for the drain, copy and kstreams scenarios")
	fs.Var(int32Value{&o.Partitions}, "partitions", "partitions of every scenario but drain-large")
	fs.Var(int32Value{&o.PartitionsLarge}, "partitions-large", "partitions of the drain-large scenario")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "trades per second of the latency, http and kstreams scenarios")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", o.LatencyDuration, "how long the latency scenario produces")
	fs.Int64Var(&o.Restore, "restore", o.Restore, "count-table entries the restore scenario recovers")
	fs.DurationVar(&o.WrkDuration, "wrk-duration", o.WrkDuration, "how long wrk runs in the http scenario")
	fs.IntVar(&o.WrkThreads, "wrk-threads", o.WrkThreads, "wrk threads (-t) in the http scenario")
	fs.IntVar(&o.WrkConnections, "wrk-connections", o.WrkConnections, "wrk connections (-c) in the http scenario; at least -wrk-threads")
	fs.Int64Var(&o.HTTPBacklog, "http-backlog", o.HTTPBacklog, "trades drained before wrk starts (at most -trades)")
	fs.IntVar(&o.FanoutClients, "fanout-clients", o.FanoutClients, "clients of GET /v1/counts/{symbol}/changes in the fanout scenario")
	scenarios := fs.String("scenarios", strings.Join(bench.Scenarios(), ","), "comma-separated scenarios to run")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the drain scenario (and of the kstreams scenario's first tradeflow drain) to this file")
	fs.StringVar(&o.Trace, "trace", "", "write an execution trace (go tool trace) of the same to this file")
	fs.StringVar(&o.RestoreProfile, "restore-cpuprofile", "", "write a CPU profile of the restore scenario (worker start to ready) to this file")
	storeFlag := fs.String("store", cfg.StateStore, "where workers keep tables: memory or leveldb (default: TRADEFLOW_STATE_STORE)")
	countFlag := fs.String("count", cfg.Count, "where workers count: fused (in the settle group) or hop (the count group; needed for -store leveldb) (default: TRADEFLOW_COUNT)")
	fs.BoolVar(&o.BrokerInMemory, "broker-memory", false, "the embedded broker keeps its log in memory instead of a temp dir (RSS then includes the log)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound on one scenario")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "datagen seed")
	kafka := fs.String("kafka", "", "comma-separated brokers of a real Kafka for the kstreams scenario (the default scenario then); it deletes and recreates stocktrade, users and tradeflow's topics there")
	fs.StringVar(&o.KStreamsJar, "kstreams-jar", o.KStreamsJar, "the Kafka Streams peer's jar (interop/kstreams/build.sh)")
	kjvm := fs.String("kstreams-jvm", strings.Join(o.KStreamsJVM, " "), "java options of the peer, space-separated")
	kargs := fs.String("kstreams-args", strings.Join(o.KStreamsArgs, " "), "the peer's own options, space-separated (see interop/kstreams/README.md)")
	fs.IntVar(&o.Runs, "runs", o.Runs, "runs of each side in the kstreams scenario")
	fs.BoolVar(&o.KStreamsSettlements, "kstreams-settlements", o.KStreamsSettlements, "the peer writes UserTrade and TradeSettlement records per trade, as tradeflow does (false: counts only)")
	profile := fs.String("profile", "quickstart", "trades of every scenario: quickstart (Datagen's 7 symbols, 9 users) or market (the market options; drain, drain-large, copy and restore)")
	m := datagen.DefaultMarket()
	m.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, errors.Is(err, flag.ErrHelp), err
	}
	if o.Market, err = datagen.Profile(*profile, m); err != nil {
		return o, false, err
	}
	o.Scenarios = strings.Split(*scenarios, ",")
	if *kafka != "" {
		o.Kafka = strings.Split(*kafka, ",")
		scenariosSet := false
		fs.Visit(func(f *flag.Flag) { scenariosSet = scenariosSet || f.Name == "scenarios" })
		if !scenariosSet {
			o.Scenarios = []string{bench.KStreams}
		}
	}
	o.KStreamsJVM, o.KStreamsArgs = strings.Fields(*kjvm), strings.Fields(*kargs)
	o.Store = store.Kind(*storeFlag)
	o.Count = worker.CountMode(*countFlag)
	o.ClientID = cfg.ClientID + "-bench"
	o.Rules, o.Policy = cfg.rules(), cfg.policy()
	o.Log, o.Out = log, os.Stdout
	return o, false, nil
}

// int32Value is a flag.Value for an int32.
type int32Value struct{ p *int32 }

func (v int32Value) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}

func (v int32Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	*v.p = int32(n)
	return nil
}
