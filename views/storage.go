package views

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka/storage"
)

// builder is the count view's storage: one viewStorage per partition, all
// over the index, so the view holds each window once. Like the memory
// store, it starts empty, and the view rebuilds it from the changelog's
// start at every start.
func (ix *index) builder() storage.Builder {
	return func(_ string, partition int32) (storage.Storage, error) {
		n, _ := ix.entries.LoadOrStore(partition, new(atomic.Int64))
		return &viewStorage{ix: ix, entries: n.(*atomic.Int64)}, nil
	}
}

// viewStorage is one partition of the count view, stored in the index: its
// windows, and the offset goka has read to.
type viewStorage struct {
	ix      *index
	entries *atomic.Int64

	mu        sync.Mutex
	offset    int64
	hasOffset bool
}

var errNoIteration = errors.New("the count view's storage is the index by symbol; it is not iterated")

func (s *viewStorage) Open() error          { return nil }
func (s *viewStorage) Close() error         { return nil }
func (s *viewStorage) MarkRecovered() error { return nil }

// Len is the partition's windows (telemetry reads it at scrape time).
func (s *viewStorage) Len() int { return int(s.entries.Load()) }

func (s *viewStorage) Has(key string) (bool, error)   { return s.ix.value(key) != nil, nil }
func (s *viewStorage) Get(key string) ([]byte, error) { return s.ix.value(key), nil }

func (s *viewStorage) Set(key string, value []byte) error {
	s.entries.Add(int64(s.ix.apply(key, value)))
	return nil
}

func (s *viewStorage) Delete(key string) error {
	s.entries.Add(int64(s.ix.apply(key, nil)))
	return nil
}

func (s *viewStorage) GetOffset(def int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasOffset {
		return def, nil
	}
	return s.offset, nil
}

func (s *viewStorage) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.hasOffset = offset, true
	return nil
}

func (s *viewStorage) Iterator() (storage.Iterator, error) { return nil, errNoIteration }

func (s *viewStorage) IteratorWithRange(_, _ []byte) (storage.Iterator, error) {
	return nil, errNoIteration
}
