// Package views serves the count table: a goka View that follows its
// changelog, an index of it by symbol, and the HTTP API on them
// (ARCHITECTURE.md, "Queries").
package views

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
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
	view  *goka.View
	index *index
	// live is set once the view has caught up: the latency of a count
	// restored at start-up would be the age of the changelog.
	live atomic.Bool
}

// NewCounts builds the view with the view options of kit; Run starts it.
// It reports to m each changelog value it ignores as stale
// (ledger.Stale) and, once it has caught up, the end-to-end latency of the
// counts it applies (processor.HeaderSettledAt).
func NewCounts(brokers []string, kit *gokaext.Kit, m *processor.Metrics, opts ...goka.ViewOption) (*Counts, error) {
	ix := newIndex()
	c := &Counts{index: ix}
	// The index is the view's storage, whatever opts say (goka's tester
	// sets its own), so each window is held once; like a memory store it
	// starts empty and the view rebuilds it from the changelog's start.
	o := append(append(kit.ViewOptions(), opts...), goka.WithViewCallback(ix.updateCallback(m, &c.live)),
		goka.WithViewStorageBuilder(kit.ViewStorage(store.KeyedBuilder(ix))))
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

// Windows returns symbol's windows whose start is in [from, to], newest
// first.
func (c *Counts) Windows(symbol string, from, to int64) ([]Window, error) {
	return c.index.windows(symbol, from, to), nil
}

// Answer is the encoded /v1/counts answer for all of symbol's windows.
func (c *Counts) Answer(symbol string) ([]byte, error) { return c.index.answer(symbol) }

// Subscribe follows the changes of symbol's windows ("" for every
// symbol) as the view applies them, with room for buffer changes: a
// subscriber that falls further behind is dropped (Subscription.Dropped).
// With after set to the ID of a change it was sent, it first gets the
// changes since then, if they are still kept; resumed reports whether they
// were, else the subscriber should read the current windows (subscribing
// first, so that no change falls between).
func (c *Counts) Subscribe(symbol string, buffer int, after string) (s *Subscription, resumed bool) {
	return c.index.changes.subscribe(symbol, buffer, after)
}

// Symbols returns every symbol with at least one window, sorted.
func (c *Counts) Symbols() []string { return c.index.symbolNames() }
