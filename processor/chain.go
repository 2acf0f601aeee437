package processor

import (
	"sync"

	"github.com/tradeflow/tradeflow/settlement"
)

// windowChains remembers, for each stocktrade partition the settle step
// runs, the offset of the last trade it sent to each window. Each windows
// record carries that offset (window_prev_offset), which chains the trades
// of one source partition and window. The count step needs the chain to
// tell a duplicate from a trade whose first write was lost: when a write
// fails and a later trade of the same window gets through (a producer that
// gave up on one batch and went on with the next), the later trade names a
// predecessor the count step has not seen, so it keeps that offset open
// instead of taking its replay for a duplicate.
//
// A chain is valid only for one run of a partition, a consumer-group
// session (recognised by its generation): a new run starts at the
// committed offset, and every trade below that offset was written before
// the run began, so the first trade per window of a run needs no
// predecessor. A session that keeps its generation (a static member
// rejoining with no change) still starts from the committed offset; its
// chain then goes on, and a predecessor whose write was lost is either
// above the commit, so it comes again, or below it, so it was
// acknowledged (the commit passes no record whose writes failed).
type windowChains struct {
	// horizon is how far behind the newest window a window may fall before
	// it is forgotten: the count step expires it by then.
	horizon int64

	mu    sync.Mutex
	parts map[int32]*chain
}

type chain struct {
	horizon int64

	mu       sync.Mutex
	run      int32 // the session generation the chain belongs to
	started  bool
	last     map[windowID]int64
	newest   int64 // newest window start seen in this run
	prunedAt int64 // newest when last pruned
}

type windowID struct {
	symbol string
	start  int64
}

func newWindowChains(p settlement.Policy) *windowChains {
	return &windowChains{
		horizon: (p.Grace + p.Retention + 2*settlement.WindowSize).Milliseconds(),
		parts:   make(map[int32]*chain),
	}
}

// prev records offset as the newest trade of partition's window (symbol,
// start) in run (a session generation), and returns the one before it, if
// this run saw one.
func (w *windowChains) prev(run int32, partition int32, symbol string, start, offset int64) (int64, bool) {
	w.mu.Lock()
	c, ok := w.parts[partition]
	if !ok {
		c = &chain{horizon: w.horizon}
		w.parts[partition] = c
	}
	w.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started || c.run != run {
		c.started, c.run, c.last, c.newest, c.prunedAt = true, run, make(map[windowID]int64), start, start
	}
	if start > c.newest {
		c.newest = start
		if c.newest-c.prunedAt >= settlement.WindowSize.Milliseconds() {
			c.prune()
		}
	}
	id := windowID{symbol, start}
	p, seen := c.last[id]
	if seen && p >= offset {
		// Offsets only grow within a run; anything else is a new run
		// of the same generation (a session rejoined without a
		// rebalance), which starts at the committed offset.
		seen = false
	}
	c.last[id] = offset
	return p, seen
}

// prune forgets windows so far behind the newest that the count step has
// expired them (its stream time, the newest event time on a windows
// partition, is by then past their grace): a trade that still arrives for
// one is dropped there as late, so it needs no predecessor.
func (c *chain) prune() {
	c.prunedAt = c.newest
	for id := range c.last {
		if id.start < c.newest-c.horizon {
			delete(c.last, id)
		}
	}
}
