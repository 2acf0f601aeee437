package views

import (
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/compact"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// tailCap is the longest tail an entry holds itself: one source
// partition's applied offset and the generation take 11 to 15 bytes.
const tailCap = 15

// entry is one window as the index holds it, in 40 bytes with no
// pointers (so the collector does not scan a symbol's windows): its
// counts as int32 (a symbol's trades of one minute) and the tail of its
// changelog value (compact.Value), from which value rebuilds an equal
// value for the stale rule. A value that does not fit (a longer tail,
// counts beyond int32, one compact.Parse does not accept) is kept whole
// in its symbolWindows' whole map, and its entry says so.
type entry struct {
	start                                 int64
	completed, pending, flagged, rejected int32
	tailLen                               uint8 // keptWhole: the value is in symbolWindows.whole
	tail                                  [tailCap]byte
}

// keptWhole is the tailLen of an entry whose value is kept whole.
const keptWhole = 0xff

// newEntry is the entry of symbol's window at start whose value is
// value; its wholeValue says whether the value must be kept whole beside
// it.
func newEntry(symbol string, start int64, value []byte) entry {
	e := entry{start: start, tailLen: keptWhole}
	v, ok := compact.Parse(symbol, start, value)
	if !ok || len(v.Tail) > tailCap || !compact.FitInt32(v.Counts) {
		return e
	}
	e.completed, e.pending, e.flagged, e.rejected = int32(v.Counts[0]), int32(v.Counts[1]), int32(v.Counts[2]), int32(v.Counts[3])
	e.tailLen = uint8(copy(e.tail[:], v.Tail))
	return e
}

// wholeValue reports whether the entry's value is kept whole beside it.
func (e *entry) wholeValue() bool { return e.tailLen == keptWhole }

// value is a changelog value equal, field for field, to the one the entry
// was made from; whole is its value if it was kept whole.
func (e *entry) value(symbol string, whole string) []byte {
	if e.wholeValue() {
		return []byte(whole)
	}
	counts := [4]int64{int64(e.completed), int64(e.pending), int64(e.flagged), int64(e.rejected)}
	return compact.JoinCounts(symbol, e.start, counts, e.tail[:e.tailLen])
}

// window is the entry's window; whole is its value if it was kept whole.
func (e *entry) window(whole string) Window {
	w := Window{WindowStart: e.start, WindowEnd: settlement.WindowEnd(e.start)}
	if !e.wholeValue() {
		w.Completed, w.Pending, w.Flagged, w.Rejected = int64(e.completed), int64(e.pending), int64(e.flagged), int64(e.rejected)
		return w
	}
	var c pb.WindowCounts
	if proto.Unmarshal([]byte(whole), &c) == nil { // Apply keeps only values that decode
		w.Completed, w.Pending, w.Flagged, w.Rejected = c.Completed, c.Pending, c.Flagged, c.Rejected
	}
	return w
}
