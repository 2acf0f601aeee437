// Package gokaext is what tradeflow changes in goka's and sarama's
// behaviour, most of it so that counts are exactly-once without Kafka
// transactions (ARCHITECTURE.md, "Exactly-once counting"). Each file names
// the upstream behaviour it corrects, with the file and line in the goka
// or sarama version go.mod pins; Kit installs all of it.
package gokaext

import (
	"hash"
	"log/slog"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/telemetry"
)

// Options are what a Kit builds goka's clients from.
type Options struct {
	Kafka kclient.Config
	// ProcessorStorage and ViewStorage hold tables locally. A view and a
	// processor of the same table in one process must not share LevelDB
	// files, so the two differ.
	ProcessorStorage, ViewStorage storage.Builder
	Producer                      ProducerTimings
	Rejoin                        RejoinTimings
	// ChangelogLinger is how long writes of one key to a coalesced
	// changelog are merged into the newest (coalescingProducer): it adds
	// at most this much to the time until a count is visible.
	ChangelogLinger time.Duration
	Log             *slog.Logger
	// Tables observes every local table copy's storage, and Produced what
	// the shared producer delivers (nil: not observed).
	Tables   *telemetry.Tables
	Produced *telemetry.Producer
}

// Kit builds the options of every goka processor and view of a process. Its
// processors share one producer.
type Kit struct {
	o        Options
	producer *SharedProducer
	tmgr     goka.TopicManagerBuilder
}

// New returns a Kit; nothing connects until a processor or view is built.
func New(o Options) *Kit {
	sp := NewSharedProducer(o.Kafka, o.Producer)
	sp.delivered = o.Produced
	return &Kit{o: o, producer: sp, tmgr: topicManagerBuilder(o.Kafka)}
}

// Hasher partitions like Java's producer (goka's default is FNV,
// options.go:88); every processor, emitter and view uses it so that keys,
// joins and table changelogs agree with Java.
func Hasher() func() hash.Hash32 { return kafkahash.NewHasher }

// ProcessorOptions are the options of a tradeflow processor; writes to the
// coalesce topics (changelogs) are merged per key over ChangelogLinger.
// Each replaces a part of goka:
//   - the hasher: murmur2, as Java partitions;
//   - consumer groups that rejoin at once and ride out unreachable brokers
//     (rejoin.go), committing only offsets below which every message has
//     completed (commitgate.go);
//   - a context wrapper that feeds the commit gate and tells callbacks
//     their session generation (generation.go);
//   - consumers from the shared sarama configuration (kclient);
//   - one franz-go producer for the process (producer.go), coalescing
//     changelog writes (coalesce.go);
//   - a topic manager that checks and never creates (EnsureTopics did);
//   - storage whose recovery starts an own-writes run (ownwrites.go).
//
// visits, when set, is the gate the processor's visits go through
// (visitgate.go).
func (k *Kit) ProcessorOptions(visits *VisitGate, coalesce ...string) []goka.ProcessorOption {
	tracking := &commitTracking{}
	return []goka.ProcessorOption{
		goka.WithHasher(Hasher()),
		goka.WithConsumerGroupBuilder(consumerGroupBuilder(k.o.Kafka, tracking, visits, k.o.Rejoin, k.o.Log)),
		goka.WithContextWrapper(tracking.wrap),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(k.o.Kafka.Sarama())),
		goka.WithProducerBuilder(coalescingBuilder(k.producer.ProducerBuilder(), k.o.ChangelogLinger, coalesce...)),
		goka.WithTopicManagerBuilder(k.tmgr),
		goka.WithStorageBuilder(trackingBuilder(k.observed(telemetry.KindGroup, k.o.ProcessorStorage), &k.producer.own)),
		goka.WithLogger(GokaLogger(k.o.Log)),
	}
}

// ViewStorage is b observed as a view's copy: for views that keep their
// own storage rather than the kit's.
func (k *Kit) ViewStorage(b storage.Builder) storage.Builder {
	return k.observed(telemetry.KindView, b)
}

func (k *Kit) observed(kind string, b storage.Builder) storage.Builder {
	if k.o.Tables == nil {
		return b
	}
	return k.o.Tables.Builder(kind, b)
}

// ViewOptions are the options of a view over a tradeflow table: the
// hasher, the shared sarama configuration, the checking topic manager,
// view storage, and reconnecting when the brokers go away.
func (k *Kit) ViewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewHasher(Hasher()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(k.o.Kafka.Sarama())),
		goka.WithViewTopicManagerBuilder(k.tmgr),
		goka.WithViewStorageBuilder(k.ViewStorage(k.o.ViewStorage)),
		goka.WithViewAutoReconnect(),
		goka.WithViewLogger(GokaLogger(k.o.Log)),
	}
}

// topicManagerBuilder lets goka check, never create: goka would create
// streams with 1 h retention and replication 2 (goka v1.1.17
// topic_manager.go:393, NewTopicManagerConfig), where
// processor.EnsureTopics made every topic with tradeflow's settings. Its
// logger (goka's default, which cannot be replaced from outside goka)
// writes only topic creation and mismatch warnings, both turned off here.
func topicManagerBuilder(kc kclient.Config) goka.TopicManagerBuilder {
	tmc := goka.NewTopicManagerConfig()
	tmc.NoCreate = true
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorIgnore
	return goka.TopicManagerBuilderWithConfig(kc.Sarama(), tmc)
}

// Producer is a handle on the processors' shared producer for writes made
// outside a callback (the fused count's expire visits), with writes to
// the coalesce topics merged as the processors' are. Close it when done.
func (k *Kit) Producer(brokers []string, coalesce ...string) (goka.Producer, error) {
	return coalescingBuilder(k.producer.ProducerBuilder(), k.o.ChangelogLinger, coalesce...)(brokers, k.o.Kafka.ClientID, Hasher())
}
