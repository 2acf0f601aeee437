package processor

import (
	"sort"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	pb "github.com/tradeflow/tradeflow/proto"
)

// A worker that lost its count partitions without knowing it yet (cut off
// from the brokers past the session timeout, or paused) may still have
// changelog writes buffered in its producer, which keeps retrying them;
// they can land after the new owner's writes of the same window. Kafka's
// answer is to fence the old producer with transactions; tradeflow's is
// that every count value says which trades it counts (applied), so a
// reader can tell an old value from a newer one whatever order they landed
// in. The count step's table recovery and the views keep a value unless
// what arrives counts strictly fewer trades, or other trades written in an
// older session generation (Stale); the count step also
// writes recently changed windows again once a minute (Counter.expire), so
// the newest value is the last in the changelog again before compaction
// keeps only the last.

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

// countUpdate is the count table's update callback, used when a count
// partition is recovered from its changelog: it keeps the stored value
// when the incoming one is Stale.
func countUpdate(m *Metrics) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value != nil {
			if stale, err := StaleWrite(s, key, value); err != nil || stale {
				if stale {
					m.Stale.Inc()
				}
				return err
			}
		}
		return goka.DefaultUpdate(ctx, s, key, value)
	}
}

// StaleWrite reports whether value, a changelog record of key, is Stale
// against what s holds. A value that does not decode is not stale: the
// default handling stores it and the count step reports it when it reads
// it.
func StaleWrite(s storage.Storage, key string, value []byte) (bool, error) {
	old, err := s.Get(key)
	if err != nil || old == nil {
		return false, err
	}
	stored, err1 := CountsCodec.Decode(old)
	incoming, err2 := CountsCodec.Decode(value)
	if err1 != nil || err2 != nil {
		return false, nil
	}
	return Stale(stored.(*pb.WindowCounts), incoming.(*pb.WindowCounts)), nil
}
