// Package broker is the embedded Kafka-protocol broker (franz-go's kfake):
// one node on a TCP address, persisted under a data dir, so `tradeflow run`
// needs nothing installed and a second run continues where the first
// stopped.
package broker

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Options configure the embedded broker.
type Options struct {
	// Addr is the listen address, e.g. 127.0.0.1:9092 (port 0: any free).
	Addr string
	// Advertised is the address clients are told to connect to (Kafka's
	// advertised.listeners), e.g. a proxy in front of the broker; empty
	// advertises the listen address.
	Advertised string
	// DataDir holds the broker's log; empty keeps it in memory.
	DataDir string
	// Partitions for topics a client creates without a count.
	Partitions int
	// CompactEvery is how often compacted topics are cleaned; 0 means
	// hourly, kfake's default. kfake compacts on the goroutine that
	// serves every request, reading each compacted partition whole and
	// fsyncing what it rewrites: the broker answers nothing meanwhile
	// (about 10 s for 1M users and a 1,000-partition count changelog
	// here), so heartbeats stop and consumer groups can lose their
	// sessions. Kafka cleans in background threads, and only logs half
	// dirty.
	CompactEvery time.Duration
	// Users, when there are any, is who may connect: every client must
	// authenticate with SASL as one of them.
	Users []User
	// TLS, when set, is the only way to connect: the listener speaks TLS
	// (with ClientAuth set, clients need a certificate).
	TLS *tls.Config
}

// User is a SASL user of the embedded broker: Mechanism is PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512.
type User struct {
	Mechanism, Name, Password string
}

// Broker is a running embedded broker.
type Broker struct{ c *kfake.Cluster }

// Start listens on o.Addr and serves the Kafka protocol.
func Start(o Options) (*Broker, error) {
	host, portStr, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: bad port: %w", o.Addr, err)
	}
	if o.CompactEvery <= 0 {
		o.CompactEvery = time.Hour
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, net.JoinHostPort(host, portStr))
			if err != nil || o.Advertised == "" {
				return ln, err
			}
			adv, err := net.ResolveTCPAddr("tcp", o.Advertised)
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("advertised address %q: %w", o.Advertised, err)
			}
			return advertised{ln, adv}, nil
		}),
		kfake.ClusterID("tradeflow-embedded"),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms":     strconv.FormatInt(o.CompactEvery.Milliseconds(), 10),
			"default.replication.factor": "1",
		}),
	}
	// Java's admin client (4.x, as in Kafka Streams) throws a
	// NullPointerException on two of kfake's null arrays: EligibleLeaderReplicas
	// in DescribeTopicPartitions (without the key it falls back to Metadata,
	// as with brokers before 3.8) and Configs in CreateTopics v5+ (v4 has none).
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.DescribeTopicPartitions.Int16(), -1)
	versions.SetMaxKeyVersion(kmsg.CreateTopics.Int16(), 4)
	opts = append(opts, kfake.MaxVersions(versions))
	if o.Partitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(o.Partitions))
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(filepath.Clean(o.DataDir)))
	}
	if len(o.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range o.Users {
			switch u.Mechanism {
			case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
			default:
				return nil, fmt.Errorf("embedded broker user %q: SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", u.Name, u.Mechanism)
			}
			if u.Name == "" || u.Password == "" {
				return nil, fmt.Errorf("embedded broker: a %s user needs a name and a password", u.Mechanism)
			}
			// Superusers: kfake checks ACLs only for other users, and
			// tradeflow's users need every topic and group.
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	if o.TLS != nil {
		opts = append(opts, kfake.TLS(o.TLS))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", o.Addr, err)
	}
	return &Broker{c: c}, nil
}

// advertised is a listener that reports another address: kfake tells
// clients the listener's address in metadata.
type advertised struct {
	net.Listener
	addr net.Addr
}

func (a advertised) Addr() net.Addr { return a.addr }

// Addr is the address clients bootstrap from.
func (b *Broker) Addr() string { return b.c.ListenAddrs()[0] }

// Close stops the broker and flushes its log to disk.
func (b *Broker) Close() { b.c.Close() }
