package ksql

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The CLI prints a pull query as an aligned table, follows a push query
// until it is interrupted, and prints LIST TABLES; a statement that does
// not parse is not sent, and a server error is returned.
func TestRun(t *testing.T) {
	src := testSource(t)
	srv := serve(t, &Server{Source: src, Token: "tk"})
	c := &Client{URL: srv.URL, Token: "tk"}
	var out strings.Builder
	must(t, Run(context.Background(), c, "SELECT SYMBOL, WINDOWSTART, NUM_COMPLETED FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV';", &out))
	want := `+--------+-------------+---------------+
| SYMBOL | WINDOWSTART | NUM_COMPLETED |
+--------+-------------+---------------+
| ZVV    | 60000       | 3             |
| ZVV    | 180000      | 5             |
+--------+-------------+---------------+
Query terminated
`
	if out.String() != want {
		t.Fatalf("pull query printed:\n%s\nwant:\n%s", out.String(), want)
	}

	// A push query ends at its LIMIT, or when interrupted (ctx).
	out.Reset()
	must(t, Run(context.Background(), c, "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='CFLT' EMIT CHANGES LIMIT 1", &out))
	if !strings.Contains(out.String(), "| CFLT            | 60000           | 120000          | 7               |") || !strings.HasSuffix(out.String(), "Query terminated\n") {
		t.Fatalf("push query printed:\n%s", out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out.Reset()
	must(t, Run(ctx, c, "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='NONE' EMIT CHANGES", &out))
	if !strings.HasSuffix(out.String(), "+\nQuery terminated\n") {
		t.Fatalf("interrupted push query printed:\n%s", out.String())
	}

	out.Reset()
	must(t, Run(context.Background(), c, "LIST TABLES;", &out))
	if !strings.Contains(out.String(), "| REJECTED_PER_MINUTE  | tradeflow-count-table | KAFKA      | PROTOBUF     | true     |") {
		t.Fatalf("LIST TABLES printed:\n%s", out.String())
	}

	if err := Run(context.Background(), c, "SELECT * FORM X", &out); err == nil || !strings.HasPrefix(err.Error(), "line 1:10:") {
		t.Fatalf("a syntax error: %v", err)
	}
	err := Run(context.Background(), &Client{URL: srv.URL}, "LIST TABLES", &out)
	if se, ok := err.(*ServerError); !ok || se.Status != 401 || se.Code != codeUnauthorized {
		t.Fatalf("without the token: %v", err)
	}
}
