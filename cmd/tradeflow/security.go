package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/tradeflow/tradeflow/broker"
	"github.com/tradeflow/tradeflow/internal/kclient"
)

// Security is the settings of Kafka security (every client), of the
// embedded broker's own, and of the HTTP server. Secrets are
// kclient.Secret: they print as <set> or <unset>, never as themselves.
type Security struct {
	SASLMechanism     string         `envconfig:"SASL_MECHANISM" desc:"SASL mechanism of every Kafka client: empty (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"`
	SASLUsername      string         `envconfig:"SASL_USERNAME" desc:"SASL username (Confluent Cloud: the API key)"`
	SASLPassword      kclient.Secret `envconfig:"SASL_PASSWORD" desc:"SASL password (Confluent Cloud: the API secret); TRADEFLOW_SASL_PASSWORD_FILE wins"`
	SASLPasswordFile  string         `envconfig:"SASL_PASSWORD_FILE" desc:"file holding the SASL password (a mounted Secret); one trailing newline is stripped"`
	TLSEnabled        bool           `envconfig:"TLS_ENABLED" default:"false" desc:"Kafka clients speak TLS"`
	TLSCAFile         string         `envconfig:"TLS_CA_FILE" desc:"PEM CA bundle that signed the brokers' certificates; empty = the system roots"`
	TLSCertFile       string         `envconfig:"TLS_CERT_FILE" desc:"PEM client certificate for mTLS (with TRADEFLOW_TLS_KEY_FILE)"`
	TLSKeyFile        string         `envconfig:"TLS_KEY_FILE" desc:"PEM key of the client certificate"`
	TLSServerName     string         `envconfig:"TLS_SERVER_NAME" desc:"name to verify the brokers' certificates against; empty = the broker's host"`
	TLSInsecure       bool           `envconfig:"TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"do not verify the brokers' certificates (logged as a warning; for tests only)"`
	EmbeddedMechanism string         `envconfig:"EMBEDDED_SASL_MECHANISM" desc:"the embedded broker requires SASL with this mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); empty = none"`
	EmbeddedUsername  string         `envconfig:"EMBEDDED_SASL_USERNAME" desc:"the embedded broker's SASL user"`
	EmbeddedPassword  kclient.Secret `envconfig:"EMBEDDED_SASL_PASSWORD" desc:"the embedded broker's SASL password; TRADEFLOW_EMBEDDED_SASL_PASSWORD_FILE wins"`
	EmbeddedPassFile  string         `envconfig:"EMBEDDED_SASL_PASSWORD_FILE" desc:"file holding the embedded broker's SASL password"`
	EmbeddedTLSCert   string         `envconfig:"EMBEDDED_TLS_CERT_FILE" desc:"the embedded broker speaks only TLS, with this PEM certificate (and TRADEFLOW_EMBEDDED_TLS_KEY_FILE)"`
	EmbeddedTLSKey    string         `envconfig:"EMBEDDED_TLS_KEY_FILE" desc:"PEM key of the embedded broker's certificate"`
	EmbeddedTLSCA     string         `envconfig:"EMBEDDED_TLS_CLIENT_CA_FILE" desc:"the embedded broker requires client certificates signed by this PEM CA (mTLS)"`
	HTTPTLSCertFile   string         `envconfig:"HTTP_TLS_CERT_FILE" desc:"serve HTTPS with this PEM certificate (and TRADEFLOW_HTTP_TLS_KEY_FILE)"`
	HTTPTLSKeyFile    string         `envconfig:"HTTP_TLS_KEY_FILE" desc:"PEM key of the HTTPS certificate"`
	HTTPToken         kclient.Secret `envconfig:"HTTP_TOKEN" desc:"the query API (/v1/...) requires Authorization: Bearer <token>; /metrics, /healthz, /readyz stay open; TRADEFLOW_HTTP_TOKEN_FILE wins"`
	HTTPTokenFile     string         `envconfig:"HTTP_TOKEN_FILE" desc:"file holding the HTTP token"`

	// Loaded by resolve: the client TLS configuration, the embedded
	// broker's users and TLS.
	clientTLS   *tls.Config
	brokerUsers []broker.User
	brokerTLS   *tls.Config
}

// resolve reads the files the settings name; errors name the variable.
func (s *Security) resolve() error {
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", env(name), err)) }
	secret := func(name string, v *kclient.Secret, file string) {
		if file == "" {
			return
		}
		got, err := kclient.ReadSecretFile(file)
		if err != nil {
			bad(name, err)
			return
		}
		*v = got
	}
	secret("SASL_PASSWORD_FILE", &s.SASLPassword, s.SASLPasswordFile)
	secret("EMBEDDED_SASL_PASSWORD_FILE", &s.EmbeddedPassword, s.EmbeddedPassFile)
	secret("HTTP_TOKEN_FILE", &s.HTTPToken, s.HTTPTokenFile)
	if err := s.sasl().Validate(); err != nil {
		bad("SASL_MECHANISM", err)
	}
	tlsFiles := s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != "" || s.TLSInsecure
	switch {
	case s.TLSEnabled:
		c, err := kclient.LoadTLS(kclient.TLSFiles{CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile,
			ServerName: s.TLSServerName, InsecureSkipVerify: s.TLSInsecure})
		if err != nil {
			bad("TLS_CA_FILE, TLS_CERT_FILE or TLS_KEY_FILE", err)
		}
		s.clientTLS = c
	case tlsFiles:
		bad("TLS_ENABLED", errors.New("TLS settings are given but TLS is not enabled"))
	}
	if s.EmbeddedMechanism != "" || s.EmbeddedUsername != "" || s.EmbeddedPassword != "" {
		// One of the three is set, so an empty mechanism fails too.
		if err := (kclient.SASL{Mechanism: s.EmbeddedMechanism, Username: s.EmbeddedUsername, Password: s.EmbeddedPassword}).Validate(); err != nil {
			bad("EMBEDDED_SASL_MECHANISM", err)
		}
		s.brokerUsers = []broker.User{{Mechanism: s.EmbeddedMechanism, Name: s.EmbeddedUsername, Password: s.EmbeddedPassword.Reveal()}}
	}
	if s.EmbeddedTLSCert != "" || s.EmbeddedTLSKey != "" || s.EmbeddedTLSCA != "" {
		c, err := serverTLS(s.EmbeddedTLSCert, s.EmbeddedTLSKey, s.EmbeddedTLSCA)
		if err != nil {
			bad("EMBEDDED_TLS_CERT_FILE", err)
		}
		s.brokerTLS = c
	}
	if (s.HTTPTLSCertFile == "") != (s.HTTPTLSKeyFile == "") {
		bad("HTTP_TLS_CERT_FILE", errors.New("HTTPS needs both TRADEFLOW_HTTP_TLS_CERT_FILE and TRADEFLOW_HTTP_TLS_KEY_FILE"))
	}
	return errors.Join(errs...)
}

func (s *Security) sasl() kclient.SASL {
	return kclient.SASL{Mechanism: s.SASLMechanism, Username: s.SASLUsername, Password: s.SASLPassword}
}

// warn logs what weakens security.
func (s *Security) warn(log *slog.Logger) {
	if s.TLSInsecure {
		log.Warn("TRADEFLOW_TLS_INSECURE_SKIP_VERIFY is set: the brokers' certificates are not verified, so anyone on the path can read and change the traffic")
	}
	if s.SASLMechanism == kclient.MechanismPlain && !s.TLSEnabled {
		log.Warn("SASL PLAIN without TLS sends the password in the clear", "setting", env("TLS_ENABLED"))
	}
}

// serverTLS is a listener's TLS configuration: its certificate, and the CA
// its clients' certificates must be signed by, when one is given.
func serverTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("a TLS listener needs both a certificate file and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate %s / key %s: %w", certFile, keyFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA file: %w", err)
		}
		c.ClientCAs = x509.NewCertPool()
		if !c.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no PEM certificate", clientCAFile)
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}
