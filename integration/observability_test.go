package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestObservability runs `tradeflow run` (JSON logs) on the test's broker
// with a real Prometheus server scraping it every second, feeds it a known
// workload, and checks what an operator relies on: /metrics passes
// promtool's linter, PromQL sees trades settled and the lag series, the
// lag of the settle group falls to 0 with its committed offsets at the
// backlog's end, every metric the dashboard and the alert rules name is
// exported, and the log is one JSON object per line with one line per
// lifecycle event.
func TestObservability(t *testing.T) {
	promtool := requireTool(t, "promtool")
	prometheus := requireTool(t, "prometheus")
	c := newCluster(t)
	p := start(t, "run", "TRADEFLOW_BROKERS="+c.Brokers, "TRADEFLOW_HTTP_ADDR="+freeAddr(t),
		"TRADEFLOW_DATA_DIR="+t.TempDir(), "TRADEFLOW_REPLICATION=1", "TRADEFLOW_DATAGEN_RATE=0", "TRADEFLOW_FLAG_RATE=0",
		"TRADEFLOW_LOG_FORMAT=json")
	p.waitReady(t, 90*time.Second)
	prom := startPrometheus(t, prometheus, p.HTTP)
	// Prometheus applies a new target after up to 5 s: wait for its first
	// scrape, so that it sees the counters rise.
	prom.awaitQuery(t, `up{job="tradeflow"} == 1`, 30*time.Second)

	// A known backlog, written over a few scrapes.
	w := newWorkload(12, 6000)
	c.produce(t, w.Users...)
	for i := 0; i < len(w.Trades); i += 1000 {
		c.produce(t, w.Trades[i:min(i+1000, len(w.Trades))]...)
		time.Sleep(500 * time.Millisecond)
	}
	awaitCounts(t, p.HTTP, w.Truth, 60*time.Second)

	t.Run("prometheus", func(t *testing.T) {
		rate := prom.awaitQuery(t, `sum(rate(tradeflow_trades_settled_total[10s])) > 0`, 30*time.Second)
		t.Logf("sum(rate(tradeflow_trades_settled_total[10s])) = %s", rate[0].Value[1])
		lag := prom.awaitQuery(t, `tradeflow_consumer_lag{group="tradeflow-settle",topic="stocktrade"}`, 30*time.Second)
		if len(lag) != 6 {
			t.Errorf("%d settle lag series in Prometheus, want one per partition (6)", len(lag))
		}
		for _, s := range lag {
			if s.Metric["partition"] == "" {
				t.Errorf("lag series without a partition label: %v", s.Metric)
			}
		}
		p99 := prom.awaitQuery(t, `histogram_quantile(0.99, sum by (le) (rate(tradeflow_end_to_end_latency_seconds_bucket[30s]))) > 0`, 30*time.Second)
		t.Logf("end-to-end latency p99 over 30 s: %s s", p99[0].Value[1])
	})

	t.Run("lag follows the backlog to 0", func(t *testing.T) {
		var lag, committed float64
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			m := scrapeMetrics(t, p.HTTP)
			lag = m.sum("tradeflow_consumer_lag", `group="tradeflow-settle"`)
			committed = m.sum("tradeflow_consumer_committed_offset", `group="tradeflow-settle"`)
			if lag == 0 && committed == float64(len(w.Trades)) {
				return
			}
		}
		t.Errorf("settle group: lag %v and committed %v, want 0 and the backlog's %d", lag, committed, len(w.Trades))
	})

	body := getText(t, p.HTTP, "/metrics")
	t.Run("promtool check metrics", func(t *testing.T) {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("dashboard and alerts name exported metrics", func(t *testing.T) {
		for _, path := range []string{"/v1/tables", "/v1/tables/COMPLETED_PER_MINUTE?symbol=ZVV", "/healthz", "/readyz", "/nope"} {
			getText(t, p.HTTP, path)
		}
		exported := parseMetrics(getText(t, p.HTTP, "/metrics"))
		if v := exported.series("tradeflow_build_info"); len(v) != 1 || !strings.Contains(v[0], `goka="v1.1.17"`) {
			t.Errorf("tradeflow_build_info: %v, want one series naming goka v1.1.17", v)
		}
		var exprs []string
		var dash struct {
			Panels []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
		readJSON(t, repoPath("k8s", "monitoring", "grafana-dashboard.json"), &dash)
		for _, pn := range dash.Panels {
			for _, tg := range pn.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
		var rules struct {
			Groups []struct {
				Rules []struct{ Alert, Expr string }
			}
		}
		b, err := os.ReadFile(repoPath("k8s", "monitoring", "alerts.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &rules); err != nil {
			t.Fatal(err)
		}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				exprs = append(exprs, r.Expr)
			}
		}
		if len(exprs) < 10 {
			t.Fatalf("%d expressions in the dashboard and the alerts; want the files' queries", len(exprs))
		}
		for _, e := range exprs {
			for _, name := range metricNameRE.FindAllString(e, -1) {
				if !exported.has(name) {
					t.Errorf("%q names %s, which a running worker does not export", e, name)
				}
			}
		}
	})

	p.stop()
	t.Run("logs", func(t *testing.T) { checkLifecycleLog(t, p.log, len(w.Trades)) })
}

var metricNameRE = regexp.MustCompile(`\b(tradeflow|go|process)_[a-z0-9_]+\b`)

// checkLifecycleLog: every line is a JSON object (goka's and sarama's too),
// each lifecycle event is there, no secret-free setting is missing from
// the start line, and the info lines do not grow with the records.
func checkLifecycleLog(t *testing.T, path string, records int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]int{}
	groups := map[string]bool{}
	info := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Errorf("not a JSON line: %s", sc.Text())
			continue
		}
		msg, _ := l["msg"].(string)
		msgs[msg]++
		if l["level"] == "INFO" {
			info++
		}
		if msg == "partitions assigned" {
			groups[fmt.Sprint(l["group"])] = true
		}
		if msg == "tradeflow starting" {
			s, _ := l["settings"].(map[string]any)
			if s["TRADEFLOW_HTTP_ADDR"] == nil || s["TRADEFLOW_SASL_PASSWORD"] != "<unset>" {
				t.Errorf("start line's settings: %v; want every setting, secrets as <set>/<unset>", s)
			}
		}
	}
	for _, m := range []string{"tradeflow starting", "restore started", "restore finished", "ready", "stopping", "stopped cleanly"} {
		if msgs[m] == 0 {
			t.Errorf("no %q line; lines by message: %v", m, msgs)
		}
	}
	for _, g := range []string{"tradeflow-settle", "tradeflow-users-check"} { // the fused count has no count group
		if !groups[g] {
			t.Errorf("no partitions-assigned line for %s", g)
		}
	}
	if info > 60 {
		t.Errorf("%d info lines for %d records; want lifecycle events only: %v", info, records, msgs)
	}
	t.Logf("%d info lines; by message: %v", info, msgs)
}

// prometheusServer is a Prometheus started by a test.
type prometheusServer struct{ addr string }

// startPrometheus runs a Prometheus server that scrapes target's /metrics
// every second, and waits until it is ready.
func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tradeflow\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(dir+"/prometheus.yml", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	log, err := os.Create(dir + "/prometheus.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+dir+"/prometheus.yml", "--storage.tsdb.path="+dir+"/data",
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(dir + "/prometheus.log")
			t.Logf("prometheus log:\n%s", b)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &prometheusServer{addr: addr}
			}
		}
	}
	t.Fatal("prometheus not ready within 30 s")
	return nil
}

type promSample struct {
	Metric map[string]string
	Value  [2]any
}

// awaitQuery runs an instant PromQL query until its result is not empty.
func (s *prometheusServer) awaitQuery(t *testing.T, q string, within time.Duration) []promSample {
	t.Helper()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://" + s.addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			last = err.Error()
			continue
		}
		var r struct {
			Status string
			Error  string
			Data   struct{ Result []promSample }
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || r.Status != "success" {
			last = fmt.Sprintf("%v %s %s", err, r.Status, r.Error)
			continue
		}
		if len(r.Data.Result) > 0 {
			return r.Data.Result
		}
		last = "empty result"
	}
	targets := ""
	if resp, err := http.Get("http://" + s.addr + "/api/v1/targets"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		targets = string(b)
	}
	t.Fatalf("PromQL %s: %s after %v; targets: %s", q, last, within, targets)
	return nil
}

func getText(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// exposition is a parsed /metrics: each family's type, and each series
// line by metric name.
type exposition struct {
	types map[string]string
	lines map[string][]string
}

func scrapeMetrics(t *testing.T, addr string) exposition {
	return parseMetrics(getText(t, addr, "/metrics"))
}

func parseMetrics(body string) exposition {
	e := exposition{types: map[string]string{}, lines: map[string][]string{}}
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			e.types[f[2]] = f[3]
			continue
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		e.lines[name] = append(e.lines[name], l)
	}
	return e
}

// has reports whether name is exported: a family, or a histogram's or
// summary's _bucket, _sum or _count.
func (e exposition) has(name string) bool {
	if _, ok := e.types[name]; ok {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if ty := e.types[base]; ty == "histogram" || ty == "summary" {
				return true
			}
		}
	}
	return false
}

func (e exposition) series(name string) []string { return e.lines[name] }

// sum adds the values of name's series whose labels contain match.
func (e exposition) sum(name, match string) float64 {
	var s float64
	for _, l := range e.lines[name] {
		if !strings.Contains(l, match) {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			s += v
		}
	}
	return s
}
