package gokaext

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// cleanupWatch is a handler that records whether a visit was still
// running when goka's Cleanup (which stops the partitions) was reached.
type cleanupWatch struct {
	markReversed
	visiting *bool
	sawVisit chan bool
}

func (h cleanupWatch) Cleanup(sarama.ConsumerGroupSession) error {
	h.sawVisit <- *h.visiting
	return nil
}

// Visits run only inside a session; at Cleanup the gate cancels the visit
// under way and waits for it to return before goka's Cleanup runs.
func TestVisitGateEndsVisitsBeforeCleanup(t *testing.T) {
	gate := NewVisitGate()
	ran := false
	if err := gate.Visit(context.Background(), func(context.Context) error { ran = true; return nil }); !errors.Is(err, ErrNoSession) || ran {
		t.Fatalf("a visit before any session: %v, ran %v", err, ran)
	}
	tracking := &commitTracking{}
	visiting := false
	inner := cleanupWatch{markReversed: markReversed{wrap: tracking.wrap}, visiting: &visiting, sawVisit: make(chan bool, 1)}
	h := &orderedCommits{ConsumerGroupHandler: inner, tracking: tracking, visits: gate}
	if err := h.Setup(&fakeSession{}); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	visitErr := make(chan error, 1)
	go func() {
		visitErr <- gate.Visit(context.Background(), func(ctx context.Context) error {
			visiting = true
			close(started)
			<-ctx.Done() // a long visit: it ends only when told to
			time.Sleep(20 * time.Millisecond)
			visiting = false
			return ctx.Err()
		})
	}()
	<-started
	if err := h.Cleanup(nil); err != nil {
		t.Fatal(err)
	}
	if <-inner.sawVisit {
		t.Fatal("goka's Cleanup ran while a visit was still running")
	}
	if err := <-visitErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cut-short visit returned %v", err)
	}
	if err := gate.Visit(context.Background(), func(context.Context) error { ran = true; return nil }); !errors.Is(err, ErrNoSession) || ran {
		t.Fatalf("a visit after Cleanup: %v, ran %v", err, ran)
	}
	// The next session opens the gate again.
	if err := h.Setup(&fakeSession{}); err != nil {
		t.Fatal(err)
	}
	if err := gate.Visit(context.Background(), func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("a visit in the next session: %v, ran %v", err, ran)
	}
}
