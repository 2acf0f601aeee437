// Package worker assembles one tradeflow worker from its parts: the topics,
// the processor groups, the count view and the HTTP API on it. cmd/tradeflow
// runs it under signals; the benchmark runs it in-process.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
	if err := EnsureTopics(o.Brokers, o.Kafka, o.Topics); err != nil {
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
		Store:      fused,
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

// countEndOffsets are the count table's end offsets, per partition (the
// fused count waits for the view to reach them at every rebalance of the
// settle group). It fails while the count group has members
// (countGroupEmpty).
func (w *Worker) countEndOffsets(ctx context.Context) (map[int32]int64, error) {
	if err := w.countGroupEmpty(ctx); err != nil {
		return nil, err
	}
	adm := kadm.NewClient(w.admin)
	ends, err := adm.ListEndOffsets(ctx, string(processor.CountTable))
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	out := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	if len(out) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", processor.CountTable)
	}
	return out, nil
}

// countGroupEmpty fails while the count group has members: workers
// counting with the count group (hop) would count the same windows beside
// the fused count, so a worker started fused among them stops instead.
// Errors a broker may answer for a while (no coordinator yet on a new
// cluster, one loading) are retried for up to groupCheckWithin; a group
// this worker may not describe has no members it could see.
func (w *Worker) countGroupEmpty(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, groupCheckWithin)
	defer cancel()
	for {
		err := w.countGroupMembers(ctx)
		if err == nil || errors.Is(err, errCountGroupBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retried for up to %v)", err, groupCheckWithin)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// groupCheckWithin bounds countGroupEmpty's retries.
const groupCheckWithin = 30 * time.Second

var errCountGroupBusy = errors.New("workers with TRADEFLOW_COUNT=hop are running, and the fused count cannot count beside them; stop them first, or set TRADEFLOW_COUNT=hop here")

// countGroupMembers is one look at the count group: errCountGroupBusy
// (wrapped) when it has members, another error when the brokers did not
// say.
func (w *Worker) countGroupMembers(ctx context.Context) error {
	groups, err := kadm.NewClient(w.admin).DescribeGroups(ctx, string(processor.CountGroup))
	if err != nil {
		return fmt.Errorf("describe group %s: %w", processor.CountGroup, err)
	}
	g, ok := groups[string(processor.CountGroup)]
	switch {
	case !ok:
		return nil
	case g.Err != nil && kerr.IsRetriable(g.Err):
		return fmt.Errorf("describe group %s: %w", processor.CountGroup, g.Err)
	case g.Err == nil && len(g.Members) > 0:
		return fmt.Errorf("group %s has %d members: %w", processor.CountGroup, len(g.Members), errCountGroupBusy)
	}
	return nil
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
// missing topics.
func EnsureTopics(brokers []string, kc kclient.Config, plan processor.TopicPlan) error {
	if err := kc.Check(context.Background(), brokers, connectCheckWithin); err != nil {
		return err
	}
	admin, err := kc.Admin(brokers)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = processor.EnsureTopics(admin, plan)
	return err
}
