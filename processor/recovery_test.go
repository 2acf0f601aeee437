package processor

import (
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
)

// Recovering a count partition keeps a value when an older one landed
// after it in the changelog.
func TestCountUpdateKeepsNewerValue(t *testing.T) {
	m, _ := newMetrics(t)
	update := countUpdate(m)
	st := storage.NewMemory()
	write := func(w *pb.WindowCounts) {
		t.Helper()
		b, err := CountsCodec().Encode(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := update(updateContext{1}, st, "ZVV@0000000060000", b); err != nil {
			t.Fatal(err)
		}
	}
	newer := &pb.WindowCounts{Symbol: "ZVV", Applied: ledger.Offsets(map[int32]int64{0: 20})}
	newer.Completed = 5
	older := &pb.WindowCounts{Symbol: "ZVV", Applied: ledger.Offsets(map[int32]int64{0: 12})}
	older.Completed = 3
	write(newer)
	write(older) // a late write of the partition's old owner
	b, err := st.Get("ZVV@0000000060000")
	if err != nil {
		t.Fatal(err)
	}
	v, err := CountsCodec().Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*pb.WindowCounts).Completed; got != 5 {
		t.Fatalf("recovered completed = %d, want 5 (the newer value)", got)
	}
	if err := update(updateContext{2}, st, "ZVV@0000000060000", nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := st.Get("ZVV@0000000060000"); b != nil {
		t.Fatal("a tombstone did not delete the window")
	}
}

// updateContext is the UpdateContext of a record at users/0/offset.
type updateContext struct{ offset int64 }

func (updateContext) Topic() goka.Stream    { return goka.Stream(UsersTable) }
func (updateContext) Partition() int32      { return 0 }
func (u updateContext) Offset() int64       { return u.offset }
func (updateContext) Headers() goka.Headers { return nil }
func (updateContext) Timestamp() time.Time  { return eventTime }
