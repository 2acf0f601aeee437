package ledger

import (
	"testing"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

func i64(v int64) *int64 { return &v }

func TestTakeCountsALostWriteWhenItIsReplayed(t *testing.T) {
	a := &pb.SourceOffset{Offset: -1}
	steps := []struct {
		o    int64
		prev *int64
		want bool
	}{
		{10, nil, true},      // first of a run: no predecessor
		{12, i64(11), true},  // 11's write was lost: gap [11, 11]
		{14, i64(12), true},  //
		{12, i64(11), false}, // a duplicate of 12
		{11, nil, true},      // the replay of 11 (first of the new run)
		{11, nil, false},     // and its duplicate
		{12, i64(11), false}, // the replay goes on: already counted
		{14, i64(12), false},
		{20, i64(14), true},
		{3, nil, false}, // long before: counted before 10 was
	}
	for i, s := range steps {
		if got, _ := Take(a, s.o, s.prev); got != s.want {
			t.Fatalf("step %d: Take(%d) = %v, want %v (state %v)", i, s.o, got, s.want, a)
		}
	}
	if len(a.Gaps) != 0 || a.Offset != 20 {
		t.Fatalf("state %v: want offset 20 and no gaps", a)
	}
}

func TestTakeKeepsAGapOpenUntilEveryMissingTradeArrives(t *testing.T) {
	a := &pb.SourceOffset{Offset: 5}
	// 7 and 9 were lost, 11 got through.
	if taken, opened := Take(a, 11, i64(9)); !taken || !opened {
		t.Fatalf("Take(11) = %v, %v; want a gap opened", taken, opened)
	}
	if !InRanges(a.Gaps, 9) || !InRanges(a.Gaps, 7) || InRanges(a.Gaps, 10) {
		t.Fatalf("gaps %v: want 6..9 open, 10 closed", a.Gaps)
	}
	if taken, opened := Take(a, 9, i64(7)); !taken || opened || InRanges(a.Gaps, 8) || !InRanges(a.Gaps, 7) {
		t.Fatalf("after 9: gaps %v, want only 6..7", a.Gaps)
	}
	if taken, _ := Take(a, 7, i64(5)); !taken || len(a.Gaps) != 0 {
		t.Fatalf("after 7: gaps %v, want none", a.Gaps)
	}
	if taken, _ := Take(a, 9, i64(7)); taken {
		t.Fatal("9 taken twice")
	}
}

// Apply counts each disposition once per trade.
func TestApplyCountsEachTradeOnce(t *testing.T) {
	w := &pb.WindowCounts{Symbol: "ZVV"}
	for i, d := range settlement.Dispositions() {
		if counted, _ := Apply(w, d, 2, int64(i), nil); !counted {
			t.Fatalf("trade %d not counted", i)
		}
		if counted, _ := Apply(w, d, 2, int64(i), nil); counted {
			t.Fatalf("trade %d counted twice", i)
		}
	}
	if w.Completed != 1 || w.Pending != 1 || w.Flagged != 1 || w.Rejected != 1 || len(w.Applied) != 1 || w.Applied[0].Offset != 3 {
		t.Fatalf("window %v: want one of each disposition, partition 2 at offset 3", w)
	}
}
