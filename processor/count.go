package processor

import (
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/lovoo/goka"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// ExpireVisit names the visit that removes windows past retention.
const ExpireVisit = "expire"

// Counter is the count group: per symbol and tumbling minute, the number of
// settlements of each disposition, in a changelog-backed table with one
// entry per window (key "SYMBOL@windowStart"). It keeps, per source
// partition, the highest source offset applied and any gaps below it (see
// take), so a settlement replayed after a crash is skipped while one whose
// first write was lost is counted: counts are effectively-once without
// Kafka transactions.
type Counter struct {
	Policy  settlement.Policy
	Metrics *Metrics

	mu         sync.Mutex
	streamTime map[int32]int64 // per windows-topic partition: newest event time seen
	// Windows written since the last two expire visits: the visit writes
	// them again (see stale.go).
	touched, touchedBefore map[string]struct{}
}

// Graph defines the count group.
func (c *Counter) Graph() *goka.GroupGraph {
	return goka.DefineGroup(CountGroup,
		goka.Input(WindowsTopic, rawCodec{}, c.count),
		goka.Persist(CountsCodec),
		goka.Visitor(ExpireVisit, c.expire),
		goka.Output(DeadLetterTopic, rawCodec{}),
	)
}

// advance moves the partition's stream time to ts if that is newer, and
// returns the stream time.
func (c *Counter) advance(partition int32, ts int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streamTime == nil {
		c.streamTime = make(map[int32]int64)
	}
	if ts > c.streamTime[partition] {
		c.streamTime[partition] = ts
	}
	return c.streamTime[partition]
}

func (c *Counter) count(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	v, err := settlementCodec.Decode(raw)
	if err != nil {
		deadLetter(ctx, c.Metrics, raw, err.Error())
		return
	}
	s := v.(*pb.TradeSettlement)
	symbol, start, err := settlement.ParseWindowKey(ctx.Key())
	if err != nil || symbol != s.Symbol || start != settlement.WindowStart(s.Timestamp) {
		deadLetter(ctx, c.Metrics, raw, "window key does not match its settlement")
		return
	}
	d, err := settlement.ParseDisposition(s.Disposition)
	if err != nil {
		deadLetter(ctx, c.Metrics, raw, err.Error())
		return
	}
	now := c.advance(ctx.Partition(), s.Timestamp)
	if c.Policy.Late(s.Timestamp, now) {
		c.Metrics.Late.Inc()
		return
	}
	w, _ := ctx.Value().(*pb.WindowCounts)
	if w == nil {
		w = &pb.WindowCounts{Symbol: symbol, WindowStart: start}
	}
	taken, opened := take(appliedFor(w, s.SourcePartition), s.SourceOffset, s.WindowPrevOffset)
	if opened {
		c.Metrics.Gaps.Inc()
		slog.Warn("count: a trade's predecessor in its window was not counted yet (its write was lost or is late); keeping its offset open so it is counted when it comes again",
			"window", ctx.Key(), "source_partition", s.SourcePartition, "source_offset", s.SourceOffset, "predecessor", *s.WindowPrevOffset)
	}
	if !taken {
		// A replay. Its update may be in local state but not in the
		// changelog (a crash between the two), where the views read it:
		// write the unchanged value again so the changelog holds it.
		c.Metrics.Duplicates.Inc()
		w.Generation = sessionGeneration(ctx)
		ctx.SetValue(w)
		c.touch(ctx.Key())
		return
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
	w.Generation = sessionGeneration(ctx)
	ctx.SetValue(w)
	c.touch(ctx.Key())
}

// touch notes that key's window was written.
func (c *Counter) touch(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.touched == nil {
		c.touched = make(map[string]struct{})
	}
	c.touched[key] = struct{}{}
}

// rotate ends an expire visit: what was written since the one before it is
// forgotten after the next.
func (c *Counter) rotate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.touchedBefore, c.touched = c.touched, make(map[string]struct{})
}

// recentlyWritten reports whether key was written since the visit before
// last.
func (c *Counter) recentlyWritten(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, now := c.touched[key]
	_, before := c.touchedBefore[key]
	return now || before
}

// appliedFor returns w's entry for a source partition, adding one (offset
// -1: nothing applied yet) in partition order when there is none.
func appliedFor(w *pb.WindowCounts, partition int32) *pb.SourceOffset {
	i := sort.Search(len(w.Applied), func(i int) bool { return w.Applied[i].Partition >= partition })
	if i < len(w.Applied) && w.Applied[i].Partition == partition {
		return w.Applied[i]
	}
	e := &pb.SourceOffset{Partition: partition, Offset: -1}
	w.Applied = slices.Insert(w.Applied, i, e)
	return e
}

// take records source offset o (with its predecessor in the same window,
// prev, when the settle step knew it) as applied, and reports false when
// it was applied before: a replay. opened reports a new gap.
//
// Offsets at or below the highest applied count as applied unless they lie
// in a gap. A gap opens when prev is above the highest applied: the write
// of prev (and maybe of earlier trades) was lost or is late, so nothing
// from just above the highest applied up to prev has been applied and the
// trades there, when they come again, must be counted. The range strictly
// between prev and o holds no trade of this window, so it leaves any gap.
func take(a *pb.SourceOffset, o int64, prev *int64) (taken, opened bool) {
	high := a.Offset
	if o <= high {
		if !inRanges(a.Gaps, o) {
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

// inRanges reports whether o lies in one of the sorted, disjoint ranges.
func inRanges(rs []*pb.OffsetRange, o int64) bool {
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

// Offsets builds a sorted applied list from a map, for tests and tools.
func Offsets(m map[int32]int64) []*pb.SourceOffset {
	out := make([]*pb.SourceOffset, 0, len(m))
	for p, o := range m {
		out = append(out, &pb.SourceOffset{Partition: p, Offset: o})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// expire is called for every window of the partitions this worker owns
// (Processor.VisitAll): a window past retention is deleted, which writes a
// tombstone so compaction reclaims it in the changelog too. A window
// written in the last one to two visit intervals is written again, so that
// a late write of a worker that had lost the partition is not the last
// value in the changelog for long (stale.go). It also seeds the
// partition's stream time after a restart with the newest window start it
// holds, a lower bound of the stream time before the restart.
func (c *Counter) expire(ctx goka.Context, _ any) {
	_, start, err := settlement.ParseWindowKey(ctx.Key())
	if err != nil {
		return
	}
	now := c.advance(ctx.Partition(), start)
	if c.Policy.Expired(start, now) {
		c.Metrics.Expired.Inc()
		ctx.Delete()
		return
	}
	if c.recentlyWritten(ctx.Key()) {
		if w, ok := ctx.Value().(*pb.WindowCounts); ok && w != nil {
			w.Generation = sessionGeneration(ctx)
			ctx.SetValue(w)
		}
	}
}
