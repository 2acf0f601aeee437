package views

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tradeflow/tradeflow/internal/telemetry"
	"github.com/tradeflow/tradeflow/processor"
)

// Store answers window queries (Counts, or a fake in tests).
type Store interface {
	Windows(symbol string, from, to int64) ([]Window, error)
}

// API is the HTTP API: per-symbol counts, the four tables, metrics and
// probes.
type API struct {
	Store    Store
	Ready    func() bool // processors run and views recovered
	Gatherer prometheus.Gatherer
	// Profiling mounts net/http/pprof under /debug/pprof/.
	Profiling bool
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// the query API (/v1/...); metrics and probes stay open for scrapers
	// and kubelets.
	Token string
	// HTTP counts and times requests by route (nil: not measured).
	HTTP *telemetry.HTTP
	// Heartbeat and ChangeBuffer are the change stream's (zero: the
	// defaults, DefaultHeartbeat and DefaultChangeBuffer).
	Heartbeat    time.Duration
	ChangeBuffer int
	// Mount, when set, adds routes to the same mux (the ksqlDB endpoints,
	// the dashboard), counted and timed as the API's.
	Mount func(handle func(pattern string, h http.Handler))
}

// Handler routes the API; with HTTP set, every route is counted and timed
// by its pattern.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) { mux.Handle(pattern, a.HTTP.Route(pattern, h)) }
	handle("GET /v1/counts/{symbol}", a.authorized(a.counts))
	handle("GET /v1/counts/{symbol}/changes", a.authorized(a.changes))
	handle("GET /v1/symbols", a.authorized(a.symbols))
	handle("GET /v1/tables", a.authorized(a.tables))
	handle("GET /v1/tables/{table}", a.authorized(a.table))
	handle("GET /metrics", promhttp.HandlerFor(a.Gatherer, promhttp.HandlerOpts{}))
	handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if a.Ready == nil || !a.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "not ready: processors or views are still recovering"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
	if a.Profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	if a.Mount != nil {
		a.Mount(handle)
	}
	handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.Method + " " + r.URL.Path})
	}))
	return mux
}

// authorized requires the token, when there is one (Authorized).
func (a *API) authorized(h http.HandlerFunc) http.Handler {
	if a.Token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Authorized(r, a.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tradeflow"`)
			writeError(w, http.StatusUnauthorized, errors.New(Unauthorized))
			return
		}
		h(w, r)
	})
}

// Unauthorized is what a request without the token is told.
const Unauthorized = "missing or wrong token: send Authorization: Bearer <TRADEFLOW_HTTP_TOKEN>, or Basic auth with it as the password"

// Authorized reports whether r carries token (empty: none is needed),
// compared in constant time: as "Authorization: Bearer <token>", or as
// the password of Basic auth with any user name, which is what ksqlDB's
// Python clients send.
func Authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got := r.Header.Get("Authorization")
	if _, password, ok := r.BasicAuth(); ok {
		got = "Bearer " + password
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+token)) == 1
}

type countsResponse struct {
	Symbol  string   `json:"symbol"`
	Windows []Window `json:"windows"`
}

// answerer serves a symbol's whole /v1/counts answer already encoded.
type answerer interface {
	Answer(symbol string) ([]byte, error)
}

func (a *API) counts(w http.ResponseWriter, r *http.Request) {
	symbol := r.PathValue("symbol")
	if c, ok := a.Store.(answerer); ok && r.URL.RawQuery == "" {
		b, err := c.Answer(symbol)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		// A length spares the chunked encoding of an answer larger than
		// net/http's buffer.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b) // the client went away; nothing to do
		return
	}
	from, to, err := bounds(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ws, err := a.Store.Windows(symbol, from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if ws == nil {
		ws = []Window{}
	}
	writeJSON(w, http.StatusOK, countsResponse{Symbol: symbol, Windows: ws})
}

// symbolLister lists the symbols with windows (Counts, Memory).
type symbolLister interface{ Symbols() []string }

// symbols is GET /v1/symbols: {"symbols": [...]}, sorted, for the
// dashboard's picker.
func (a *API) symbols(w http.ResponseWriter, _ *http.Request) {
	names := []string{}
	if l, ok := a.Store.(symbolLister); ok {
		names = l.Symbols()
	}
	writeJSON(w, http.StatusOK, map[string][]string{"symbols": names})
}

func (a *API) tables(w http.ResponseWriter, _ *http.Request) {
	tables := processor.Tables()
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tables": names})
}

// Row is one row of a per-minute table.
type Row struct {
	Symbol      string `json:"symbol"`
	WindowStart int64  `json:"windowStart"`
	WindowEnd   int64  `json:"windowEnd"`
	Count       int64  `json:"count"`
}

func (a *API) table(w http.ResponseWriter, r *http.Request) {
	name := strings.ToUpper(r.PathValue("table"))
	var table *processor.Table
	for _, t := range processor.Tables() {
		if t.Name == name {
			table = &t
		}
	}
	if table == nil {
		writeError(w, http.StatusNotFound, errors.New("unknown table "+r.PathValue("table")+"; GET /v1/tables lists them"))
		return
	}
	symbol := r.URL.Query().Get("symbol")
	if symbol == "" {
		writeError(w, http.StatusBadRequest, errors.New("query parameter symbol is required, as in WHERE SYMBOL='ZVV'"))
		return
	}
	from, to, err := bounds(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ws, err := a.Store.Windows(symbol, from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	rows := []Row{}
	for _, win := range ws {
		if n := win.Count(table.Disposition); n > 0 {
			rows = append(rows, Row{Symbol: symbol, WindowStart: win.WindowStart, WindowEnd: win.WindowEnd, Count: n})
		}
	}
	writeJSON(w, http.StatusOK, rows)
}

// bounds reads the optional from and to (ms since the epoch) that bound
// windowStart.
func bounds(r *http.Request) (from, to int64, err error) {
	from, to = math.MinInt64, math.MaxInt64
	q := r.URL.Query()
	if s := q.Get("from"); s != "" {
		if from, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, 0, errors.New("query parameter from must be ms since the epoch, got " + strconv.Quote(s))
		}
	}
	if s := q.Get("to"); s != "" {
		if to, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, 0, errors.New("query parameter to must be ms since the epoch, got " + strconv.Quote(s))
		}
	}
	if from > to {
		return 0, 0, errors.New("query parameter from is after to")
	}
	return from, to, nil
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
