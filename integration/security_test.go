package integration

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/testcert"
)

// Secrets of the security tests: no output of theirs may contain them.
const (
	secPassword = "Sc0pe-Of-Secret-9f2"
	secToken    = "http-T0ken-77a1c"
	secUser     = "tradeflow-app"
)

// secureEnv is the files and settings of one security test run.
type secureEnv struct {
	dir                           string
	caFile, brokerCert, brokerKey string
	clientCert, clientKey         string
	otherCA                       string
	outputs                       map[string][]byte // every process's log, kept when its test ends
	paths                         []string
}

// keep reads the log at path when tb ends, before its temp dir goes.
func (e *secureEnv) keep(tb testing.TB, path string) {
	e.paths = append(e.paths, path)
	tb.Cleanup(func() {
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Errorf("keep log: %v", err)
		}
		e.outputs[path] = b
	})
}

func newSecureEnv(tb testing.TB) *secureEnv {
	tb.Helper()
	e := &secureEnv{dir: tb.TempDir(), outputs: map[string][]byte{}}
	ca, err := testcert.NewCA("tradeflow test CA")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range []string{"broker", "client"} {
		p, err := ca.Issue(name, "127.0.0.1", "localhost")
		if err != nil {
			tb.Fatal(err)
		}
		caFile, cert, key, err := testcert.Files(e.dir, name, ca, p)
		if err != nil {
			tb.Fatal(err)
		}
		e.caFile = caFile
		if name == "broker" {
			e.brokerCert, e.brokerKey = cert, key
		} else {
			e.clientCert, e.clientKey = cert, key
		}
	}
	other, err := testcert.NewCA("another CA")
	if err != nil {
		tb.Fatal(err)
	}
	e.otherCA = filepath.Join(e.dir, "other-ca.pem")
	if err := os.WriteFile(e.otherCA, other.PEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return e
}

// file writes content to a file of the env and returns its path.
func (e *secureEnv) file(tb testing.TB, name, content string) string {
	tb.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// broker starts `tradeflow broker` with env and returns its address.
func (e *secureEnv) broker(tb testing.TB, env ...string) string {
	tb.Helper()
	addr := freeAddr(tb)
	p := start(tb, "broker", append([]string{"TRADEFLOW_EMBEDDED_ADDR=" + addr, "TRADEFLOW_DATA_DIR=" + tb.TempDir()}, env...)...)
	e.keep(tb, p.log)
	waitPort(tb, addr)
	return addr
}

// secureCluster connects the test's own clients with kc's security.
func secureCluster(tb testing.TB, brokers string, kc kclient.Config) *cluster {
	tb.Helper()
	cl, err := kgo.NewClient(append(kc.Franz(strings.Split(brokers, ",")), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2*time.Millisecond))...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return &cluster{Brokers: brokers, Admin: kadm.NewClient(cl), Client: cl}
}

// The embedded broker enforcing each SASL mechanism, TLS, mTLS and
// SASL_SSL: workers with the right settings (the password from a file or
// from the variable) become ready and count exactly; every wrong setting
// stops a worker within 15 s with one line naming the broker and the
// cause; no output holds a secret.
func TestSecurityEmbedded(t *testing.T) {
	if externalBrokers() != "" {
		t.Skip("the embedded broker's security; real Kafka's is TestSecurityKafka")
	}
	e := newSecureEnv(t)
	pwFile := e.file(t, "password", secPassword+"\n") // a mounted Secret ends in a newline
	brokerTLS := []string{"TRADEFLOW_EMBEDDED_TLS_CERT_FILE=" + e.brokerCert, "TRADEFLOW_EMBEDDED_TLS_KEY_FILE=" + e.brokerKey}
	clientTLS := []string{"TRADEFLOW_TLS_ENABLED=true", "TRADEFLOW_TLS_CA_FILE=" + e.caFile}
	user := func(mech string) []string {
		return []string{"TRADEFLOW_EMBEDDED_SASL_MECHANISM=" + mech, "TRADEFLOW_EMBEDDED_SASL_USERNAME=" + secUser, "TRADEFLOW_EMBEDDED_SASL_PASSWORD=" + secPassword}
	}
	auth := func(mech string, fromFile bool) []string {
		env := []string{"TRADEFLOW_SASL_MECHANISM=" + mech, "TRADEFLOW_SASL_USERNAME=" + secUser}
		if fromFile {
			return append(env, "TRADEFLOW_SASL_PASSWORD_FILE="+pwFile)
		}
		return append(env, "TRADEFLOW_SASL_PASSWORD="+secPassword)
	}
	caPool := func() *tls.Config {
		c, err := kclient.LoadTLS(kclient.TLSFiles{CAFile: e.caFile, CertFile: e.clientCert, KeyFile: e.clientKey})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := []struct {
		name   string
		broker []string
		worker []string
		kc     kclient.Config
	}{
		{"SCRAM-SHA-512, password from a file", user("SCRAM-SHA-512"), auth("SCRAM-SHA-512", true),
			kclient.Config{SASL: kclient.SASL{Mechanism: "SCRAM-SHA-512", Username: secUser, Password: secPassword}}},
		{"SCRAM-SHA-256, password from the variable", user("SCRAM-SHA-256"), auth("SCRAM-SHA-256", false),
			kclient.Config{SASL: kclient.SASL{Mechanism: "SCRAM-SHA-256", Username: secUser, Password: secPassword}}},
		{"PLAIN", user("PLAIN"), auth("PLAIN", false),
			kclient.Config{SASL: kclient.SASL{Mechanism: "PLAIN", Username: secUser, Password: secPassword}}},
		{"TLS", brokerTLS, clientTLS, kclient.Config{TLS: caPool()}},
		{"mTLS", append(append([]string{}, brokerTLS...), "TRADEFLOW_EMBEDDED_TLS_CLIENT_CA_FILE="+e.caFile),
			append(append([]string{}, clientTLS...), "TRADEFLOW_TLS_CERT_FILE="+e.clientCert, "TRADEFLOW_TLS_KEY_FILE="+e.clientKey),
			kclient.Config{TLS: caPool()}},
		{"SASL_SSL PLAIN", append(user("PLAIN"), brokerTLS...), append(auth("PLAIN", true), clientTLS...),
			kclient.Config{TLS: caPool(), SASL: kclient.SASL{Mechanism: "PLAIN", Username: secUser, Password: secPassword}}},
	}
	for i, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			addr := e.broker(t, tc.broker...)
			c := secureCluster(t, addr, tc.kc)
			c.createTopic(t, "stocktrade", 6, nil)
			c.createTopic(t, "users", 3, nil)
			w := newWorkload(uint64(40+i), 1500)
			c.produce(t, w.Users...)
			c.produce(t, w.Trades...)
			wk := c.startWorker(t, t.TempDir(), append([]string{"TRADEFLOW_FLAG_RATE=0"}, tc.worker...)...)
			e.keep(t, wk.log)
			took := awaitCounts(t, wk.HTTP, w.Truth, 90*time.Second)
			t.Logf("%d trades in %d windows: counts exact %v after ready", len(w.Trades), len(w.Truth), took.Round(time.Millisecond))
			wk.stop()
		})
	}

	scram := e.broker(t, user("SCRAM-SHA-512")...)
	tlsBroker := e.broker(t, brokerTLS...)
	mtlsBroker := e.broker(t, append(append([]string{}, brokerTLS...), "TRADEFLOW_EMBEDDED_TLS_CLIENT_CA_FILE="+e.caFile)...)
	plaintext := e.broker(t)
	wrong := []struct {
		name   string
		broker string
		env    []string
		cause  string
	}{
		{"wrong password", scram, []string{"TRADEFLOW_SASL_MECHANISM=SCRAM-SHA-512", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD=not-" + secPassword}, "authentication failed"},
		{"wrong mechanism", scram, auth("SCRAM-SHA-256", true), "authentication failed"},
		{"no SASL where it is required", scram, nil, "SASL"},
		{"missing CA (system roots)", tlsBroker, []string{"TRADEFLOW_TLS_ENABLED=true"}, "certificate signed by unknown authority"},
		{"another CA", tlsBroker, []string{"TRADEFLOW_TLS_ENABLED=true", "TRADEFLOW_TLS_CA_FILE=" + e.otherCA}, "certificate signed by unknown authority"},
		{"no client certificate for mTLS", mtlsBroker, clientTLS, "client certificate"},
		{"TLS to a plaintext port", plaintext, clientTLS, "does not speak TLS"},
		{"plaintext to a TLS port", tlsBroker, nil, "TLS"},
		{"unreachable broker", "127.0.0.1:1", nil, "unreachable"},
	}
	for _, tc := range wrong {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"TRADEFLOW_BROKERS=" + tc.broker, "TRADEFLOW_HTTP_ADDR=" + freeAddr(t), "TRADEFLOW_DATA_DIR=" + t.TempDir()}, tc.env...)
			p := start(t, "worker", env...)
			e.keep(t, p.log)
			failsFast(t, p, tc.broker, tc.cause)
		})
	}

	// HTTPS with a bearer token on the query API.
	t.Run("HTTPS and token", func(t *testing.T) {
		addr := e.broker(t)
		httpAddr := freeAddr(t)
		tokenFile := e.file(t, "token", secToken+"\n")
		p := start(t, "worker", "TRADEFLOW_BROKERS="+addr, "TRADEFLOW_HTTP_ADDR="+httpAddr, "TRADEFLOW_DATA_DIR="+t.TempDir(),
			"TRADEFLOW_REPLICATION=1", "TRADEFLOW_HTTP_TLS_CERT_FILE="+e.brokerCert, "TRADEFLOW_HTTP_TLS_KEY_FILE="+e.brokerKey,
			"TRADEFLOW_HTTP_TOKEN_FILE="+tokenFile)
		e.keep(t, p.log)
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: caPool()}, Timeout: 5 * time.Second}
		get := func(path, token string) int {
			req, _ := http.NewRequest(http.MethodGet, "https://"+httpAddr+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := cl.Do(req)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		deadline := time.Now().Add(90 * time.Second)
		for get("/readyz", "") != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatal("not ready over HTTPS within 90 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
		for path, want := range map[string]int{"/metrics": 200, "/healthz": 200} {
			if got := get(path, ""); got != want {
				t.Errorf("GET %s without a token: %d, want %d", path, got, want)
			}
		}
		if got := get("/v1/tables", ""); got != http.StatusUnauthorized {
			t.Errorf("GET /v1/tables without a token: %d, want 401", got)
		}
		if got := get("/v1/tables", secToken); got != http.StatusOK {
			t.Errorf("GET /v1/tables with the token: %d, want 200", got)
		}
		// ksqlDB's /query-stream over HTTPS, HTTP/2 by ALPN, with the
		// token as Basic auth's password (as the Python clients send it).
		h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: caPool(), ForceAttemptHTTP2: true}, Timeout: 5 * time.Second}
		req, _ := http.NewRequest(http.MethodPost, "https://"+httpAddr+"/query-stream",
			strings.NewReader(`{"sql":"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV';"}`))
		req.SetBasicAuth("anyone", secToken)
		if resp, err := h2.Do(req); err != nil {
			t.Errorf("POST /query-stream over HTTPS: %v", err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || !strings.Contains(string(body), `"columnNames":["SYMBOL","WINDOWSTART","WINDOWEND","NUM_COMPLETED"]`) {
				t.Errorf("POST /query-stream over HTTPS: %s %d %s, want HTTP/2 200 with a header", resp.Proto, resp.StatusCode, body)
			}
		}
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Error("plain HTTP answered 200 on the HTTPS port")
			}
		}
		p.stop()
	})

	// `tradeflow config` with every secret set.
	cmd := exec.Command(binary, "config")
	cmd.Env = append(os.Environ(), "TRADEFLOW_SASL_MECHANISM=SCRAM-SHA-512", "TRADEFLOW_SASL_USERNAME="+secUser,
		"TRADEFLOW_SASL_PASSWORD="+secPassword, "TRADEFLOW_HTTP_TOKEN="+secToken,
		"TRADEFLOW_EMBEDDED_SASL_MECHANISM=PLAIN", "TRADEFLOW_EMBEDDED_SASL_USERNAME="+secUser, "TRADEFLOW_EMBEDDED_SASL_PASSWORD="+secPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tradeflow config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "<set>") {
		t.Errorf("tradeflow config shows no <set>:\n%s", out)
	}
	outs := e.outputs
	outs["tradeflow config"] = out
	for _, path := range e.paths { // still running: the top-level brokers
		if b, err := os.ReadFile(path); err == nil {
			outs[path] = b
		}
	}
	for name, b := range outs {
		for _, s := range []string{secPassword, secToken} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains a secret", name)
			}
		}
	}
	t.Logf("no secret in %d outputs", len(outs))
}

// failsFast waits for p, a worker just started with a wrong setting, to
// exit non-zero within 15 s with an ERROR line naming broker and cause,
// and returns its log.
func failsFast(t *testing.T, p *proc, broker, cause string) []byte {
	t.Helper()
	began := time.Now()
	var err error
	select {
	case err = <-p.done:
		p.done <- err // for the cleanup's kill
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after start; want a clear error by then")
	}
	took := time.Since(began)
	b, _ := os.ReadFile(p.log)
	var last string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(l, "level=ERROR") {
			last = l
		}
	}
	if err == nil || !strings.Contains(last, broker) || !strings.Contains(last, cause) {
		t.Fatalf("exit %v after %v; want non-zero and an ERROR line naming %s and %q; log:\n%s", err, took, broker, cause, b)
	}
	t.Logf("exited after %v: %s", took.Round(time.Millisecond), last)
	return b
}
