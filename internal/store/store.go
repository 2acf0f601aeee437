// Package store says where tables live locally: in memory (rebuilt from the
// changelog whenever a partition is opened) or in LevelDB under the data
// dir (a restarted worker catches up from where its files stopped).
package store

import (
	"fmt"
	"path/filepath"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// Kind is where tables live locally.
type Kind string

const (
	// KindMemory keeps tables in memory (Memory) and rebuilds them from
	// the changelog whenever a partition is opened.
	KindMemory Kind = "memory"
	// KindLevelDB keeps tables in LevelDB under the data dir, so a
	// restarted worker catches up from where its files stopped.
	KindLevelDB Kind = "leveldb"
)

// Validate reports a kind that is neither memory nor leveldb.
func (k Kind) Validate() error {
	switch k {
	case KindMemory, KindLevelDB:
		return nil
	}
	return fmt.Errorf("unknown state store %q: want %s or %s", k, KindMemory, KindLevelDB)
}

// Builders returns the storage builders of processors and of views for
// kind. With LevelDB, processors and views keep their files in separate
// folders under dir: a view and a processor of the same table in one
// process must not share a path. An empty kind is memory.
func Builders(kind Kind, dir string) (procs, views storage.Builder, err error) {
	switch kind {
	case KindMemory, "":
		return MemoryBuilder(), MemoryBuilder(), nil
	case KindLevelDB:
		return LevelDB(filepath.Join(dir, "processors")), LevelDB(filepath.Join(dir, "views")), nil
	}
	return nil, nil, kind.Validate()
}

// LevelDB keeps LevelDB small per partition: goka's defaults (4 MiB write
// buffer, 8 MiB block cache per partition and table) cost gigabytes at
// hundreds of partitions.
func LevelDB(dir string) storage.Builder {
	return storage.BuilderWithOptions(dir, &opt.Options{
		WriteBuffer:            512 << 10,
		BlockCacheCapacity:     256 << 10,
		OpenFilesCacheCapacity: 16,
		CompactionTableSize:    2 << 20,
	})
}
