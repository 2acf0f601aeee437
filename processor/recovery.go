package processor

import (
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/ledger"
)

// StaleUpdate wraps a table's update callback (goka's WithUpdateCallback,
// WithViewCallback) with the stale rule: a changelog value that
// ledger.Stale calls older than the value held (a late write of a worker
// that had lost the partition) is ignored and reported to onStale; any
// other record, tombstones too, goes to next.
func StaleUpdate(onStale func(), next goka.UpdateCallback) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value != nil {
			held, err := s.Get(key)
			if err != nil {
				return err
			}
			if ledger.StaleEncoded(held, value) {
				onStale()
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
