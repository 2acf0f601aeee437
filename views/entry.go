package views

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// entry is one window as the index holds it: 40 bytes, and a short string
// beside them. A day of 8,000 symbols is 11.5M windows, in every worker's
// view, so the changelog value is not kept whole: its symbol and window
// start are in the key, its counts in the entry (as int32: a symbol's
// trades of one minute), and tail keeps only the rest, the applied
// offsets and generation the stale rule compares (their wire bytes, ~12
// where the whole value is ~40). value rebuilds an equivalent value.
//
// A value whose counts do not fit int32, whose symbol or window start is
// not its key's, or whose fields are not in field order (as Go's and
// Java's protobuf write them), is kept whole in tail, with completed set
// to whole.
type entry struct {
	start                                 int64
	completed, pending, flagged, rejected int32
	tail                                  string
}

// whole marks an entry whose tail is the whole changelog value.
const whole = -1

// fieldApplied is WindowCounts' first field after the counts; the tail of
// a value starts at it.
const fieldApplied protowire.Number = 7

// newEntry is the entry of the window of symbol and start whose value is
// w, encoded as value.
func newEntry(symbol string, start int64, w *pb.WindowCounts, value []byte) entry {
	counts := [4]int64{w.Completed, w.Pending, w.Flagged, w.Rejected}
	tail, ok := tailOf(value)
	ok = ok && w.Symbol == symbol && w.WindowStart == start
	for _, c := range counts {
		ok = ok && c >= 0 && c <= math.MaxInt32
	}
	if !ok {
		// string(...) copies: value is a slice of the fetched record batch.
		return entry{start: start, completed: whole, tail: string(value)}
	}
	return entry{start: start, completed: int32(counts[0]), pending: int32(counts[1]), flagged: int32(counts[2]),
		rejected: int32(counts[3]), tail: string(tail)}
}

// tailOf is the part of value from its first field numbered fieldApplied
// or above, when every field before it is numbered below it and every
// field from it on is numbered at or above it.
func tailOf(value []byte) ([]byte, bool) {
	var tail []byte
	for b := value; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		if num >= fieldApplied && tail == nil {
			tail = b
		} else if num < fieldApplied && tail != nil {
			return nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, false
		}
		b = b[n+m:]
	}
	if tail == nil {
		tail = []byte{}
	}
	return tail, true
}

// counts is the entry's four counts, decoding a whole value if it has to.
func (e entry) counts() (completed, pending, flagged, rejected int64) {
	if e.completed != whole {
		return int64(e.completed), int64(e.pending), int64(e.flagged), int64(e.rejected)
	}
	var w pb.WindowCounts
	if proto.Unmarshal([]byte(e.tail), &w) != nil {
		return 0, 0, 0, 0 // not kept: newEntry is only given values that decode
	}
	return w.Completed, w.Pending, w.Flagged, w.Rejected
}

func (e entry) window() Window {
	c, p, f, r := e.counts()
	return Window{WindowStart: e.start, WindowEnd: settlement.WindowEnd(e.start), Completed: c, Pending: p, Flagged: f, Rejected: r}
}

// value is a changelog value equal, field for field, to the one the entry
// was made from: the fields before the tail encoded again as Go's
// protobuf encodes them (field order, zero values left out), then the
// tail.
func (e entry) value(symbol string) []byte {
	if e.completed == whole {
		return []byte(e.tail)
	}
	b := make([]byte, 0, len(symbol)+40+len(e.tail))
	if symbol != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, symbol)
	}
	for i, v := range [...]int64{e.start, int64(e.completed), int64(e.pending), int64(e.flagged), int64(e.rejected)} {
		if v != 0 {
			b = protowire.AppendTag(b, protowire.Number(2+i), protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	return append(b, e.tail...)
}
