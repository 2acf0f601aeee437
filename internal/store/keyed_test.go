package store

import (
	"hash/fnv"
	"testing"

	"github.com/lovoo/goka/storage"
)

// mapCopy is a Copy over a map.
type mapCopy map[string]string

func (m mapCopy) Apply(key string, value []byte) int {
	_, had := m[key]
	if value == nil {
		delete(m, key)
		if had {
			return -1
		}
		return 0
	}
	m[key] = string(value)
	if had {
		return 0
	}
	return 1
}

func (m mapCopy) Value(key string) []byte {
	if v, ok := m[key]; ok {
		return []byte(v)
	}
	return nil
}

// A keyed storage writes through to the copy and reads from it, counts
// each partition's entries across a storage built again, and keeps
// offsets per partition.
func TestKeyed(t *testing.T) {
	c := mapCopy{}
	build := KeyedBuilder(c)
	p0, _ := build("t", 0)
	p1, _ := build("t", 1)
	must(t, p0.Set("a", []byte("1")))
	must(t, p1.Set("b", []byte("2")))
	must(t, p1.Set("b", []byte("3"))) // an update
	if got, _ := p0.Get("b"); string(got) != "3" || c["a"] != "1" {
		t.Errorf("Get(b) = %q, copy %v", got, c)
	}
	if has, _ := p1.Has("z"); has {
		t.Error("Has an entry never set")
	}
	again, _ := build("t", 1) // after a reconnect
	if n := again.(*keyed).Len(); n != 1 {
		t.Errorf("partition 1 counts %d entries, want 1", n)
	}
	must(t, again.Delete("b"))
	must(t, again.Delete("b")) // a second tombstone removes nothing
	if n0, n1 := p0.(*keyed).Len(), again.(*keyed).Len(); n0 != 1 || n1 != 0 {
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

// Keyed reports each partition's offset and counts the entries a copy
// adds itself in the partition its key hashes to, as goka partitions.
func TestKeyedOffsetsAndOwnEntries(t *testing.T) {
	k := NewKeyed(mapCopy{}, fnv.New32a)
	build := k.Builder()
	parts := make([]storage.Storage, 3)
	for p := range parts {
		parts[p], _ = build("t", int32(p))
	}
	if err := parts[1].SetOffset(41); err != nil {
		t.Fatal(err)
	}
	if got := k.Offsets(); got[0] != -1 || got[1] != 41 || got[2] != -1 || len(got) != 3 {
		t.Errorf("offsets %v, want 1 at 41 and the others at -1", got)
	}
	h := fnv.New32a()
	h.Write([]byte("ZVV@60000"))
	sum := int32(h.Sum32())
	if sum < 0 {
		sum = -sum
	}
	want := sum % 3
	k.Counted("ZVV@60000", 1)
	for p, s := range parts {
		n := s.(interface{ Len() int }).Len()
		if (int32(p) == want) != (n == 1) || n > 1 {
			t.Errorf("partition %d holds %d entries; the key hashes to %d", p, n, want)
		}
	}
}
