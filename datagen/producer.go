package datagen

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// Producer is one long-lived idempotent producer that partitions like Java's
// (murmur2) and waits for all in-sync replicas: what datagen writes with.
type Producer struct {
	p        sarama.AsyncProducer
	mu       sync.Mutex
	inflight int
	err      error
	idle     *sync.Cond
	done     chan struct{}
}

// NewProducer connects a producer to brokers; cfg becomes the producer's
// (kclient.Config.Sarama returns a new one at each call).
func NewProducer(brokers []string, cfg *sarama.Config) (*Producer, error) {
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("producer for %v: %w", brokers, err)
	}
	s := &Producer{p: p, done: make(chan struct{})}
	s.idle = sync.NewCond(&s.mu)
	go s.drain()
	return s, nil
}

func (s *Producer) drain() {
	defer close(s.done)
	succ, errs := s.p.Successes(), s.p.Errors()
	for succ != nil || errs != nil {
		select {
		case _, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			s.finish(nil)
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.finish(e.Err)
		}
	}
}

func (s *Producer) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if err != nil && s.err == nil {
		s.err = err
	}
	if s.inflight == 0 {
		s.idle.Broadcast()
	}
}

// Send queues r; an earlier failed write is returned here.
func (s *Producer) Send(ctx context.Context, r Record) error {
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return fmt.Errorf("produce: %w", err)
	}
	s.inflight++
	s.mu.Unlock()
	m := &sarama.ProducerMessage{Topic: r.Topic, Key: sarama.StringEncoder(r.Key), Timestamp: r.Timestamp}
	if r.Value != nil {
		m.Value = sarama.ByteEncoder(r.Value)
	}
	select {
	case s.p.Input() <- m:
		return nil
	case <-ctx.Done():
		s.finish(nil)
		return ctx.Err()
	}
}

// Flush waits until every queued record is acknowledged or ctx is done.
func (s *Producer) Flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.mu.Lock(); s.idle.Broadcast(); s.mu.Unlock() })
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 && ctx.Err() == nil {
		s.idle.Wait()
	}
	if s.err != nil {
		return fmt.Errorf("produce: %w", s.err)
	}
	if s.inflight > 0 {
		return fmt.Errorf("flush: %d records unacknowledged: %w", s.inflight, ctx.Err())
	}
	return nil
}

// Close flushes what is queued and closes the producer.
func (s *Producer) Close() error {
	err := s.p.Close()
	<-s.done
	return err
}
