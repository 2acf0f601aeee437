// Package k8s holds the kustomize base of a tradeflow Deployment; its test
// builds the base with kustomize's own API and checks the settings that
// must agree with the worker's: probes on the HTTP API, and a termination
// grace above the graceful-stop bound.
package k8s

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Margin between TRADEFLOW_SHUTDOWN_TIMEOUT and the termination grace: the
// worker's own timer starts when it sees SIGTERM, and a stop that runs out
// of time still logs what was running and exits before the kubelet's
// SIGKILL.
const graceMargin = 5 * time.Second

func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// field returns the string at path in node, failing the test when it is
// missing.
func field(t *testing.T, n *yaml.RNode, path ...string) string {
	t.Helper()
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || v == nil {
		t.Fatalf("%v: missing", path)
	}
	return yaml.GetValue(v)
}

func TestBaseWorkerDeployment(t *testing.T) {
	m := build(t, "base")
	var dep, svc *yaml.RNode
	for _, r := range m.Resources() {
		switch r.GetKind() {
		case "Deployment":
			dep = &r.RNode
		case "Service":
			svc = &r.RNode
		}
	}
	if dep == nil || svc == nil {
		t.Fatalf("base builds %d resources; want a Deployment and a Service", m.Size())
	}

	c, err := dep.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=tradeflow]"))
	if err != nil || c == nil {
		t.Fatalf("no container named tradeflow: %v", err)
	}
	if args, _ := c.Pipe(yaml.Lookup("args")); args == nil || len(args.Content()) != 1 || args.Content()[0].Value != "worker" {
		t.Errorf("container args %s; want [worker]", field(t, c, "args"))
	}

	env := map[string]string{}
	envs, _ := c.Pipe(yaml.Lookup("env"))
	elems, _ := envs.Elements()
	for _, e := range elems {
		name := field(t, e, "name")
		if v, _ := e.Pipe(yaml.Lookup("value")); v != nil {
			env[name] = yaml.GetValue(v)
		} else {
			env[name] = ""
		}
	}
	known := settingNames(t)
	for name := range env {
		if !known[name] {
			t.Errorf("env %s is not a tradeflow setting (cmd/tradeflow)", name)
		}
	}

	// Graceful stop fits in the grace period.
	stop, err := time.ParseDuration(env["TRADEFLOW_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("TRADEFLOW_SHUTDOWN_TIMEOUT: %v", err)
	}
	grace, err := strconv.Atoi(field(t, dep, "spec", "template", "spec", "terminationGracePeriodSeconds"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(grace)*time.Second < stop+graceMargin {
		t.Errorf("termination grace %d s; want at least TRADEFLOW_SHUTDOWN_TIMEOUT %v + %v", grace, stop, graceMargin)
	}

	// Probes on the HTTP API's port.
	httpPort := regexp.MustCompile(`:(\d+)$`).FindStringSubmatch(env["TRADEFLOW_HTTP_ADDR"])
	if httpPort == nil {
		t.Fatalf("TRADEFLOW_HTTP_ADDR %q has no port", env["TRADEFLOW_HTTP_ADDR"])
	}
	if got := field(t, c, "ports", "[name=http]", "containerPort"); got != httpPort[1] {
		t.Errorf("container port http %s; TRADEFLOW_HTTP_ADDR listens on %s", got, httpPort[1])
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := field(t, c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %s; want %s", probe, got, path)
		}
		if got := field(t, c, probe, "httpGet", "port"); got != "http" {
			t.Errorf("%s port %s; want http", probe, got)
		}
	}
	// A liveness probe that gives up sooner than a takeover plus a table
	// recovery would restart workers that are only busy.
	period, _ := strconv.Atoi(field(t, c, "livenessProbe", "periodSeconds"))
	failures, _ := strconv.Atoi(field(t, c, "livenessProbe", "failureThreshold"))
	if period*failures < 30 {
		t.Errorf("liveness gives up after %d s; want at least 30 s", period*failures)
	}

	// No more workers than partitions.
	replicas, _ := strconv.Atoi(field(t, dep, "spec", "replicas"))
	partitions, err := strconv.Atoi(env["TRADEFLOW_PARTITIONS"])
	if err != nil {
		t.Fatalf("TRADEFLOW_PARTITIONS: %v", err)
	}
	if replicas < 1 || replicas > partitions {
		t.Errorf("replicas %d; want 1..%d (TRADEFLOW_PARTITIONS)", replicas, partitions)
	}

	if got := field(t, svc, "spec", "ports", "[name=http]", "targetPort"); got != "http" {
		t.Errorf("service targets port %s; want http", got)
	}
}

// settingNames reads the environment variables tradeflow knows from its
// configuration structs in cmd/tradeflow.
func settingNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/tradeflow/*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`envconfig:"([A-Z_]+)"`).FindAllSubmatch(src, -1) {
			names["TRADEFLOW_"+string(m[1])] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("found %d settings in cmd/tradeflow; the pattern is out of date", len(names))
	}
	return names
}
