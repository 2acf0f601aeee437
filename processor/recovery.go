package processor

import (
	"bytes"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/ledger"
)

// StaleUpdate wraps a table's update callback (goka's WithUpdateCallback,
// WithViewCallback) with the stale rule: a changelog value that
// ledger.Stale calls older than the value held is ignored, and reported
// to onStale when it is a late write of a worker that had lost the
// partition (another generation's); a value equal to the one held is
// ignored too (the fused count's own write, read back). Any other record,
// tombstones too, goes to next.
func StaleUpdate(onStale func(), next goka.UpdateCallback) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value != nil {
			held, err := s.Get(key)
			if err != nil {
				return err
			}
			if bytes.Equal(held, value) {
				return nil
			}
			if stale, own := ledger.StaleEncodedFrom(held, value); stale {
				if !own {
					onStale()
				}
				return nil
			}
		}
		return next(ctx, s, key, value)
	}
}

// countUpdate is the count table's update callback, used when a count
// partition is recovered from its changelog.
func countUpdate(m *Metrics) goka.UpdateCallback {
	return StaleUpdate(m.Stale.Inc, goka.DefaultUpdate)
}
