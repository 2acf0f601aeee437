// Package worker assembles one tradeflow worker from its parts: the topics,
// the processor groups, the count view and the HTTP API on it. cmd/tradeflow
// runs it under signals; the benchmark runs it in-process.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/tradeflow/tradeflow/internal/compact"
	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/internal/telemetry"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/views"
	"github.com/tradeflow/tradeflow/views/dashboard"
	"github.com/tradeflow/tradeflow/views/ksql"
)

// Worker is the processor groups, the count view and the HTTP API.
type Worker struct {
	Pipeline *processor.Pipeline
	Counts   *views.Counts
	Metrics  *processor.Metrics
	Registry *prometheus.Registry
	API      *views.API
	KSQL     *ksql.Server // ksqlDB's REST API, on the API's mux

	log    *slog.Logger
	every  time.Duration
	lag    *telemetry.Lag
	admin  *kgo.Client // the lag's offsets
	fused  bool        // the settle group counts (TRADEFLOW_COUNT=fused)
	tables *telemetry.Tables
}

// New validates o, creates missing topics and builds the worker; Run
// starts it.
func New(o Options) (*Worker, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("worker options: %w", err)
	}
	t := o.Timings
	o.Topics.ServedWithin = t.TopicsServed
	layout, err := EnsureTopics(o.Brokers, o.Kafka, o.Topics)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	telemetry.RegisterBuild(reg, telemetry.ReadBuild(o.Version))
	w := &Worker{Registry: reg, Metrics: processor.NewMetrics(reg), log: o.Log, every: t.SampleEvery,
		tables: telemetry.NewTables(reg, o.Log)}
	admin, err := kgo.NewClient(o.Kafka.WithClientID(o.Kafka.ClientID + "-lag").Franz(o.Brokers)...)
	if err != nil {
		return nil, fmt.Errorf("lag client: %w", err)
	}
	w.admin = admin
	w.lag = telemetry.NewLag(reg, kadm.NewClient(admin), o.Log)
	kit, err := newKit(o, w.tables, telemetry.NewProducer(reg))
	if err != nil {
		admin.Close()
		return nil, err
	}
	if w.Counts, err = views.NewCounts(o.Brokers, kit, w.Metrics); err != nil {
		admin.Close()
		return nil, err
	}
	var fused processor.WindowStore
	if o.Count == CountFused {
		w.fused = true
		w.Counts.SetEndOffsets(w.countEndOffsets, o.Log)
		fused = w.Counts
	}
	w.Pipeline, err = processor.NewPipeline(processor.Options{
		Brokers: o.Brokers, Kit: kit, Metrics: w.Metrics, Log: o.Log,
		Rules: o.Rules, Policy: o.Policy, ExpireEvery: t.ExpireEvery,
		// A former owner's writes stop when its session ends and its
		// producer gives up on what it buffered.
		LateWrites: t.Session + t.ProducerDelivery,
		OnAssigned: w.lag.Assigned,
		Store:      fused, TradePartitions: layout.Trades,
	})
	if err != nil {
		admin.Close()
		return nil, err
	}
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tradeflow_ready",
		Help: "1 once the worker is ready (its groups have joined and recovered and its views caught up, as GET /readyz says), else 0.",
	}, func() float64 {
		if w.Ready() {
			return 1
		}
		return 0
	})
	w.KSQL = &ksql.Server{Source: w.Counts, Ready: w.Ready, Version: o.Version,
		ClusterID: w.clusterID, Topic: w.countTopic}
	w.API = &views.API{Store: w.Counts, Gatherer: reg, Ready: w.Ready, HTTP: telemetry.NewHTTP(reg),
		Mount: func(handle func(string, http.Handler)) {
			w.KSQL.Routes(handle)
			dashboard.Routes(handle)
		}}
	return w, nil
}

// clusterID is the Kafka cluster's id, for the ksqlDB API's /info ("" when
// the brokers do not answer).
func (w *Worker) clusterID(ctx context.Context) string {
	m, err := kadm.NewClient(w.admin).BrokerMetadata(ctx)
	if err != nil {
		return ""
	}
	return m.Cluster
}

// countTopic is the count table topic's partitions and replication factor,
// as the brokers have them, for the ksqlDB API's DESCRIBE.
func (w *Worker) countTopic(ctx context.Context) (partitions, replication int, err error) {
	topics, err := kadm.NewClient(w.admin).ListTopics(ctx, string(processor.CountTable))
	if err != nil {
		return 0, 0, err
	}
	d, ok := topics[string(processor.CountTable)]
	if !ok || d.Err != nil {
		return 0, 0, fmt.Errorf("topic %s not described: %v", processor.CountTable, d.Err)
	}
	for _, p := range d.Partitions {
		replication = max(replication, len(p.Replicas))
	}
	return len(d.Partitions), replication, nil
}

// NewKit builds the goka clients' options of a worker with o (the
// benchmark's copy baseline uses it too, to measure the same clients).
func NewKit(o Options) (*gokaext.Kit, error) { return newKit(o, nil, nil) }

// newKit is NewKit with the table and producer observers of a worker.
func newKit(o Options, tables *telemetry.Tables, produced *telemetry.Producer) (*gokaext.Kit, error) {
	t := o.Timings
	procs, viewStore, err := store.Builders(o.Store, o.DataDir)
	if err != nil {
		return nil, err
	}
	if o.Store != store.KindLevelDB {
		// The count table, the only group table, held compactly: a memory
		// store is rebuilt from the changelog at every start, so what it
		// holds need not be a changelog value (LevelDB's files must stay
		// readable by other versions).
		procs = compact.Builder(procs)
	}
	kc := o.Kafka
	kc.Group = kclient.GroupTimings{Session: t.Session, Heartbeat: t.Heartbeat, Rebalance: t.Rebalance}
	kc.Partitions = int(o.Topics.Partitions)
	return gokaext.New(gokaext.Options{
		Kafka: kc, ProcessorStorage: procs, ViewStorage: viewStore,
		Producer:        gokaext.ProducerTimings{Linger: t.ProducerLinger, Delivery: t.ProducerDelivery, Close: t.ProducerClose},
		Rejoin:          gokaext.RejoinTimings{BackoffMin: t.RejoinBackoffMin, BackoffMax: t.RejoinBackoffMax, GiveUp: t.RejoinGiveUp},
		ChangelogLinger: t.ChangelogLinger,
		Log:             o.Log,
		Tables:          tables,
		Produced:        produced,
	}), nil
}

// Ready reports whether the groups run and the count view has recovered.
func (w *Worker) Ready() bool { return w.Pipeline.Ready() && w.Counts.Recovered() }

// Handler is the HTTP API.
func (w *Worker) Handler() http.Handler { return w.API.Handler() }

// Run runs the groups and the count view until ctx is done or one fails,
// sampling consumer lag and restore progress beside them, and logs once
// when the worker is ready.
func (w *Worker) Run(ctx context.Context) error {
	defer w.admin.Close()
	if w.fused {
		if err := w.countGroupEmpty(ctx); err != nil {
			return err
		}
		if err := w.countGroupDone(ctx); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Pipeline.Run(ctx) })
	g.Go(func() error {
		if err := w.Counts.Run(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("count view: %w", err)
		}
		return nil
	})
	g.Go(func() error { w.lag.Run(ctx, w.every); return nil })
	g.Go(func() error {
		w.tables.Watch(ctx, w.every, append(w.Pipeline.RestoreSources(),
			telemetry.ViewSource(string(processor.CountTable), w.Counts.View()))...)
		return nil
	})
	g.Go(func() error { w.logReady(ctx); return nil })
	return g.Wait()
}

// logReady logs the moment the worker becomes ready, and how long that
// took.
func (w *Worker) logReady(ctx context.Context) {
	start := time.Now()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !w.Ready() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	w.log.Info("ready", "after", time.Since(start).Round(time.Millisecond))
}

// connectCheckWithin bounds the start-up connection check: a wrong
// password or a TLS mismatch is reported well within 15 s.
const connectCheckWithin = 12 * time.Second

// EnsureTopics checks that both Kafka clients can connect and authenticate
// (kclient.Config.Check), then connects an admin client and creates
// missing topics, returning their partition counts.
func EnsureTopics(brokers []string, kc kclient.Config, plan processor.TopicPlan) (processor.Layout, error) {
	if err := kc.Check(context.Background(), brokers, connectCheckWithin); err != nil {
		return processor.Layout{}, err
	}
	admin, err := kc.Admin(brokers)
	if err != nil {
		return processor.Layout{}, err
	}
	defer admin.Close()
	return processor.EnsureTopics(admin, plan)
}
