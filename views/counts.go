// Package views serves the count table: goka Views that follow its
// changelog, the queries over them, and the HTTP API of DESIGN.md §4.
package views

import (
	"context"
	"fmt"
	"sort"

	"github.com/lovoo/goka"

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
// kept locally and followed from the changelog.
type Counts struct{ view *goka.View }

// NewCounts builds the view; Run starts it.
func NewCounts(brokers []string, b processor.Builders, opts ...goka.ViewOption) (*Counts, error) {
	v, err := goka.NewView(brokers, processor.CountTable, processor.CountsCodec, append(b.ViewOptions(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("count table view: %w", err)
	}
	return &Counts{view: v}, nil
}

// Run follows the changelog until ctx is done.
func (c *Counts) Run(ctx context.Context) error { return c.view.Run(ctx) }

// Recovered reports whether the view has caught up with the changelog.
func (c *Counts) Recovered() bool { return c.view.Recovered() }

// Windows returns symbol's windows whose start is in [from, to], newest
// first. Keys are "SYMBOL@start", so a range scan of "SYMBOL@" finds them;
// a key of another symbol that shares the prefix ("A@B@…" for "A") is
// skipped by comparing the parsed symbol.
func (c *Counts) Windows(symbol string, from, to int64) ([]Window, error) {
	it, err := c.view.IteratorWithRange(symbol+"@", symbol+"A")
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", symbol, err)
	}
	defer it.Release()
	var out []Window
	for it.Next() {
		sym, start, err := settlement.ParseWindowKey(it.Key())
		if err != nil || sym != symbol || start < from || start > to {
			continue
		}
		v, err := it.Value()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", it.Key(), err)
		}
		w, ok := v.(*pb.WindowCounts)
		if !ok || w == nil {
			continue
		}
		out = append(out, Window{
			WindowStart: start, WindowEnd: settlement.WindowEnd(start),
			Completed: w.Completed, Pending: w.Pending, Flagged: w.Flagged, Rejected: w.Rejected,
		})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", symbol, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WindowStart > out[j].WindowStart })
	return out, nil
}
