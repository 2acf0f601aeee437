package views

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

func encode(tb testing.TB, w *pb.WindowCounts) []byte {
	tb.Helper()
	b, err := processor.CountsCodec().Encode(w)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The index follows updates, tombstones and undecodable records.
func TestIndexFollowsChangelog(t *testing.T) {
	ix := newIndex()
	for i := int64(0); i < 3; i++ {
		ix.Apply(settlement.WindowKey("ZVV", i*60_000), encode(t, &pb.WindowCounts{Completed: i + 1}))
	}
	ix.Apply(settlement.WindowKey("ZVV", 60_000), encode(t, &pb.WindowCounts{Completed: 7})) // an update
	ix.Apply(settlement.WindowKey("ZVV", 0), nil)                                            // a tombstone
	ix.Apply(settlement.WindowKey("ZVV", 180_000), []byte{0xff, 0xff})                       // does not decode
	ix.Apply("no-at-sign", encode(t, &pb.WindowCounts{Completed: 1}))
	got := fmt.Sprint(ix.windows("ZVV", math.MinInt64, math.MaxInt64))
	want := "[{120000 180000 3 0 0 0} {60000 120000 7 0 0 0}]"
	if got != want {
		t.Fatalf("windows = %s, want %s", got, want)
	}
	if got := ix.windows("ZVV", 60_000, 60_000); len(got) != 1 || got[0].Completed != 7 {
		t.Fatalf("bounded query = %v", got)
	}
	ix.Apply(settlement.WindowKey("ZVV", 60_000), nil)
	ix.Apply(settlement.WindowKey("ZVV", 120_000), nil)
	if got := ix.windows("ZVV", math.MinInt64, math.MaxInt64); len(got) != 0 {
		t.Fatalf("after deleting every window: %v", got)
	}
}

// The encoded answer follows updates.
func TestIndexAnswer(t *testing.T) {
	ix := newIndex()
	b, _ := ix.answer("ZVV")
	if string(b) != `{"symbol":"ZVV","windows":[]}`+"\n" {
		t.Fatalf("unknown symbol: %s", b)
	}
	ix.Apply(settlement.WindowKey("ZVV", 60_000), encode(t, &pb.WindowCounts{Completed: 1}))
	first, _ := ix.answer("ZVV")
	again, _ := ix.answer("ZVV")
	if string(first) != string(again) || !strings.Contains(string(first), `"completed":1`) {
		t.Fatalf("answers %s, %s", first, again)
	}
	ix.Apply(settlement.WindowKey("ZVV", 60_000), encode(t, &pb.WindowCounts{Completed: 2}))
	if b, _ := ix.answer("ZVV"); !strings.Contains(string(b), `"completed":2`) {
		t.Fatalf("after an update: %s", b)
	}
}
