package ledger

import (
	"sort"

	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
)

// A worker that lost its count partitions without knowing it yet (cut off
// from the brokers past the session timeout, or paused) may still have
// changelog writes buffered in its producer, which keeps retrying them;
// they can land after the new owner's writes of the same window. Kafka's
// answer is to fence the old producer with transactions; tradeflow's is
// that every count value says which trades it counts (applied), so a
// reader can tell an old value from a newer one whatever order they landed
// in (ARCHITECTURE.md, "Stale values").

// Stale reports whether incoming is an old value that landed late, so
// that stored stays: it counts a strict subset of the trades stored counts,
// or the two are incomparable (each counts trades the other does not: a
// worker that lost the partition still writing while the new owner
// replays) and incoming was written in an older generation of the count
// group. Content decides first, so a value of a group whose generations
// started again (the group was deleted) still replaces older ones.
func Stale(stored, incoming *pb.WindowCounts) bool {
	if stored == nil || incoming == nil {
		return false
	}
	in, out := appliedSubset(incoming, stored), appliedSubset(stored, incoming)
	switch {
	case in && !out:
		return true
	case !in && !out:
		return incoming.Generation < stored.Generation
	}
	return false
}

// StaleEncoded is Stale on encoded values. A value that does not decode is
// not stale: a reader stores it as it is, and the count step reports it
// when it reads it.
func StaleEncoded(stored, incoming []byte) bool {
	stale, _ := StaleEncodedFrom(stored, incoming)
	return stale
}

// StaleEncodedFrom is StaleEncoded, and also says whether the stale value
// was written in the generation of the one stored: a worker's own earlier
// write read back after the newer value it already holds (the fused count
// stores each value before its write lands), not a former owner's late
// one.
func StaleEncodedFrom(stored, incoming []byte) (stale, ownGeneration bool) {
	if stored == nil || incoming == nil {
		return false, false
	}
	var s, in pb.WindowCounts
	if proto.Unmarshal(stored, &s) != nil || proto.Unmarshal(incoming, &in) != nil {
		return false, false
	}
	return Stale(&s, &in), s.Generation == in.Generation
}

// appliedSubset reports whether every trade a counts is counted by b.
func appliedSubset(a, b *pb.WindowCounts) bool {
	for _, ea := range a.Applied {
		if ea.Offset < 0 {
			continue
		}
		i := sort.Search(len(b.Applied), func(i int) bool { return b.Applied[i].Partition >= ea.Partition })
		if i == len(b.Applied) || b.Applied[i].Partition != ea.Partition {
			return false
		}
		eb := b.Applied[i]
		if ea.Offset > eb.Offset {
			return false
		}
		// What b has not applied below a's highest must not be applied
		// in a either: each of b's gaps, cut at a's highest, lies in a's
		// gaps.
		for _, g := range eb.Gaps {
			if g.First > ea.Offset {
				break
			}
			if !rangeCovered(ea.Gaps, g.First, min(g.Last, ea.Offset)) {
				return false
			}
		}
	}
	return true
}

// rangeCovered reports whether [first, last] lies within the sorted,
// disjoint ranges (adjacent ranges join).
func rangeCovered(rs []*pb.OffsetRange, first, last int64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Last >= first })
	for ; i < len(rs) && rs[i].First <= first; i++ {
		if rs[i].Last >= last {
			return true
		}
		first = rs[i].Last + 1
	}
	return false
}
