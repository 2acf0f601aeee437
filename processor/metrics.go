package processor

import (
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tradeflow/tradeflow/settlement"
)

// Metrics are the processor groups' metrics. Labels are few and bounded:
// per-symbol numbers belong in the HTTP views.
type Metrics struct {
	Settled     *prometheus.CounterVec // by disposition
	DeadLetters *prometheus.CounterVec // by source topic
	Late        prometheus.Counter
	Duplicates  prometheus.Counter
	Gaps        prometheus.Counter
	Stale       prometheus.Counter
	Expired     prometheus.Counter
	UsersBad    prometheus.Counter

	Consumed   *prometheus.CounterVec   // by group and input topic
	Stage      *prometheus.HistogramVec // callback time, by group
	Assigned   *prometheus.GaugeVec     // partitions, by group
	Rebalances *prometheus.CounterVec   // by group
	// EndToEnd is observed by the count view when a count it applies
	// carries HeaderSettledAt.
	EndToEnd prometheus.Histogram

	settleEvents, countEvents newestEvent
}

// NewMetrics registers the processor metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		Settled: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_trades_settled_total",
			Help: "Trades settled, by disposition (a replay after a crash counts again).",
		}, []string{"disposition"}),
		DeadLetters: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_dead_letters_total",
			Help: "Records refused as bad input and written to the dead-letter topic, by source topic.",
		}, []string{"topic"}),
		Late: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_late_records_dropped_total",
			Help: "Settlements dropped because their window had closed (end + grace <= stream time).",
		}),
		Duplicates: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_duplicates_skipped_total",
			Help: "Replayed settlements recognised by their source offset and not counted again.",
		}),
		Gaps: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_count_gaps_opened_total",
			Help: "Settlements whose predecessor in the same window and source partition had not been counted (its write was lost or is late); the predecessor is counted when it comes again.",
		}),
		Stale: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_stale_count_values_ignored_total",
			Help: "Count-table changelog values ignored by a recovering count partition or a view because they count strictly fewer trades than the value held (a late write of a worker that had lost the partition).",
		}),
		Expired: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_windows_expired_total",
			Help: "Windows removed from state (with a changelog tombstone) after retention.",
		}),
		UsersBad: f.NewCounter(prometheus.CounterOpts{
			Name: "tradeflow_users_ignored_total",
			Help: "Malformed users records the local users table ignored (the previous value stays).",
		}),
		Consumed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_records_consumed_total",
			Help: "Records a group's callback processed, by group and input topic (a replay after a crash counts again).",
		}, []string{"group", "topic"}),
		Stage: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tradeflow_stage_duration_seconds",
			Help:    "Time a group's callback took for one record, by group (the stage of the data flow), for one record in 16 (offset a multiple of 16); writes are asynchronous and not included.",
			Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, .025, .1},
		}, []string{"group"}),
		Assigned: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeflow_partitions_assigned",
			Help: "Partitions of its input topics a group has assigned to this worker.",
		}, []string{"group"}),
		Rebalances: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_rebalances_total",
			Help: "Assignments a group received (one per rebalance it took part in, the first included).",
		}, []string{"group"}),
		EndToEnd: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tradeflow_end_to_end_latency_seconds",
			Help:    "From the settle group's callback reading a trade to the count view applying the count that includes it, so that queries see it; one observation per count update, for the oldest trade it includes.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	// Series that exist from the start at 0, so that rates and alerts
	// over them exist before the first event.
	for _, d := range settlement.Dispositions() {
		m.Settled.WithLabelValues(d.String())
	}
	for _, t := range []string{string(TradesTopic), string(WindowsTopic), string(UsersTable)} {
		m.DeadLetters.WithLabelValues(t)
	}
	reg.MustRegister(&eventLag{desc: prometheus.NewDesc("tradeflow_event_time_lag_seconds",
		"Now minus the newest event time (trade timestamp) a group has processed; absent until it processed one.",
		[]string{"group"}, nil), m: m})
	return m
}

// sampleEvery: the stage times and the end-to-end latency are measured for
// one record in sampleEvery (those whose offset is a multiple of it),
// which keeps the clock reads and header writes off most records; a
// histogram's _count is then that share of the records.
const sampleEvery = 16

func sampled(offset int64) bool { return offset%sampleEvery == 0 }

// instrument counts a group's callback for one input topic, and times it
// for sampled records; nil Metrics (a graph built only to be inspected)
// leave cb as it is.
func (m *Metrics) instrument(g goka.Group, topic goka.Stream, cb goka.ProcessCallback) goka.ProcessCallback {
	if m == nil {
		return cb
	}
	consumed := m.Consumed.WithLabelValues(string(g), string(topic))
	stage := m.Stage.WithLabelValues(string(g))
	return func(ctx goka.Context, msg any) {
		consumed.Inc()
		if !sampled(ctx.Offset()) {
			cb(ctx, msg)
			return
		}
		start := time.Now()
		cb(ctx, msg)
		stage.Observe(time.Since(start).Seconds())
	}
}

// newestEvent is the newest event time (ms since the epoch) seen; zero
// until one was.
type newestEvent struct{ ms atomic.Int64 }

func (n *newestEvent) advance(ms int64) {
	for {
		old := n.ms.Load()
		if ms <= old || n.ms.CompareAndSwap(old, ms) {
			return
		}
	}
}

// eventLag computes tradeflow_event_time_lag_seconds at scrape time.
type eventLag struct {
	desc *prometheus.Desc
	m    *Metrics
}

func (e *eventLag) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

func (e *eventLag) Collect(ch chan<- prometheus.Metric) {
	now := time.Now().UnixMilli()
	for _, g := range []struct {
		group goka.Group
		n     *newestEvent
	}{{SettleGroup, &e.m.settleEvents}, {CountGroup, &e.m.countEvents}} {
		if ms := g.n.ms.Load(); ms > 0 {
			ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue, float64(now-ms)/1000, string(g.group))
		}
	}
}
