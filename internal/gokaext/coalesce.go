package gokaext

import (
	"hash"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// coalescingProducer merges the writes of one key to a table's changelog
// that fall within linger of each other into the newest one, as Kafka
// Streams' record cache does before it flushes a state store. goka emits
// every SetValue to the changelog at once (goka v1.1.17 context.go:381,
// setValueForKey). A changelog
// only needs each key's newest value (it is compacted, and views and
// recovery read the newest), and the count step writes a window's whole
// value on every trade: at a drain, hundreds of writes per window per
// second become one per linger, and so do the views' reads of them.
//
// The promise of a merged write finishes when the write that replaced it
// does, with the same result, so goka commits the input record only once
// a value including its update is in the changelog. Writes to other topics
// pass straight through.
type coalescingProducer struct {
	goka.Producer
	topics map[string]bool
	linger time.Duration

	mu      sync.Mutex
	pending map[topicKey]*pendingWrite
	order   []topicKey // pending keys in first-write order
	stop    chan struct{}
	stopped chan struct{}
}

type topicKey struct{ topic, key string }

type pendingWrite struct {
	value    []byte
	headers  goka.Headers
	finishes []goka.PromiseFinisher
}

// coalescingBuilder wraps build's producers so that writes to topics are
// merged per key over linger.
func coalescingBuilder(build goka.ProducerBuilder, linger time.Duration, topics ...string) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		inner, err := build(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		p := &coalescingProducer{
			Producer: inner, topics: make(map[string]bool), linger: linger,
			pending: make(map[topicKey]*pendingWrite),
			stop:    make(chan struct{}), stopped: make(chan struct{}),
		}
		for _, t := range topics {
			p.topics[t] = true
		}
		go p.run()
		return p, nil
	}
}

func (p *coalescingProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *coalescingProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	if !p.topics[topic] {
		return p.Producer.EmitWithHeaders(topic, key, value, headers)
	}
	promise, finish := goka.NewPromiseWithFinisher()
	k := topicKey{topic, key}
	p.mu.Lock()
	w, ok := p.pending[k]
	if !ok {
		w = &pendingWrite{}
		p.pending[k] = w
		p.order = append(p.order, k)
	}
	// The newest value wins; the first write's headers are kept (a
	// count's processor.HeaderSettledAt then names its oldest trade),
	// unless it had none.
	w.value = value
	if w.headers == nil {
		w.headers = headers
	}
	w.finishes = append(w.finishes, finish)
	p.mu.Unlock()
	return promise
}

func (p *coalescingProducer) run() {
	defer close(p.stopped)
	t := time.NewTicker(p.linger)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.flush()
		case <-p.stop:
			p.flush()
			return
		}
	}
}

// flush writes every pending key's newest value, in the order the keys
// were first written.
func (p *coalescingProducer) flush() {
	p.mu.Lock()
	pending, order := p.pending, p.order
	if len(order) == 0 {
		p.mu.Unlock()
		return
	}
	p.pending, p.order = make(map[topicKey]*pendingWrite, len(pending)), make([]topicKey, 0, len(order))
	p.mu.Unlock()
	for _, k := range order {
		w := pending[k]
		p.Producer.EmitWithHeaders(k.topic, k.key, w.value, w.headers).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
			for _, finish := range w.finishes {
				finish(msg, err)
			}
		})
	}
}

// Close writes what is pending, then closes the inner producer, which
// waits for the writes to be acknowledged.
func (p *coalescingProducer) Close() error {
	close(p.stop)
	<-p.stopped
	return p.Producer.Close()
}
