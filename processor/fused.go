package processor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/kafkahash"
	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// The fused count (TRADEFLOW_COUNT=fused) counts each trade in the settle
// group's partition goroutine, as the settle callback decides it, instead
// of sending it through the windows topic to the count group: one record
// and one consumer group less per trade. Its windows live in the count
// view's index (WindowStore), which every worker keeps anyway, so each
// window is held once per worker; the count table's changelog is written
// as the count group writes it, and the views read it as before.
//
// What the count group's table gave for free is done here:
//   - State before counting: the first trade of a stocktrade partition in a
//     session generation waits until the view has read the whole changelog
//     as it was then (WindowStore.CaughtUp), so the windows hold every
//     value the partition's former owner had acknowledged.
//   - Dedup: the same rule (ledger.Apply), with no window chain: there is
//     no hop whose write could be lost while a later one lands, since each
//     value is the window's whole state as the partition goroutine holds
//     it. A replay is written again unchanged, as the count group does.
//   - Expiry and rewrites: a loop (Pipeline.expireFusedLoop) does what the
//     count group's visit does, for the symbols whose stocktrade partition
//     this worker owns, through the index so that a window's records are
//     produced in the order its value changed.
//
// Each symbol is counted by one settle partition, its home: the
// stocktrade partition its trades land in when keyed by symbol
// (Counter.home). A trade keyed otherwise is settled where it lands, and
// its settlement is re-keyed by symbol through the settle group's loop
// stream (RekeyTopic) to the home partition, which counts it under its
// stocktrade partition and offset with the window chain the hop's count
// group uses (ledger.Apply with a predecessor): a replayed or lost loop
// record is then told apart as a windows record is.

// WindowStore is where the fused count keeps its windows: the count view's
// index (views.Counts).
type WindowStore interface {
	// Update runs fn, under the store's lock, with the changelog value held
	// for key (nil when none), and stores what fn returns (nil: nothing).
	Update(key string, fn func(held []byte) []byte) error
	// EachSymbol calls fn with every symbol and its newest window start.
	EachSymbol(fn func(symbol string, newest int64))
	// Expire removes symbol's windows starting before before, calling gone
	// with each key under the store's lock.
	Expire(symbol string, before int64, gone func(key string))
	// CaughtUp returns once the store holds every changelog record written
	// before it was called.
	CaughtUp(ctx context.Context) error
}

// home is the settle partition that counts symbol's windows: the
// stocktrade partition of a record keyed by symbol.
func (c *Counter) home(symbol string) int32 {
	return kafkahash.Partition([]byte(symbol), c.Partitions)
}

// countRekeyed is the settle group's loop callback: a settlement re-keyed
// to its symbol's home partition (Settler.settle), counted there.
func (c *Counter) countRekeyed(ctx goka.Context, msg any) {
	s, raw, ok := c.settlementOf(ctx, msg)
	if !ok {
		return
	}
	if ctx.Key() != s.Symbol || c.home(s.Symbol) != ctx.Partition() {
		deadLetter(ctx, c.Metrics, raw, fmt.Sprintf("re-keyed settlement of %q arrived keyed %q in partition %d, not its symbol's partition %d", s.Symbol, ctx.Key(), ctx.Partition(), c.home(s.Symbol)))
		return
	}
	d, err := settlement.ParseDisposition(s.Disposition)
	if err != nil {
		deadLetter(ctx, c.Metrics, raw, err.Error())
		return
	}
	c.countFused(ctx, s.Symbol, s.Timestamp, d, settlement.TradeID{Topic: string(TradesTopic), Partition: s.SourcePartition, Offset: s.SourceOffset}, s.WindowPrevOffset)
}

// countFused counts the settled trade id of symbol at event time ts with
// disposition d into its window, and writes the window's value to the
// count table's changelog. It runs in the goroutine of the symbol's home
// partition (ctx's), whose stream time and catch-up it uses; id names the
// trade in the dedup ledger, with prev its predecessor in the window's
// chain when it was re-keyed (nil: counted where it was read).
func (c *Counter) countFused(ctx goka.Context, symbol string, ts int64, d settlement.Disposition, id settlement.TradeID, prev *int64) {
	gen := gokaext.SessionGeneration(ctx)
	home := ctx.Partition()
	if !c.caughtUpIn(home, gen) {
		if err := c.Store.CaughtUp(ctx.Context()); err != nil {
			ctx.Fail(fmt.Errorf("count: read the count table up to its end before counting partition %d: %w", home, err))
		}
		c.markCaughtUp(home, gen)
	}
	now := c.advance(home, ts)
	if c.Policy.Late(ts, now) {
		c.Metrics.Late.Inc()
		return
	}
	start := settlement.WindowStart(ts)
	key := settlement.WindowKey(symbol, start)
	err := c.Store.Update(key, func(held []byte) []byte {
		// Nearly every value is of the shape ApplyEncoded takes; the
		// others (gaps, several source partitions, a chain) are decoded.
		var b []byte
		counted, ok := false, false
		if prev == nil {
			b, counted, ok = ledger.ApplyEncoded(held, symbol, start, d, id.Partition, id.Offset, gen)
		}
		if !ok {
			b, counted = c.applyDecoded(ctx, key, held, symbol, start, d, id, prev, gen)
		}
		if !counted {
			// A replay; written again unchanged in case its first
			// write was lost (see Counter.count).
			c.Metrics.Duplicates.Inc()
		}
		if counted && sampled(id.Offset) {
			ctx.Emit(goka.Stream(CountTable), key, b, goka.WithCtxEmitHeaders(goka.Headers{
				HeaderSettledAt: strconv.AppendInt(nil, time.Now().UnixMilli(), 10)}))
		} else {
			ctx.Emit(goka.Stream(CountTable), key, b)
		}
		return b
	})
	if err != nil {
		ctx.Fail(fmt.Errorf("count: window %s: %w", key, err))
	}
	c.Metrics.countEvents.advance(ts)
	c.touch(home, gen, key)
}

// applyDecoded is ApplyEncoded for a value of any shape: decoded, applied
// and encoded again.
func (c *Counter) applyDecoded(ctx goka.Context, key string, held []byte, symbol string, start int64, d settlement.Disposition, id settlement.TradeID, prev *int64, gen int32) ([]byte, bool) {
	w := &pb.WindowCounts{Symbol: symbol, WindowStart: start}
	if held != nil {
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(held, w); err != nil {
			ctx.Fail(fmt.Errorf("count: window %s held a value that does not decode: %w", key, err))
		}
	}
	counted, opened := ledger.Apply(w, d, id.Partition, id.Offset, prev)
	if opened {
		c.Metrics.Gaps.Inc()
		c.Log.Warn("count: a re-keyed trade's predecessor in its window was not counted yet (its write was lost or is late); keeping its offset open so it is counted when it comes again",
			"window", key, "source_partition", id.Partition, "source_offset", id.Offset, "predecessor", *prev)
	}
	w.Generation = gen
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		ctx.Fail(fmt.Errorf("count: encode window %s: %w", key, err))
	}
	return b, counted
}

// caughtUpIn reports whether partition's windows were caught up with the
// changelog in generation.
func (c *Counter) caughtUpIn(partition, generation int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.caughtUp[partition]
	return ok && g == generation
}

func (c *Counter) markCaughtUp(partition, generation int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.caughtUp == nil {
		c.caughtUp = make(map[int32]int32)
	}
	c.caughtUp[partition] = generation
}

// owns notes the stocktrade partitions the settle group owns now (its
// rebalance callback): the fused expiry visits their symbols only.
func (c *Counter) owns(partitions []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owned = make(map[int32]bool, len(partitions))
	for _, p := range partitions {
		c.owned[p] = true
	}
}

// expireFused is one visit of the fused count: for every symbol of a
// stocktrade partition this worker owns, it removes the windows past
// retention, writing their tombstones, and writes again the windows it
// wrote in the last one or two visits while a former owner's late write
// may still land (as the count group's visit, expire). write produces a
// changelog record (nil value: a tombstone).
func (c *Counter) expireFused(write func(key string, value []byte)) {
	c.mu.Lock()
	owned := make(map[int32]int32, len(c.owned)) // partition → the generation it is held in
	for p := range c.owned {
		owned[p] = c.held[p].generation
	}
	rewrite := make(map[string]int32) // key → its stocktrade partition
	for _, m := range []map[string]int32{c.touchedBefore, c.touched} {
		for key, p := range m {
			if _, ok := owned[p]; ok {
				rewrite[key] = p
			}
		}
	}
	c.mu.Unlock()

	mine := make(map[string]int32)
	c.Store.EachSymbol(func(symbol string, newest int64) {
		home := c.home(symbol)
		if _, ok := owned[home]; ok {
			mine[symbol] = home
			c.advance(home, newest) // a lower bound of the stream time after a restart
		}
	})
	for symbol, p := range mine {
		// Policy.Expired(start, now) is start <= now - size - retention.
		before := c.advance(p, 0) - settlement.WindowSize.Milliseconds() - c.Policy.Retention.Milliseconds() + 1
		c.Store.Expire(symbol, before, func(key string) {
			c.Metrics.Expired.Inc()
			write(key, nil)
			delete(rewrite, key)
		})
	}
	for key, p := range rewrite {
		if !c.lateWritesPossible(p, owned[p]) {
			continue
		}
		_ = c.Store.Update(key, func(held []byte) []byte {
			if held != nil {
				write(key, held)
			}
			return nil
		})
	}
}
