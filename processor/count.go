package processor

import (
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
// partition, the highest source offset applied, so a settlement replayed
// after a crash is skipped: counts are effectively-once without Kafka
// transactions.
type Counter struct {
	Policy  settlement.Policy
	Metrics *Metrics

	mu         sync.Mutex
	streamTime map[int32]int64 // per windows-topic partition: newest event time seen
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
	applied := appliedFor(w, s.SourcePartition)
	if applied.Offset >= s.SourceOffset {
		// A replay. Its update may be in local state but not in the
		// changelog (a crash between the two), where the views read it:
		// write the unchanged value again so the changelog holds it.
		c.Metrics.Duplicates.Inc()
		ctx.SetValue(w)
		return
	}
	applied.Offset = s.SourceOffset
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
	ctx.SetValue(w)
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
// tombstone so compaction reclaims it in the changelog too. It also seeds
// the partition's stream time after a restart with the newest window
// start it holds, a lower bound of the stream time before the restart.
func (c *Counter) expire(ctx goka.Context, _ any) {
	_, start, err := settlement.ParseWindowKey(ctx.Key())
	if err != nil {
		return
	}
	now := c.advance(ctx.Partition(), start)
	if c.Policy.Expired(start, now) {
		c.Metrics.Expired.Inc()
		ctx.Delete()
	}
}
