package ledger

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// ApplyEncoded gives what decoding, Apply and proto.Marshal give, byte for
// byte, for every value of its shape, and declines the others.
func TestApplyEncodedMatchesApply(t *testing.T) {
	deterministic := proto.MarshalOptions{Deterministic: true}
	rng := rand.New(rand.NewPCG(1, 2))
	ds := []settlement.Disposition{settlement.Completed, settlement.Pending, settlement.Flagged, settlement.Rejected}
	pick := func(xs ...int64) int64 { return xs[rng.IntN(len(xs))] }
	for i := range 5000 {
		symbol := []string{"ZVV", "", "ÄBC", "LONGSYMBOLNAME"}[rng.IntN(4)]
		start := pick(0, 60_000, 1700000040000, -60_000)
		partition := int32(pick(0, 1, 7, 999))
		offset := pick(0, 1, 41, 1<<40, rng.Int64N(100))
		d := ds[rng.IntN(4)]
		gen := int32(pick(0, 1, 5, 1<<30))
		var held []byte
		if i%5 != 0 {
			w := &pb.WindowCounts{Symbol: symbol, WindowStart: start,
				Completed: pick(0, 1, 3, 1<<33), Pending: pick(0, 2), Flagged: pick(0, 5), Rejected: pick(0, 1),
				Generation: int32(pick(0, 4))}
			w.Applied = []*pb.SourceOffset{{Partition: partition, Offset: pick(-1, 0, 40, 41, 42, 1<<41)}}
			var err error
			held, err = deterministic.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
		}
		want := &pb.WindowCounts{Symbol: symbol, WindowStart: start}
		if held != nil {
			if err := proto.Unmarshal(held, want); err != nil {
				t.Fatal(err)
			}
		}
		wantCounted, _ := Apply(want, d, partition, offset, nil)
		want.Generation = gen
		wantBytes, err := deterministic.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, counted, ok := ApplyEncoded(held, symbol, start, d, partition, offset, gen)
		if !ok {
			t.Fatalf("declined %x (%v)", held, want)
		}
		if counted != wantCounted || !bytes.Equal(got, wantBytes) {
			t.Fatalf("trade %d/%d %v into %x: got %x counted %v, want %x counted %v", partition, offset, d, held, got, counted, wantBytes, wantCounted)
		}
	}
	for _, w := range []*pb.WindowCounts{
		{Symbol: "ZVV", Applied: []*pb.SourceOffset{{Partition: 1, Offset: 5}, {Partition: 2, Offset: 6}}},
		{Symbol: "ZVV", Applied: []*pb.SourceOffset{{Partition: 1, Offset: 5, Gaps: []*pb.OffsetRange{{First: 2, Last: 3}}}}},
		{Symbol: "ZVV", Applied: []*pb.SourceOffset{{Partition: 2, Offset: 5}}},
		{Symbol: "OTHER", Applied: []*pb.SourceOffset{{Partition: 1, Offset: 5}}},
		{Symbol: "ZVV", Completed: 3},
	} {
		b, _ := proto.Marshal(w)
		if _, _, ok := ApplyEncoded(b, "ZVV", 0, settlement.Completed, 1, 9, 1); ok {
			t.Errorf("took %v; want it declined", w)
		}
	}
}

// Whatever held is, ApplyEncoded either declines it or agrees with
// decoding it and calling Apply.
func FuzzApplyEncoded(f *testing.F) {
	seed, _ := proto.Marshal(&pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000, Completed: 2,
		Applied: []*pb.SourceOffset{{Partition: 1, Offset: 40}}, Generation: 3})
	f.Add(seed, int64(41))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, held []byte, offset int64) {
		got, counted, ok := ApplyEncoded(held, "ZVV", 60_000, settlement.Flagged, 1, offset, 7)
		if !ok {
			return
		}
		want := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000}
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(held, want); err != nil {
			t.Fatalf("took %x, which does not decode: %v", held, err)
		}
		wantCounted, _ := Apply(want, settlement.Flagged, 1, offset, nil)
		want.Generation = 7
		var g pb.WindowCounts
		if err := proto.Unmarshal(got, &g); err != nil {
			t.Fatalf("wrote %x, which does not decode: %v", got, err)
		}
		if counted != wantCounted || !proto.Equal(&g, want) {
			t.Fatalf("%x, offset %d: got %v counted %v, want %v counted %v", held, offset, &g, counted, want, wantCounted)
		}
	})
}
