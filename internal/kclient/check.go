package kclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Check connects to the seed brokers once with each client's own dialer
// (franz-go's, then sarama's), authenticating as configured, before goka
// starts: sarama alone retries a wrong password or a TLS mismatch for tens
// of seconds and then reports only "run out of available brokers". It
// returns nil once one seed works for both clients, else one line per
// seed naming the address, the security in use and the likely cause.
func (c Config) Check(ctx context.Context, brokers []string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var errs []string
	for _, addr := range brokers {
		err := c.checkFranz(ctx, addr)
		if err == nil {
			err = c.checkSarama(ctx, addr)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Sprintf("broker %s (%s): %s", addr, c.security(), c.cause(err)))
	}
	return errors.New("cannot connect to Kafka: " + strings.Join(errs, "; "))
}

// security names the security in use, for messages: no secret in it.
func (c Config) security() string {
	var parts []string
	if c.SASL.Mechanism != "" {
		parts = append(parts, "SASL "+c.SASL.Mechanism)
	}
	if c.TLS != nil {
		parts = append(parts, "TLS")
	}
	if len(parts) == 0 {
		return "plaintext, no SASL"
	}
	return strings.Join(parts, " over ")
}

// checkFranz pings addr with franz-go, dialing TLS itself so that a
// handshake nobody answers fails in 4 s, and noting the last request sent:
// a broker that drops the connection in the middle of SASL refused the
// credentials (kfake closes at once; Kafka answers
// SASL_AUTHENTICATION_FAILED first).
func (c Config) checkFranz(ctx context.Context, addr string) error {
	var sent lastRequest
	check := c.WithClientID(c.ClientID + "-check")
	check.TLS = nil // dialed below
	opts := append(check.Franz([]string{addr}), kgo.WithHooks(&sent))
	if c.TLS != nil {
		opts = append(opts, kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			return dialTLS(ctx, network, host, c.TLS)
		}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	err = cl.Ping(ctx)
	if err != nil && sent.inSASL() && !errors.Is(err, kerr.SaslAuthenticationFailed) && !errors.Is(err, kerr.UnsupportedSaslMechanism) {
		return &saslRefused{err}
	}
	return err
}

// dialTLS dials host and completes a TLS handshake within 4 s.
func dialTLS(ctx context.Context, network, host string, cfg *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	raw, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			cfg.ServerName = h
		}
	}
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, &handshakeError{err}
	}
	return conn, nil
}

// handshakeError is a TLS handshake that failed.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// saslRefused is a connection the broker dropped during SASL.
type saslRefused struct{ err error }

func (e *saslRefused) Error() string {
	return "connection dropped during SASL authentication: " + e.err.Error()
}
func (e *saslRefused) Unwrap() error { return e.err }

// lastRequest is a franz-go hook that keeps the key of the last request
// written.
type lastRequest struct {
	mu  sync.Mutex
	key int16
}

func (l *lastRequest) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	l.mu.Lock()
	l.key = key
	l.mu.Unlock()
}

func (l *lastRequest) inSASL() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.key == kmsg.SASLHandshake.Int16() || l.key == kmsg.SASLAuthenticate.Int16()
}

func (c Config) checkSarama(ctx context.Context, addr string) error {
	cfg := c.WithClientID(c.ClientID + "-check").Sarama()
	deadline, _ := ctx.Deadline()
	cfg.Net.DialTimeout = time.Until(deadline)
	b := sarama.NewBroker(addr)
	if err := b.Open(cfg); err != nil {
		return err
	}
	defer b.Close()
	if ok, err := b.Connected(); err != nil || !ok {
		if err == nil {
			err = sarama.ErrNotConnected
		}
		return err
	}
	_, err := b.GetMetadata(&sarama.MetadataRequest{Version: 1})
	return err
}

// cause says in a few words what err most likely means for a client with
// c's security: what a user should look at first. The error's own text
// follows it.
func (c Config) cause(err error) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	var firstEOF *kgo.ErrFirstReadEOF
	var dns *net.DNSError
	var refused *saslRefused
	var handshake *handshakeError
	cause := ""
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, sarama.ErrSASLAuthenticationFailed), errors.As(err, &refused):
		cause = "authentication failed: wrong username or password, or no such user for " + c.SASL.Mechanism
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, sarama.ErrUnsupportedSASLMechanism):
		cause = "the broker does not accept SASL " + c.SASL.Mechanism + " on this listener"
	case errors.Is(err, kerr.IllegalSaslState), errors.Is(err, sarama.ErrIllegalSASLState):
		cause = "the broker does not expect SASL on this listener"
	case errors.As(err, &unknownCA):
		cause = "certificate signed by unknown authority: set the CA that signed the broker's certificate (TRADEFLOW_TLS_CA_FILE)"
	case errors.As(err, &hostname):
		cause = "the broker's certificate is not for this name (TRADEFLOW_TLS_SERVER_NAME)"
	case errors.As(err, &invalid):
		cause = "the broker's certificate is not valid"
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"), strings.Contains(err.Error(), "unknown certificate authority"):
		cause = "the broker refused the client certificate, or wants one (TRADEFLOW_TLS_CERT_FILE, TRADEFLOW_TLS_KEY_FILE)"
	case errors.As(err, &handshake) && (isTimeout(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		cause = "the broker does not speak TLS on this port: TLS to a plaintext listener?"
	case errors.As(err, &header):
		cause = "the broker does not speak TLS on this port: TLS to a plaintext listener"
	case errors.As(err, &dns):
		cause = "broker unreachable: its host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "broker unreachable: connection refused"
	case isTimeout(err):
		cause = "broker unreachable: no answer in time"
	case errors.As(err, &firstEOF), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		switch {
		case c.TLS != nil:
			cause = "the broker closed the connection: it does not speak TLS on this port (TLS to a plaintext listener?)"
		case c.SASL.Mechanism == "":
			cause = "the broker closed the connection: the listener may require TLS (broker speaks TLS?) or SASL"
		default:
			cause = "the broker closed the connection: the listener may require TLS (broker speaks TLS?)"
		}
	case strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), "invalid length"):
		cause = "the broker answered with something that is not Kafka: the listener may require TLS (broker speaks TLS?)"
	default:
		cause = "connection failed"
	}
	return cause + " (" + err.Error() + ")"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
