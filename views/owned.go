package views

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
)

// What the fused count (processor.FusedCount) does with the index: it
// keeps its windows here rather than in a table of its own, so a worker
// holds each window once (processor.WindowStore). Each of these runs
// under the symbol's lock, and the count writes the window's changelog
// record inside it, so the records of one window are produced in the
// order the index changed.

// Update runs fn with the value the index holds for key (nil when none)
// and stores what fn returns (nil: nothing changes).
func (ix *index) Update(key string, fn func(held []byte) []byte) error {
	symbol, start, err := settlement.ParseWindowKey(key)
	if err != nil {
		return err
	}
	sw := ix.symbol(symbol, true)
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var held []byte
	if i, found := sw.find(start); found {
		held = sw.value(symbol, i)
	}
	next := fn(held)
	if next == nil {
		return nil
	}
	if added := ix.applyLocked(sw, symbol, start, next, newEntry(symbol, start, next)); added != 0 && ix.counted != nil {
		ix.counted(key, added)
	}
	return nil
}

// EachSymbol calls fn with every symbol and its newest window start.
func (ix *index) EachSymbol(fn func(symbol string, newest int64)) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for s, sw := range ix.symbols {
		sw.mu.RLock()
		if n := len(sw.sorted); n > 0 {
			fn(s, sw.sorted[n-1].start)
		}
		sw.mu.RUnlock()
	}
}

// Expire removes symbol's windows that start before before, calling gone
// with each one's key as it goes.
func (ix *index) Expire(symbol string, before int64, gone func(key string)) {
	sw := ix.symbol(symbol, false)
	if sw == nil {
		return
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for len(sw.sorted) > 0 && sw.sorted[0].start < before {
		key := settlement.WindowKey(symbol, sw.sorted[0].start)
		gone(key)
		if ix.applyLocked(sw, symbol, sw.sorted[0].start, nil, entry{}) != 0 && ix.counted != nil {
			ix.counted(key, -1)
		}
	}
}

// CaughtUp returns once the view has read every partition of the count
// table up to where it ended when CaughtUp was called: then the index
// holds every value a former owner's acknowledged writes put there. Calls
// that come together (every partition of a rebalance) share one reading
// of the end offsets. It logs the partitions still behind every 10 s.
func (c *Counts) CaughtUp(ctx context.Context) error {
	called := time.Now()
	c.catchUp.Lock()
	defer c.catchUp.Unlock()
	if c.caughtUp.After(called) {
		return nil
	}
	if c.endOffsets == nil {
		return fmt.Errorf("count view: no way to read the changelog's end offsets (SetEndOffsets)")
	}
	began := time.Now()
	ends, err := c.endOffsets(ctx)
	if err != nil {
		return fmt.Errorf("count table end offsets: %w", err)
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	warned := began
	for {
		read := c.keyed.Offsets()
		var behind []int32
		for p, end := range ends {
			if end > 0 && read[p] < end-1 {
				behind = append(behind, p)
			}
		}
		if len(behind) == 0 {
			c.caughtUp = began
			return nil
		}
		if time.Since(warned) > 10*time.Second {
			warned = time.Now()
			c.log.Warn("fused count: waiting for the count view to read the count table up to its end before counting",
				"partitions_behind", len(behind), "first", behind[0], "waited", time.Since(began).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// SetEndOffsets gives CaughtUp its reading of the count table's end
// offsets (per partition, the offset the next record will get), and the
// log it reports a long wait to.
func (c *Counts) SetEndOffsets(f func(context.Context) (map[int32]int64, error), log *slog.Logger) {
	c.endOffsets, c.log = f, log
}

// Update, EachSymbol and Expire are the index's (above).
func (w windows) Update(key string, fn func(held []byte) []byte) error {
	return w.index.Update(key, fn)
}

func (w windows) EachSymbol(fn func(symbol string, newest int64)) {
	w.index.EachSymbol(fn)
}

func (w windows) Expire(symbol string, before int64, gone func(key string)) {
	w.index.Expire(symbol, before, gone)
}

var _ processor.WindowStore = (*Counts)(nil)
