package views

import (
	"encoding/json"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// index keeps every symbol's windows in memory, sorted newest first, fed by
// the count view's update callback as the changelog arrives. A query then
// reads one symbol's slice instead of range-scanning every partition of the
// view (the table is partitioned by symbol and window, so one symbol's
// windows are spread over all partitions).
type index struct {
	mu      sync.RWMutex
	symbols map[string]*symbolWindows
}

type symbolWindows struct {
	byStart map[int64]Window
	sorted  []Window // newest first; nil when an update made it stale
	body    []byte   // the /v1/counts answer of all windows; nil when stale
	version uint64   // counts the updates, so a body built from older windows is not kept
}

func newIndex() *index { return &index{symbols: map[string]*symbolWindows{}} }

// updateCallback stores the changelog record as goka's default does, then
// applies it to the index; a stale record (a late write of a worker that
// had lost the partition) is ignored and counted. Once live, a record that
// counted a new trade gives the end-to-end latency of its oldest.
func (ix *index) updateCallback(m *processor.Metrics, live *atomic.Bool) goka.UpdateCallback {
	return processor.StaleUpdate(m.Stale.Inc, func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if err := goka.DefaultUpdate(ctx, s, key, value); err != nil {
			return err
		}
		ix.apply(key, value)
		if live.Load() {
			if at, ok := processor.SettledAt(ctx.Headers()); ok {
				m.EndToEnd.Observe(time.Since(at).Seconds())
			}
		}
		return nil
	})
}

// apply records one changelog record: a window's counts, or its deletion
// (a tombstone after retention). A record that does not decode is left
// out of the index (and of answers) rather than failing the view.
func (ix *index) apply(key string, value []byte) {
	symbol, start, err := settlement.ParseWindowKey(key)
	if err != nil {
		return
	}
	var w *pb.WindowCounts
	if value != nil {
		v, err := processor.CountsCodec().Decode(value)
		if err != nil {
			return
		}
		w = v.(*pb.WindowCounts)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	sw := ix.symbols[symbol]
	if sw == nil {
		if w == nil {
			return
		}
		sw = &symbolWindows{byStart: map[int64]Window{}}
		ix.symbols[symbol] = sw
	}
	if w == nil {
		delete(sw.byStart, start)
		if len(sw.byStart) == 0 {
			delete(ix.symbols, symbol)
		}
	} else {
		sw.byStart[start] = Window{
			WindowStart: start, WindowEnd: settlement.WindowEnd(start),
			Completed: w.Completed, Pending: w.Pending, Flagged: w.Flagged, Rejected: w.Rejected,
		}
	}
	sw.sorted, sw.body = nil, nil
	sw.version++
}

// windows returns symbol's windows with start in [from, to], newest first.
func (ix *index) windows(symbol string, from, to int64) []Window {
	ix.mu.RLock()
	sw := ix.symbols[symbol]
	var sorted []Window
	if sw != nil {
		sorted = sw.sorted
	}
	ix.mu.RUnlock()
	if sw == nil {
		return nil
	}
	if sorted == nil {
		ix.mu.Lock()
		if sw.sorted == nil {
			s := make([]Window, 0, len(sw.byStart))
			for _, w := range sw.byStart {
				s = append(s, w)
			}
			sort.Slice(s, func(i, j int) bool { return s[i].WindowStart > s[j].WindowStart })
			sw.sorted = s
		}
		sorted = sw.sorted
		ix.mu.Unlock()
	}
	// sorted is never modified after it is built (an update replaces it),
	// so it can be read without the lock.
	lo := sort.Search(len(sorted), func(i int) bool { return sorted[i].WindowStart <= to })
	hi := sort.Search(len(sorted), func(i int) bool { return sorted[i].WindowStart < from })
	out := make([]Window, hi-lo)
	copy(out, sorted[lo:hi])
	return out
}

// answer returns the encoded /v1/counts answer for all of symbol's windows,
// encoding it once per change of the symbol's windows: a symbol that is
// read more often than it changes is served without encoding.
func (ix *index) answer(symbol string) ([]byte, error) {
	ix.mu.RLock()
	sw := ix.symbols[symbol]
	var body []byte
	var version uint64
	if sw != nil {
		body, version = sw.body, sw.version
	}
	ix.mu.RUnlock()
	if body != nil {
		return body, nil
	}
	ws := ix.windows(symbol, math.MinInt64, math.MaxInt64)
	if ws == nil {
		ws = []Window{}
	}
	b, err := json.Marshal(countsResponse{Symbol: symbol, Windows: ws})
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	ix.mu.Lock()
	if cur := ix.symbols[symbol]; cur != nil && cur == sw && cur.version == version {
		cur.body = b // still current: no update since version was read
	}
	ix.mu.Unlock()
	return b, nil
}
