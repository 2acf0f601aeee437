package store

import (
	"errors"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
)

// Copy is a view's own decoded copy of a table, which its queries or
// lookups read: the count view's index by symbol, the users view's map.
// Apply records a changelog record (a nil value is a tombstone) and
// returns +1 when it added an entry, -1 when it removed one; Value is what
// the copy holds for key, nil when nothing.
type Copy interface {
	Apply(key string, value []byte) int
	Value(key string) []byte
}

// KeyedBuilder is a view's storage that is its copy: each partition keeps
// the offset goka has read to and counts its entries, and the values live
// in the copy only, so the view holds each entry once. Like Memory it
// starts empty, and the view rebuilds it from the changelog's start.
func KeyedBuilder(c Copy) storage.Builder { return NewKeyed(c, nil).Builder() }

// Keyed is KeyedBuilder's storage with what a copy that is also written
// to directly needs (the count view's index, which the fused count
// updates before its writes land): the offset each partition has read
// to, and the entries the copy adds itself counted in the partition
// their key hashes to.
type Keyed struct {
	copy   Copy
	hasher func() hash.Hash32
	parts  sync.Map // partition → *keyed
	n      atomic.Int32
}

// NewKeyed is a Keyed over c whose keys are partitioned by hasher's sum,
// as goka's views do (nil: entries added directly are not counted).
func NewKeyed(c Copy, hasher func() hash.Hash32) *Keyed { return &Keyed{copy: c, hasher: hasher} }

// Builder builds the partitions' storages; a partition built again after a
// reconnect counts on.
func (k *Keyed) Builder() storage.Builder {
	return func(_ string, partition int32) (storage.Storage, error) {
		s, loaded := k.parts.LoadOrStore(partition, &keyed{copy: k.copy, entries: new(atomic.Int64)})
		if !loaded {
			for n := k.n.Load(); partition >= n && !k.n.CompareAndSwap(n, partition+1); n = k.n.Load() {
			}
		}
		return s.(*keyed), nil
	}
}

// Counted counts delta entries the copy added (or removed) itself for key.
func (k *Keyed) Counted(key string, delta int) {
	n := k.n.Load()
	if delta == 0 || k.hasher == nil || n == 0 {
		return
	}
	h := k.hasher()
	h.Write([]byte(key))
	sum := int32(h.Sum32()) // as goka's views and producer partition
	if sum < 0 {
		sum = -sum
	}
	if s, ok := k.parts.Load(sum % n); ok {
		s.(*keyed).entries.Add(int64(delta))
	}
}

// Offsets are the offsets each partition has read to (-1: none yet).
func (k *Keyed) Offsets() map[int32]int64 {
	out := make(map[int32]int64)
	k.parts.Range(func(p, s any) bool {
		o, _ := s.(*keyed).GetOffset(-1)
		out[p.(int32)] = o
		return true
	})
	return out
}

// keyed is one partition of a view stored in its copy.
type keyed struct {
	copy    Copy
	entries *atomic.Int64

	mu        sync.Mutex
	offset    int64
	hasOffset bool
}

var errNoIteration = errors.New("this view's storage is its own copy (queried by key); it is not iterated")

func (s *keyed) Open() error          { return nil }
func (s *keyed) Close() error         { return nil }
func (s *keyed) MarkRecovered() error { return nil }

// Len is the partition's entries (telemetry reads it at scrape time).
func (s *keyed) Len() int { return int(s.entries.Load()) }

func (s *keyed) Has(key string) (bool, error)   { return s.copy.Value(key) != nil, nil }
func (s *keyed) Get(key string) ([]byte, error) { return s.copy.Value(key), nil }

func (s *keyed) Set(key string, value []byte) error {
	s.entries.Add(int64(s.copy.Apply(key, value)))
	return nil
}

func (s *keyed) Delete(key string) error {
	s.entries.Add(int64(s.copy.Apply(key, nil)))
	return nil
}

func (s *keyed) GetOffset(def int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasOffset {
		return def, nil
	}
	return s.offset, nil
}

func (s *keyed) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.hasOffset = offset, true
	return nil
}

func (s *keyed) Iterator() (storage.Iterator, error) { return nil, errNoIteration }

func (s *keyed) IteratorWithRange(_, _ []byte) (storage.Iterator, error) {
	return nil, errNoIteration
}
