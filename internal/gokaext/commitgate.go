package gokaext

import (
	"sort"
	"sync"

	"github.com/IBM/sarama"
)

// orderedCommits makes a consumer group commit an offset only when every
// message delivered before it has completed (ARCHITECTURE.md, "Ordered
// commits"). goka marks each message as soon as its own emits are
// acknowledged (goka v1.1.17 context.go:436, the commit after the emits;
// processor.go:1064, createMessageCommitter, marks the offset), so when one message's emit fails and a later
// message's emit to another partition succeeds, the committed offset moves
// past the failed one and, after the restart, nobody processes it again:
// the trade is lost. The same happens when a worker is SIGKILLed with the
// earlier emit still in flight. Here the commit stops at the oldest message
// not yet marked, as Kafka Streams commits only what its tasks finished.
//
// The offsets that exist come from goka's context wrapper (delivered, on
// the partition's processing goroutine, just before the callback), not
// from the claim: a compacted or transactional topic has holes in its
// offsets, and reading the claim through another goroutine and channel
// cost 5 % of the CPU at a drain. A message goka drops before its callback
// (a nil value it ignores) is never delivered, and its mark is ignored.
//
// One commitTracking serves one processor; rejoiningGroup wraps the
// handler anew for every session.
type orderedCommits struct {
	sarama.ConsumerGroupHandler
	tracking *commitTracking
	visits   *VisitGate // nil: the processor is not visited
	gate     *gatedSession
}

func (h *orderedCommits) Setup(s sarama.ConsumerGroupSession) error {
	h.gate = &gatedSession{ConsumerGroupSession: s, trackers: h.tracking.reset(s.Claims(), s.GenerationID())}
	err := h.ConsumerGroupHandler.Setup(h.gate)
	if err == nil && h.visits != nil {
		h.visits.opened()
	}
	return err
}

func (h *orderedCommits) Cleanup(sarama.ConsumerGroupSession) error {
	if h.visits != nil {
		h.visits.closing()
	}
	return h.ConsumerGroupHandler.Cleanup(h.gate)
}

func (h *orderedCommits) ConsumeClaim(_ sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	return h.ConsumerGroupHandler.ConsumeClaim(h.gate, c)
}

// commitTracking holds the offset trackers of the partitions a processor
// claims in its current session.
type commitTracking struct {
	mu         sync.RWMutex
	trackers   map[topicPartition]*offsetTracker
	generation int32 // the current session's consumer-group generation
}

type topicPartition struct {
	topic     string
	partition int32
}

// reset starts a session of generation: one empty tracker per claimed
// partition.
func (c *commitTracking) reset(claims map[string][]int32, generation int32) map[topicPartition]*offsetTracker {
	ts := make(map[topicPartition]*offsetTracker)
	for topic, parts := range claims {
		for _, p := range parts {
			ts[topicPartition{topic, p}] = &offsetTracker{}
		}
	}
	c.mu.Lock()
	c.trackers, c.generation = ts, generation
	c.mu.Unlock()
	return ts
}

// gatedSession passes marks to the session only up to the oldest message of
// each partition still in progress. It keeps its session's trackers: a
// mark that comes late from an earlier session cannot move a newer one.
type gatedSession struct {
	sarama.ConsumerGroupSession
	trackers map[topicPartition]*offsetTracker // read-only after Setup
}

// MarkOffset is how goka marks a message: offset is the message's offset
// plus one.
func (g *gatedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	t := g.trackers[topicPartition{topic, partition}]
	if t == nil {
		return
	}
	if next, ok := t.done(offset - 1); ok {
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

// delivered records offset as in progress. Offsets arrive in increasing
// order; one that does not (a message of an earlier session still being
// processed) is not this session's to track.
func (t *offsetTracker) delivered(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 && offset <= t.pending[n-1] {
		return
	}
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
