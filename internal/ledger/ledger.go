// Package ledger is the count table's bookkeeping as pure functions over
// pb.WindowCounts: which trades a window's value counts, whether a trade
// arriving again is a replay, and which of two values of a window is the
// newer. It knows no Kafka client: the count group and the views apply it.
package ledger

import (
	"slices"
	"sort"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// Apply counts the settlement of disposition d, source partition and
// offset o (prev: its predecessor in the same window and source
// partition, when the settle step knew it) into w, unless w counts it
// already. It reports whether the trade was counted, and whether a gap
// opened (a predecessor not counted yet: its write was lost or is late).
func Apply(w *pb.WindowCounts, d settlement.Disposition, partition int32, o int64, prev *int64) (counted, opened bool) {
	counted, opened = Take(AppliedFor(w, partition), o, prev)
	if !counted {
		return false, opened
	}
	switch d {
	case settlement.Completed:
		w.Completed++
	case settlement.Pending:
		w.Pending++
	case settlement.Flagged:
		w.Flagged++
	case settlement.Rejected:
		w.Rejected++
	}
	return true, opened
}

// AppliedFor returns w's entry for a source partition, adding one (offset
// -1: nothing applied yet) in partition order when there is none.
func AppliedFor(w *pb.WindowCounts, partition int32) *pb.SourceOffset {
	i := sort.Search(len(w.Applied), func(i int) bool { return w.Applied[i].Partition >= partition })
	if i < len(w.Applied) && w.Applied[i].Partition == partition {
		return w.Applied[i]
	}
	e := &pb.SourceOffset{Partition: partition, Offset: -1}
	w.Applied = slices.Insert(w.Applied, i, e)
	return e
}

// Take records source offset o (with its predecessor in the same window,
// prev, when the settle step knew it) as applied, and reports false when
// it was applied before: a replay. opened reports a new gap.
//
// Offsets at or below the highest applied count as applied unless they lie
// in a gap. A gap opens when prev is above the highest applied: the write
// of prev (and maybe of earlier trades) was lost or is late, so nothing
// from just above the highest applied up to prev has been applied and the
// trades there, when they come again, must be counted. The range strictly
// between prev and o holds no trade of this window, so it leaves any gap.
func Take(a *pb.SourceOffset, o int64, prev *int64) (taken, opened bool) {
	high := a.Offset
	if o <= high {
		if !InRanges(a.Gaps, o) {
			return false, false
		}
		a.Gaps = cutRange(a.Gaps, o, o)
	}
	if prev != nil {
		if o > high && *prev > high {
			a.Gaps = append(a.Gaps, &pb.OffsetRange{First: high + 1, Last: *prev})
			opened = true
		}
		a.Gaps = cutRange(a.Gaps, *prev+1, o-1)
	}
	if o > high {
		a.Offset = o
	}
	return true, opened
}

// Applied reports whether source offset o is counted by a.
func Applied(a *pb.SourceOffset, o int64) bool { return o <= a.Offset && !InRanges(a.Gaps, o) }

// InRanges reports whether o lies in one of the sorted, disjoint ranges.
func InRanges(rs []*pb.OffsetRange, o int64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Last >= o })
	return i < len(rs) && rs[i].First <= o
}

// cutRange removes [first, last] from the sorted, disjoint ranges.
func cutRange(rs []*pb.OffsetRange, first, last int64) []*pb.OffsetRange {
	if first > last || len(rs) == 0 {
		return rs
	}
	out := rs[:0:0]
	for _, r := range rs {
		if r.Last < first || r.First > last {
			out = append(out, r)
			continue
		}
		if r.First < first {
			out = append(out, &pb.OffsetRange{First: r.First, Last: first - 1})
		}
		if r.Last > last {
			out = append(out, &pb.OffsetRange{First: last + 1, Last: r.Last})
		}
	}
	return out
}

// Offsets builds a sorted applied list from a map of source partition to
// highest applied offset.
func Offsets(m map[int32]int64) []*pb.SourceOffset {
	out := make([]*pb.SourceOffset, 0, len(m))
	for p, o := range m {
		out = append(out, &pb.SourceOffset{Partition: p, Offset: o})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}
