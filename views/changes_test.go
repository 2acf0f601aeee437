package views

import (
	"fmt"
	"testing"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

func drain(s *Subscription) []string {
	var out []string
	for {
		select {
		case ch, ok := <-s.C:
			if !ok {
				return append(out, "closed")
			}
			out = append(out, fmt.Sprintf("%s %d %d->%d %v", ch.Symbol, ch.Window.WindowStart, ch.Prev.Completed, ch.Window.Completed, ch.Deleted))
		default:
			return out
		}
	}
}

// Subscribers get their symbol's changes with the counts before and
// after; one that falls behind is dropped, the others are not.
func TestFeed(t *testing.T) {
	ix := newIndex()
	ix.Apply(settlement.WindowKey("ZVV", 0), encode(t, &pb.WindowCounts{Completed: 1})) // before anyone listens
	zvv, _ := ix.changes.subscribe("ZVV", 8, "")
	every, _ := ix.changes.subscribe("", 2, "")
	ix.Apply(settlement.WindowKey("ZVV", 0), encode(t, &pb.WindowCounts{Completed: 2}))
	ix.Apply(settlement.WindowKey("ABC", 60_000), encode(t, &pb.WindowCounts{Completed: 5}))
	ix.Apply(settlement.WindowKey("ZVV", 0), nil)
	if got, want := fmt.Sprint(drain(zvv)), "[ZVV 0 1->2 false ZVV 0 2->2 true]"; got != want {
		t.Fatalf("ZVV subscriber got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(drain(every)), "[ZVV 0 1->2 false ABC 60000 0->5 false closed]"; got != want || !every.Dropped() {
		t.Fatalf("every-symbol subscriber (buffer 2) got %s, dropped %v; want %s, dropped", got, every.Dropped(), want)
	}
	if zvv.Dropped() {
		t.Fatal("the ZVV subscriber was dropped")
	}
	zvv.Close()
	zvv.Close() // twice is harmless
}

// A subscriber that comes back with the last ID it saw gets what it
// missed, also when nobody listened meanwhile; an unknown ID or one too
// old resumes nothing.
func TestFeedResume(t *testing.T) {
	ix := newIndex()
	s, _ := ix.changes.subscribe("ZVV", 8, "")
	ix.Apply(settlement.WindowKey("ZVV", 0), encode(t, &pb.WindowCounts{Completed: 1}))
	last := (<-s.C).ID
	s.Close()
	ix.Apply(settlement.WindowKey("ZVV", 0), encode(t, &pb.WindowCounts{Completed: 2}))
	ix.Apply(settlement.WindowKey("ABC", 0), encode(t, &pb.WindowCounts{Completed: 1}))
	back, resumed := ix.changes.subscribe("ZVV", 8, last)
	if got, want := fmt.Sprint(drain(back)), "[ZVV 0 1->2 false]"; !resumed || got != want {
		t.Fatalf("resumed %v with %s, want true with %s", resumed, got, want)
	}
	for _, id := range []string{"", "other.1", last + "0", "x"} {
		if s, resumed := ix.changes.subscribe("ZVV", 8, id); resumed || len(drain(s)) != 0 {
			t.Errorf("after %q: resumed %v", id, resumed)
		}
	}
	for i := range recentChanges + 1 {
		ix.Apply(settlement.WindowKey("ABC", 0), encode(t, &pb.WindowCounts{Completed: int64(i + 2)}))
	}
	if _, resumed := ix.changes.subscribe("ZVV", 8, last); resumed {
		t.Error("resumed after more changes than are kept")
	}
}
