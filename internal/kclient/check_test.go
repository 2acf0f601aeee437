package kclient

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/tradeflow/tradeflow/broker"
	"github.com/tradeflow/tradeflow/internal/testcert"
)

const (
	testUser     = "tradeflow"
	testPassword = "s3cret-Pa55word"
)

// startBroker starts an embedded broker with o's security on a free
// loopback port.
func startBroker(tb testing.TB, o broker.Options) string {
	tb.Helper()
	o.Addr = "127.0.0.1:0"
	b, err := broker.Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b.Addr()
}

func serverTLS(tb testing.TB, ca *testcert.CA, clientAuth tls.ClientAuthType) *tls.Config {
	tb.Helper()
	p, err := ca.Issue("broker", "127.0.0.1", "localhost")
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := p.TLS()
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: clientAuth, ClientCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
}

// Check connects with the right settings, and names the likely cause of
// each wrong one within 15 s, without the password in its message.
func TestCheck(t *testing.T) {
	ca, err := testcert.NewCA("tradeflow test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := client.TLS()
	if err != nil {
		t.Fatal(err)
	}
	users := func(mech string) []broker.User {
		return []broker.User{{Mechanism: mech, Name: testUser, Password: testPassword}}
	}
	plaintext := startBroker(t, broker.Options{})
	scram512 := startBroker(t, broker.Options{Users: users(MechanismSCRAMSHA512)})
	scram256 := startBroker(t, broker.Options{Users: users(MechanismSCRAMSHA256)})
	plain := startBroker(t, broker.Options{Users: users(MechanismPlain)})
	tlsOnly := startBroker(t, broker.Options{TLS: serverTLS(t, ca, tls.NoClientCert)})
	mtls := startBroker(t, broker.Options{TLS: serverTLS(t, ca, tls.RequireAndVerifyClientCert)})
	saslSSL := startBroker(t, broker.Options{Users: users(MechanismPlain), TLS: serverTLS(t, ca, tls.NoClientCert)})

	trusted := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	withCert := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}
	untrusted := &tls.Config{RootCAs: other.Pool(), MinVersion: tls.VersionTLS12}
	auth := func(mech, pass string) SASL { return SASL{Mechanism: mech, Username: testUser, Password: Secret(pass)} }

	cases := []struct {
		name   string
		addr   string
		cfg    Config
		reason string // "" = connects
	}{
		{"plaintext", plaintext, Config{}, ""},
		{"SCRAM-SHA-512", scram512, Config{SASL: auth(MechanismSCRAMSHA512, testPassword)}, ""},
		{"SCRAM-SHA-256", scram256, Config{SASL: auth(MechanismSCRAMSHA256, testPassword)}, ""},
		{"PLAIN", plain, Config{SASL: auth(MechanismPlain, testPassword)}, ""},
		{"TLS", tlsOnly, Config{TLS: trusted}, ""},
		{"mTLS", mtls, Config{TLS: withCert}, ""},
		{"SASL_SSL PLAIN", saslSSL, Config{TLS: trusted, SASL: auth(MechanismPlain, testPassword)}, ""},
		{"wrong SCRAM password", scram512, Config{SASL: auth(MechanismSCRAMSHA512, "wrong-"+testPassword)}, "authentication failed"},
		{"wrong PLAIN password", plain, Config{SASL: auth(MechanismPlain, "wrong-"+testPassword)}, "authentication failed"},
		{"wrong mechanism", scram512, Config{SASL: auth(MechanismSCRAMSHA256, testPassword)}, "authentication failed"},
		{"no SASL where it is required", scram512, Config{}, "closed the connection"},
		{"TLS to a plaintext port", plaintext, Config{TLS: trusted}, "does not speak TLS"},
		{"plaintext to a TLS port", tlsOnly, Config{}, "TLS"},
		{"unknown CA", tlsOnly, Config{TLS: untrusted}, "certificate signed by unknown authority"},
		{"no client certificate for mTLS", mtls, Config{TLS: trusted}, "client certificate"},
		{"unreachable", "127.0.0.1:1", Config{}, "unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.cfg.Check(context.Background(), []string{tc.addr}, 12*time.Second)
			took := time.Since(start)
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.reason != "" && err == nil:
				t.Fatal("Check connected, want a failure")
			case tc.reason != "" && !strings.Contains(err.Error(), tc.reason):
				t.Errorf("Check: %v\nwant the cause %q", err, tc.reason)
			}
			if err != nil && (!strings.Contains(err.Error(), tc.addr) || strings.Contains(err.Error(), testPassword)) {
				t.Errorf("the message must name the broker and never the password: %v", err)
			}
			if took > 15*time.Second {
				t.Errorf("took %v, want the failure within 15 s", took)
			}
			t.Logf("%v: %v", took.Round(time.Millisecond), err)
		})
	}
}
