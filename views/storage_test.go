package views

import (
	"bytes"
	"testing"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// The view's storage is the index: what is set is answered by symbol and
// read back for the stale rule, each partition counts its windows across
// a rebuilt storage, and offsets are kept per partition.
func TestViewStorage(t *testing.T) {
	ix := newIndex()
	p0, _ := ix.builder()("tradeflow-count-table", 0)
	p1, _ := ix.builder()("tradeflow-count-table", 1)
	k1, k2 := settlement.WindowKey("ZVV", 60_000), settlement.WindowKey("ZVV", 120_000)
	v1 := encode(t, &pb.WindowCounts{Completed: 2})
	batch := append(append([]byte{}, v1...), "rest of the batch"...)
	must(t, p0.Set(k1, batch[:len(v1)]))
	must(t, p1.Set(k2, encode(t, &pb.WindowCounts{Pending: 1})))
	must(t, p1.Set(k2, encode(t, &pb.WindowCounts{Pending: 3}))) // an update
	batch[0] ^= 0xff
	if got, _ := p0.Get(k1); !bytes.Equal(got, v1) {
		t.Errorf("Get = %x, want the value set (copied), %x", got, v1)
	}
	if ws := ix.windows("ZVV", 0, 1<<40); len(ws) != 2 || ws[0].Pending != 3 || ws[1].Completed != 2 {
		t.Errorf("windows = %+v", ws)
	}
	if has, _ := p1.Has(settlement.WindowKey("ZVV", 180_000)); has {
		t.Error("Has a window never set")
	}
	again, _ := ix.builder()("tradeflow-count-table", 1) // after a reconnect
	if n := again.(*viewStorage).Len(); n != 1 {
		t.Errorf("partition 1 counts %d windows, want 1", n)
	}
	must(t, again.Delete(k2))
	if n0, n1 := p0.(*viewStorage).Len(), again.(*viewStorage).Len(); n0 != 1 || n1 != 0 {
		t.Errorf("entries %d and %d, want 1 and 0", n0, n1)
	}
	if off, _ := p0.GetOffset(-2); off != -2 {
		t.Errorf("offset before any = %d, want the default", off)
	}
	must(t, p0.SetOffset(41))
	if off, _ := p0.GetOffset(-2); off != 41 {
		t.Errorf("offset = %d, want 41", off)
	}
	if _, err := p0.Iterator(); err == nil {
		t.Error("Iterator must say it is not supported")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
