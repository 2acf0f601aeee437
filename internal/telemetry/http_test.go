package telemetry

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Requests are counted by the route's pattern, never the raw path, and
// by status code.
func TestHTTPRoutes(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewHTTP(reg)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/counts/{symbol}", m.Route("GET /v1/counts/{symbol}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("symbol") == "BAD" {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	})))
	for _, s := range []string{"ZVV", "ZTEST", "BAD"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/counts/"+s, nil))
	}
	compare(t, reg, `
# HELP tradeflow_http_requests_total HTTP requests answered, by route (the pattern matched) and status code.
# TYPE tradeflow_http_requests_total counter
tradeflow_http_requests_total{code="200",route="GET /v1/counts/{symbol}"} 2
tradeflow_http_requests_total{code="500",route="GET /v1/counts/{symbol}"} 1
`, "tradeflow_http_requests_total")
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("duration series: %d, want 1 (by route only)", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	var nilHTTP *HTTP
	h := http.NotFoundHandler()
	if got := nilHTTP.Route("x", h); got == nil {
		t.Error("a nil HTTP must pass the handler through")
	}
}

// Records are counted by topic and outcome; a topic's error series exists
// from its first record.
func TestProducerDelivered(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	p := NewProducer(reg)
	p.Delivered("user_trades", nil)
	p.Delivered("user_trades", nil)
	p.Delivered("tradeflow-windows", errors.New("broker gone"))
	compare(t, reg, `
# HELP tradeflow_produce_errors_total Records whose delivery failed after the client's own retries, by topic; the processor that wrote one stops and its partitions are replayed.
# TYPE tradeflow_produce_errors_total counter
tradeflow_produce_errors_total{topic="tradeflow-windows"} 1
tradeflow_produce_errors_total{topic="user_trades"} 0
# HELP tradeflow_records_produced_total Records the producer wrote and the broker acknowledged, by topic (after merging changelog writes of one key).
# TYPE tradeflow_records_produced_total counter
tradeflow_records_produced_total{topic="user_trades"} 2
`, "tradeflow_produce_errors_total", "tradeflow_records_produced_total")
	var none *Producer
	none.Delivered("x", nil) // no panic
	b := ReadBuild("1.2.3")
	// A test binary records no dependencies, so goka's version is
	// "unknown" here; the integration suite checks it in the binary.
	if b.GoVersion != runtime.Version() {
		t.Errorf("build %+v: want %s", b, runtime.Version())
	}
	RegisterBuild(reg, b)
	compare(t, reg, `
# HELP tradeflow_build_info A constant 1; the labels name the tradeflow version and the Go and goka versions it was built with.
# TYPE tradeflow_build_info gauge
tradeflow_build_info{goka="`+b.Goka+`",goversion="`+runtime.Version()+`",version="1.2.3"} 1
`, "tradeflow_build_info")
}
