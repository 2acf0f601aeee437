package k8s

// The monitoring files: monitoring/alerts.yml (Prometheus rules, with
// promtool unit tests in monitoring/alerts_test.yml), the PrometheusRule
// that carries the same groups, and monitoring/grafana-dashboard.json.
// These tests keep the rule copies equal, the dashboard importable, and
// every metric either names in exportedMetrics.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

const (
	alertsFile    = "monitoring/alerts.yml"
	dashboardFile = "monitoring/grafana-dashboard.json"
)

// ruleFile is a Prometheus rules file, decoded (strictly) into Prometheus
// Operator's rule types: what alerts.yml holds is then also valid as a
// PrometheusRule's spec.groups.
type ruleFile struct {
	Groups []monitoringv1.RuleGroup `json:"groups"`
}

func alertGroups(t *testing.T) []monitoringv1.RuleGroup {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	f := strict[ruleFile](t, b)
	if len(f.Groups) == 0 {
		t.Fatalf("%s has no groups", alertsFile)
	}
	return f.Groups
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// TestPrometheusRule: wherever a kustomization has Prometheus Operator
// scrape the workers it also gives it the alerts, and the PrometheusRule's
// groups are alerts.yml's (compared rule by rule as JSON of the same Go
// types, so formatting and comments do not matter).
func TestPrometheusRule(t *testing.T) {
	want := alertGroups(t)
	for _, k := range kustomizations {
		t.Run(k.dir, func(t *testing.T) {
			o := build(t, k.dir)
			if k.dir == "base" && o.rule == nil {
				t.Fatal("the base has no PrometheusRule")
			}
			if (o.rule != nil) != (o.monitor != nil) {
				t.Fatalf("PrometheusRule %v, ServiceMonitor %v; want both or neither", o.rule != nil, o.monitor != nil)
			}
			if o.rule == nil {
				return
			}
			for _, d := range diffGroups(t, o.rule.Spec.Groups, want) {
				t.Errorf("PrometheusRule %s differs from %s (regenerate it as k8s/base/prometheusrule.yaml says): %s", o.rule.Name, alertsFile, d)
			}
		})
	}
}

// diffGroups names the rules (or groups) that differ between two lists
// of rule groups, with both versions as JSON.
func diffGroups(t *testing.T, got, want []monitoringv1.RuleGroup) []string {
	t.Helper()
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if len(got) != len(want) {
		return []string{fmt.Sprintf("%d groups; want %d", len(got), len(want))}
	}
	var diffs []string
	for i := range want {
		g, w := got[i], want[i]
		if len(g.Rules) != len(w.Rules) {
			diffs = append(diffs, fmt.Sprintf("group %s has %d rules; want %d", g.Name, len(g.Rules), len(w.Rules)))
			continue
		}
		g.Rules, w.Rules = nil, nil
		if a, b := js(g), js(w); a != b {
			diffs = append(diffs, fmt.Sprintf("group\n got %s\nwant %s", a, b))
		}
		for j := range want[i].Rules {
			if a, b := js(got[i].Rules[j]), js(want[i].Rules[j]); a != b {
				diffs = append(diffs, fmt.Sprintf("group %s rule %d (%s)\n got %s\nwant %s", w.Name, j, want[i].Rules[j].Alert, a, b))
			}
		}
	}
	return diffs
}

// TestAlertRules: every rule is an alert that waits (for), says how bad it
// is (severity) and what happened (summary, description).
func TestAlertRules(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range alertGroups(t) {
		for _, r := range g.Rules {
			name := r.Alert
			switch {
			case name == "":
				t.Errorf("group %s: a rule without alert (record %q); alerts.yml holds alerts only", g.Name, r.Record)
				continue
			case seen[name]:
				t.Errorf("alert %s twice", name)
			}
			seen[name] = true
			if strings.TrimSpace(r.Expr.String()) == "" {
				t.Errorf("%s: no expr", name)
			}
			if r.For == nil || *r.For == "" {
				t.Errorf("%s: no for", name)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q; want warning or critical", name, s)
			}
			for _, a := range []string{"summary", "description"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", name, a)
				}
			}
		}
	}
}

// TestDashboard: the dashboard imports on any Prometheus data source (the
// ${datasource} variable) and every panel queries something.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q; want both", d.Title, d.UID)
	}
	hasDatasource := false
	for _, v := range d.Templating.List {
		hasDatasource = hasDatasource || (v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"`)
	}
	if !hasDatasource {
		t.Error("no template variable datasource of type datasource, query prometheus")
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	ids := map[int]string{}
	for _, p := range d.Panels {
		if p.ID == 0 {
			t.Errorf("panel %q has no id", p.Title)
		} else if other, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q queries data source %q; want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for i, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q target %d has no expr", p.Title, i)
			}
		}
	}
}

// metricName matches the metric names a PromQL expression uses (label
// values such as "tradeflow-settle" have a hyphen, so they do not match).
var metricName = regexp.MustCompile(`\b(tradeflow|go|process)_[a-z0-9_]+\b`)

// TestMonitoringNamesExportedMetrics: the dashboard's queries (panels and
// template variables) and the alerts' expressions name only metrics in
// exportedMetrics; a histogram's or summary's _bucket, _sum and _count
// count as the family.
func TestMonitoringNamesExportedMetrics(t *testing.T) {
	exprs := map[string]string{} // expression → where
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[tg.Expr] = "panel " + p.Title
		}
	}
	for _, v := range d.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		var s string
		if json.Unmarshal(v.Query, &s) != nil && json.Unmarshal(v.Query, &q) == nil {
			s = q.Query
		}
		exprs[s] = "variable " + v.Name
	}
	for _, g := range alertGroups(t) {
		for _, r := range g.Rules {
			exprs[r.Expr.String()] = "alert " + r.Alert
		}
	}
	names := 0
	for e, where := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			names++
			if _, ok := exportedMetrics[name]; ok {
				continue
			}
			if base, ok := cutAnySuffix(name, "_bucket", "_sum", "_count"); ok {
				if ty := exportedMetrics[base]; ty == "histogram" || ty == "summary" {
					continue
				}
			}
			t.Errorf("%s names %s, which is not in exportedMetrics:\n%s", where, name, e)
		}
	}
	if names < 20 {
		t.Errorf("found %d metric names in the dashboard and the alerts; the pattern is out of date", names)
	}
}

func cutAnySuffix(s string, suffixes ...string) (string, bool) {
	for _, suf := range suffixes {
		if base, ok := strings.CutSuffix(s, suf); ok {
			return base, true
		}
	}
	return s, false
}

// TestPromtool checks the rules file and runs its unit tests with
// promtool. Without promtool it skips, unless TRADEFLOW_REQUIRE_TOOLS is
// set (make test sets it): then it fails.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("TRADEFLOW_REQUIRE_TOOLS") != "" {
			t.Fatalf("promtool is required (TRADEFLOW_REQUIRE_TOOLS is set) but not found: %v", err)
		}
		t.Skipf("promtool not found (apt-get install prometheus); set TRADEFLOW_REQUIRE_TOOLS=1 to make this a failure")
	}
	for _, tc := range []struct {
		dir  string
		args []string
	}{
		{".", []string{"check", "rules", alertsFile}},
		{"monitoring", []string{"test", "rules", "alerts_test.yml"}},
	} {
		cmd := exec.Command(promtool, tc.args...)
		cmd.Dir = tc.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
		}
	}
}
