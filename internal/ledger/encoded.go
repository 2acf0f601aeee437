package ledger

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tradeflow/tradeflow/settlement"
)

// WindowCounts' and SourceOffset's field numbers (proto/state.proto).
const (
	fieldSymbol, fieldStart, fieldCompleted, fieldApplied, fieldGeneration protowire.Number = 1, 2, 3, 7, 8
	fieldPartition, fieldOffset, fieldGaps                                 protowire.Number = 1, 2, 3
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
	var counts [4]uint64
	high := int64(-1)
	if held != nil {
		var last protowire.Number
		seenApplied := false
		for b := held; len(b) > 0; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 || num <= last {
				return nil, false, false
			}
			last = num
			b = b[n:]
			switch {
			case num == fieldSymbol && typ == protowire.BytesType:
				s, m := protowire.ConsumeBytes(b)
				if m < 0 || string(s) != symbol {
					return nil, false, false
				}
				b = b[m:]
			case num == fieldApplied && typ == protowire.BytesType:
				s, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return nil, false, false
				}
				p, o, fine := sourceOffset(s)
				if !fine || p != partition {
					return nil, false, false
				}
				high, seenApplied, b = o, true, b[m:]
			case num >= fieldStart && num <= fieldGeneration && num != fieldApplied && typ == protowire.VarintType:
				x, m := protowire.ConsumeVarint(b)
				if m < 0 {
					return nil, false, false
				}
				switch {
				case num == fieldStart && int64(x) != start:
					return nil, false, false
				case num >= fieldCompleted && num < fieldApplied:
					counts[num-fieldCompleted] = x
				}
				b = b[m:]
			default:
				return nil, false, false
			}
		}
		if !seenApplied && counts != [4]uint64{} {
			return nil, false, false // counts without offsets: not the fused count's
		}
	}
	if offset > high {
		counted = true
		high = offset
		counts[dispositionIndex(d)]++
	}
	b := make([]byte, 0, 2+len(symbol)+11+4*6+2+11+6+6)
	if symbol != "" {
		b = protowire.AppendTag(b, fieldSymbol, protowire.BytesType)
		b = protowire.AppendString(b, symbol)
	}
	if start != 0 {
		b = protowire.AppendTag(b, fieldStart, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(start))
	}
	for i, c := range counts {
		if c != 0 {
			b = protowire.AppendTag(b, fieldCompleted+protowire.Number(i), protowire.VarintType)
			b = protowire.AppendVarint(b, c)
		}
	}
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
	b = protowire.AppendTag(b, fieldApplied, protowire.BytesType)
	b = protowire.AppendBytes(b, e)
	if generation != 0 {
		b = protowire.AppendTag(b, fieldGeneration, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(generation))
	}
	return b, counted, true
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
