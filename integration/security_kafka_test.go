package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/tradeflow/tradeflow/internal/testcert"
)

// A real Apache Kafka (interop/kafka, its own instance) with a SCRAM-SHA-512
// listener, whose user is made with the Admin API's
// AlterUserScramCredentials, and a SASL_SSL + PLAIN listener behind a
// certificate of a CA the test makes. Workers with the right settings count
// exactly; a wrong password and a missing CA stop them within 15 s with
// one line naming the broker and the cause; no output holds a secret. It
// runs in the real-Kafka pass of the suite (TRADEFLOW_TEST_BROKERS set),
// where interop/kafka's jars are resolved.
func TestSecurityKafka(t *testing.T) {
	if externalBrokers() == "" {
		t.Skip("runs in the real-Kafka pass (make test-kafka); the embedded broker's security is TestSecurityEmbedded")
	}
	requireTool(t, "java")
	dir := t.TempDir()
	ca, err := testcert.NewCA("tradeflow kafka test CA")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue("kafka", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	key, err := pair.KeyPKCS8PEM()
	if err != nil {
		t.Fatal(err)
	}
	keystore := filepath.Join(dir, "kafka-keystore.pem")
	caFile := filepath.Join(dir, "ca.pem")
	for path, b := range map[string][]byte{keystore: append(key, pair.CertPEM...), caFile: ca.PEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plainPort, cport, scramPort, sslPort := lowFreePort(t), lowFreePort(t), lowFreePort(t), lowFreePort(t)
	extra := strings.Join([]string{
		"listeners=PLAINTEXT://127.0.0.1:" + plainPort + ",CONTROLLER://127.0.0.1:" + cport + ",SCRAM://127.0.0.1:" + scramPort + ",SASLSSL://127.0.0.1:" + sslPort,
		"advertised.listeners=PLAINTEXT://127.0.0.1:" + plainPort + ",CONTROLLER://127.0.0.1:" + cport + ",SCRAM://127.0.0.1:" + scramPort + ",SASLSSL://127.0.0.1:" + sslPort,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SCRAM:SASL_PLAINTEXT,SASLSSL:SASL_SSL",
		"listener.name.scram.sasl.enabled.mechanisms=SCRAM-SHA-512",
		"listener.name.scram.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.saslssl.sasl.enabled.mechanisms=PLAIN",
		`listener.name.saslssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_` + secUser + `="` + secPassword + `";`,
		"listener.name.saslssl.ssl.keystore.type=PEM",
		"listener.name.saslssl.ssl.keystore.location=" + keystore,
	}, "\n")
	kafkaDir := filepath.Join(dir, "kafka")
	env := append(os.Environ(), "KAFKA_DIR="+kafkaDir, "KAFKA_PORT="+plainPort, "KAFKA_CONTROLLER_PORT="+cport,
		"KAFKA_HEAP_OPTS=-Xmx512m -Xms512m", "KAFKA_EXTRA_CONFIG="+extra)
	script := func(name string) {
		t.Helper()
		cmd := exec.Command(repoPath("interop", "kafka", name))
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	script("kafka-up.sh")
	t.Cleanup(func() { script("kafka-down.sh") })

	plain := clientFor(t, "127.0.0.1:"+plainPort)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The SCRAM user, made with the Admin API (AlterUserScramCredentials).
	res, err := plain.Admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: secUser, Mechanism: kadm.ScramSha512, Iterations: 8192, Password: secPassword}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create the SCRAM user: %v", err)
	}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(secPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	scram := "127.0.0.1:" + scramPort
	sasslSSL := "127.0.0.1:" + sslPort
	good := []struct {
		name, broker string
		env          []string
	}{
		{"SCRAM-SHA-512, password from a file", scram, []string{"TRADEFLOW_SASL_MECHANISM=SCRAM-SHA-512", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD_FILE=" + pwFile}},
		{"SASL_SSL PLAIN, password from the variable", sasslSSL, []string{"TRADEFLOW_SASL_MECHANISM=PLAIN", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD=" + secPassword,
			"TRADEFLOW_TLS_ENABLED=true", "TRADEFLOW_TLS_CA_FILE=" + caFile}},
	}
	for i, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			// A client of its own: one that saw the topics before they
			// were deleted and made again holds their old topic IDs.
			c := clientFor(t, plain.Brokers)
			c.clean(t)
			c.createTopic(t, "stocktrade", 6, nil)
			c.createTopic(t, "users", 3, nil)
			w := newWorkload(uint64(60+i), 1500)
			c.produce(t, w.Users...)
			c.produce(t, w.Trades...)
			secured := &cluster{Brokers: tc.broker}
			wk := secured.startWorker(t, t.TempDir(), append([]string{"TRADEFLOW_FLAG_RATE=0"}, tc.env...)...)
			took := awaitCounts(t, wk.HTTP, w.Truth, 90*time.Second)
			t.Logf("%d trades in %d windows over %s: counts exact %v after ready", len(w.Trades), len(w.Truth), tc.broker, took.Round(time.Millisecond))
			wk.stop()
			b, _ := os.ReadFile(wk.log)
			outputs = append(outputs, string(b))
		})
	}
	wrong := []struct {
		name, broker string
		env          []string
		cause        string
	}{
		{"wrong SCRAM password", scram, []string{"TRADEFLOW_SASL_MECHANISM=SCRAM-SHA-512", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD=not-" + secPassword}, "authentication failed"},
		{"wrong PLAIN password over TLS", sasslSSL, []string{"TRADEFLOW_SASL_MECHANISM=PLAIN", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD=not-" + secPassword,
			"TRADEFLOW_TLS_ENABLED=true", "TRADEFLOW_TLS_CA_FILE=" + caFile}, "authentication failed"},
		{"missing CA", sasslSSL, []string{"TRADEFLOW_SASL_MECHANISM=PLAIN", "TRADEFLOW_SASL_USERNAME=" + secUser, "TRADEFLOW_SASL_PASSWORD_FILE=" + pwFile,
			"TRADEFLOW_TLS_ENABLED=true"}, "certificate signed by unknown authority"},
	}
	for _, tc := range wrong {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, "worker", append([]string{"TRADEFLOW_BROKERS=" + tc.broker, "TRADEFLOW_HTTP_ADDR=" + freeAddr(t), "TRADEFLOW_DATA_DIR=" + t.TempDir()}, tc.env...)...)
			outputs = append(outputs, string(failsFast(t, p, tc.broker, tc.cause)))
		})
	}
	for i, o := range outputs {
		if strings.Contains(o, secPassword) {
			t.Errorf("output %d contains the password", i)
		}
	}
	t.Logf("no secret in %d worker logs", len(outputs))
}
