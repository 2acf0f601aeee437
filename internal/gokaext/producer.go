package gokaext

import (
	"context"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/telemetry"
)

// ProducerTimings are how the processors' producer batches and how long it
// keeps trying.
type ProducerTimings struct {
	// Linger: how long a batch waits for more records.
	Linger time.Duration
	// Delivery: a record not delivered within this fails its emit (and
	// stops the partition's processing until the group rejoins). Until
	// then the producer keeps retrying in order: a broker restart or a
	// cut of tens of seconds is ridden out without a failed record.
	Delivery time.Duration
	// Close bounds the flush when the last processor closes the producer.
	Close time.Duration
}

// kgoProducer is goka's Producer on franz-go's client. goka's own producer
// (sarama's AsyncProducer, goka v1.1.17 producer.go:26, with a goroutine
// each for errors and successes at producer.go:94 and :107) passes every
// record through four goroutines and channels before it is batched; in the drain profile that was a quarter of
// the CPU. franz-go batches in the caller's goroutine, keeps each
// partition's records in order across retries (idempotent, unlimited
// retries until the delivery timeout) and fails the records queued behind
// a failed one instead of sending them out of order.
//
// The processors of one worker share one client (one long-lived producer
// per process): goka builds a producer per processor,
// and each gets a handle on the shared client, which is flushed and closed
// when the last handle closes. Consumers stay on sarama (goka's consumer
// groups and views take sarama interfaces), so connection settings such as
// TLS and SASL must be given to both clients.
type kgoProducer struct {
	shared *SharedProducer
	cl     *kgo.Client
	closed sync.Once
}

// SharedProducer is the one franz-go client the processors of a process
// write with.
type SharedProducer struct {
	kc      kclient.Config
	timings ProducerTimings

	mu    sync.Mutex
	cl    *kgo.Client
	users int
	own   ownWrites // which table writes may move a local offset
	// delivered counts each record's outcome (nil: not counted).
	delivered *telemetry.Producer
}

// NewSharedProducer returns the shared producer of a process; its client
// opens when the first processor builds its producer.
func NewSharedProducer(kc kclient.Config, t ProducerTimings) *SharedProducer {
	return &SharedProducer{kc: kc, timings: t}
}

// ProducerBuilder builds goka producers on the shared client (every
// processor's, and the benchmark's copy baseline's), opening it with the
// brokers and client id of the first processor, and the partitioner goka
// uses for its own lookups (hasher), so every record lands where goka and
// Java look for its key.
func (sp *SharedProducer) ProducerBuilder() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		if sp.cl == nil {
			cl, err := kgo.NewClient(append(sp.kc.WithClientID(clientID).Franz(brokers),
				kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.ProducerLinger(sp.timings.Linger),
				kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
				kgo.RecordDeliveryTimeout(sp.timings.Delivery),
				kgo.RecordPartitioner(hashPartitioner(hasher)),
			)...)
			if err != nil {
				return nil, fmt.Errorf("producer for %v: %w", brokers, err)
			}
			sp.cl = cl
		}
		sp.users++
		return &kgoProducer{shared: sp, cl: sp.cl}, nil
	}
}

// release closes the client when its last user is done: it waits for what
// is buffered to be delivered first.
func (sp *SharedProducer) release() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.users--
	if sp.users > 0 {
		return nil
	}
	cl := sp.cl
	sp.cl = nil
	ctx, cancel := context.WithTimeout(context.Background(), sp.timings.Close)
	defer cancel()
	err := cl.Flush(ctx)
	cl.Close()
	if err != nil {
		return fmt.Errorf("flush producer: %w", err)
	}
	return nil
}

// hashPartitioner is goka's partitioning (goka v1.1.17 view.go:292, hash): the hasher's
// sum as a non-negative int32, modulo the partition count.
func hashPartitioner(hasher func() hash.Hash32) kgo.Partitioner {
	hashers := sync.Pool{New: func() any { return hasher() }}
	return kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
		return func(r *kgo.Record, n int) int {
			h := hashers.Get().(hash.Hash32)
			h.Reset()
			h.Write(r.Key)
			sum := int32(h.Sum32())
			hashers.Put(h)
			if sum < 0 {
				sum = -sum
			}
			return int(sum % int32(n))
		}
	})
}

func (p *kgoProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *kgoProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for k, v := range headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: v})
	}
	p.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		p.shared.delivered.Delivered(r.Topic, err)
		// goka moves a table's local offset to the offset it is given
		// (context.go:404), and reads nothing else of the message; it is
		// given one only where that is safe (ownWrites), and no message
		// otherwise, which goka checks for.
		var msg *sarama.ProducerMessage
		if err == nil && p.shared.own.landed(r.Topic, r.Partition, r.Offset) {
			msg = &sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		}
		finish(msg, err)
	})
	return promise
}

// Close gives up this processor's handle; the last one closes the client.
// Records this processor emitted are flushed either way: goka waited for
// their promises before it closes the producer.
func (p *kgoProducer) Close() error {
	var err error
	p.closed.Do(func() { err = p.shared.release() })
	return err
}
