package store

import (
	"errors"
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
func KeyedBuilder(c Copy) storage.Builder {
	var entries sync.Map // partition → *atomic.Int64: a partition built again after a reconnect counts on
	return func(_ string, partition int32) (storage.Storage, error) {
		n, _ := entries.LoadOrStore(partition, new(atomic.Int64))
		return &keyed{copy: c, entries: n.(*atomic.Int64)}, nil
	}
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
