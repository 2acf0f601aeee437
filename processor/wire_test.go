package processor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
)

// The hand-written encoders write what proto.Marshal writes, for zero,
// negative, extreme and random values.
func TestWireMatchesProtoMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "ZVV", "User_9", "ünïcödé ✓", string(make([]byte, 300))}
	i32 := []int32{0, 1, -1, math.MaxInt32, math.MinInt32}
	i64 := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1796292000000}
	f64 := []float64{0, math.Copysign(0, -1), 1.5, -2.25, math.MaxFloat64, math.Inf(1)}
	pick := func(n int) int { return r.IntN(n) }
	for range 2000 {
		ut := &pb.UserTrade{
			Userid: strs[pick(len(strs))], Regionid: strs[pick(len(strs))], Quantity: i32[pick(len(i32))], Symbol: strs[pick(len(strs))],
			Price: i32[pick(len(i32))], Account: strs[pick(len(strs))], Side: strs[pick(len(strs))], Timestamp: i64[pick(len(i64))],
			SourcePartition: i32[pick(len(i32))], SourceOffset: i64[pick(len(i64))],
		}
		want, err := marshal(ut)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendUserTrade(nil, ut); !bytes.Equal(got, want) {
			t.Fatalf("UserTrade %v:\n got %x\nwant %x", ut, got, want)
		}
		ts := &pb.TradeSettlement{
			User: strs[pick(len(strs))], Symbol: strs[pick(len(strs))], Amount: f64[pick(len(f64))], Disposition: strs[pick(len(strs))],
			Reason: strs[pick(len(strs))], Timestamp: i64[pick(len(i64))], SourcePartition: i32[pick(len(i32))], SourceOffset: i64[pick(len(i64))],
		}
		if pick(2) == 0 {
			ts.WindowPrevOffset = proto.Int64(i64[pick(len(i64))])
		}
		want, err = marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSettlement(nil, ts); !bytes.Equal(got, want) {
			t.Fatalf("TradeSettlement %v:\n got %x\nwant %x", ts, got, want)
		}
	}
}
