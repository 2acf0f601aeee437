package gokaext

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
)

// ownWrites lets a table's local offset follow the worker's own changelog
// writes only as far as the changelog holds nothing else.
//
// goka moves a table's local offset to the offset of each of its own
// changelog writes (goka v1.1.17 context.go:404, in setValueForKey), and a worker that gets
// the partition again catches up from there. That is sound only while the
// worker is the partition's one writer. A worker that lost the partition
// without knowing it yet (a broker restart, a cut) may have writes in
// flight that land after the new owner's; its local offset then moved past
// the new owner's values, its next catch-up skipped them, and it went on
// from a value missing the new owner's trades while the committed input
// offset was past them: counts were lost (ARCHITECTURE.md, "Own-writes
// runs").
//
// So the producer reports a write's offset to goka only when it extends an
// unbroken run of this worker's writes that starts right after what the
// table recovered: every record between the local offset and the reported
// one is then the worker's own, whose effect its local state already has.
// A record that does not extend the run (another writer's record lies
// before it, or a write of an earlier session landed late) ends the run
// until the partition is recovered again; from then on the local offset
// stays where recovery left it and the next catch-up reads everything
// since, through the count table's update callback (the stale rule).
type ownWrites struct {
	// tables holds the changelog topics that have had a run: every
	// record the worker writes is checked against it, without a lock.
	tables atomic.Pointer[map[string]bool]

	mu sync.Mutex
	// next is, per changelog partition with a run, the offset the next
	// own write must have to extend it.
	next map[topicPartition]int64
}

// recovered starts a run after last, the offset of the last record the
// table holds (negative: none; then no run starts).
func (o *ownWrites) recovered(topic string, partition int32, last int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.next == nil {
		o.next = make(map[topicPartition]int64)
	}
	if t := o.tables.Load(); t == nil || !(*t)[topic] {
		tables := map[string]bool{topic: true}
		if t != nil {
			maps.Copy(tables, *t)
		}
		o.tables.Store(&tables)
	}
	tp := topicPartition{topic, partition}
	if last < 0 {
		delete(o.next, tp)
		return
	}
	o.next[tp] = last + 1
}

// landed is told every record the producer wrote, in each partition's
// offset order, and reports whether offset extends the partition's run.
func (o *ownWrites) landed(topic string, partition int32, offset int64) bool {
	if t := o.tables.Load(); t == nil || !(*t)[topic] {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	tp := topicPartition{topic, partition}
	next, ok := o.next[tp]
	if !ok {
		return false
	}
	if offset != next {
		delete(o.next, tp)
		return false
	}
	o.next[tp] = offset + 1
	return true
}

// trackingBuilder wraps a storage builder so that each table partition,
// once recovered, starts a run in own.
func trackingBuilder(build storage.Builder, own *ownWrites) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := build(topic, partition)
		if err != nil {
			return nil, err
		}
		return &trackingStorage{Storage: st, own: own, topic: topic, partition: partition}, nil
	}
}

type trackingStorage struct {
	storage.Storage
	own       *ownWrites
	topic     string
	partition int32
}

// MarkRecovered is called once the table caught up with its changelog and
// before the processor writes to it.
func (s *trackingStorage) MarkRecovered() error {
	last, err := s.GetOffset(-1)
	if err != nil {
		return err
	}
	if err := s.Storage.MarkRecovered(); err != nil {
		return err
	}
	s.own.recovered(s.topic, s.partition, last)
	return nil
}
