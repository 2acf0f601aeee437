package views

import (
	"math"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// An index entry gives back a value equal, field for field, to the one it
// was made from, whether it holds the tail itself (the usual case) or the
// value is kept whole beside it; and its window has the value's counts.
func TestEntryKeepsTheValue(t *testing.T) {
	applied := []*pb.SourceOffset{{Partition: 3, Offset: 41}}
	withGaps := []*pb.SourceOffset{{Partition: 3, Offset: 41, Gaps: []*pb.OffsetRange{{First: 7, Last: 9}}}, {Partition: 5, Offset: 2}}
	type entryCase struct {
		name    string
		symbol  string
		w       *pb.WindowCounts
		raw     []byte // when set, the encoding instead of proto.Marshal's
		keptAll bool
	}
	cases := []entryCase{
		{name: "usual", symbol: "AAPL", w: &pb.WindowCounts{Symbol: "AAPL", WindowStart: 1_733_097_600_000, Completed: 12, Pending: 3, Flagged: 1, Rejected: 2, Applied: applied, Generation: 4}},
		{name: "longest usual tail", symbol: "AAPL", w: &pb.WindowCounts{Symbol: "AAPL", WindowStart: 60_000, Completed: 1,
			Applied: []*pb.SourceOffset{{Partition: 999, Offset: 1 << 34}}, Generation: 1 << 13}},
		{name: "zero counts, no tail", symbol: "ZVV", w: &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000}},
		{name: "before the epoch", symbol: "ZVV", w: &pb.WindowCounts{Symbol: "ZVV", WindowStart: -60_000, Completed: 1}},
		{name: "gaps and two partitions", symbol: "ZVV", w: &pb.WindowCounts{Symbol: "ZVV", WindowStart: 0, Completed: 1, Applied: withGaps}, keptAll: true},
		{name: "count beyond int32", symbol: "ZVV", w: &pb.WindowCounts{Symbol: "ZVV", WindowStart: 0, Completed: math.MaxInt32 + 1, Applied: applied}, keptAll: true},
		{name: "symbol not the key's", symbol: "ZVV", w: &pb.WindowCounts{Symbol: "OTHER", WindowStart: 0, Completed: 1}, keptAll: true},
		{name: "no symbol", symbol: "ZVV", w: &pb.WindowCounts{WindowStart: 0, Completed: 1}, keptAll: true},
	}
	// A count after the applied offsets: out of field order.
	outOfOrder := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 120_000, Completed: 5, Applied: applied}
	tail, _ := proto.Marshal(&pb.WindowCounts{Applied: applied})
	head, _ := proto.Marshal(&pb.WindowCounts{Symbol: "ZVV", WindowStart: 120_000})
	raw := append(append(head, tail...), protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 5)...)
	cases = append(cases, entryCase{name: "out of field order", symbol: "ZVV", w: outOfOrder, raw: raw, keptAll: true})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			value := c.raw
			if value == nil {
				var err error
				if value, err = proto.Marshal(c.w); err != nil {
					t.Fatal(err)
				}
			}
			ix := newIndex()
			key := settlement.WindowKey(c.symbol, c.w.WindowStart)
			if added := ix.Apply(key, value); added != 1 {
				t.Fatalf("Apply added %d", added)
			}
			sw := ix.symbols[c.symbol]
			if kept := sw.sorted[0].wholeValue(); kept != c.keptAll || len(sw.whole) != map[bool]int{true: 1}[kept] {
				t.Errorf("whole value kept: %v (%d in the map), want %v", kept, len(sw.whole), c.keptAll)
			}
			var back pb.WindowCounts
			if err := proto.Unmarshal(ix.Value(key), &back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&back, c.w) {
				t.Errorf("value back %v, want %v", &back, c.w)
			}
			want := Window{WindowStart: c.w.WindowStart, WindowEnd: settlement.WindowEnd(c.w.WindowStart),
				Completed: c.w.Completed, Pending: c.w.Pending, Flagged: c.w.Flagged, Rejected: c.w.Rejected}
			if got := sw.window(0); got != want {
				t.Errorf("window %+v, want %+v", got, want)
			}
			// A usual value replacing it, then a tombstone, leave nothing
			// kept whole.
			ix.Apply(key, encode(t, &pb.WindowCounts{Symbol: c.symbol, WindowStart: c.w.WindowStart, Completed: 1, Applied: applied}))
			if len(sw.whole) != 0 {
				t.Errorf("%d values kept whole after a usual one replaced it", len(sw.whole))
			}
			ix.Apply(key, value)
			if removed := ix.Apply(key, nil); removed != -1 || len(sw.whole) != 0 || ix.Value(key) != nil {
				t.Errorf("tombstone: %d, %d kept whole, value %x", removed, len(sw.whole), ix.Value(key))
			}
		})
	}
}

// An entry is 40 bytes with no pointers: the figure the state per window
// rests on.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n != 40 {
		t.Errorf("entry is %d bytes", n)
	}
}

// The index's Value is what was applied, as the stale rule reads it.
func TestIndexValue(t *testing.T) {
	ix := newIndex()
	w := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000, Completed: 2, Applied: []*pb.SourceOffset{{Partition: 1, Offset: 9}}, Generation: 3}
	key := settlement.WindowKey("ZVV", 60_000)
	ix.Apply(key, encode(t, w))
	var back pb.WindowCounts
	if err := proto.Unmarshal(ix.Value(key), &back); err != nil || !proto.Equal(&back, w) {
		t.Fatalf("Value = %v (%v), want %v", &back, err, w)
	}
	if v := ix.Value(settlement.WindowKey("ZVV", 0)); v != nil {
		t.Fatalf("Value of a window not held = %x", v)
	}
}
