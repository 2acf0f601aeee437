// Package compact holds count-table values in memory in fewer bytes than
// their changelog form. A day of 8,000 symbols is 11.5M windows, held by
// the count group and again by every worker's count view, so every byte
// of a window is 11 MB per copy.
//
// A value (WindowCounts, proto/state.proto) repeats what its key says,
// the symbol and the window start, before the counts; the applied offsets
// and the generation that follow are the tail the stale rule compares.
// Parse reads a value without decoding it into a message, and only
// accepts a value that decodes, in field order (as Go's and Java's
// protobuf write it); Join puts back what was left out. A value Parse
// does not accept is kept whole by the callers.
package compact

import (
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// WindowCounts' fields.
const (
	fieldSymbol     protowire.Number = 1
	fieldStart      protowire.Number = 2
	fieldCompleted  protowire.Number = 3 // then pending, flagged, rejected
	fieldApplied    protowire.Number = 7
	fieldGeneration protowire.Number = 8
)

// Value is a parsed count value.
type Value struct {
	// Completed, Pending, Flagged and Rejected, in field order.
	Counts [4]int64
	// Rest is the value after its symbol and window start: the counts and
	// the tail, as they were encoded.
	Rest []byte
	// Tail is the value from its applied offsets on.
	Tail []byte
}

// Parse reads value as the value of symbol's window at start. ok is false
// when the value's symbol or window start is not the key's, a field is
// out of order, unknown or of another wire type than proto/state.proto
// gives it, or the value does not decode: such a value is kept whole.
func Parse(symbol string, start int64, value []byte) (v Value, ok bool) {
	if !utf8.ValidString(symbol) {
		return Value{}, false // Go's protobuf would not decode it as a string
	}
	var last protowire.Number
	hasSymbol, hasStart := false, false
	restAt, tailAt := -1, -1
	for b := value; len(b) > 0; {
		at := len(value) - len(b)
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num < last || (num == last && num != fieldApplied) {
			return Value{}, false
		}
		last = num
		if num >= fieldCompleted && restAt < 0 {
			restAt = at
		}
		if num >= fieldApplied && tailAt < 0 {
			tailAt = at
		}
		b = b[n:]
		switch {
		case num == fieldSymbol && typ == protowire.BytesType:
			s, m := protowire.ConsumeBytes(b)
			if m < 0 || string(s) != symbol {
				return Value{}, false
			}
			hasSymbol, b = true, b[m:]
		case num == fieldApplied && typ == protowire.BytesType:
			s, m := protowire.ConsumeBytes(b)
			if m < 0 || !sourceOffset(s) {
				return Value{}, false
			}
			b = b[m:]
		case num >= fieldStart && num <= fieldGeneration && typ == protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return Value{}, false
			}
			switch {
			case num == fieldStart:
				if int64(x) != start {
					return Value{}, false
				}
				hasStart = true
			case num < fieldApplied:
				v.Counts[num-fieldCompleted] = int64(x)
			}
			b = b[m:]
		default:
			return Value{}, false
		}
	}
	// proto3 leaves an empty symbol and a zero start out.
	if hasSymbol != (symbol != "") || hasStart != (start != 0) {
		return Value{}, false
	}
	if restAt < 0 {
		restAt = len(value)
	}
	if tailAt < 0 {
		tailAt = len(value)
	}
	v.Rest, v.Tail = value[restAt:], value[tailAt:]
	return v, true
}

// sourceOffset reports whether b is a SourceOffset of known fields.
func sourceOffset(b []byte) bool {
	return message(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			return true
		case num == 3 && typ == protowire.BytesType:
			return message(v, func(num protowire.Number, typ protowire.Type, _ []byte) bool {
				return (num == 1 || num == 2) && typ == protowire.VarintType
			})
		}
		return false
	})
}

// message reports whether b is a sequence of fields that each pass ok (a
// field of bytes type is given its contents).
func message(b []byte, ok func(protowire.Number, protowire.Type, []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		var v []byte
		m := 0
		switch typ {
		case protowire.VarintType:
			_, m = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, m = protowire.ConsumeBytes(b)
		default:
			return false
		}
		if m < 0 || !ok(num, typ, v) {
			return false
		}
		b = b[m:]
	}
	return true
}

// Join is the value of symbol's window at start whose Rest is rest: the
// symbol and window start encoded as Go's protobuf encodes them (an empty
// symbol and a zero start left out), then rest.
func Join(symbol string, start int64, rest []byte) []byte {
	b := make([]byte, 0, 2+len(symbol)+11+len(rest))
	b = appendHead(b, symbol, start)
	return append(b, rest...)
}

func appendHead(b []byte, symbol string, start int64) []byte {
	if symbol != "" {
		b = protowire.AppendTag(b, fieldSymbol, protowire.BytesType)
		b = protowire.AppendString(b, symbol)
	}
	if start != 0 {
		b = protowire.AppendTag(b, fieldStart, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(start))
	}
	return b
}

// JoinCounts is the value of symbol's window at start with counts and
// tail, as Go's protobuf encodes it (zero counts left out).
func JoinCounts(symbol string, start int64, counts [4]int64, tail []byte) []byte {
	b := make([]byte, 0, 2+len(symbol)+11+4*6+len(tail))
	b = appendHead(b, symbol, start)
	for i, c := range counts {
		if c != 0 {
			b = protowire.AppendTag(b, fieldCompleted+protowire.Number(i), protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(c))
		}
	}
	return append(b, tail...)
}

// FitInt32 reports whether every count is in [0, MaxInt32].
func FitInt32(counts [4]int64) bool {
	for _, c := range counts {
		if c < 0 || c > math.MaxInt32 {
			return false
		}
	}
	return true
}
