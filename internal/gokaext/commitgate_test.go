package gokaext

import (
	"fmt"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

func TestOffsetTrackerCommitsOnlyContiguous(t *testing.T) {
	var tr offsetTracker
	for _, o := range []int64{10, 11, 13, 14} { // 12 compacted away
		tr.delivered(o)
	}
	steps := []struct {
		done   int64
		commit int64 // 0: none
	}{
		{11, 0},  // 10 still in progress
		{14, 0},  // 10, 13 in progress
		{10, 13}, // 10 and 11 done: next is 13
		{10, 0},  // marked twice: nothing new
		{99, 0},  // never delivered: ignored
		{13, 15}, // all done: one past the newest
	}
	for _, s := range steps {
		got, ok := tr.done(s.done)
		if !ok {
			got = 0
		}
		if got != s.commit {
			t.Fatalf("done(%d): commit %d, want %d", s.done, got, s.commit)
		}
	}
	// A failed message is never marked: nothing after it is committed.
	tr.delivered(15)
	tr.delivered(16)
	tr.delivered(15) // out of order: ignored
	if _, ok := tr.done(16); ok {
		t.Fatal("committed past 15, which never completed")
	}
}

// fakeSession records what reaches the real session.
type fakeSession struct {
	sarama.ConsumerGroupSession
	mu     sync.Mutex
	marked []int64
}

func (s *fakeSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = append(s.marked, offset)
}
func (s *fakeSession) Claims() map[string][]int32 { return map[string][]int32{"t": {0}} }
func (s *fakeSession) GenerationID() int32        { return 7 }

// fakeContext is the part of goka.Context the wrapper reads.
type fakeContext struct {
	gokaContext
	topic  string
	offset int64
}

func (c fakeContext) Topic() goka.Stream { return goka.Stream(c.topic) }
func (c fakeContext) Partition() int32   { return 0 }
func (c fakeContext) Offset() int64      { return c.offset }

// markReversed is a handler that, like goka, passes each message through
// the context wrapper in order, then marks them newest first, as goka does
// when a later message's emits finish first.
type markReversed struct {
	wrap    func(goka.Context) goka.Context
	offsets []int64
}

func (markReversed) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (markReversed) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h markReversed) ConsumeClaim(s sarama.ConsumerGroupSession, _ sarama.ConsumerGroupClaim) error {
	for _, o := range h.offsets {
		if g := SessionGeneration(h.wrap(fakeContext{topic: "t", offset: o})); g != 7 {
			panic(fmt.Sprintf("callback sees generation %d, want the session's 7", g))
		}
	}
	h.wrap(fakeContext{topic: "expire", offset: 0}) // a visit: not tracked
	for i := len(h.offsets) - 1; i >= 0; i-- {
		s.MarkOffset("t", 0, h.offsets[i]+1, "")
	}
	return nil
}

func TestOrderedCommitsHoldsBackLaterMarks(t *testing.T) {
	tracking := &commitTracking{}
	s := &fakeSession{}
	h := &orderedCommits{ConsumerGroupHandler: markReversed{wrap: tracking.wrap, offsets: []int64{5, 6, 7}}, tracking: tracking}
	if err := h.Setup(s); err != nil {
		t.Fatal(err)
	}
	if err := h.ConsumeClaim(s, nil); err != nil {
		t.Fatal(err)
	}
	// Marks arrive as 8, 7, 6: only when 5 completes may 8 be committed.
	if len(s.marked) != 1 || s.marked[0] != 8 {
		t.Fatalf("session saw marks %v, want [8]", s.marked)
	}
	// A new session starts with new trackers: the old one's marks do not
	// reach it, and offsets delivered out of order are not tracked.
	s2 := &fakeSession{}
	h2 := &orderedCommits{ConsumerGroupHandler: markReversed{wrap: tracking.wrap, offsets: []int64{6, 7}}, tracking: tracking}
	if err := h2.Setup(s2); err != nil {
		t.Fatal(err)
	}
	h.gate.MarkOffset("t", 0, 7, "") // late, from the first session
	if len(s2.marked) != 0 {
		t.Fatalf("an old session's mark reached the new one: %v", s2.marked)
	}
	if err := h2.ConsumeClaim(s2, nil); err != nil {
		t.Fatal(err)
	}
	if len(s2.marked) != 1 || s2.marked[0] != 8 {
		t.Fatalf("second session saw marks %v, want [8]", s2.marked)
	}
}
