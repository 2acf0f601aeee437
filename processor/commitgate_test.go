package processor

import (
	"context"
	"sync"
	"testing"

	"github.com/IBM/sarama"
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
	if _, ok := tr.done(16); ok {
		t.Fatal("committed past 15, which never completed")
	}
}

// fakeSession records what reaches the real session.
type fakeSession struct {
	sarama.ConsumerGroupSession
	mu     sync.Mutex
	marked []int64
	ctx    context.Context
}

func (s *fakeSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = append(s.marked, offset)
}
func (s *fakeSession) Context() context.Context { return s.ctx }

type fakeClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c fakeClaim) Topic() string                            { return "t" }
func (c fakeClaim) Partition() int32                         { return 0 }
func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

// markReversed is a handler that marks the messages of its claim newest
// first, as goka does when a later message's emits finish first.
type markReversed struct{}

func (markReversed) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (markReversed) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (markReversed) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	var got []*sarama.ConsumerMessage
	for m := range c.Messages() {
		got = append(got, m)
	}
	for i := len(got) - 1; i >= 0; i-- {
		s.MarkMessage(got[i], "")
	}
	return nil
}

func TestOrderedCommitsHoldsBackLaterMarks(t *testing.T) {
	s := &fakeSession{ctx: context.Background()}
	c := fakeClaim{msgs: make(chan *sarama.ConsumerMessage, 3)}
	for o := int64(5); o < 8; o++ {
		c.msgs <- &sarama.ConsumerMessage{Topic: "t", Partition: 0, Offset: o}
	}
	close(c.msgs)
	h := &orderedCommits{ConsumerGroupHandler: markReversed{}}
	if err := h.Setup(s); err != nil {
		t.Fatal(err)
	}
	if err := h.ConsumeClaim(s, c); err != nil {
		t.Fatal(err)
	}
	// Marks arrive as 8, 7, 6: only when 5 completes may 8 be committed.
	if len(s.marked) != 1 || s.marked[0] != 8 {
		t.Fatalf("session saw marks %v, want [8]", s.marked)
	}
}
