// Package k8s holds the kustomize base and overlays of tradeflow's
// workers. Its test builds every kustomization with kustomize's own API,
// decodes every object strictly into its upstream Go type (k8s.io/api,
// KEDA's and Prometheus Operator's API modules; an unknown field fails),
// and checks what ties the manifests to the code: settings, probes and
// port, grace and shutdown timeout, replicas and partitions, the KEDA
// trigger's group and topic.
package k8s

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/tradeflow/tradeflow/processor"
)

// Margin between TRADEFLOW_SHUTDOWN_TIMEOUT and the termination grace: the
// worker's own timer starts when it sees SIGTERM, and a stop that runs out
// of time still logs what was running and exits before the kubelet's
// SIGKILL.
const graceMargin = 5 * time.Second

// objects is one kustomization's output, decoded.
type objects struct {
	// workload is the workers' Deployment or StatefulSet: its name,
	// replicas and pod template (pod); stateful is the StatefulSet.
	workload   metav1.ObjectMeta
	kind       string
	replicas   *int32
	pod        corev1.PodTemplateSpec
	stateful   *appsv1.StatefulSet
	deployment *appsv1.Deployment
	service    *corev1.Service
	configMaps map[string]*corev1.ConfigMap
	pdb        *policyv1.PodDisruptionBudget
	monitor    *monitoringv1.ServiceMonitor
	rule       *monitoringv1.PrometheusRule
	scaled     *kedav1alpha1.ScaledObject
	triggerAu  map[string]*kedav1alpha1.TriggerAuthentication
	hpa        *autoscalingv2.HorizontalPodAutoscaler
}

// strict decodes one object's YAML into a new T, refusing unknown fields.
func strict[T any](t *testing.T, y []byte) *T {
	t.Helper()
	v := new(T)
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, y)
	}
	return v
}

func build(t *testing.T, dir string) objects {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := objects{configMaps: map[string]*corev1.ConfigMap{}, triggerAu: map[string]*kedav1alpha1.TriggerAuthentication{}}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		switch r.GetKind() {
		case "Deployment":
			o.deployment = strict[appsv1.Deployment](t, y)
			o.workload, o.kind, o.replicas, o.pod = o.deployment.ObjectMeta, "Deployment", o.deployment.Spec.Replicas, o.deployment.Spec.Template
		case "StatefulSet":
			o.stateful = strict[appsv1.StatefulSet](t, y)
			o.workload, o.kind, o.replicas, o.pod = o.stateful.ObjectMeta, "StatefulSet", o.stateful.Spec.Replicas, o.stateful.Spec.Template
		case "Service":
			o.service = strict[corev1.Service](t, y)
		case "ConfigMap":
			cm := strict[corev1.ConfigMap](t, y)
			o.configMaps[cm.Name] = cm
		case "PodDisruptionBudget":
			o.pdb = strict[policyv1.PodDisruptionBudget](t, y)
		case "ServiceMonitor":
			o.monitor = strict[monitoringv1.ServiceMonitor](t, y)
		case "PrometheusRule":
			o.rule = strict[monitoringv1.PrometheusRule](t, y)
		case "ScaledObject":
			o.scaled = strict[kedav1alpha1.ScaledObject](t, y)
		case "TriggerAuthentication":
			ta := strict[kedav1alpha1.TriggerAuthentication](t, y)
			o.triggerAu[ta.Name] = ta
		case "HorizontalPodAutoscaler":
			o.hpa = strict[autoscalingv2.HorizontalPodAutoscaler](t, y)
		default:
			t.Fatalf("%s builds a %s, which the test does not know", dir, r.GetKind())
		}
	}
	if (o.deployment == nil) == (o.stateful == nil) || o.service == nil || o.pdb == nil {
		t.Fatalf("%s: want one Deployment or StatefulSet, a Service and a PodDisruptionBudget", dir)
	}
	return o
}

// kustomizations are every kustomization under k8s/, with the command its
// pods run and whether KEDA scales them.
var kustomizations = []struct {
	dir, command string
	keda, hpa    bool
}{
	{"base", "worker", true, false},
	{"overlays/confluent-cloud", "worker", true, false},
	{"overlays/hpa", "worker", false, true},
	{"overlays/local", "run", false, false},
	{"overlays/stateful", "worker", true, false},
}

func TestEveryKustomizationIsTested(t *testing.T) {
	var found []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			found = append(found, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		ok := false
		for _, k := range kustomizations {
			ok = ok || k.dir == f
		}
		if !ok {
			t.Errorf("%s is not among the kustomizations this test checks", f)
		}
	}
}

func TestKustomizations(t *testing.T) {
	known := settingNames(t)
	for _, k := range kustomizations {
		t.Run(k.dir, func(t *testing.T) {
			o := build(t, k.dir)
			checkWorker(t, o, k.command, known)
			env := settings(t, o)
			partitions := atoi(t, env["TRADEFLOW_PARTITIONS"], "TRADEFLOW_PARTITIONS")
			if r := o.replicas; r == nil || *r < 1 || int(*r) > partitions {
				t.Errorf("replicas %v; want 1..%d (TRADEFLOW_PARTITIONS)", r, partitions)
			}
			if (o.scaled != nil) != k.keda || (o.hpa != nil) != k.hpa {
				t.Fatalf("ScaledObject %v, HPA %v; want %v, %v", o.scaled != nil, o.hpa != nil, k.keda, k.hpa)
			}
			if o.scaled != nil {
				checkScaledObject(t, o, env, partitions)
			}
			if o.hpa != nil {
				if o.hpa.Spec.ScaleTargetRef.Name != o.workload.Name || o.hpa.Spec.ScaleTargetRef.Kind != o.kind || int(o.hpa.Spec.MaxReplicas) > partitions {
					t.Errorf("HPA targets %s %s up to %d; want %s %s up to %d", o.hpa.Spec.ScaleTargetRef.Kind, o.hpa.Spec.ScaleTargetRef.Name, o.hpa.Spec.MaxReplicas, o.kind, o.workload.Name, partitions)
				}
			}
			if o.monitor != nil {
				eps := o.monitor.Spec.Endpoints
				if len(eps) != 1 || eps[0].Port != "http" || eps[0].Path != "/metrics" {
					t.Errorf("ServiceMonitor endpoints %+v; want port http, path /metrics", eps)
				}
				for key, v := range o.monitor.Spec.Selector.MatchLabels {
					if o.service.Labels[key] != v {
						t.Errorf("ServiceMonitor selects %s=%s, which the Service lacks", key, v)
					}
				}
			}
			if s := o.pdb.Spec.Selector; s == nil || s.MatchLabels["app.kubernetes.io/name"] != "tradeflow" {
				t.Errorf("PodDisruptionBudget selector %v; want the workers", s)
			}
			if env["TRADEFLOW_SASL_MECHANISM"] != "" {
				checkCredentials(t, o, env)
			}
			if o.stateful != nil {
				checkStateful(t, o, env)
			}
		})
	}
}

// checkWorker checks the pod: command, settings, probes, grace, security.
func checkWorker(t *testing.T, o objects, command string, known map[string]bool) {
	t.Helper()
	spec := o.pod.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers; want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if strings.Join(c.Args, " ") != command {
		t.Errorf("args %v; want [%s]", c.Args, command)
	}
	env := settings(t, o)
	for name := range env {
		if !known[name] {
			t.Errorf("env %s is not a tradeflow setting (cmd/tradeflow)", name)
		}
	}
	if _, ok := env["TRADEFLOW_SASL_PASSWORD"]; ok {
		t.Error("TRADEFLOW_SASL_PASSWORD is set in the manifests: credentials come from a mounted Secret (TRADEFLOW_SASL_PASSWORD_FILE)")
	}

	stop, err := time.ParseDuration(env["TRADEFLOW_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("TRADEFLOW_SHUTDOWN_TIMEOUT: %v", err)
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < stop+graceMargin {
		t.Errorf("termination grace %v s; want at least TRADEFLOW_SHUTDOWN_TIMEOUT %v + %v", g, stop, graceMargin)
	}

	httpPort := regexp.MustCompile(`:(\d+)$`).FindStringSubmatch(env["TRADEFLOW_HTTP_ADDR"])
	if httpPort == nil {
		t.Fatalf("TRADEFLOW_HTTP_ADDR %q has no port", env["TRADEFLOW_HTTP_ADDR"])
	}
	var port int32
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = p.ContainerPort
		}
	}
	if port != int32(atoi(t, httpPort[1], "TRADEFLOW_HTTP_ADDR")) {
		t.Errorf("container port http %d; TRADEFLOW_HTTP_ADDR listens on %s", port, httpPort[1])
	}
	for name, tc := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}, "startup": {c.StartupProbe, "/healthz"}} {
		if tc.p == nil || tc.p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		if tc.p.HTTPGet.Path != tc.path || tc.p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %s on %s; want %s on http", name, tc.p.HTTPGet.Path, tc.p.HTTPGet.Port.String(), tc.path)
		}
	}
	// A liveness probe that gives up sooner than a takeover plus a table
	// recovery would restart workers that are only busy; the startup
	// probe allows a restore of minutes.
	if l := c.LivenessProbe; l != nil && l.PeriodSeconds*l.FailureThreshold < 30 {
		t.Errorf("liveness gives up after %d s; want at least 30 s", l.PeriodSeconds*l.FailureThreshold)
	}
	if s := c.StartupProbe; s != nil && s.PeriodSeconds*s.FailureThreshold < 120 {
		t.Errorf("startup probe gives up after %d s; want at least 120 s for a table restore", s.PeriodSeconds*s.FailureThreshold)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v; want a CPU request and a memory limit", c.Resources)
	}

	ps := spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v; want runAsNonRoot and seccomp RuntimeDefault", ps)
	}
	cs := c.SecurityContext
	if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context %+v; want readOnlyRootFilesystem, no privilege escalation, drop ALL", cs)
	}
	if a := spec.Affinity; a == nil || a.PodAntiAffinity == nil {
		t.Error("no pod anti-affinity")
	}
	// The data dir is a volume (the root filesystem is read-only).
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.MountPath == env["TRADEFLOW_DATA_DIR"]
	}
	if !mounted {
		t.Errorf("TRADEFLOW_DATA_DIR %s is not a mounted volume", env["TRADEFLOW_DATA_DIR"])
	}
}

// checkScaledObject ties the KEDA trigger to the code and the settings.
func checkScaledObject(t *testing.T, o objects, env map[string]string, partitions int) {
	t.Helper()
	s := o.scaled.Spec
	if s.ScaleTargetRef == nil || s.ScaleTargetRef.Name != o.workload.Name || (s.ScaleTargetRef.Kind != o.kind && !(s.ScaleTargetRef.Kind == "" && o.kind == "Deployment")) {
		t.Errorf("ScaledObject targets %+v; want %s %s", s.ScaleTargetRef, o.kind, o.workload.Name)
	}
	if s.MaxReplicaCount == nil || int(*s.MaxReplicaCount) > partitions || int(*s.MaxReplicaCount) < 1 {
		t.Errorf("maxReplicaCount %v; want 1..%d (TRADEFLOW_PARTITIONS)", s.MaxReplicaCount, partitions)
	}
	if len(s.Triggers) != 1 || s.Triggers[0].Type != "kafka" {
		t.Fatalf("triggers %+v; want one kafka trigger", s.Triggers)
	}
	m := s.Triggers[0].Metadata
	if m["topic"] != string(processor.TradesTopic) || m["consumerGroup"] != string(processor.SettleGroup) {
		t.Errorf("trigger on topic %q, group %q; the settle group is %q on %q", m["topic"], m["consumerGroup"], processor.SettleGroup, processor.TradesTopic)
	}
	if m["bootstrapServers"] != env["TRADEFLOW_BROKERS"] {
		t.Errorf("trigger bootstrapServers %q; the workers' TRADEFLOW_BROKERS %q", m["bootstrapServers"], env["TRADEFLOW_BROKERS"])
	}
	if atoi(t, m["lagThreshold"], "lagThreshold") < 1 {
		t.Errorf("lagThreshold %q", m["lagThreshold"])
	}
	if env["TRADEFLOW_SASL_MECHANISM"] != "" {
		ref := s.Triggers[0].AuthenticationRef
		if ref == nil || o.triggerAu[ref.Name] == nil {
			t.Errorf("the workers use SASL but the trigger's authenticationRef %+v names no TriggerAuthentication here", ref)
		}
		if m["sasl"] != strings.ToLower(env["TRADEFLOW_SASL_MECHANISM"]) && !(m["sasl"] == "plaintext" && env["TRADEFLOW_SASL_MECHANISM"] == "PLAIN") {
			t.Errorf("trigger sasl %q; the workers use %s", m["sasl"], env["TRADEFLOW_SASL_MECHANISM"])
		}
		if (m["tls"] == "enable") != (env["TRADEFLOW_TLS_ENABLED"] == "true") {
			t.Errorf("trigger tls %q; the workers' TRADEFLOW_TLS_ENABLED %q", m["tls"], env["TRADEFLOW_TLS_ENABLED"])
		}
	}
}

// checkCredentials: the password file is a mounted Secret.
func checkCredentials(t *testing.T, o objects, env map[string]string) {
	t.Helper()
	file := env["TRADEFLOW_SASL_PASSWORD_FILE"]
	if file == "" {
		t.Fatal("SASL without TRADEFLOW_SASL_PASSWORD_FILE")
	}
	spec := o.pod.Spec
	secrets := map[string]string{}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret.SecretName
		}
	}
	for _, m := range spec.Containers[0].VolumeMounts {
		if _, ok := secrets[m.Name]; ok && filepath.Dir(file) == filepath.Clean(m.MountPath) {
			return
		}
	}
	t.Errorf("TRADEFLOW_SASL_PASSWORD_FILE %s is not in a mounted Secret volume", file)
}

// settings are the container's TRADEFLOW_* settings: its env (a value
// from a reference counts as set) over the ConfigMaps it takes env from.
func settings(t *testing.T, o objects) map[string]string {
	t.Helper()
	c := o.pod.Spec.Containers[0]
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		cm := o.configMaps[from.ConfigMapRef.Name]
		if cm == nil {
			t.Fatalf("envFrom ConfigMap %s is not built", from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func atoi(t *testing.T, s, what string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return n
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

// checkStateful: each pod is a static member under its own name and keeps
// its tables on a volume of its own.
func checkStateful(t *testing.T, o objects, env map[string]string) {
	t.Helper()
	c := o.pod.Spec.Containers[0]
	static := false
	for _, e := range c.Env {
		if e.Name == "TRADEFLOW_GROUP_INSTANCE_ID" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			static = true
		}
	}
	if !static {
		t.Error("TRADEFLOW_GROUP_INSTANCE_ID is not the pod's name")
	}
	if env["TRADEFLOW_STATE_STORE"] != "leveldb" || env["TRADEFLOW_COUNT"] != "hop" {
		t.Errorf("TRADEFLOW_STATE_STORE %q, TRADEFLOW_COUNT %q; a persistent volume is for the count group's table in leveldb", env["TRADEFLOW_STATE_STORE"], env["TRADEFLOW_COUNT"])
	}
	claims := map[string]bool{}
	for _, pvc := range o.stateful.Spec.VolumeClaimTemplates {
		claims[pvc.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == env["TRADEFLOW_DATA_DIR"] && claims[m.Name] {
			return
		}
	}
	t.Errorf("TRADEFLOW_DATA_DIR %s is not on a volumeClaimTemplate", env["TRADEFLOW_DATA_DIR"])
}
