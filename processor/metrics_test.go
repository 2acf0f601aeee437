package processor

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tradeflow/tradeflow/settlement"
)

// Every metric is named tradeflow_*, has help and passes the Prometheus
// linter (newMetrics lints the registry when the test ends).
func TestMetricsNames(t *testing.T) {
	m, reg := newMetrics(t)
	m.Settled.WithLabelValues("Completed").Inc()
	m.DeadLetters.WithLabelValues("stocktrade").Inc()
	m.Late.Inc()
	m.Duplicates.Inc()
	m.Gaps.Inc()
	m.Stale.Inc()
	m.Expired.Inc()
	m.UsersBad.Inc()
	m.Consumed.WithLabelValues(string(SettleGroup), string(TradesTopic)).Inc()
	m.Stage.WithLabelValues(string(SettleGroup)).Observe(1e-5)
	m.Assigned.WithLabelValues(string(SettleGroup)).Set(3)
	m.Rebalances.WithLabelValues(string(SettleGroup)).Inc()
	m.EndToEnd.Observe(0.02)
	m.settleEvents.advance(time.Now().UnixMilli())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 14 {
		t.Errorf("%d metric families, want 14", len(families))
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "tradeflow_") {
			t.Errorf("metric %s does not start with tradeflow_", f.GetName())
		}
		if f.GetHelp() == "" {
			t.Errorf("metric %s has no help", f.GetName())
		}
	}
	// Every disposition's and every input's series exists from the
	// start, at 0 but for the one incremented.
	if n := testutil.CollectAndCount(m.Settled); n != 4 {
		t.Errorf("settled series: %d, want 4", n)
	}
	if n := testutil.CollectAndCount(m.DeadLetters); n != 3 {
		t.Errorf("dead-letter series: %d, want 3", n)
	}
	if got := total(t, m.Settled); got != 1 {
		t.Errorf("settled: %v, want 1", got)
	}
}

// The count group counts and times what its callback processed, and says
// how far behind the newest event time it counted is.
func TestCountMetrics(t *testing.T) {
	h := newCount(t, testPolicy)
	for i := range 17 {
		h.send(t, settled{"ZVZZT", eventTime.Add(time.Duration(i) * time.Second), settlement.Completed, 0, int64(i)})
	}
	want := `# HELP tradeflow_records_consumed_total Records a group's callback processed, by group and input topic (a replay after a crash counts again).
# TYPE tradeflow_records_consumed_total counter
tradeflow_records_consumed_total{group="tradeflow-count",topic="tradeflow-windows"} 17
`
	if err := testutil.CollectAndCompare(h.m.Consumed, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// Offsets 0 and 16 are timed (sampleEvery).
	if n := histogramCount(t, h.m.Stage, string(CountGroup)); n != 2 {
		t.Errorf("stage duration observations: %d, want 2", n)
	}
	if problems, err := testutil.CollectAndLint(h.m.Stage); err != nil || len(problems) > 0 {
		t.Errorf("lint stage histogram: %v %v", err, problems)
	}
	lag := eventLagOf(t, h.m, string(CountGroup))
	want2 := time.Since(eventTime.Add(16 * time.Second)).Seconds()
	if math.Abs(lag-want2) > 5 {
		t.Errorf("event time lag %.1fs, want about %.1fs (now minus the newest event time counted)", lag, want2)
	}
	if got := eventLagOf(t, h.m, string(SettleGroup)); !math.IsNaN(got) {
		t.Errorf("the settle group processed nothing, yet reports an event time lag of %v", got)
	}
}

// A count that counted a new sampled trade carries when the settle group
// read it (the windows record's timestamp); a replay's rewrite and a trade
// that is not sampled carry nothing, so the view does not time them.
func TestCountHeaderSettledAt(t *testing.T) {
	h := newCount(t, testPolicy)
	readAt := time.UnixMilli(1765000000123)
	s := settled{"ZVZZT", eventTime, settlement.Completed, 0, sampleEvery}
	h.tt.Consume(string(WindowsTopic), s.key(), encodeSettlement(t, s.proto()), tester.WithTime(readAt))
	h.tt.Consume(string(WindowsTopic), s.key(), encodeSettlement(t, s.proto()), tester.WithTime(readAt.Add(time.Minute)))
	s.offset++
	h.tt.Consume(string(WindowsTopic), s.key(), encodeSettlement(t, s.proto()), tester.WithTime(readAt.Add(time.Second)))
	headers, _, _, ok := h.changelog.NextWithHeaders()
	if !ok {
		t.Fatal("no changelog record for the trade")
	}
	at, ok := SettledAt(headers)
	if !ok || !at.Equal(readAt) {
		t.Errorf("changelog header %s = %q (%v), want %d", HeaderSettledAt, headers[HeaderSettledAt], at, readAt.UnixMilli())
	}
	for _, what := range []string{"the replay", "the unsampled trade"} {
		headers, _, _, ok = h.changelog.NextWithHeaders()
		if !ok {
			t.Fatalf("no changelog record for %s", what)
		}
		if v, has := headers[HeaderSettledAt]; has {
			t.Errorf("the write for %s carries %s = %q", what, HeaderSettledAt, v)
		}
	}
	for _, bad := range []string{"", "x", "-5", strconv.Itoa(0)} {
		if _, ok := SettledAt(map[string][]byte{HeaderSettledAt: []byte(bad)}); ok {
			t.Errorf("SettledAt accepted %q", bad)
		}
	}
}

// histogramCount is the number of observations of the series of h with
// label values lv.
func histogramCount(t *testing.T, h *prometheus.HistogramVec, lv ...string) uint64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if labelValues(m.GetLabel()) == strings.Join(lv, ",") {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// eventLagOf is tradeflow_event_time_lag_seconds of group; NaN when it is
// absent.
func eventLagOf(t *testing.T, m *Metrics, group string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&eventLag{desc: prometheus.NewDesc("tradeflow_event_time_lag_seconds", "test", []string{"group"}, nil), m: m})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			if labelValues(s.GetLabel()) == group {
				return s.GetGauge().GetValue()
			}
		}
	}
	return math.NaN()
}

func labelValues(ls []*dto.LabelPair) string {
	vs := make([]string, len(ls))
	for i, l := range ls {
		vs[i] = l.GetValue()
	}
	return strings.Join(vs, ",")
}

// total sums the values of a counter vector's series.
func total(t *testing.T, c *prometheus.CounterVec) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
