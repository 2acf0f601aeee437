package compact

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
)

func marshal(tb testing.TB, w *pb.WindowCounts) []byte {
	tb.Helper()
	b, err := proto.Marshal(w)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var applied = []*pb.SourceOffset{{Partition: 3, Offset: 41, Gaps: []*pb.OffsetRange{{First: 7, Last: 9}}}, {Partition: 5, Offset: 2}}

// Parse accepts what Go's protobuf writes, and Join and JoinCounts give
// back a value equal to it, field for field.
func TestParseJoin(t *testing.T) {
	for name, w := range map[string]*pb.WindowCounts{
		"usual":            {Symbol: "AAPL", WindowStart: 1_733_097_600_000, Completed: 12, Pending: 3, Flagged: 1, Rejected: 2, Applied: applied, Generation: 4},
		"zero counts":      {Symbol: "ZVV", WindowStart: 60_000},
		"before the epoch": {Symbol: "ZVV", WindowStart: -60_000, Completed: 1},
		"epoch, no symbol": {Rejected: 9},
		"big counts":       {Symbol: "ZVV", WindowStart: 60_000, Completed: 1 << 40, Pending: -1},
	} {
		t.Run(name, func(t *testing.T) {
			value := marshal(t, w)
			v, ok := Parse(w.Symbol, w.WindowStart, value)
			if !ok {
				t.Fatalf("Parse refused %x", value)
			}
			if want := [4]int64{w.Completed, w.Pending, w.Flagged, w.Rejected}; v.Counts != want {
				t.Errorf("counts %v, want %v", v.Counts, want)
			}
			if tail := marshal(t, &pb.WindowCounts{Applied: w.Applied, Generation: w.Generation}); string(v.Tail) != string(tail) {
				t.Errorf("tail %x, want %x", v.Tail, tail)
			}
			for how, back := range map[string][]byte{
				"Join":       Join(w.Symbol, w.WindowStart, v.Rest),
				"JoinCounts": JoinCounts(w.Symbol, w.WindowStart, v.Counts, v.Tail),
			} {
				var got pb.WindowCounts
				if err := proto.Unmarshal(back, &got); err != nil || !proto.Equal(&got, w) {
					t.Errorf("%s: %v (%v), want %v", how, &got, err, w)
				}
			}
		})
	}
}

// Parse refuses what it cannot give back equal, or what would not decode.
func TestParseRefuses(t *testing.T) {
	usual := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 120_000, Completed: 5, Applied: applied, Generation: 2}
	value := marshal(t, usual)
	head := marshal(t, &pb.WindowCounts{Symbol: "ZVV", WindowStart: 120_000})
	tail := marshal(t, &pb.WindowCounts{Applied: applied})
	count := protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 5)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for name, c := range map[string]struct {
		symbol string
		start  int64
		value  []byte
	}{
		"another symbol":     {"OTHER", 120_000, value},
		"another start":      {"ZVV", 60_000, value},
		"no symbol":          {"ZVV", 120_000, marshal(t, &pb.WindowCounts{WindowStart: 120_000, Completed: 1})},
		"no start":           {"ZVV", 120_000, marshal(t, &pb.WindowCounts{Symbol: "ZVV", Completed: 1})},
		"count after tail":   {"ZVV", 120_000, cat(head, tail, count)},
		"count twice":        {"ZVV", 120_000, cat(head, count, count)},
		"unknown field":      {"ZVV", 120_000, cat(value, protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))},
		"count as bytes":     {"ZVV", 120_000, cat(head, protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), []byte{1}))},
		"truncated":          {"ZVV", 120_000, value[:len(value)-1]},
		"bad source offset":  {"ZVV", 120_000, cat(head, protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), []byte{0x0a, 0x01, 0x00}))},
		"symbol not UTF-8":   {"\xff", 0, protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff")},
		"fixed64 generation": {"ZVV", 120_000, cat(head, protowire.AppendFixed64(protowire.AppendTag(nil, 8, protowire.Fixed64Type), 1))},
	} {
		if _, ok := Parse(c.symbol, c.start, c.value); ok {
			t.Errorf("%s: Parse accepted %x", name, c.value)
		}
	}
}

// Whatever the bytes, a value Parse accepts decodes, and both joins give
// it back equal.
func FuzzParse(f *testing.F) {
	f.Add("AAPL", int64(1_733_097_600_000), marshal(f, &pb.WindowCounts{Symbol: "AAPL", WindowStart: 1_733_097_600_000, Completed: 3, Applied: applied, Generation: 1}))
	f.Add("", int64(0), []byte{})
	f.Add("X", int64(-60_000), marshal(f, &pb.WindowCounts{Symbol: "X", WindowStart: -60_000, Rejected: 1 << 33}))
	f.Fuzz(func(t *testing.T, symbol string, start int64, value []byte) {
		v, ok := Parse(symbol, start, value)
		if !ok {
			return
		}
		var want pb.WindowCounts
		if err := proto.Unmarshal(value, &want); err != nil {
			t.Fatalf("Parse accepted %x, which does not decode: %v", value, err)
		}
		if want.Symbol != symbol || want.WindowStart != start {
			t.Fatalf("Parse accepted %x for %q at %d: it is %q at %d", value, symbol, start, want.Symbol, want.WindowStart)
		}
		for how, back := range map[string][]byte{
			"Join":       Join(symbol, start, v.Rest),
			"JoinCounts": JoinCounts(symbol, start, v.Counts, v.Tail),
		} {
			var got pb.WindowCounts
			if err := proto.Unmarshal(back, &got); err != nil || !proto.Equal(&got, &want) {
				t.Fatalf("%s of %x: %v (%v), want %v", how, value, &got, err, &want)
			}
		}
	})
}
