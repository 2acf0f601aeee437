// Package worker assembles one tradeflow worker from its parts: the topics,
// the processor groups, the count view and the HTTP API on it. cmd/tradeflow
// runs it under signals; the benchmark runs it in-process.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
	"github.com/tradeflow/tradeflow/views"
)

// Options configure a worker.
type Options struct {
	Brokers  []string
	DataDir  string
	Store    processor.Store
	ClientID string
	Topics   processor.TopicPlan
	Rules    settlement.Rules
	Policy   settlement.Policy
	Log      *slog.Logger
	// Sarama, when set, replaces processor.SaramaConfig(ClientID).
	Sarama *sarama.Config
}

// Worker is the processor groups, the count view and the HTTP API.
type Worker struct {
	Pipeline *processor.Pipeline
	Counts   *views.Counts
	Metrics  *processor.Metrics
	Registry *prometheus.Registry
	API      *views.API
}

// New creates missing topics and builds the worker; Run starts it.
func New(o Options) (*Worker, error) {
	base := o.Sarama
	if base == nil {
		base = processor.SaramaConfig(o.ClientID)
	}
	if err := EnsureTopics(o.Brokers, base, o.Topics); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w := &Worker{Registry: reg, Metrics: processor.NewMetrics(reg)}
	procs, viewB, err := processor.NewBuilders(base, o.Store, o.DataDir)
	if err != nil {
		return nil, err
	}
	w.Pipeline, err = processor.NewPipeline(processor.Options{
		Brokers: o.Brokers, Procs: procs, Views: viewB, Metrics: w.Metrics, Log: o.Log,
		Rules: o.Rules, Policy: o.Policy,
	})
	if err != nil {
		return nil, err
	}
	if w.Counts, err = views.NewCounts(o.Brokers, viewB, w.Metrics.Stale.Inc); err != nil {
		return nil, err
	}
	w.API = &views.API{Store: w.Counts, Gatherer: reg, Ready: w.Ready}
	return w, nil
}

// Ready reports whether the groups run and the count view has recovered.
func (w *Worker) Ready() bool { return w.Pipeline.Ready() && w.Counts.Recovered() }

// Handler is the HTTP API.
func (w *Worker) Handler() http.Handler { return w.API.Handler() }

// Run runs the groups and the count view until ctx is done or one fails.
func (w *Worker) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Pipeline.Run(ctx) })
	g.Go(func() error {
		if err := w.Counts.Run(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("count view: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// EnsureTopics connects an admin client and creates missing topics.
func EnsureTopics(brokers []string, base *sarama.Config, plan processor.TopicPlan) error {
	cfg := *base
	cfg.ClientID = base.ClientID + "-admin"
	admin, err := sarama.NewClusterAdmin(brokers, &cfg)
	if err != nil {
		return fmt.Errorf("connect to %v (TRADEFLOW_BROKERS): %w", brokers, err)
	}
	defer admin.Close()
	_, err = processor.EnsureTopics(admin, plan)
	return err
}
