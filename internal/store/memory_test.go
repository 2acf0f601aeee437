package store

import (
	"fmt"
	"testing"
)

func keys(t *testing.T, s *Memory, start, limit []byte) []string {
	t.Helper()
	it, err := s.IteratorWithRange(start, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()
	var out []string
	for it.Next() {
		v, _ := it.Value()
		out = append(out, string(it.Key())+"="+string(v))
	}
	return out
}

func TestStore(t *testing.T) {
	s := NewMemory()
	if off, _ := s.GetOffset(-2); off != -2 {
		t.Fatalf("offset of a new store = %d, want the default", off)
	}
	for _, k := range []string{"b", "a", "c", "ab"} {
		if err := s.Set(k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Set("a", []byte("va2"))
	_ = s.Delete("c")
	_ = s.Delete("missing")
	if has, _ := s.Has("c"); has {
		t.Fatal("deleted key still there")
	}
	if v, _ := s.Get("a"); string(v) != "va2" {
		t.Fatalf("Get(a) = %q", v)
	}
	if v, _ := s.Get("zz"); v != nil {
		t.Fatalf("Get of a missing key = %q, want nil", v)
	}
	tests := []struct {
		name         string
		start, limit []byte
		want         string
	}{
		{"all", nil, nil, "[a=va2 ab=vab b=vb]"},
		{"from", []byte("ab"), nil, "[ab=vab b=vb]"},
		{"half-open", []byte("a"), []byte("b"), "[a=va2 ab=vab]"},
		{"empty", []byte("x"), nil, "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(keys(t, s, tc.start, tc.limit)); got != tc.want && !(tc.want == "[]" && got == "[]") {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	_ = s.SetOffset(41)
	if off, _ := s.GetOffset(-2); off != 41 {
		t.Fatalf("offset = %d, want 41", off)
	}
}

func TestIteratorIsASnapshot(t *testing.T) {
	s := NewMemory()
	_ = s.Set("a", []byte("1"))
	it, _ := s.Iterator()
	_ = s.Set("b", []byte("2"))
	_ = s.Delete("a")
	var got []string
	for it.Next() {
		got = append(got, string(it.Key()))
	}
	if fmt.Sprint(got) != "[a]" {
		t.Fatalf("iterator saw later writes: %v", got)
	}
}

func TestSeek(t *testing.T) {
	s := NewMemory()
	for _, k := range []string{"a", "c", "e"} {
		_ = s.Set(k, nil)
	}
	it, _ := s.Iterator()
	if !it.Seek([]byte("b")) || !it.Next() || string(it.Key()) != "c" {
		t.Fatalf("Seek(b) then Next should land on c, got %q", it.Key())
	}
	if it.Seek([]byte("f")) || it.Next() {
		t.Fatal("Seek past the end should report nothing")
	}
}

// A value is copied, so the entry does not hold the buffer it came in (a
// fetched record batch).
func TestMemorySetCopies(t *testing.T) {
	s := NewMemory()
	batch := make([]byte, 4096)
	copy(batch[100:], "value")
	if err := s.Set("k", batch[100:105:105]); err != nil {
		t.Fatal(err)
	}
	batch[100] = 'X'
	got, _ := s.Get("k")
	if string(got) != "value" || &got[0] == &batch[100] {
		t.Fatalf("got %q; want a copy of %q", got, "value")
	}
}
