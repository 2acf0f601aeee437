package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestKsqlClient runs the original system's pull query and a push query
// through a third-party ksqlDB client, the Python ksql-python-ng
// (interop/ksqlclient: /info, /ksql and /query over HTTP/1.1, /query-stream
// over HTTP/2 with Basic auth), against a running `tradeflow run`, and
// checks its rows against tradeflow's own API.
func TestKsqlClient(t *testing.T) {
	if externalBrokers() != "" {
		t.Skip("runs `tradeflow run` on its embedded broker; TRADEFLOW_TEST_BROKERS points elsewhere")
	}
	py := requireTool(t, "python3")
	if err := exec.Command(py, "-c", "import ksql, httpx, h2").Run(); err != nil {
		if os.Getenv("TRADEFLOW_REQUIRE_TOOLS") != "" {
			t.Fatalf("python3 cannot import ksql (pip install -r interop/ksqlclient/requirements.txt): %v", err)
		}
		t.Skip("ksql-python-ng not installed; set TRADEFLOW_REQUIRE_TOOLS=1 to make this a failure")
	}
	const token, symbol = "ksql-t0ken", "ZVV"
	run := liveRun(t, "TRADEFLOW_HTTP_TOKEN="+token)
	rows := func() map[int64]int64 {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+run.HTTP+"/v1/tables/COMPLETED_PER_MINUTE?symbol="+symbol, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rs []struct{ WindowStart, Count int64 }
		if err := json.NewDecoder(resp.Body).Decode(&rs); err != nil {
			t.Fatal(err)
		}
		m := map[int64]int64{}
		for _, r := range rs {
			m[r.WindowStart] = r.Count
		}
		return m
	}
	for deadline := time.Now().Add(60 * time.Second); len(rows()) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no completed trade of ZVV counted within 60 s")
		}
	}

	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, repoPath("interop", "ksqlclient", "queries.py"), "http://"+run.HTTP, token, symbol, "5")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("queries.py: %v\n%s", err, stderr.String())
	}
	after := rows()
	var got struct {
		Version string
		Tables  []string
		Pull    []map[string]json.RawMessage
		Push    []json.RawMessage
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("queries.py printed %s: %v", out, err)
	}
	if strings.Join(got.Tables, ",") != "COMPLETED_PER_MINUTE,PENDING_PER_MINUTE,FLAGGED_PER_MINUTE,REJECTED_PER_MINUTE" || got.Version == "" {
		t.Errorf("SHOW TABLES gave %v, /info version %q", got.Tables, got.Version)
	}

	// The pull query: a header, the symbol's windows, a final message.
	if len(got.Pull) < 3 || got.Pull[0]["header"] == nil || string(got.Pull[len(got.Pull)-1]["finalMessage"]) != `"Query Completed"` {
		t.Fatalf("pull query answer: %s", out)
	}
	// Counts only grow, so a window's count in the pull answer is at most
	// the one read after it, and equal for a window closed well before.
	for _, r := range got.Pull[1 : len(got.Pull)-1] {
		var row struct{ Columns []any }
		if err := json.Unmarshal(r["row"], &row); err != nil || len(row.Columns) != 4 {
			t.Fatalf("row %s", r["row"])
		}
		cols := row.Columns
		start, end, n := int64(cols[1].(float64)), int64(cols[2].(float64)), int64(cols[3].(float64))
		if cols[0] != symbol || end != start+60_000 || n <= 0 || n > after[start] ||
			time.UnixMilli(end).Before(began.Add(-30*time.Second)) && n != after[start] {
			t.Errorf("pull row %v; tradeflow's API has %d for that window afterwards", cols, after[start])
		}
	}

	// The push query: a header, the current rows, then changes: some
	// window comes again with a higher count.
	if len(got.Push) < 2 {
		t.Fatalf("push query answer: %s", out)
	}
	var header struct{ QueryID string }
	if err := json.Unmarshal(got.Push[0], &header); err != nil || !strings.HasPrefix(header.QueryID, "transient_COMPLETED_PER_MINUTE_") {
		t.Fatalf("push header %s", got.Push[0])
	}
	seen, changed := map[float64]float64{}, false
	for _, r := range got.Push[1:] {
		var cols []any
		if err := json.Unmarshal(r, &cols); err != nil || len(cols) != 4 || cols[0] != symbol {
			t.Fatalf("push row %s", r)
		}
		start, n := cols[1].(float64), cols[3].(float64)
		if prev, ok := seen[start]; ok {
			if n <= prev {
				t.Errorf("window %v came again with %v after %v", start, n, prev)
			}
			changed = true
		}
		seen[start] = n
	}
	if !changed {
		t.Errorf("no change in 5 s of a push query at 200 trades/s: %s", out)
	}
	t.Logf("ksql-python-ng: %d pull rows, %d push rows (%d windows)", len(got.Pull)-2, len(got.Push)-1, len(seen))
}
