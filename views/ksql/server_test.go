package ksql

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tradeflow/tradeflow/views"
)

// The windows of the tests: ZVV has three minutes, CFLT one, and ZVV's
// middle minute has no completed trade (no row in COMPLETED_PER_MINUTE).
func testSource(t *testing.T) *views.Memory {
	t.Helper()
	m := views.NewMemory()
	for _, w := range []struct {
		symbol string
		w      views.Window
	}{
		{"ZVV", views.Window{WindowStart: 60_000, WindowEnd: 120_000, Completed: 3, Pending: 1}},
		{"ZVV", views.Window{WindowStart: 120_000, WindowEnd: 180_000, Pending: 2}},
		{"ZVV", views.Window{WindowStart: 180_000, WindowEnd: 240_000, Completed: 5, Rejected: 1}},
		{"CFLT", views.Window{WindowStart: 60_000, WindowEnd: 120_000, Completed: 7}},
	} {
		if err := m.Put(w.symbol, w.w); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// serve runs the endpoints on a server speaking HTTP/1.1 and cleartext
// HTTP/2 (h2c with prior knowledge), as the worker's does.
func serve(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	s.Routes(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// clients are an HTTP/1.1 client and an h2c one.
func clients() map[string]*http.Client {
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	return map[string]*http.Client{"HTTP/1.1": {Transport: &http.Transport{}}, "HTTP/2.0": {Transport: h2c}}
}

func post(t *testing.T, c *http.Client, url, accept, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqlBody(key, sql string) string {
	b, _ := json.Marshal(map[string]any{key: sql, "properties": map[string]string{"auto.offset.reset": "earliest"}})
	return string(b)
}

// Pull queries over both protocols, in the three formats ksqlDB documents.
func TestPullQueries(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t), ScanRows: 100})
	for proto, c := range clients() {
		t.Run(proto, func(t *testing.T) {
			// The delimited format, also the default without Accept.
			for _, accept := range []string{"", delimited} {
				resp := post(t, c, srv.URL+"/query-stream", accept, sqlBody("sql", "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV';"))
				body := readAll(t, resp)
				if resp.Proto != proto || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != delimited {
					t.Fatalf("Accept %q: %s %d %s", accept, resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
				var h queryHeader
				if err := json.Unmarshal([]byte(lines[0]), &h); err != nil || !strings.HasPrefix(h.QueryID, "query_COMPLETED_PER_MINUTE_") ||
					fmt.Sprint(h.ColumnNames) != "[SYMBOL WINDOWSTART WINDOWEND NUM_COMPLETED]" || fmt.Sprint(h.ColumnTypes) != "[STRING BIGINT BIGINT BIGINT]" {
					t.Fatalf("header %s (%v)", lines[0], err)
				}
				if got, want := strings.Join(lines[1:], "\n"), "[\"ZVV\",60000,120000,3]\n[\"ZVV\",180000,240000,5]"; got != want {
					t.Fatalf("rows:\n%s\nwant:\n%s", got, want)
				}
			}
			// One JSON array.
			resp := post(t, c, srv.URL+"/query-stream", "application/json",
				sqlBody("sql", "select windowstart, num_pending from PENDING_PER_MINUTE where symbol = 'ZVV' and windowstart >= 120000"))
			var arr []json.RawMessage
			if body := readAll(t, resp); json.Unmarshal([]byte(body), &arr) != nil || len(arr) != 2 || string(arr[1]) != "[120000,2]" ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("application/json: %s", body)
			}
			// The older /query.
			resp = post(t, c, srv.URL+"/query", v1JSON, sqlBody("ksql", "SELECT * FROM REJECTED_PER_MINUTE WHERE SYMBOL='ZVV';"))
			body := readAll(t, resp)
			if resp.Header.Get("Content-Type") != v1JSON {
				t.Fatalf("/query Content-Type %q", resp.Header.Get("Content-Type"))
			}
			var v1 []map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &v1); err != nil || len(v1) != 3 {
				t.Fatalf("/query: %s (%v)", body, err)
			}
			var header struct{ QueryID, Schema string }
			_ = json.Unmarshal(v1[0]["header"], &header)
			if header.Schema != "`SYMBOL` STRING KEY, `WINDOWSTART` BIGINT KEY, `WINDOWEND` BIGINT KEY, `NUM_REJECTED` BIGINT" ||
				string(v1[1]["row"]) != `{"columns":["ZVV",180000,240000,1]}` || string(v1[2]["finalMessage"]) != `"Query Completed"` {
				t.Fatalf("/query:\n%s", body)
			}
		})
	}
}

// A scan without WHERE SYMBOL reads every symbol, bounded by LIMIT, or by
// ScanRows with an error saying so.
func TestTableScan(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t), ScanRows: 2})
	c := http.DefaultClient
	body := readAll(t, post(t, c, srv.URL+"/query-stream", "", sqlBody("sql", "SELECT SYMBOL, NUM_COMPLETED FROM COMPLETED_PER_MINUTE LIMIT 2")))
	if got := body[strings.IndexByte(body, '\n')+1:]; got != "[\"CFLT\",7]\n[\"ZVV\",3]\n" {
		t.Fatalf("LIMIT 2 scan: %q", got)
	}
	body = readAll(t, post(t, c, srv.URL+"/query-stream", "", sqlBody("sql", "SELECT SYMBOL FROM COMPLETED_PER_MINUTE")))
	if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 4 || !strings.Contains(lines[3], "table scan stopped after 2 rows: add LIMIT") {
		t.Fatalf("unbounded scan: %s", body)
	}
	body = readAll(t, post(t, c, srv.URL+"/query", "", sqlBody("ksql", "SELECT * FROM COMPLETED_PER_MINUTE WHERE NUM_COMPLETED > 4 LIMIT 5;")))
	if !strings.Contains(body, `["CFLT",60000,120000,7]`) || !strings.Contains(body, `["ZVV",180000,240000,5]`) || strings.Contains(body, `,3]`) ||
		!strings.Contains(body, `"finalMessage":"Query Completed"`) {
		t.Fatalf("scan with a count filter: %s", body)
	}
}

// Errors come in ksqlDB's shape, with the line and column of a syntax
// error.
func TestQueryErrors(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t)})
	cases := []struct{ path, accept, body, status, typ, code, msg string }{
		{"/query-stream", "", sqlBody("sql", "SELECT * FORM COMPLETED_PER_MINUTE"), "400", "statement_error", "40001", "line 1:10: mismatched input 'FORM' expecting 'FROM'"},
		{"/query", "", sqlBody("ksql", "SELECT * FROM NOPE;"), "400", "statement_error", "40001", "line 1:15: NOPE does not exist"},
		{"/query-stream", "", sqlBody("sql", "LIST TABLES;"), "400", "statement_error", "40001", "only SELECT statements"},
		{"/query-stream", "", `{"sql": 5}`, "400", "generic_error", "40000", "request body is not a JSON object"},
		{"/query-stream", "text/html", sqlBody("sql", "SELECT * FROM COMPLETED_PER_MINUTE"), "406", "generic_error", "40600", "Accept text/html"},
		{"/query-stream", "", `{"sql":"SELECT * FROM ${t}","sessionVariables":{"u":"x"}}`, "400", "statement_error", "40001", "no value for variable ${t}"},
		{"/ksql", "", sqlBody("ksql", "SELECT * FROM COMPLETED_PER_MINUTE;"), "400", "statement_error", "40002", "should be issued to the websocket endpoint '/query'"},
		{"/close-query", "", `{"queryId":"transient_X_1"}`, "400", "generic_error", "40000", "no running push query with id transient_X_1"},
	}
	for proto, client := range clients() {
		for _, c := range cases {
			resp := post(t, client, srv.URL+c.path, c.accept, c.body)
			body := readAll(t, resp)
			var e map[string]any
			if err := json.Unmarshal([]byte(body), &e); err != nil || resp.Proto != proto || fmt.Sprint(resp.StatusCode) != c.status || e["@type"] != c.typ ||
				fmt.Sprint(e["error_code"]) != c.code || !strings.Contains(fmt.Sprint(e["message"]), c.msg) {
				t.Errorf("%s POST %s %s: %s %d %s\nwant %s %s %s %q", proto, c.path, c.body, resp.Proto, resp.StatusCode, body, c.status, c.typ, c.code, c.msg)
			}
		}
	}
}

// Session variables are substituted before parsing.
func TestSessionVariables(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t)})
	body := readAll(t, post(t, http.DefaultClient, srv.URL+"/query-stream", "",
		`{"sql":"SELECT NUM_COMPLETED FROM ${table} WHERE SYMBOL='${s}';","sessionVariables":{"table":"COMPLETED_PER_MINUTE","s":"CFLT"}}`))
	if !strings.HasSuffix(body, "\n[7]\n") {
		t.Fatalf("with variables: %s", body)
	}
}

// LIST TABLES and DESCRIBE answer ksqlDB's entities.
func TestStatements(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t), Topic: func(context.Context) (int, int, error) { return 6, 1, nil }})
	resp := post(t, http.DefaultClient, srv.URL+"/ksql", v1JSON, sqlBody("ksql", "LIST TABLES; DESCRIBE flagged_per_minute;"))
	body := readAll(t, resp)
	var entities []struct {
		Type          string `json:"@type"`
		StatementText string
		Tables        []tableInfo
		Source        struct {
			Name, Topic, Type, WindowType string
			Partitions, Replication       int
			Fields                        []struct {
				Name, Type string
				Schema     struct{ Type string }
			}
		} `json:"sourceDescription"`
	}
	if err := json.Unmarshal([]byte(body), &entities); err != nil || len(entities) != 2 || resp.Header.Get("Content-Type") != v1JSON {
		t.Fatalf("/ksql: %s (%v)", body, err)
	}
	list, desc := entities[0], entities[1]
	if list.Type != "tables" || list.StatementText != "LIST TABLES;" || len(list.Tables) != 4 ||
		list.Tables[2] != (tableInfo{"TABLE", "FLAGGED_PER_MINUTE", "tradeflow-count-table", keyFormat, valueFormat, true}) {
		t.Errorf("LIST TABLES: %+v", list)
	}
	s := desc.Source
	if desc.Type != "sourceDescription" || desc.StatementText != "DESCRIBE flagged_per_minute;" || s.Name != "FLAGGED_PER_MINUTE" ||
		s.Type != "TABLE" || s.WindowType != "TUMBLING" || s.Partitions != 6 || s.Replication != 1 || len(s.Fields) != 4 ||
		s.Fields[0].Name != "SYMBOL" || s.Fields[0].Type != "KEY" || s.Fields[0].Schema.Type != "STRING" ||
		s.Fields[3].Name != "NUM_FLAGGED" || s.Fields[3].Type != "" || s.Fields[3].Schema.Type != "BIGINT" {
		t.Errorf("DESCRIBE: %+v", desc)
	}
}

// /info and /healthcheck answer as ksqlDB's do.
func TestInfoAndHealth(t *testing.T) {
	ready := false
	srv := serve(t, &Server{Source: testSource(t), Version: "v9", Ready: func() bool { return ready },
		ClusterID: func(context.Context) string { return "abc" }})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, strings.TrimSpace(readAll(t, resp))
	}
	if code, body := get("/info"); code != 200 ||
		body != `{"KsqlServerInfo":{"kafkaClusterId":"abc","ksqlServiceId":"tradeflow","serverStatus":"RUNNING","version":"v9"}}` {
		t.Errorf("/info: %d %s", code, body)
	}
	want := func(h bool) string {
		return fmt.Sprintf(`{"details":{"kafka":{"isHealthy":%v},"metastore":{"isHealthy":true}},"isHealthy":%v}`, h, h)
	}
	if code, body := get("/healthcheck"); code != 503 || body != want(false) {
		t.Errorf("/healthcheck before ready: %d %s", code, body)
	}
	ready = true
	if code, body := get("/healthcheck"); code != 200 || body != want(true) {
		t.Errorf("/healthcheck when ready: %d %s", code, body)
	}
}

// The token is required as a bearer token or as Basic auth's password;
// /healthcheck stays open.
func TestQueryAuth(t *testing.T) {
	srv := serve(t, &Server{Source: testSource(t), Token: "s3cret"})
	q := sqlBody("sql", "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV'")
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Bearer s3cret", 200},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("user:s3cret")), 200},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("user:wrong")), 401},
	} {
		var h []string
		if c.auth != "" {
			h = []string{"Authorization", c.auth}
		}
		resp := post(t, http.DefaultClient, srv.URL+"/query-stream", "", q, h...)
		body := readAll(t, resp)
		if resp.StatusCode != c.want || c.want == 401 && (!strings.Contains(body, `"error_code":40100`) || strings.Contains(body, "s3cret")) {
			t.Errorf("Authorization %q: %d %s, want %d", c.auth, resp.StatusCode, body, c.want)
		}
	}
	resp, err := http.Get(srv.URL + "/healthcheck")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthcheck without a token: %v %v", resp, err)
	}
	resp.Body.Close()
}

// A push query sends the current rows, then each change of its table's
// count, until it is closed; LIMIT ends it with "Limit Reached".
func TestPushQuery(t *testing.T) {
	for proto, c := range clients() {
		t.Run(proto, func(t *testing.T) {
			src := testSource(t)
			srv := serve(t, &Server{Source: src, PushBuffer: 64})
			resp := post(t, c, srv.URL+"/query-stream", "", sqlBody("sql", "SELECT WINDOWSTART, NUM_COMPLETED FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV' EMIT CHANGES;"))
			defer resp.Body.Close()
			lines := bufio.NewScanner(resp.Body)
			next := func() string {
				t.Helper()
				if !lines.Scan() {
					t.Fatalf("stream ended: %v", lines.Err())
				}
				return lines.Text()
			}
			var h queryHeader
			if err := json.Unmarshal([]byte(next()), &h); err != nil || !strings.HasPrefix(h.QueryID, "transient_COMPLETED_PER_MINUTE_") {
				t.Fatalf("header: %+v %v", h, err)
			}
			if a, b := next(), next(); a != "[60000,3]" || b != "[180000,5]" {
				t.Fatalf("current rows %s %s", a, b)
			}
			// A change of another count or another symbol is no row.
			must(t, src.Put("ZVV", views.Window{WindowStart: 180_000, WindowEnd: 240_000, Completed: 5, Rejected: 2}))
			must(t, src.Put("CFLT", views.Window{WindowStart: 60_000, WindowEnd: 120_000, Completed: 8}))
			must(t, src.Put("ZVV", views.Window{WindowStart: 180_000, WindowEnd: 240_000, Completed: 6, Rejected: 2}))
			must(t, src.Put("ZVV", views.Window{WindowStart: 240_000, WindowEnd: 300_000, Completed: 1}))
			if a, b := next(), next(); a != "[180000,6]" || b != "[240000,1]" {
				t.Fatalf("changes %s %s", a, b)
			}
			closed := post(t, c, srv.URL+"/close-query", "", `{"queryId":"`+h.QueryID+`"}`)
			if readAll(t, closed); closed.StatusCode != 200 {
				t.Fatalf("/close-query: %d", closed.StatusCode)
			}
			if lines.Scan() {
				t.Fatalf("a row after /close-query: %s", lines.Text())
			}
		})
	}
	src := testSource(t)
	srv := serve(t, &Server{Source: src, PushBuffer: 64})
	resp := post(t, http.DefaultClient, srv.URL+"/query", "", sqlBody("ksql", "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='CFLT' EMIT CHANGES LIMIT 2;"))
	go func() {
		time.Sleep(100 * time.Millisecond)
		src.Delete("CFLT", 60_000) // retention removes the window
	}()
	body := readAll(t, resp)
	var v1 []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &v1); err != nil || len(v1) != 4 || string(v1[2]["row"]) != `{"columns":["CFLT",60000,120000,null],"tombstone":true}` ||
		string(v1[3]["finalMessage"]) != `"Limit Reached"` {
		t.Fatalf("/query push with LIMIT 2: %s (%v)", body, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// blockingWriter is a client that stops reading: every Write after the
// first waits until release is closed.
type blockingWriter struct {
	header  http.Header
	writes  int
	release chan struct{}
	body    strings.Builder
}

func (b *blockingWriter) Header() http.Header { return b.header }
func (b *blockingWriter) WriteHeader(int)     {}
func (b *blockingWriter) Write(p []byte) (int, error) {
	if b.writes++; b.writes > 1 {
		<-b.release
	}
	return b.body.Write(p)
}

// A push query whose client stops reading is dropped when it falls more
// than PushBuffer changes behind; the writes to the view never wait for
// it.
func TestSlowPushClientDropped(t *testing.T) {
	src := testSource(t)
	s := &Server{Source: src, PushBuffer: 4}
	sel, err := Parse("SELECT * FROM COMPLETED_PER_MINUTE EMIT CHANGES")
	must(t, err)
	w := &blockingWriter{header: http.Header{}, release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(context.Background(), w, sel.(*Select), &delimitedWriter{w: w})
	}()
	for s.running() == 0 { // registered: subscribed
		time.Sleep(time.Millisecond)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 1000 {
			_ = src.Put("ZVV", views.Window{WindowStart: 60_000, WindowEnd: 120_000, Completed: int64(4 + i)})
		}
	}()
	select {
	case <-wrote:
	case <-time.After(30 * time.Second):
		t.Fatal("1,000 writes to the view did not finish while a push client was stuck")
	}
	close(w.release)
	<-done
	if !strings.Contains(w.body.String(), "dropped: the client fell more than 4 changes behind") {
		t.Fatalf("the stuck query's answer: %s", w.body.String())
	}
}
