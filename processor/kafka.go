package processor

import (
	"fmt"
	"hash"
	"path/filepath"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/tradeflow/tradeflow/kafkahash"
	"github.com/tradeflow/tradeflow/memstore"
)

// DefaultKafkaVersion is the protocol version sarama speaks unless told
// otherwise (goka's default is 2.0). Kafka 4.0 removed the oldest request
// versions (KIP-896) and supports clients of 2.1 and newer; 3.6 is
// understood by Kafka 3.6+, 4.x and kfake, and lets sarama use current
// request versions.
var DefaultKafkaVersion = sarama.V3_6_0_0

// Hasher partitions like Java's producer; every processor, emitter and
// view uses it so that keys, joins and table changelogs agree with Java.
func Hasher() func() hash.Hash32 { return kafkahash.NewHasher }

// SaramaConfig is the one sarama configuration every tradeflow client
// starts from (a copy each: goka's builders write ClientID and the
// partitioner into what they are given).
func SaramaConfig(clientID string) *sarama.Config {
	c := goka.DefaultConfig()
	c.ClientID = clientID
	c.Version = DefaultKafkaVersion
	// A new group starts at the oldest offset, as ksqlDB with
	// auto.offset.reset=earliest: goka's default (newest) silently skips
	// what was produced before or while it started.
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Durable, ordered writes for the one sarama producer left, datagen's
	// Sink (processors write with franz-go, producer.go): wait for all
	// in-sync replicas, idempotent, one request in flight.
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1
	// Ride out a broker restart or a lost connection (tens of seconds):
	// up to 120 retries, backing off to 1 s between them, and metadata
	// refreshes that keep trying.
	c.Producer.Retry.Max = 120
	c.Producer.Retry.BackoffFunc = backoff(100*time.Millisecond, time.Second)
	c.Metadata.Retry.Max = 30
	c.Metadata.Retry.BackoffFunc = backoff(100*time.Millisecond, time.Second)
	c.Producer.Compression = sarama.CompressionLZ4
	c.Producer.Flush.Frequency = 5 * time.Millisecond
	c.Producer.Flush.Bytes = 256 << 10
	c.Producer.Partitioner = sarama.NewCustomHashPartitioner(kafkahash.NewHasher)
	c.Metadata.RefreshFrequency = time.Minute
	// sarama buffers this many messages per partition and consumer; at
	// 1,000 partitions and five consumers per worker the default (256)
	// holds over a million messages in memory.
	c.ChannelBufferSize = 64
	c.Consumer.Fetch.Default = 256 << 10
	// Fast takeover: a dead worker is noticed after the session timeout
	// (6 s is the brokers' default group.min.session.timeout.ms, and
	// kfake's minimum); survivors learn of a rebalance at their next
	// heartbeat.
	c.Consumer.Group.Session.Timeout = 6 * time.Second
	c.Consumer.Group.Heartbeat.Interval = time.Second
	c.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	return c
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

// clone copies a sarama config so builders may write into it.
func clone(c *sarama.Config) *sarama.Config {
	cp := *c
	return &cp
}

// StorageBuilder keeps LevelDB small per partition: goka's defaults (4 MiB
// write buffer, 8 MiB block cache per partition and table) cost gigabytes at
// hundreds of partitions.
func StorageBuilder(dir string) storage.Builder {
	return storage.BuilderWithOptions(dir, &opt.Options{
		WriteBuffer:            512 << 10,
		BlockCacheCapacity:     256 << 10,
		OpenFilesCacheCapacity: 16,
		CompactionTableSize:    2 << 20,
	})
}

// Builders are the client builders a processor, view or emitter uses,
// each on its own copy of the base config.
type Builders struct {
	producer *SharedProducer
	base     *sarama.Config
	tmgr     goka.TopicManagerBuilder
	storage  storage.Builder
}

func (b Builders) processorOptions() []goka.ProcessorOption {
	tracking := &commitTracking{}
	return []goka.ProcessorOption{
		goka.WithHasher(Hasher()),
		goka.WithConsumerGroupBuilder(consumerGroupBuilder(b.base, tracking)),
		goka.WithContextWrapper(tracking.wrap),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(clone(b.base))),
		goka.WithProducerBuilder(coalescingBuilder(b.producer.ProducerBuilder(), ChangelogLinger, string(CountTable))),
		goka.WithTopicManagerBuilder(b.tmgr),
		goka.WithStorageBuilder(trackingBuilder(b.storage, &b.producer.own)),
	}
}

// ChangelogLinger is how long the count step's changelog writes of one
// window are merged into its newest value (see coalescingProducer): it
// adds at most this much to the time until a count is visible.
const ChangelogLinger = 10 * time.Millisecond

func (b Builders) viewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewHasher(Hasher()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(clone(b.base))),
		goka.WithViewTopicManagerBuilder(b.tmgr),
		goka.WithViewStorageBuilder(b.storage),
		goka.WithViewAutoReconnect(),
	}
}

// Store says where tables live locally.
type Store string

const (
	// StoreMemory keeps tables in memory and rebuilds them from the
	// changelog whenever a partition is opened (memstore).
	StoreMemory Store = "memory"
	// StoreLevelDB keeps tables in LevelDB under the data dir, so a
	// restarted worker catches up from where its files stopped.
	StoreLevelDB Store = "leveldb"
)

// NewBuilders returns the client builders for processors and views that
// share one base sarama config, with tables in store. With LevelDB,
// processors and views keep their files in separate folders under dir: a
// view and a processor of the same table in one process must not share a
// path.
func NewBuilders(base *sarama.Config, store Store, dir string) (procs, views Builders, err error) {
	tmgr := topicManagerBuilder(base)
	procs = Builders{base: base, tmgr: tmgr, producer: &SharedProducer{}}
	views = Builders{base: base, tmgr: tmgr}
	switch store {
	case StoreMemory, "":
		procs.storage, views.storage = memstore.Builder(), memstore.Builder()
	case StoreLevelDB:
		procs.storage = StorageBuilder(filepath.Join(dir, "processors"))
		views.storage = StorageBuilder(filepath.Join(dir, "views"))
	default:
		return procs, views, fmt.Errorf("unknown state store %q: want %s or %s", store, StoreMemory, StoreLevelDB)
	}
	return procs, views, nil
}

// ProcessorOptions are the options every tradeflow processor runs with: the
// benchmark's copy baseline uses them too, so that it measures the same
// clients.
func (b Builders) ProcessorOptions() []goka.ProcessorOption { return b.processorOptions() }

// ViewOptions are the options a view over tradeflow's tables needs.
func (b Builders) ViewOptions() []goka.ViewOption { return b.viewOptions() }
