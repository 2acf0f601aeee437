package processor

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// ExpireVisit names the visit that removes windows past retention.
const ExpireVisit = "expire"

// Counter is the count group's callbacks: per symbol and tumbling minute,
// the number of settlements of each disposition, in a changelog-backed
// table with one entry per window (key "SYMBOL@windowStart"). It keeps,
// per source partition, the highest source offset applied and any gaps
// below it (ledger.Apply), so a settlement replayed after a crash is
// skipped while one whose first write was lost is counted: counts are
// effectively-once without Kafka transactions.
type Counter struct {
	Policy  settlement.Policy
	Metrics *Metrics
	Log     *slog.Logger
	// LateWrites bounds how long after this worker takes a partition over
	// a former owner's writes may still land, and ExpireEvery is the
	// visits' interval: the visit writes windows again only for that long
	// after a takeover, and two intervals more (zero LateWrites: always).
	// A partition held longer has no former owner with writes in flight,
	// and at a million windows the rewrites doubled the changelog's writes.
	LateWrites, ExpireEvery time.Duration
	// Store, when set, is where the fused count keeps its windows
	// (fused.go); the count group keeps them in its table.
	Store WindowStore
	// Partitions is stocktrade's partition count, which the fused count
	// places each symbol's home partition by (Counter.home).
	Partitions int32
	// now is the clock of takeovers; nil is time.Now.
	now func() time.Time

	mu sync.Mutex
	// held: per windows-topic partition, the session generation this
	// worker counts it in and when it first saw that generation.
	held       map[int32]tenure
	streamTime map[int32]int64 // per input partition: newest event time seen
	// Windows written since the last two expire visits, with the input
	// partition they were counted from: the visit writes them again (see
	// expire).
	touched, touchedBefore map[string]int32
	// The fused count's: per stocktrade partition, the session generation
	// its windows were caught up with the changelog in; the partitions
	// owned now.
	caughtUp map[int32]int32
	owned    map[int32]bool
}

// tenure is one session generation's hold of a partition.
type tenure struct {
	generation int32
	since      time.Time
}

// heldSince returns when this worker first saw the partition in
// generation, noting now when it had not.
func (c *Counter) heldSince(partition, generation int32) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heldSinceLocked(partition, generation)
}

func (c *Counter) heldSinceLocked(partition, generation int32) time.Time {
	if t, ok := c.held[partition]; ok && t.generation == generation {
		return t.since
	}
	if c.held == nil {
		c.held = make(map[int32]tenure)
	}
	t := tenure{generation, c.clock()}
	c.held[partition] = t
	return t.since
}

func (c *Counter) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// lateWritesPossible reports whether a former owner's write may still
// land in the partition, or have landed since the visit before last.
func (c *Counter) lateWritesPossible(partition, generation int32) bool {
	if c.LateWrites == 0 {
		return true
	}
	return c.clock().Sub(c.heldSince(partition, generation)) <= c.LateWrites+2*c.ExpireEvery
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

// settlementOf decodes a windows or loop record's settlement, or
// dead-letters the record and returns false.
func (c *Counter) settlementOf(ctx goka.Context, msg any) (*pb.TradeSettlement, []byte, bool) {
	raw, _ := msg.([]byte)
	v, err := settlementCodec().Decode(raw)
	if err != nil {
		deadLetter(ctx, c.Metrics, raw, err.Error())
		return nil, raw, false
	}
	return v.(*pb.TradeSettlement), raw, true
}

func (c *Counter) count(ctx goka.Context, msg any) {
	s, raw, ok := c.settlementOf(ctx, msg)
	if !ok {
		return
	}
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
	counted, opened := ledger.Apply(w, d, s.SourcePartition, s.SourceOffset, s.WindowPrevOffset)
	if opened {
		c.Metrics.Gaps.Inc()
		c.Log.Warn("count: a trade's predecessor in its window was not counted yet (its write was lost or is late); keeping its offset open so it is counted when it comes again",
			"window", ctx.Key(), "source_partition", s.SourcePartition, "source_offset", s.SourceOffset, "predecessor", *s.WindowPrevOffset)
	}
	if !counted {
		// A replay. Its update may be in local state but not in the
		// changelog (a crash between the two), where the views read it:
		// write the unchanged value again so the changelog holds it.
		c.Metrics.Duplicates.Inc()
	}
	c.Metrics.countEvents.advance(s.Timestamp)
	w.Generation = gokaext.SessionGeneration(ctx)
	if counted && sampled(s.SourceOffset) {
		ctx.SetValue(w, goka.WithCtxEmitHeaders(goka.Headers{
			HeaderSettledAt: strconv.AppendInt(nil, ctx.Timestamp().UnixMilli(), 10)}))
	} else {
		ctx.SetValue(w)
	}
	c.touch(ctx.Partition(), w.Generation, ctx.Key())
}

// SettledAt reads HeaderSettledAt; false when absent or malformed.
func SettledAt(h goka.Headers) (time.Time, bool) {
	v, ok := h[HeaderSettledAt]
	if !ok {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// touch notes that key's window was written, in partition and generation.
func (c *Counter) touch(partition, generation int32, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heldSinceLocked(partition, generation)
	if c.touched == nil {
		c.touched = make(map[string]int32)
	}
	c.touched[key] = partition
}

// rotate ends an expire visit: what was written since the one before it is
// forgotten after the next.
func (c *Counter) rotate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.touchedBefore, c.touched = c.touched, make(map[string]int32)
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

// expire is called for every window of the partitions this worker owns
// (Processor.VisitAll): a window past retention is deleted, which writes a
// tombstone so compaction reclaims it in the changelog too. A window
// written in the last one to two visit intervals is written again, so that
// a late write of a worker that had lost the partition is not the last
// value in the changelog for long (ledger.Stale decides for readers
// until then), while such a write may still land (LateWrites). It also seeds the
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
	if gen := gokaext.SessionGeneration(ctx); c.lateWritesPossible(ctx.Partition(), gen) && c.recentlyWritten(ctx.Key()) {
		if w, ok := ctx.Value().(*pb.WindowCounts); ok && w != nil {
			w.Generation = gen
			ctx.SetValue(w)
		}
	}
}
