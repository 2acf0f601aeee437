package processor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the processor groups' counters. Labels are few and bounded:
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
}

// NewMetrics registers the processor metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
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
	}
}
