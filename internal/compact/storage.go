package compact

import (
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/settlement"
)

// A held value starts with what it is: the Rest of a parsed value, or a
// value kept whole (one that Parse does not accept, or whose key is not a
// window key).
const (
	heldRest  byte = 0
	heldWhole byte = 1
)

// Builder wraps the storage b builds for the count group's table: each
// value is held without the symbol and window start its key says, about
// a quarter of it (16 bytes of a window's ~64 in the memory store), and
// given back whole. Only for storage rebuilt from the changelog at every
// start (a memory store): what it holds is not a changelog value.
func Builder(b storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		s, err := b(topic, partition)
		if err != nil {
			return nil, err
		}
		h := &held{Storage: s}
		if l, ok := s.(sized); ok {
			return sizedHeld{h, l}, nil
		}
		return h, nil
	}
}

// sized is a storage that says how many entries it holds (telemetry reads
// it at scrape time instead of counting).
type sized interface{ Len() int }

// sizedHeld is held over a sized storage, and says so.
type sizedHeld struct {
	*held
	sized
}

// held is one partition's storage holding compact values. goka writes a
// partition's storage from one goroutine, so Set's scratch buffer is not
// shared; the storage underneath copies what it is given.
type held struct {
	storage.Storage
	scratch []byte
}

func (s *held) Set(key string, value []byte) error {
	s.scratch = append(s.scratch[:0], heldWhole)
	if symbol, start, err := settlement.ParseWindowKey(key); err == nil {
		if v, ok := Parse(symbol, start, value); ok {
			s.scratch = append(s.scratch[:0], heldRest)
			value = v.Rest
		}
	}
	s.scratch = append(s.scratch, value...)
	return s.Storage.Set(key, s.scratch)
}

func (s *held) Get(key string) ([]byte, error) {
	b, err := s.Storage.Get(key)
	if err != nil || b == nil {
		return b, err
	}
	return unhold(key, b), nil
}

// unhold is the value key's held form b stands for.
func unhold(key string, b []byte) []byte {
	if len(b) == 0 || b[0] != heldRest {
		return b[min(len(b), 1):]
	}
	symbol, start, err := settlement.ParseWindowKey(key)
	if err != nil {
		return nil // not written by Set: only window keys are held as rest
	}
	return Join(symbol, start, b[1:])
}

func (s *held) Iterator() (storage.Iterator, error) {
	it, err := s.Storage.Iterator()
	if err != nil {
		return nil, err
	}
	return iterator{it}, nil
}

func (s *held) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	it, err := s.Storage.IteratorWithRange(start, limit)
	if err != nil {
		return nil, err
	}
	return iterator{it}, nil
}

// iterator gives back whole values.
type iterator struct{ storage.Iterator }

func (it iterator) Value() ([]byte, error) {
	b, err := it.Iterator.Value()
	if err != nil || b == nil {
		return b, err
	}
	return unhold(string(it.Key()), b), nil
}
