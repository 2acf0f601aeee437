package store

import (
	"sync"
	"unsafe"

	"github.com/google/btree"
	"github.com/lovoo/goka/storage"
)

// item is one entry, its key and value in one string: one allocation and
// 24 bytes of B-tree slot per entry instead of two and 40 (a day of 8,000
// symbols is 11.5M windows).
type item struct {
	kv   string
	klen uint32
}

func newItem(key string, value []byte) item {
	return item{kv: key + string(value), klen: uint32(len(key))}
}

// probe is an item for looking key up.
func probe(key string) item { return item{kv: key, klen: uint32(len(key))} }

func (it item) key() string { return it.kv[:it.klen] }

// value aliases the item's string, without a copy per read; as with any
// goka storage's Get, callers must not change it (goka's codecs and the
// stale rule only read).
func (it item) value() []byte {
	v := it.kv[it.klen:]
	if v == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(v), len(v))
}

func less(a, b item) bool { return a.key() < b.key() }

// Memory is an in-memory goka storage: an ordered B-tree per partition,
// rebuilt from the changelog whenever a partition is opened.
//
// goka's LevelDB storage writes its journal with one write(2) per Set and
// per offset update (a profile of the drain showed a fifth of the CPU
// there), and costs ~12 MiB and ~4 files per partition with its defaults.
// goka's own in-memory storage re-sorts every key on each insert. A B-tree
// with copy-on-write snapshots gives ordered range scans for the views at
// map-like cost, and the changelog stays the durable copy, as with Kafka
// Streams' in-memory stores.
//
// A Memory is one partition's table. It is safe for concurrent readers and
// one writer, as goka requires.
type Memory struct {
	mu     sync.RWMutex
	tree   *btree.BTreeG[item]
	offset int64
	hasOff bool
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{tree: btree.NewG(32, less)} }

// MemoryBuilder builds an empty store per topic partition.
func MemoryBuilder() storage.Builder {
	return func(string, int32) (storage.Storage, error) { return NewMemory(), nil }
}

func (s *Memory) Open() error          { return nil }
func (s *Memory) Close() error         { return nil }
func (s *Memory) MarkRecovered() error { return nil }

func (s *Memory) Has(key string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.Has(probe(key)), nil
}

// Len is the number of entries; telemetry reads it at scrape time instead
// of counting every write.
func (s *Memory) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.Len()
}

func (s *Memory) Get(key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.tree.Get(probe(key))
	if !ok {
		return nil, nil
	}
	return it.value(), nil
}

// Set keeps a copy of value (in the item's string): a restored value is a
// slice of the fetched, decompressed record batch, and holding it would
// hold the whole batch, keys, headers and all, for as long as the entry
// lives.
func (s *Memory) Set(key string, value []byte) error {
	it := newItem(key, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree.ReplaceOrInsert(it)
	return nil
}

func (s *Memory) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree.Delete(probe(key))
	return nil
}

func (s *Memory) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.hasOff {
		return def, nil
	}
	return s.offset, nil
}

func (s *Memory) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.hasOff = offset, true
	return nil
}

func (s *Memory) Iterator() (storage.Iterator, error) { return s.IteratorWithRange(nil, nil) }

// IteratorWithRange iterates over a snapshot of [start, limit); nil is
// unbounded.
func (s *Memory) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	s.mu.Lock()
	snap := s.tree.Clone() // copy-on-write: later writes do not show
	s.mu.Unlock()
	var items []item
	visit := func(it item) bool {
		if limit != nil && it.key() >= string(limit) {
			return false
		}
		items = append(items, it)
		return true
	}
	if start == nil {
		snap.Ascend(visit)
	} else {
		snap.AscendGreaterOrEqual(probe(string(start)), visit)
	}
	return &iterator{items: items, pos: -1}, nil
}

type iterator struct {
	items []item
	pos   int
}

func (i *iterator) Next() bool {
	if i.pos < len(i.items) {
		i.pos++
	}
	return i.pos < len(i.items)
}

func (i *iterator) Err() error { return nil }

func (i *iterator) Key() []byte {
	if i.pos < 0 || i.pos >= len(i.items) {
		return nil
	}
	return []byte(i.items[i.pos].key())
}

func (i *iterator) Value() ([]byte, error) {
	if i.pos < 0 || i.pos >= len(i.items) {
		return nil, nil
	}
	return i.items[i.pos].value(), nil
}

func (i *iterator) Release() { i.items, i.pos = nil, 0 }

// Seek positions the iterator so that the next Next lands on the first key
// at or after key.
func (i *iterator) Seek(key []byte) bool {
	for j, it := range i.items {
		if it.key() >= string(key) {
			i.pos = j - 1
			return true
		}
	}
	i.pos = len(i.items)
	return false
}
