package bench

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

// serve runs h on a free loopback port until stop is called.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed after Close
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// countOverHTTP is a symbol's total count as GET /v1/counts/{symbol}
// answers it.
func countOverHTTP(cl *http.Client, addr, symbol string) (int64, error) {
	ws, err := testkit.Served(context.Background(), cl, addr, []string{symbol})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range ws {
		n += t.Total()
	}
	return n, nil
}
