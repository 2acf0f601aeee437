package processor

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every metric is named tradeflow_* and passes the Prometheus linter
// (newMetrics lints the registry when the test ends).
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
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 8 {
		t.Errorf("%d metric families, want 8", len(families))
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "tradeflow_") {
			t.Errorf("metric %s does not start with tradeflow_", f.GetName())
		}
		if f.GetHelp() == "" {
			t.Errorf("metric %s has no help", f.GetName())
		}
	}
	if n := testutil.CollectAndCount(m.Settled); n != 1 {
		t.Errorf("settled series: %d, want 1", n)
	}
}
