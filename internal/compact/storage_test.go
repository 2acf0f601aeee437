package compact

import (
	"testing"

	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/store"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// What the held storage is given it gives back, by Get and by iteration,
// holding a window's value without its symbol and start, and keeping
// whole what it cannot parse; it says how many entries it holds.
func TestHeldStorage(t *testing.T) {
	s, err := Builder(store.MemoryBuilder())("tradeflow-count-table", 0)
	if err != nil {
		t.Fatal(err)
	}
	usual := marshal(t, &pb.WindowCounts{Symbol: "AAPL", WindowStart: 1_733_097_600_000, Completed: 12, Applied: applied, Generation: 4})
	mismatched := marshal(t, &pb.WindowCounts{Symbol: "OTHER", WindowStart: 60_000, Completed: 1})
	want := map[string][]byte{
		settlement.WindowKey("AAPL", 1_733_097_600_000): usual,
		settlement.WindowKey("ZVV", 60_000):             mismatched,
		"not a window key":                              []byte("opaque"),
		settlement.WindowKey("ZVV", 120_000):            {},
	}
	for k, v := range want {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range want {
		got, err := s.Get(k)
		if err != nil || string(got) != string(v) {
			t.Errorf("Get(%q) = %x (%v), want %x", k, got, err, v)
		}
	}
	held := s.(sizedHeld).held.Storage
	raw, _ := held.Get(settlement.WindowKey("AAPL", 1_733_097_600_000))
	if len(raw) >= len(usual) {
		t.Errorf("held %d bytes for a value of %d", len(raw), len(usual))
	}
	it, err := s.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		v, err := it.Value()
		if w := want[string(it.Key())]; err != nil || string(v) != string(w) {
			t.Errorf("iterated %q = %x (%v), want %x", it.Key(), v, err, w)
		}
		n++
	}
	it.Release()
	if n != len(want) {
		t.Errorf("iterated %d entries, want %d", n, len(want))
	}
	if l, ok := s.(interface{ Len() int }); !ok || l.Len() != len(want) {
		t.Errorf("Len: %v, want %d", s, len(want))
	}
	if err := s.Delete("not a window key"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("not a window key"); got != nil {
		t.Errorf("Get of a deleted key = %x", got)
	}
}

// Over a storage that cannot say how many entries it holds, the held
// storage does not claim to (telemetry then counts them itself).
func TestHeldStorageUnsized(t *testing.T) {
	unsized := func(string, int32) (storage.Storage, error) { return storage.NewMemory(), nil }
	s, err := Builder(unsized)("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(interface{ Len() int }); ok {
		t.Error("a held storage over goka's memory storage says it has Len")
	}
}
