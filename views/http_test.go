package views

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const t0 = int64(1700000040000) // a window start

// fakeStore holds windows per symbol, newest first as Counts returns
// them, and records the bounds it was asked for.
type fakeStore struct {
	windows  map[string][]Window
	err      error
	from, to int64
}

func (f *fakeStore) Windows(symbol string, from, to int64) ([]Window, error) {
	f.from, f.to = from, to
	if f.err != nil {
		return nil, f.err
	}
	var out []Window
	for _, w := range f.windows[symbol] {
		if w.WindowStart >= from && w.WindowStart <= to {
			out = append(out, w)
		}
	}
	return out, nil
}

func win(start, c, p, f, r int64) Window {
	return Window{WindowStart: start, WindowEnd: start + 60_000, Completed: c, Pending: p, Flagged: f, Rejected: r}
}

func testStore() *fakeStore {
	return &fakeStore{windows: map[string][]Window{
		"ZVV": {win(t0+120_000, 1, 0, 0, 2), win(t0+60_000, 0, 0, 0, 0), win(t0, 3, 1, 4, 0)},
	}}
}

// get serves one GET and returns the status and the body, checking that
// a JSON answer says so.
func get(tb testing.TB, h http.Handler, target string) (int, []byte) {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.HasPrefix(target, "/metrics") {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			tb.Errorf("GET %s: Content-Type %q, want application/json", target, ct)
		}
	}
	return rec.Code, body
}

func decodeJSON[T any](tb testing.TB, body []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		tb.Fatalf("body %q: %v", body, err)
	}
	return v
}

// checkError asserts a JSON error answer {"error": "..."} with status.
func checkError(tb testing.TB, code int, body []byte, wantCode int, wantSubstr string) {
	tb.Helper()
	if code != wantCode {
		tb.Errorf("status %d, want %d (body %s)", code, wantCode, body)
	}
	e := decodeJSON[map[string]string](tb, body)
	if len(e) != 1 || !strings.Contains(e["error"], wantSubstr) {
		tb.Errorf("body %s, want {\"error\": \"...%s...\"}", body, wantSubstr)
	}
}

func newAPI(store Store) *API {
	return &API{Store: store, Ready: func() bool { return true }, Gatherer: prometheus.NewRegistry()}
}

func TestCounts(t *testing.T) {
	cases := []struct {
		name     string
		target   string
		want     string // the JSON body
		from, to int64  // the bounds the store was asked for
	}{
		{"all windows, newest first", "/v1/counts/ZVV",
			`{"symbol":"ZVV","windows":[` +
				`{"windowStart":1700000160000,"windowEnd":1700000220000,"completed":1,"pending":0,"flagged":0,"rejected":2},` +
				`{"windowStart":1700000100000,"windowEnd":1700000160000,"completed":0,"pending":0,"flagged":0,"rejected":0},` +
				`{"windowStart":1700000040000,"windowEnd":1700000100000,"completed":3,"pending":1,"flagged":4,"rejected":0}]}`,
			math.MinInt64, math.MaxInt64},
		{"from and to bound windowStart, inclusive", "/v1/counts/ZVV?from=1700000100000&to=1700000100000",
			`{"symbol":"ZVV","windows":[{"windowStart":1700000100000,"windowEnd":1700000160000,"completed":0,"pending":0,"flagged":0,"rejected":0}]}`,
			1700000100000, 1700000100000},
		{"from only", "/v1/counts/ZVV?from=1700000160000",
			`{"symbol":"ZVV","windows":[{"windowStart":1700000160000,"windowEnd":1700000220000,"completed":1,"pending":0,"flagged":0,"rejected":2}]}`,
			1700000160000, math.MaxInt64},
		{"negative bounds", "/v1/counts/ZVV?from=-60000&to=0", `{"symbol":"ZVV","windows":[]}`, -60000, 0},
		{"unknown symbol: no windows", "/v1/counts/NOPE", `{"symbol":"NOPE","windows":[]}`, math.MinInt64, math.MaxInt64},
		{"escaped symbol", "/v1/counts/A%40B", `{"symbol":"A@B","windows":[]}`, math.MinInt64, math.MaxInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := testStore()
			code, body := get(t, newAPI(store).Handler(), tc.target)
			if code != http.StatusOK {
				t.Fatalf("status %d, body %s", code, body)
			}
			if got := strings.TrimSpace(string(body)); got != tc.want {
				t.Errorf("body\n %s\nwant\n %s", got, tc.want)
			}
			if store.from != tc.from || store.to != tc.to {
				t.Errorf("store asked for [%d, %d], want [%d, %d]", store.from, store.to, tc.from, tc.to)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	cases := []struct {
		name, target string
		code         int
		wantErr      string
	}{
		{"from not a number", "/v1/counts/ZVV?from=yesterday", 400, "query parameter from must be ms since the epoch"},
		{"from a float", "/v1/counts/ZVV?from=1.5", 400, "query parameter from"},
		{"to not a number", "/v1/counts/ZVV?to=x", 400, "query parameter to must be ms since the epoch"},
		{"to beyond int64", "/v1/counts/ZVV?to=99999999999999999999", 400, "query parameter to"},
		{"from after to", "/v1/counts/ZVV?from=2&to=1", 400, "from is after to"},
		{"table: bad from", "/v1/tables/COMPLETED_PER_MINUTE?symbol=ZVV&from=x", 400, "query parameter from"},
		{"table: symbol missing", "/v1/tables/COMPLETED_PER_MINUTE", 400, "query parameter symbol is required"},
		{"table: symbol empty", "/v1/tables/COMPLETED_PER_MINUTE?symbol=", 400, "query parameter symbol is required"},
		{"unknown table", "/v1/tables/TRADES?symbol=ZVV", 404, "unknown table TRADES"},
		{"unknown table without symbol", "/v1/tables/TRADES", 404, "unknown table"},
		{"unknown endpoint", "/v2/counts/ZVV", 404, "no such endpoint"},
		{"counts without symbol", "/v1/counts/", 404, "no such endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, newAPI(testStore()).Handler(), tc.target)
			checkError(t, code, body, tc.code, tc.wantErr)
		})
	}
}

func TestStoreError(t *testing.T) {
	h := newAPI(&fakeStore{err: errors.New("view closed")}).Handler()
	for _, target := range []string{"/v1/counts/ZVV", "/v1/tables/PENDING_PER_MINUTE?symbol=ZVV"} {
		t.Run(target, func(t *testing.T) {
			code, body := get(t, h, target)
			checkError(t, code, body, http.StatusInternalServerError, "view closed")
		})
	}
}

func TestTables(t *testing.T) {
	code, body := get(t, newAPI(testStore()).Handler(), "/v1/tables")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	got := decodeJSON[map[string][]string](t, body)
	want := map[string][]string{"tables": {"COMPLETED_PER_MINUTE", "PENDING_PER_MINUTE", "FLAGGED_PER_MINUTE", "REJECTED_PER_MINUTE"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tables %v, want %v", got, want)
	}
}

func TestTableRows(t *testing.T) {
	cases := []struct {
		name, target string
		want         []Row
	}{
		{"completed: rows with count > 0, newest first", "/v1/tables/COMPLETED_PER_MINUTE?symbol=ZVV",
			[]Row{{"ZVV", t0 + 120_000, t0 + 180_000, 1}, {"ZVV", t0, t0 + 60_000, 3}}},
		{"pending", "/v1/tables/PENDING_PER_MINUTE?symbol=ZVV", []Row{{"ZVV", t0, t0 + 60_000, 1}}},
		{"flagged", "/v1/tables/FLAGGED_PER_MINUTE?symbol=ZVV", []Row{{"ZVV", t0, t0 + 60_000, 4}}},
		{"rejected", "/v1/tables/REJECTED_PER_MINUTE?symbol=ZVV", []Row{{"ZVV", t0 + 120_000, t0 + 180_000, 2}}},
		{"name in lower case", "/v1/tables/rejected_per_minute?symbol=ZVV", []Row{{"ZVV", t0 + 120_000, t0 + 180_000, 2}}},
		{"bounded", "/v1/tables/COMPLETED_PER_MINUTE?symbol=ZVV&to=" + strconv.FormatInt(t0, 10), []Row{{"ZVV", t0, t0 + 60_000, 3}}},
		{"unknown symbol: no rows", "/v1/tables/COMPLETED_PER_MINUTE?symbol=NOPE", []Row{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, newAPI(testStore()).Handler(), tc.target)
			if code != http.StatusOK {
				t.Fatalf("status %d, body %s", code, body)
			}
			if got := decodeJSON[[]Row](t, body); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows %+v, want %+v", got, tc.want)
			}
			if len(tc.want) == 0 && strings.TrimSpace(string(body)) != "[]" {
				t.Errorf("body %s, want []", body)
			}
		})
	}
	// The JSON field names are those of the design.
	_, body := get(t, newAPI(testStore()).Handler(), "/v1/tables/PENDING_PER_MINUTE?symbol=ZVV")
	if want := `[{"symbol":"ZVV","windowStart":1700000040000,"windowEnd":1700000100000,"count":1}]`; strings.TrimSpace(string(body)) != want {
		t.Errorf("body %s, want %s", body, want)
	}
}

func TestProbes(t *testing.T) {
	var ready atomic.Bool
	api := newAPI(testStore())
	api.Ready = ready.Load
	h := api.Handler()

	code, body := get(t, h, "/readyz")
	checkError(t, code, body, http.StatusServiceUnavailable, "not ready")
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while not ready: %d, want 200", code)
	}
	ready.Store(true)
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once ready: %d %s, want 200", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", code)
	}

	api.Ready = nil
	code, body = get(t, api.Handler(), "/readyz")
	checkError(t, code, body, http.StatusServiceUnavailable, "not ready")
}

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "tradeflow_test_total", Help: "A test counter."}).Add(3)
	api := newAPI(testStore())
	api.Gatherer = reg
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	if body := rec.Body.String(); !strings.Contains(body, "tradeflow_test_total 3") {
		t.Errorf("body does not serve the registry:\n%s", body)
	}
}

// With a token, the query API wants it as a bearer token; metrics and
// probes stay open.
func TestBearerToken(t *testing.T) {
	api := newAPI(testStore())
	api.Token = "t0ken-value"
	h := api.Handler()
	do := func(target, auth string) int {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusUnauthorized {
			if !strings.Contains(rec.Body.String(), `"error"`) || strings.Contains(rec.Body.String(), api.Token) || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 body %s: want a JSON error without the token, and WWW-Authenticate", rec.Body)
			}
		}
		return rec.Code
	}
	for _, target := range []string{"/v1/counts/ZVV", "/v1/tables", "/v1/tables/COMPLETED_PER_MINUTE?symbol=ZVV"} {
		if code := do(target, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", target, code)
		}
		if code := do(target, "Bearer wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", target, code)
		}
		if code := do(target, "Bearer t0ken-value"); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d, want 200", target, code)
		}
		// Basic auth with the token as the password, as ksqlDB's Python
		// clients send it.
		if code := do(target, "Basic "+base64.StdEncoding.EncodeToString([]byte("anyone:t0ken-value"))); code != http.StatusOK {
			t.Errorf("GET %s with the token as Basic password: %d, want 200", target, code)
		}
		if code := do(target, "Basic "+base64.StdEncoding.EncodeToString([]byte("t0ken-value:wrong"))); code != http.StatusUnauthorized {
			t.Errorf("GET %s with the token as Basic user name: %d, want 401", target, code)
		}
	}
	for _, target := range []string{"/metrics", "/healthz", "/readyz"} {
		if code := do(target, ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200 (open to probes and scrapers)", target, code)
		}
	}
}

// GET /v1/symbols lists the symbols with windows, sorted.
func TestSymbols(t *testing.T) {
	m := NewMemory()
	for _, s := range []string{"ZVV", "ABC"} {
		if err := m.Put(s, Window{WindowStart: 60_000, WindowEnd: 120_000, Completed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	code, body := get(t, newAPI(m).Handler(), "/v1/symbols")
	if got := decodeJSON[map[string][]string](t, body); code != http.StatusOK || !reflect.DeepEqual(got["symbols"], []string{"ABC", "ZVV"}) {
		t.Fatalf("%d %s", code, body)
	}
}
