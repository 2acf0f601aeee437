// Package views serves the count table: a goka View that follows its
// changelog, an index of it by symbol, and the HTTP API on them
// (ARCHITECTURE.md, "Queries").
package views

import (
	"context"
	"fmt"

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
}

// NewCounts builds the view with the view options of kit; Run starts it.
// onStale (may be nil) is called for each changelog value ignored as stale
// (ledger.Stale).
func NewCounts(brokers []string, kit *gokaext.Kit, onStale func(), opts ...goka.ViewOption) (*Counts, error) {
	ix := newIndex()
	// The index is fed only by the update callback, which sees what the
	// view reads from the changelog: with a persistent store the view
	// would resume from its stored offset and the index would miss every
	// window stored before. So this view always rebuilds, in memory, from
	// the start of the changelog.
	if onStale == nil {
		onStale = func() {}
	}
	o := append(kit.ViewOptions(), goka.WithViewCallback(ix.updateCallback(onStale)),
		goka.WithViewStorageBuilder(store.MemoryBuilder()))
	v, err := goka.NewView(brokers, processor.CountTable, processor.CountsCodec(), append(o, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("count table view: %w", err)
	}
	return &Counts{view: v, index: ix}, nil
}

// Run follows the changelog until ctx is done.
func (c *Counts) Run(ctx context.Context) error { return c.view.Run(ctx) }

// Recovered reports whether the view has caught up with the changelog.
func (c *Counts) Recovered() bool { return c.view.Recovered() }

// Windows returns symbol's windows whose start is in [from, to], newest
// first.
func (c *Counts) Windows(symbol string, from, to int64) ([]Window, error) {
	return c.index.windows(symbol, from, to), nil
}

// Answer is the encoded /v1/counts answer for all of symbol's windows.
func (c *Counts) Answer(symbol string) ([]byte, error) { return c.index.answer(symbol) }
