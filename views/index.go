package views

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
)

// index keeps every symbol's windows in memory, sorted, fed by the count
// view as the changelog arrives: it is the view's storage
// (store.KeyedBuilder), so each window is held once, as a compact entry
// from which the changelog value the stale rule compares the next one
// with is rebuilt. A query reads one symbol's slice instead of
// range-scanning every partition of the view (the table is partitioned by
// symbol and window, so one symbol's windows are spread over all
// partitions).
type index struct {
	// mu guards the map; each symbol's windows have a lock of their own,
	// so the view's goroutines, the fused count's and the queries of
	// different symbols do not wait for each other. A symbol, once in
	// the map, stays (with no windows after its last expired).
	mu      sync.RWMutex
	symbols map[string]*symbolWindows
	changes *feed // what Apply changed, for push queries and server-sent events
	// counted is told of the windows the fused count adds or removes
	// itself (nil: not counted), so the view's entries stay right.
	counted func(key string, delta int)
}

// symbolWindows is one symbol's windows, sorted by start (oldest first) and
// changed in place under its lock: most updates are to the newest window
// or append one, and a sorted slice costs a third of a map of the same
// windows and needs no sorted copy for queries.
type symbolWindows struct {
	mu      sync.RWMutex
	sorted  []entry
	whole   map[int64]string // by start: the values of entries kept whole (nil when none)
	body    []byte           // the /v1/counts answer of all windows; nil when stale
	version uint64           // counts the updates, so a body built from older windows is not kept
}

// value is the changelog value of the window at i.
func (sw *symbolWindows) value(symbol string, i int) []byte {
	return sw.sorted[i].value(symbol, sw.wholeOf(i))
}

// window is the window at i.
func (sw *symbolWindows) window(i int) Window {
	return sw.sorted[i].window(sw.wholeOf(i))
}

// wholeOf is the whole value of the window at i if it is kept whole, else
// empty: the map is only read for such windows.
func (sw *symbolWindows) wholeOf(i int) string {
	if e := &sw.sorted[i]; e.wholeValue() {
		return sw.whole[e.start]
	}
	return ""
}

// keep notes value as the whole value of the window at start, or drops
// the one noted when whole is false.
func (sw *symbolWindows) keep(start int64, value []byte, whole bool) {
	switch {
	case whole && sw.whole == nil:
		sw.whole = map[int64]string{start: string(value)}
	case whole:
		sw.whole[start] = string(value) // a copy: value is a slice of the fetched record batch
	case sw.whole != nil:
		delete(sw.whole, start)
	}
}

// find returns the index of start in sorted, or where it would go.
func (sw *symbolWindows) find(start int64) (int, bool) {
	return sort.Find(len(sw.sorted), func(i int) int { return cmp.Compare(start, sw.sorted[i].start) })
}

// symbol returns symbol's windows; when there are none yet, new ones if
// create is set, else nil.
func (ix *index) symbol(symbol string, create bool) *symbolWindows {
	ix.mu.RLock()
	sw := ix.symbols[symbol]
	ix.mu.RUnlock()
	if sw != nil || !create {
		return sw
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if sw = ix.symbols[symbol]; sw == nil {
		sw = &symbolWindows{}
		ix.symbols[symbol] = sw
	}
	return sw
}

func newIndex() *index { return &index{symbols: map[string]*symbolWindows{}, changes: newFeed()} }

// updateCallback applies the stale rule (a late write of a worker that had
// lost the partition is ignored and counted), then stores the record in
// the index as goka's default does. Once live, a record that counted a new
// sampled trade gives that trade's end-to-end latency, also when the index
// holds its value already (the fused count's own write, read back).
func (ix *index) updateCallback(m *processor.Metrics, live *atomic.Bool) goka.UpdateCallback {
	apply := processor.StaleUpdate(m.Stale.Inc, goka.DefaultUpdate)
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if err := apply(ctx, s, key, value); err != nil {
			return err
		}
		if live.Load() {
			if at, ok := processor.SettledAt(ctx.Headers()); ok {
				m.EndToEnd.Observe(time.Since(at).Seconds())
			}
		}
		return nil
	}
}

// Apply records one changelog record: a window's counts, or its deletion
// (a tombstone after retention). A record whose key or value does not
// decode leaves the index as it was (and out of answers) rather than
// failing the view. It returns +1 when a window was added, -1 when one
// was removed.
func (ix *index) Apply(key string, value []byte) int {
	symbol, start, err := settlement.ParseWindowKey(key)
	if err != nil {
		return 0
	}
	var e entry
	if value != nil {
		e = newEntry(symbol, start, value)
		if e.wholeValue() {
			if _, err := processor.CountsCodec().Decode(value); err != nil {
				return 0
			}
		}
	}
	sw := ix.symbol(symbol, value != nil)
	if sw == nil {
		return 0
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return ix.applyLocked(sw, symbol, start, value, e)
}

// applyLocked stores value (nil: deletes) as symbol's window at start,
// whose entry is e, in sw (locked), and hands the change to the feed. A
// value equal to the one held changes nothing.
func (ix *index) applyLocked(sw *symbolWindows, symbol string, start int64, value []byte, e entry) int {
	i, found := sw.find(start)
	if found && value != nil && sw.sorted[i] == e && (!e.wholeValue() || sw.whole[start] == string(value)) {
		return 0
	}
	added := 0
	// The change is made only for subscribers (feed).
	armed := ix.changes.armed.Load()
	ch := Change{Symbol: symbol, Deleted: value == nil}
	if armed && found {
		ch.Prev = sw.window(i)
	}
	switch {
	case value == nil && found:
		ch.Window = ch.Prev
		sw.sorted = slices.Delete(sw.sorted, i, i+1)
		sw.keep(start, nil, false)
		added = -1
	case value == nil:
		return 0
	default:
		sw.keep(start, value, e.wholeValue())
		if found {
			sw.sorted[i] = e
		} else {
			sw.sorted = slices.Insert(sw.sorted, i, e)
			added = 1
		}
	}
	sw.body = nil
	sw.version++
	if armed {
		if !ch.Deleted {
			ch.Window = sw.window(i)
		}
		ix.changes.publish(ch)
	}
	return added
}

// Value is the changelog value the index holds for key; nil when none.
func (ix *index) Value(key string) []byte {
	symbol, start, err := settlement.ParseWindowKey(key)
	if err != nil {
		return nil
	}
	sw := ix.symbol(symbol, false)
	if sw == nil {
		return nil
	}
	sw.mu.RLock()
	defer sw.mu.RUnlock()
	if i, found := sw.find(start); found {
		return sw.value(symbol, i)
	}
	return nil
}

// windows returns symbol's windows with start in [from, to], newest first.
func (ix *index) windows(symbol string, from, to int64) []Window {
	sw := ix.symbol(symbol, false)
	if sw == nil {
		return nil
	}
	sw.mu.RLock()
	defer sw.mu.RUnlock()
	lo := sort.Search(len(sw.sorted), func(i int) bool { return sw.sorted[i].start >= from })
	hi := sort.Search(len(sw.sorted), func(i int) bool { return sw.sorted[i].start > to })
	out := make([]Window, hi-lo)
	for i := range out {
		out[i] = sw.window(hi - 1 - i)
	}
	return out
}

// answer returns the encoded /v1/counts answer for all of symbol's windows,
// encoding it once per change of the symbol's windows: a symbol that is
// read more often than it changes is served without encoding.
func (ix *index) answer(symbol string) ([]byte, error) {
	sw := ix.symbol(symbol, false)
	var body []byte
	var version uint64
	if sw != nil {
		sw.mu.RLock()
		body, version = sw.body, sw.version
		sw.mu.RUnlock()
	}
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
	if sw != nil {
		sw.mu.Lock()
		if sw.version == version {
			sw.body = b // still current: no update since version was read
		}
		sw.mu.Unlock()
	}
	return b, nil
}

// symbolNames returns the symbols with windows, sorted.
func (ix *index) symbolNames() []string {
	ix.mu.RLock()
	names := make([]string, 0, len(ix.symbols))
	for s, sw := range ix.symbols {
		sw.mu.RLock()
		if len(sw.sorted) > 0 {
			names = append(names, s)
		}
		sw.mu.RUnlock()
	}
	ix.mu.RUnlock()
	slices.Sort(names)
	return names
}
