package views

import (
	"bytes"
	"math"
	"slices"
	"testing"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// The fused count's side of the index: an update is seen by queries, the
// feed and the entry count at once; the view reading the same value back
// changes nothing; expiry removes a prefix of a symbol's windows.
func TestIndexFusedUpdates(t *testing.T) {
	ix := newIndex()
	counted := 0
	ix.counted = func(string, int) { counted++ }
	sub, _ := ix.changes.subscribe("ZVV", 16, "")
	key := settlement.WindowKey("ZVV", 60_000)
	v := encode(t, &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000, Completed: 2,
		Applied: []*pb.SourceOffset{{Partition: 3, Offset: 41}}, Generation: 5})
	if err := ix.Update(key, func(held []byte) []byte {
		if held != nil {
			t.Errorf("held %x before the first update", held)
		}
		return v
	}); err != nil {
		t.Fatal(err)
	}
	if got := ix.windows("ZVV", math.MinInt64, math.MaxInt64); len(got) != 1 || got[0].Completed != 2 {
		t.Fatalf("windows after an update: %v", got)
	}
	if counted != 1 {
		t.Errorf("a window added by Update was counted %d times, want once", counted)
	}
	_ = ix.Update(key, func(held []byte) []byte {
		if !bytes.Equal(held, v) {
			t.Errorf("Update gives %x, want the value stored %x", held, v)
		}
		return nil // nothing changes
	})
	if ix.Apply(key, v) != 0 {
		t.Error("the same value read back from the changelog added a window")
	}
	var changes int
	for len(sub.C) > 0 {
		<-sub.C
		changes++
	}
	if changes != 1 {
		t.Errorf("%d changes published, want 1 (the update; not the no-op read-back)", changes)
	}
	var symbols []string
	ix.EachSymbol(func(symbol string, newest int64) {
		if symbol != "ZVV" || newest != 60_000 {
			t.Errorf("EachSymbol(%s, %d)", symbol, newest)
		}
		symbols = append(symbols, symbol)
	})
	if !slices.Equal(symbols, []string{"ZVV"}) {
		t.Errorf("symbols %v, want [ZVV]", symbols)
	}
	for _, start := range []int64{0, 120_000} {
		ix.Apply(settlement.WindowKey("ZVV", start), encode(t, &pb.WindowCounts{Symbol: "ZVV", WindowStart: start, Completed: 1}))
	}
	var gone []string
	ix.Expire("ZVV", 120_000, func(key string) { gone = append(gone, key) })
	if want := []string{settlement.WindowKey("ZVV", 0), key}; !slices.Equal(gone, want) {
		t.Errorf("expired %v, want %v", gone, want)
	}
	if got := ix.windows("ZVV", math.MinInt64, math.MaxInt64); len(got) != 1 || got[0].WindowStart != 120_000 {
		t.Errorf("windows after expiry: %v", got)
	}
	ix.Expire("ZVV", math.MaxInt64, func(string) {})
	if names := ix.symbolNames(); len(names) != 0 {
		t.Errorf("symbols with no windows left listed: %v", names)
	}
}
