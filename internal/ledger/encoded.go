package ledger

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tradeflow/tradeflow/internal/compact"
	"github.com/tradeflow/tradeflow/settlement"
)

// WindowCounts' and SourceOffset's field numbers (proto/state.proto).
const (
	fieldApplied, fieldGeneration protowire.Number = 7, 8
	fieldPartition, fieldOffset   protowire.Number = 1, 2
)

// ApplyEncoded is Apply (with no predecessor: the fused count has no
// window chain) on an encoded value, for the shape the fused count meets
// on nearly every trade: a window counting the trades of one source
// partition with no gaps, or no value yet (held nil). It returns the
// value with the trade counted, or unchanged but for the generation when
// it was counted before, encoded as proto.Marshal encodes it (so equal
// values are equal bytes), and whether it counted the trade. ok is false
// when held is of another shape (another partition's trades, gaps, fields
// out of order): the caller then decodes it and calls Apply.
func ApplyEncoded(held []byte, symbol string, start int64, d settlement.Disposition, partition int32, offset int64, generation int32) (next []byte, counted, ok bool) {
	var counts [4]int64
	high := int64(-1)
	if held != nil {
		v, parsed := compact.Parse(symbol, start, held)
		if !parsed {
			return nil, false, false
		}
		counts = v.Counts
		p, o, seen, fine := tail(v.Tail)
		if !fine || (seen && p != partition) || (!seen && counts != [4]int64{}) {
			return nil, false, false // gaps, another partition, or counts without offsets
		}
		if seen {
			high = o
		}
	}
	if offset > high {
		counted = true
		high = offset
		counts[dispositionIndex(d)]++
	}
	var buf [2 + 2 + 11 + 11 + 6]byte
	t := buf[:0]
	var entry [2 + 11 + 11]byte
	e := entry[:0]
	if partition != 0 {
		e = protowire.AppendTag(e, fieldPartition, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(partition))
	}
	if high != 0 {
		e = protowire.AppendTag(e, fieldOffset, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(high))
	}
	t = protowire.AppendTag(t, fieldApplied, protowire.BytesType)
	t = protowire.AppendBytes(t, e)
	if generation != 0 {
		t = protowire.AppendTag(t, fieldGeneration, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(generation))
	}
	return compact.JoinCounts(symbol, start, counts, t), counted, true
}

// tail reads a value's tail (compact.Value.Tail): at most one applied
// entry, of a partition and an offset with no gaps, then the generation.
// seen is false when there is no applied entry; fine is false for any
// other shape.
func tail(b []byte) (partition int32, offset int64, seen, fine bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, false, false
		}
		b = b[n:]
		switch {
		case num == fieldApplied && typ == protowire.BytesType && !seen:
			s, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return 0, 0, false, false
			}
			if partition, offset, fine = sourceOffset(s); !fine {
				return 0, 0, false, false
			}
			seen, b = true, b[m:]
		case num == fieldGeneration && typ == protowire.VarintType:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 || len(b[m:]) > 0 {
				return 0, 0, false, false
			}
			b = b[m:]
		default:
			return 0, 0, false, false
		}
	}
	return partition, offset, seen, true
}

// sourceOffset reads a SourceOffset of a partition and an offset, no
// gaps, in field order.
func sourceOffset(b []byte) (partition int32, offset int64, ok bool) {
	var last protowire.Number
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num <= last || typ != protowire.VarintType || (num != fieldPartition && num != fieldOffset) {
			return 0, 0, false
		}
		last = num
		b = b[n:]
		x, m := protowire.ConsumeVarint(b)
		if m < 0 {
			return 0, 0, false
		}
		if num == fieldPartition {
			partition = int32(x)
		} else {
			offset = int64(x)
		}
		b = b[m:]
	}
	return partition, offset, true
}

// dispositionIndex is d's count among WindowCounts' four, in field order.
func dispositionIndex(d settlement.Disposition) int {
	switch d {
	case settlement.Completed:
		return 0
	case settlement.Pending:
		return 1
	case settlement.Flagged:
		return 2
	}
	return 3
}
