// Package kclient builds every Kafka client tradeflow opens, sarama's and
// franz-go's, from one Config, and classifies the errors they return. goka's
// consumers and views take sarama; the processors' producer is franz-go's:
// connection settings (the protocol version, and where TLS and SASL go)
// must reach both, so both start here.
package kclient

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
)

// Config is what every client of one process shares.
type Config struct {
	// ClientID names the clients to the brokers; each client adds a
	// suffix of its own where goka does not.
	ClientID string
	// Version is the protocol version sarama speaks; zero is
	// DefaultVersion.
	Version sarama.KafkaVersion
	// Group is how consumer groups keep their members; zero values keep
	// sarama's defaults (for clients that join no group).
	Group GroupTimings
	// GroupInstanceID, when set, makes every consumer group member of the
	// process a static member (KIP-345): a worker that restarts within
	// the session timeout gets its partitions back without a rebalance,
	// and a stopping worker does not leave its groups.
	GroupInstanceID string
	// TLS, when set, is how every client speaks TLS (LoadTLS).
	TLS *tls.Config
	// SASL is how every client authenticates.
	SASL SASL
	// Partitions is the most partitions one consumer of the process
	// reads (zero: a few); what a consumer buffers per partition shrinks
	// as it grows (fetchSizes).
	Partitions int
}

// GroupTimings are a consumer group member's timings (checked against each
// other by worker.Timings.Validate).
type GroupTimings struct {
	// Session: a member not heard from for this long is dead and its
	// partitions move (6 s is the brokers' default
	// group.min.session.timeout.ms, and kfake's minimum).
	Session time.Duration
	// Heartbeat: how often a member says it is alive; survivors learn of
	// a rebalance at their next heartbeat.
	Heartbeat time.Duration
	// Rebalance: how long the group waits for members to rejoin.
	Rebalance time.Duration
}

// DefaultVersion is the protocol version sarama speaks unless told
// otherwise (goka's default is 2.0). Kafka 4.0 removed the oldest request
// versions (KIP-896) and supports clients of 2.1 and newer; 3.6 is
// understood by Kafka 3.6+, 4.x and kfake, and lets sarama use current
// request versions.
func DefaultVersion() sarama.KafkaVersion { return sarama.V3_6_0_0 }

// WithClientID returns c for another client id.
func (c Config) WithClientID(id string) Config {
	c.ClientID = id
	return c
}

// Sarama is the sarama configuration of c, a new copy at every call
// (goka's builders write ClientID and the partitioner into what they are
// given).
func (c Config) Sarama() *sarama.Config {
	s := goka.DefaultConfig()
	s.ClientID = c.ClientID
	s.Version = c.Version
	if s.Version == (sarama.KafkaVersion{}) {
		s.Version = DefaultVersion()
	}
	// A new group starts at the oldest offset, as ksqlDB with
	// auto.offset.reset=earliest: goka's default (newest) silently skips
	// what was produced before or while it started.
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Durable, ordered writes for the one sarama producer left, datagen's
	// Sink (processors write with franz-go, gokaext.SharedProducer): wait
	// for all in-sync replicas, idempotent, one request in flight.
	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Producer.Idempotent = true
	s.Net.MaxOpenRequests = 1
	// Ride out a broker restart or a lost connection (tens of seconds):
	// up to 120 retries, backing off to 1 s between them, and metadata
	// refreshes that keep trying.
	s.Producer.Retry.Max = 120
	s.Producer.Retry.BackoffFunc = backoff(100*time.Millisecond, time.Second)
	s.Metadata.Retry.Max = 30
	s.Metadata.Retry.BackoffFunc = backoff(100*time.Millisecond, time.Second)
	s.Producer.Compression = sarama.CompressionLZ4
	s.Producer.Flush.Frequency = 5 * time.Millisecond
	s.Producer.Flush.Bytes = 256 << 10
	s.Producer.Partitioner = sarama.NewCustomHashPartitioner(kafkahash.NewHasher)
	s.Metadata.RefreshFrequency = time.Minute
	s.Consumer.Fetch.Default, s.ChannelBufferSize = fetchSizes(c.Partitions)
	if c.Group.Session > 0 {
		s.Consumer.Group.Session.Timeout = c.Group.Session
	}
	if c.Group.Heartbeat > 0 {
		s.Consumer.Group.Heartbeat.Interval = c.Group.Heartbeat
	}
	if c.Group.Rebalance > 0 {
		s.Consumer.Group.Rebalance.Timeout = c.Group.Rebalance
	}
	if c.GroupInstanceID != "" {
		s.Consumer.Group.InstanceId = c.GroupInstanceID
	}
	c.applySarama(s)
	return s
}

// Franz is the franz-go connection options of c for the seed brokers; a
// client adds its own (acks, linger, partitioner) after them.
func (c Config) Franz(brokers []string) []kgo.Opt {
	return append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(c.ClientID)}, c.franzSecurity()...)
}

// Admin connects a sarama cluster admin to brokers, as client id
// "<ClientID>-admin".
func (c Config) Admin(brokers []string) (sarama.ClusterAdmin, error) {
	admin, err := sarama.NewClusterAdmin(brokers, c.WithClientID(c.ClientID+"-admin").Sarama())
	if err != nil {
		return nil, fmt.Errorf("connect to %v (TRADEFLOW_BROKERS): %w", brokers, err)
	}
	return admin, nil
}

// fetchBudget bounds one fetch response of a consumer: sarama asks every
// partition it reads for Consumer.Fetch.Default bytes and decodes the whole
// response before any partition's messages are handed on (up to 100 MiB,
// sarama.MaxResponseSize, which it refuses to go beyond).
const fetchBudget = 16 << 20

// fetchSizes are the bytes a consumer asks of each partition per fetch and
// the messages it buffers per partition, for a consumer of partitions:
// 256 KiB and 64 up to 64 partitions; above, a share of fetchBudget (at
// least 16 KiB) and 128 messages. A batch larger than a partition's share
// still arrives: sarama doubles that partition's size until it fits.
//
// The buffer must hold what one fetch brings a partition, or more: sarama
// sends the next fetch only once every partition of the response has
// handed all its messages to its buffer (sarama v1.46.3 consumer.go,
// subscriptionConsumer's acks.Wait), so with a smaller one the busiest
// partition's processing holds up the fetch of all the others. A 16 KiB share is about
// 50 Datagen trades; 128 messages hold two shares.
func fetchSizes(partitions int) (bytes int32, messages int) {
	bytes, messages = 256<<10, 64
	if partitions > fetchBudget/int(bytes) {
		bytes = max(int32(fetchBudget/partitions), 16<<10)
		messages = 128
	}
	return bytes, messages
}

// backoff doubles from first up to max with each retry.
func backoff(first, max time.Duration) func(retries, maxRetries int) time.Duration {
	return func(retries, _ int) time.Duration {
		d := first
		for i := 0; i < retries && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}
