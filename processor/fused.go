package processor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/gokaext"
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
// It needs each symbol's trades in one stocktrade partition, as keyed by
// symbol (a trade whose key is not its symbol is dead-lettered).

// WindowStore is where the fused count keeps its windows: the count view's
// index (views.Counts).
type WindowStore interface {
	// Update runs fn, under the store's lock, with the changelog value held
	// for key (nil when none), and stores what fn returns (nil: nothing).
	Update(key string, fn func(held []byte) []byte) error
	// EachSymbol calls fn with every symbol, the stocktrade partition its
	// newest value names (-1: none) and its newest window start.
	EachSymbol(fn func(symbol string, source int32, newest int64))
	// Expire removes symbol's windows starting before before, calling gone
	// with each key under the store's lock.
	Expire(symbol string, before int64, gone func(key string))
	// CaughtUp returns once the store holds every changelog record written
	// before it was called.
	CaughtUp(ctx context.Context) error
}

// countFused counts the settled trade id of symbol at event time ts with
// disposition d into its window, and writes the window's value to the
// count table's changelog.
func (c *Counter) countFused(ctx goka.Context, symbol string, ts int64, d settlement.Disposition, id settlement.TradeID) {
	gen := gokaext.SessionGeneration(ctx)
	if !c.caughtUpIn(id.Partition, gen) {
		if err := c.Store.CaughtUp(ctx.Context()); err != nil {
			ctx.Fail(fmt.Errorf("count: read the count table up to its end before counting partition %d: %w", id.Partition, err))
		}
		c.markCaughtUp(id.Partition, gen)
	}
	now := c.advance(id.Partition, ts)
	if c.Policy.Late(ts, now) {
		c.Metrics.Late.Inc()
		return
	}
	start := settlement.WindowStart(ts)
	key := settlement.WindowKey(symbol, start)
	err := c.Store.Update(key, func(held []byte) []byte {
		// Nearly every value is of the shape ApplyEncoded takes; the
		// others (gaps, several source partitions) are decoded.
		b, counted, ok := ledger.ApplyEncoded(held, symbol, start, d, id.Partition, id.Offset, gen)
		if !ok {
			b, counted = c.applyDecoded(ctx, key, held, symbol, start, d, id, gen)
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
	c.touch(id.Partition, gen, key)
}

// applyDecoded is ApplyEncoded for a value of any shape: decoded, applied
// and encoded again.
func (c *Counter) applyDecoded(ctx goka.Context, key string, held []byte, symbol string, start int64, d settlement.Disposition, id settlement.TradeID, gen int32) ([]byte, bool) {
	w := &pb.WindowCounts{Symbol: symbol, WindowStart: start}
	if held != nil {
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(held, w); err != nil {
			ctx.Fail(fmt.Errorf("count: window %s held a value that does not decode: %w", key, err))
		}
	}
	counted, _ := ledger.Apply(w, d, id.Partition, id.Offset, nil)
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
	c.Store.EachSymbol(func(symbol string, source int32, newest int64) {
		if _, ok := owned[source]; ok {
			mine[symbol] = source
			c.advance(source, newest) // a lower bound of the stream time after a restart
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
