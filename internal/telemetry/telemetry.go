// Package telemetry is the worker's operational metrics, the ones about
// Kafka clients, tables and the HTTP API rather than about trades (those
// are processor.Metrics): consumer lag, records produced, table entries
// and restores, HTTP requests, build information. Each part registers on
// the registry it is given and is fed by a hook the part it observes
// calls; nothing here is package-level state.
package telemetry

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Build is what tradeflow_build_info reports.
type Build struct {
	Version, GoVersion, Goka string
}

// ReadBuild returns version (stamped by the build, "dev" otherwise) with
// the Go toolchain and the goka version the binary was built with.
func ReadBuild(version string) Build {
	b := Build{Version: version, GoVersion: runtime.Version(), Goka: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/lovoo/goka" {
				b.Goka = d.Version
			}
		}
	}
	return b
}

// RegisterBuild registers tradeflow_build_info, a constant 1 whose labels
// say which build runs (the Prometheus convention for versions).
func RegisterBuild(reg prometheus.Registerer, b Build) {
	promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Name: "tradeflow_build_info",
		Help: "A constant 1; the labels name the tradeflow version and the Go and goka versions it was built with.",
	}, []string{"version", "goversion", "goka"}).WithLabelValues(b.Version, b.GoVersion, b.Goka).Set(1)
}

// Producer counts what the process's producer delivered, by topic.
type Producer struct {
	produced, failed *prometheus.CounterVec
	byTopic          sync.Map // topic → prometheus.Counter of produced
}

// NewProducer registers tradeflow_records_produced_total and
// tradeflow_produce_errors_total.
func NewProducer(reg prometheus.Registerer) *Producer {
	f := promauto.With(reg)
	return &Producer{
		produced: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_records_produced_total",
			Help: "Records the producer wrote and the broker acknowledged, by topic (after merging changelog writes of one key).",
		}, []string{"topic"}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_produce_errors_total",
			Help: "Records whose delivery failed after the client's own retries, by topic; the processor that wrote one stops and its partitions are replayed.",
		}, []string{"topic"}),
	}
}

// Delivered counts one record's outcome; a nil Producer counts nothing.
func (p *Producer) Delivered(topic string, err error) {
	if p == nil {
		return
	}
	if err != nil {
		p.failed.WithLabelValues(topic).Inc()
		return
	}
	c, ok := p.byTopic.Load(topic)
	if !ok {
		// A topic's error series starts at 0 with its first record, so
		// that a rate over it exists before the first error.
		p.failed.WithLabelValues(topic)
		c, _ = p.byTopic.LoadOrStore(topic, p.produced.WithLabelValues(topic))
	}
	c.(prometheus.Counter).Inc()
}
