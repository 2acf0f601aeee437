package processor

import (
	"context"
	"sort"
	"sync"

	"github.com/IBM/sarama"
)

// orderedCommits makes a consumer group commit an offset only when every
// message delivered before it has completed. goka marks each message as
// soon as its own emits are acknowledged (processor.go,
// createMessageCommitter), so when one message's emit fails and a later
// message's emit to another partition succeeds, the committed offset moves
// past the failed one and, after the restart, nobody processes it again:
// the trade is lost. The same happens when a worker is SIGKILLed with the
// earlier emit still in flight. Here the commit stops at the oldest message
// not yet marked, as Kafka Streams commits only what its tasks finished.
//
// One orderedCommits serves one session: rejoiningGroup wraps the handler
// anew for every call of Consume.
type orderedCommits struct {
	sarama.ConsumerGroupHandler
	gate *gatedSession
}

func (h *orderedCommits) Setup(s sarama.ConsumerGroupSession) error {
	h.gate = &gatedSession{ConsumerGroupSession: s, trackers: make(map[topicPartition]*offsetTracker)}
	return h.ConsumerGroupHandler.Setup(h.gate)
}

func (h *orderedCommits) Cleanup(sarama.ConsumerGroupSession) error {
	return h.ConsumerGroupHandler.Cleanup(h.gate)
}

// ConsumeClaim records the offset of every message in delivery order
// before the handler sees it, so the gate knows which offsets exist (a
// compacted or transactional topic has holes in its offsets).
func (h *orderedCommits) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	t := h.gate.tracker(c.Topic(), c.Partition())
	msgs := make(chan *sarama.ConsumerMessage, cap(c.Messages()))
	go forward(s.Context(), c.Messages(), msgs, t)
	return h.ConsumerGroupHandler.ConsumeClaim(h.gate, trackedClaim{c, msgs})
}

func forward(ctx context.Context, in <-chan *sarama.ConsumerMessage, out chan<- *sarama.ConsumerMessage, t *offsetTracker) {
	defer close(out)
	for m := range in {
		t.delivered(m.Offset)
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

type trackedClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c trackedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

// gatedSession passes marks to the session only up to the oldest message of
// each partition still in progress.
type gatedSession struct {
	sarama.ConsumerGroupSession

	mu       sync.Mutex
	trackers map[topicPartition]*offsetTracker
}

type topicPartition struct {
	topic     string
	partition int32
}

func (g *gatedSession) tracker(topic string, partition int32) *offsetTracker {
	g.mu.Lock()
	defer g.mu.Unlock()
	tp := topicPartition{topic, partition}
	t, ok := g.trackers[tp]
	if !ok {
		t = &offsetTracker{}
		g.trackers[tp] = t
	}
	return t
}

// MarkOffset is how goka marks a message: offset is the message's offset
// plus one.
func (g *gatedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if next, ok := g.tracker(topic, partition).done(offset - 1); ok {
		g.ConsumerGroupSession.MarkOffset(topic, partition, next, metadata)
	}
}

func (g *gatedSession) MarkMessage(m *sarama.ConsumerMessage, metadata string) {
	g.MarkOffset(m.Topic, m.Partition, m.Offset+1, metadata)
}

// offsetTracker holds one partition's delivered offsets not yet committed,
// oldest first, and which of them are done.
type offsetTracker struct {
	mu      sync.Mutex
	pending []int64
	isDone  []bool
	head    int   // pending[head:] are live
	commit  int64 // the offset last passed on; 0 before any
}

func (t *offsetTracker) delivered(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head > 0 && t.head >= len(t.pending)/2 {
		n := copy(t.pending, t.pending[t.head:])
		copy(t.isDone, t.isDone[t.head:])
		t.pending, t.isDone, t.head = t.pending[:n], t.isDone[:n], 0
	}
	t.pending = append(t.pending, offset)
	t.isDone = append(t.isDone, false)
}

// done marks offset complete and returns the offset to commit (the oldest
// delivered offset still in progress, or one past the newest delivered)
// when that moved forward.
func (t *offsetTracker) done(offset int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := t.pending[t.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i] >= offset })
	if i == len(live) || live[i] != offset {
		return 0, false // not delivered through this session: ignore
	}
	t.isDone[t.head+i] = true
	if i != 0 {
		return 0, false
	}
	last := offset
	for t.head < len(t.pending) && t.isDone[t.head] {
		last = t.pending[t.head]
		t.head++
	}
	next := last + 1
	if t.head < len(t.pending) {
		next = t.pending[t.head]
	}
	if next <= t.commit {
		return 0, false
	}
	t.commit = next
	return next, true
}
