package integration

import (
	"context"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// faultProxy is a Toxiproxy TCP proxy run in the test process, between
// every Kafka client (workers and the test's producer) and the broker: the
// broker advertises the proxy's address, so all traffic after bootstrap
// goes through it too.
type faultProxy struct {
	p *toxiproxy.Proxy
}

// newFaultProxy listens on listen (a loopback address) and forwards to
// upstream.
func newFaultProxy(tb testing.TB, listen, upstream string) *faultProxy {
	tb.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "kafka", listen, upstream)
	if err := srv.Collection.Add(p, true); err != nil {
		tb.Fatalf("start toxiproxy %s -> %s: %v", listen, upstream, err)
	}
	tb.Cleanup(p.Stop)
	return &faultProxy{p: p}
}

// Addr is where clients connect.
func (f *faultProxy) Addr() string { return f.p.Listen }

// Disable closes every proxied connection and refuses new ones, as when
// the broker's host is unreachable and connections are reset.
func (f *faultProxy) Disable() { f.p.Stop() }

// Enable accepts connections again on the same address.
func (f *faultProxy) Enable(tb testing.TB) {
	tb.Helper()
	if err := f.p.Start(); err != nil {
		tb.Fatalf("re-enable toxiproxy: %v", err)
	}
}

// Blackhole makes the proxy swallow all data in both directions, on open
// and new connections alike, without closing anything: a network
// partition, where requests time out instead of failing fast.
func (f *faultProxy) Blackhole(tb testing.TB) {
	tb.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		body := `{"name":"blackhole_` + dir + `","type":"timeout","stream":"` + dir + `","toxicity":1,"attributes":{"timeout":0}}`
		if _, err := f.p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			tb.Fatalf("add toxic: %v", err)
		}
	}
}

// Heal removes the blackhole; the connections it held are closed.
func (f *faultProxy) Heal(tb testing.TB) {
	tb.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		if err := f.p.Toxics.RemoveToxic(context.Background(), "blackhole_"+dir); err != nil {
			tb.Fatalf("remove toxic: %v", err)
		}
	}
}
