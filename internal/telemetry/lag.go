package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Lag samples, for the partitions this worker owns, each group's committed
// offset and each partition's high watermark, and exports the difference
// as tradeflow_consumer_lag: what kafka_exporter's
// kafka_consumergroup_lag computes from the same two numbers, for the
// whole group, from outside.
type Lag struct {
	admin                *kadm.Client
	log                  *slog.Logger
	lag, committed, high *prometheus.GaugeVec

	mu    sync.Mutex
	owned map[string]ownership // by group
}

// ownership is a group's input topics and the partitions of them this
// worker owns (goka's groups are co-partitioned: partition p of every
// input).
type ownership struct {
	topics     []string
	partitions []int32
}

// NewLag registers the lag gauges with reg; admin reads the offsets.
func NewLag(reg prometheus.Registerer, admin *kadm.Client, log *slog.Logger) *Lag {
	f := promauto.With(reg)
	labels := []string{"group", "topic", "partition"}
	return &Lag{
		admin: admin, log: log, owned: map[string]ownership{},
		lag: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeflow_consumer_lag",
			Help: "Records between the group's committed offset and the partition's high watermark, for the partitions this worker owns (kafka_exporter's kafka_consumergroup_lag, per owner).",
		}, labels),
		committed: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeflow_consumer_committed_offset",
			Help: "The group's committed offset of a partition this worker owns (the log start offset while the group has committed none).",
		}, labels),
		high: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeflow_consumer_high_watermark",
			Help: "The high watermark (the offset the next record will get) of a partition this worker owns.",
		}, labels),
	}
}

// Assigned records a group's new assignment, removing the series of the
// partitions it no longer owns.
func (l *Lag) Assigned(group string, topics []string, partitions []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.owned[group]
	for _, t := range prev.topics {
		for _, p := range prev.partitions {
			if !slices.Contains(partitions, p) {
				lv := []string{group, t, strconv.Itoa(int(p))}
				l.lag.DeleteLabelValues(lv...)
				l.committed.DeleteLabelValues(lv...)
				l.high.DeleteLabelValues(lv...)
			}
		}
	}
	l.owned[group] = ownership{topics: slices.Clone(topics), partitions: slices.Clone(partitions)}
}

// Run samples every interval until ctx is done. A failed sample is logged
// once until one succeeds again, and the gauges keep their last values.
func (l *Lag) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		sctx, cancel := context.WithTimeout(ctx, every)
		err := l.Sample(sctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			l.log.Warn("consumer lag: cannot read offsets; the lag gauges keep their last values", "err", err)
			failing = true
		case err == nil && failing:
			l.log.Info("consumer lag: offsets readable again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample reads the offsets once and sets the gauges.
func (l *Lag) Sample(ctx context.Context) error {
	l.mu.Lock()
	owned := make(map[string]ownership, len(l.owned))
	for g, o := range l.owned {
		owned[g] = o
	}
	l.mu.Unlock()
	var errs []error
	for group, o := range owned {
		if len(o.partitions) == 0 {
			continue
		}
		if err := l.sampleGroup(ctx, group, o); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", group, err))
		}
	}
	return errors.Join(errs...)
}

func (l *Lag) sampleGroup(ctx context.Context, group string, o ownership) error {
	commits, err := l.admin.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		// kfake's answer for a group that has committed nothing yet
		// (Kafka answers with no offsets).
		commits, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("fetch committed offsets: %w", err)
	}
	ends, err := l.admin.ListEndOffsets(ctx, o.topics...)
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	type sample struct {
		t       string
		p       int32
		pos, hw int64
	}
	var samples []sample
	var starts kadm.ListedOffsets
	for _, t := range o.topics {
		for _, p := range o.partitions {
			end, ok := ends.Lookup(t, p)
			if !ok {
				continue
			}
			pos := int64(-1)
			if c, ok := commits.Lookup(t, p); ok && c.Err == nil {
				pos = c.At
			}
			if pos < 0 { // nothing committed yet: the group starts at the oldest offset
				if starts == nil {
					if starts, err = l.admin.ListStartOffsets(ctx, o.topics...); err != nil {
						return fmt.Errorf("list start offsets: %w", err)
					}
				}
				s, _ := starts.Lookup(t, p)
				pos = s.Offset
			}
			samples = append(samples, sample{t, p, pos, end.Offset})
		}
	}
	// Set only what is still owned: a rebalance while the offsets were
	// read has removed the series of the partitions that moved.
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.owned[group]
	for _, s := range samples {
		if !slices.Contains(now.partitions, s.p) {
			continue
		}
		lv := []string{group, s.t, strconv.Itoa(int(s.p))}
		l.committed.WithLabelValues(lv...).Set(float64(s.pos))
		l.high.WithLabelValues(lv...).Set(float64(s.hw))
		l.lag.WithLabelValues(lv...).Set(float64(max(s.hw-s.pos, 0)))
	}
	return nil
}
