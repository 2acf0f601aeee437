// Package views serves the count table: a goka View that follows its
// changelog, an index of it by symbol, and the HTTP API on them
// (ARCHITECTURE.md, "Queries").
package views

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// Window is one symbol's per-minute counts.
type Window struct {
	WindowStart int64 `json:"windowStart"`
	WindowEnd   int64 `json:"windowEnd"`
	Completed   int64 `json:"completed"`
	Pending     int64 `json:"pending"`
	Flagged     int64 `json:"flagged"`
	Rejected    int64 `json:"rejected"`
}

// Count returns the window's count for one disposition.
func (w Window) Count(d settlement.Disposition) int64 {
	switch d {
	case settlement.Completed:
		return w.Completed
	case settlement.Pending:
		return w.Pending
	case settlement.Flagged:
		return w.Flagged
	}
	return w.Rejected
}

// Counts is a View over the count table: every window of every partition,
// followed from the changelog, and an in-memory index of it by symbol.
type Counts struct {
	windows
	view *goka.View
	// live is set once the view has caught up: the latency of a count
	// restored at start-up would be the age of the changelog.
	live  atomic.Bool
	keyed *store.Keyed

	// CaughtUp's (owned.go).
	endOffsets func(context.Context) (map[int32]int64, error)
	log        *slog.Logger
	catchUp    sync.Mutex
	caughtUp   time.Time // when the last reading that was caught up up to began
}

// NewCounts builds the view with the view options of kit; Run starts it.
// It reports to m each changelog value it ignores as stale
// (ledger.Stale) and, once it has caught up, the end-to-end latency of the
// counts it applies (processor.HeaderSettledAt).
func NewCounts(brokers []string, kit *gokaext.Kit, m *processor.Metrics, opts ...goka.ViewOption) (*Counts, error) {
	ix := newIndex()
	c := &Counts{windows: windows{ix}, keyed: store.NewKeyed(ix, gokaext.Hasher()), log: slog.New(slog.DiscardHandler)}
	ix.counted = c.keyed.Counted
	// The index is the view's storage, whatever opts say (goka's tester
	// sets its own), so each window is held once; like a memory store it
	// starts empty and the view rebuilds it from the changelog's start.
	o := append(append(kit.ViewOptions(), opts...), goka.WithViewCallback(ix.updateCallback(m, &c.live)),
		goka.WithViewStorageBuilder(kit.ViewStorage(c.keyed.Builder())))
	v, err := goka.NewView(brokers, processor.CountTable, processor.CountsCodec(), o...)
	if err != nil {
		return nil, fmt.Errorf("count table view: %w", err)
	}
	c.view = v
	return c, nil
}

// Run follows the changelog until ctx is done.
func (c *Counts) Run(ctx context.Context) error {
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for !c.view.Recovered() {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		c.live.Store(true)
	}()
	return c.view.Run(ctx)
}

// View is the goka view (for its statistics).
func (c *Counts) View() *goka.View { return c.view }

// Recovered reports whether the view has caught up with the changelog.
func (c *Counts) Recovered() bool { return c.view.Recovered() }

// windows answers queries from an index: the count view's (Counts), or
// one filled by hand (Memory).
type windows struct{ index *index }

// Windows returns symbol's windows whose start is in [from, to], newest
// first.
func (w windows) Windows(symbol string, from, to int64) ([]Window, error) {
	return w.index.windows(symbol, from, to), nil
}

// Answer is the encoded /v1/counts answer for all of symbol's windows.
func (w windows) Answer(symbol string) ([]byte, error) { return w.index.answer(symbol) }

// Subscribe follows the changes of symbol's windows ("" for every
// symbol) as they are applied, with room for buffer changes: a subscriber
// that falls further behind is dropped (Subscription.Dropped). With after
// set to the ID of a change it was sent, it first gets the changes since
// then, if they are still kept; resumed reports whether they were, else
// the subscriber should read the current windows (subscribing first, so
// that no change falls between).
func (w windows) Subscribe(symbol string, buffer int, after string) (s *Subscription, resumed bool) {
	return w.index.changes.subscribe(symbol, buffer, after)
}

// Symbols returns every symbol with at least one window, sorted.
func (w windows) Symbols() []string { return w.index.symbolNames() }

// Memory is the count view's index without a view: windows are put by
// hand, each as the changelog value the count group would write, so that
// what reads Counts can be tested (or measured) without Kafka.
type Memory struct{ windows }

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{windows{newIndex()}} }

// Put sets symbol's window (its start, end and counts) as a changelog
// write would.
func (m *Memory) Put(symbol string, w Window) error {
	v, err := processor.CountsCodec().Encode(&pb.WindowCounts{Completed: w.Completed, Pending: w.Pending, Flagged: w.Flagged, Rejected: w.Rejected})
	if err != nil {
		return err
	}
	m.index.Apply(settlement.WindowKey(symbol, w.WindowStart), v)
	return nil
}

// Delete removes symbol's window at start, as a tombstone would.
func (m *Memory) Delete(symbol string, start int64) {
	m.index.Apply(settlement.WindowKey(symbol, start), nil)
}
