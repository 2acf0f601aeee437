package kclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/xdg-go/scram"
)

// SASL mechanisms both clients speak.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Secret is a value that is never printed: %v, %s, %q and %#v all show
// <set> or <unset>, so a Config in a log line or an error keeps it.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return "<unset>"
	}
	return "<set>"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// Reveal returns the value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// SASL is how clients authenticate; a zero Mechanism is none.
type SASL struct {
	Mechanism string
	Username  string
	Password  Secret
}

// Validate reports an unknown mechanism or missing credentials.
func (s SASL) Validate() error {
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" {
			return errors.New("a SASL username or password is set without a mechanism")
		}
		return nil
	case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
	default:
		return fmt.Errorf("SASL mechanism %q: want %s, %s or %s", s.Mechanism, MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512)
	}
	if s.Username == "" || s.Password == "" {
		return fmt.Errorf("SASL %s needs a username and a password", s.Mechanism)
	}
	return nil
}

// TLSFiles say how clients speak TLS: with the CA in CAFile (else the
// system roots), a client certificate for mTLS, the name to verify.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
	ServerName                string
	InsecureSkipVerify        bool
}

// LoadTLS reads the files and returns the TLS configuration every client
// uses. Errors name the file at fault.
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f.CAFile)
		}
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("a client certificate needs both the cert file and the key file")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s / key %s: %w", f.CertFile, f.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ReadSecretFile reads a mounted secret: the file's content without one
// trailing newline.
func ReadSecretFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	return Secret(s), nil
}

// applySarama puts TLS and SASL into a sarama configuration.
func (c Config) applySarama(s *sarama.Config) {
	if c.TLS != nil {
		s.Net.TLS.Enable = true
		s.Net.TLS.Config = c.TLS.Clone()
	}
	if c.SASL.Mechanism == "" {
		return
	}
	s.Net.SASL.Enable = true
	s.Net.SASL.Handshake = true
	s.Net.SASL.User = c.SASL.Username
	s.Net.SASL.Password = c.SASL.Password.Reveal()
	switch c.SASL.Mechanism {
	case MechanismPlain:
		s.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case MechanismSCRAMSHA256:
		s.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		s.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case MechanismSCRAMSHA512:
		s.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		s.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	}
}

// franzSecurity is TLS and SASL as franz-go options.
func (c Config) franzSecurity() []kgo.Opt {
	var opts []kgo.Opt
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS.Clone()))
	}
	if m := c.franzMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

func (c Config) franzMechanism() sasl.Mechanism {
	user, pass := c.SASL.Username, c.SASL.Password.Reveal()
	switch c.SASL.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case MechanismSCRAMSHA256:
		return kscram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case MechanismSCRAMSHA512:
		return kscram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	return nil
}

// scramClient is sarama's SCRAM conversation on xdg-go/scram (sarama
// leaves the SCRAM client to the caller: Net.SASL.SCRAMClientGeneratorFunc).
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	c, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramClient) Done() bool                            { return s.conv.Done() }
