package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTP counts and times the HTTP API's requests by route: the pattern a
// request matched, never its raw path, so the labels stay bounded.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP registers tradeflow_http_requests_total and
// tradeflow_http_request_duration_seconds with reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	f := promauto.With(reg)
	return &HTTP{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_http_requests_total",
			Help: "HTTP requests answered, by route (the pattern matched) and status code.",
		}, []string{"route", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tradeflow_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route (the pattern matched).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
}

// Route instruments the handler of one route; a nil HTTP returns h.
func (m *HTTP) Route(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	l := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(l),
		promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(l), h))
}
