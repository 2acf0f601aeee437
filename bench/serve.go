package bench

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tradeflow/tradeflow/views"
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
	resp, err := cl.Get("http://" + addr + "/v1/counts/" + symbol)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /v1/counts/%s: %s", symbol, resp.Status)
	}
	var body struct {
		Windows []views.Window `json:"windows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("GET /v1/counts/%s: %w", symbol, err)
	}
	var n int64
	for _, w := range body.Windows {
		n += w.Completed + w.Pending + w.Flagged + w.Rejected
	}
	return n, nil
}
