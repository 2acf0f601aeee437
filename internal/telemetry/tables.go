package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Kinds of local table copies: a group's own partitions of its table, or a
// view's copy of every partition.
const (
	KindGroup = "group"
	KindView  = "view"
)

// Tables observes the local copies of tables through their storage
// (Builder): entries held, partitions restoring, records restored and how
// long each partition's restore took, and, from goka's statistics
// (Watch), the offsets a restore has left. It logs when the restore of a
// table starts and ends, and its progress while it runs.
type Tables struct {
	log      *slog.Logger
	restored *prometheus.CounterVec
	duration *prometheus.HistogramVec
	left     *prometheus.GaugeVec

	entriesDesc, restoringDesc *prometheus.Desc

	mu      sync.Mutex
	open    map[*tableStorage]struct{}
	batches map[tableKind]*batch // restores running, per table copy
}

type tableKind struct{ table, kind string }

// batch is the restore of a table copy's partitions that began when none
// of them was restoring.
type batch struct {
	start      time.Time
	partitions int
	restored   atomic.Int64
}

// NewTables registers the table metrics with reg.
func NewTables(reg prometheus.Registerer, log *slog.Logger) *Tables {
	f := promauto.With(reg)
	labels := []string{"table", "kind"}
	t := &Tables{
		log: log,
		restored: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeflow_restore_records_total",
			Help: "Changelog records read into a local table copy while it restored.",
		}, labels),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tradeflow_restore_duration_seconds",
			Help:    "Time from opening one partition of a local table copy to its having caught up with the changelog.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, labels),
		left: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeflow_restore_records_left",
			Help: "Changelog offsets a restoring table copy has still to read (high watermark minus position, summed over its restoring partitions; a compacted changelog holds fewer records than that).",
		}, labels),
		entriesDesc: prometheus.NewDesc("tradeflow_table_entries",
			"Entries held by the local copy of a table (its partitions open in this worker).", labels, nil),
		restoringDesc: prometheus.NewDesc("tradeflow_restoring_partitions",
			"Partitions of a local table copy that are open and have not caught up with the changelog yet.", labels, nil),
		open:    make(map[*tableStorage]struct{}),
		batches: make(map[tableKind]*batch),
	}
	reg.MustRegister(t)
	return t
}

// Describe is the entries and restoring gauges'; the others are
// registered on their own.
func (t *Tables) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.entriesDesc
	ch <- t.restoringDesc
}

// Collect reads the entries and restoring partitions of every open
// partition at scrape time: a Memory store knows its length, so no write
// pays for the count.
func (t *Tables) Collect(ch chan<- prometheus.Metric) {
	type sums struct{ entries, restoring float64 }
	by := map[tableKind]*sums{}
	t.mu.Lock()
	for s := range t.open {
		sum := by[s.id]
		if sum == nil {
			sum = &sums{}
			by[s.id] = sum
		}
		sum.entries += float64(s.entries())
		if s.recovering.Load() {
			sum.restoring++
		}
	}
	t.mu.Unlock()
	for id, sum := range by {
		ch <- prometheus.MustNewConstMetric(t.entriesDesc, prometheus.GaugeValue, sum.entries, id.table, id.kind)
		ch <- prometheus.MustNewConstMetric(t.restoringDesc, prometheus.GaugeValue, sum.restoring, id.table, id.kind)
	}
}

// Builder wraps b so that every partition it builds is observed as part
// of the kind copy of its table (the topic goka builds it for).
func (t *Tables) Builder(kind string, b storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := b(topic, partition)
		if err != nil {
			return nil, err
		}
		t.left.WithLabelValues(topic, kind) // 0 until a restore is watched
		s := &tableStorage{Storage: st, t: t, id: tableKind{topic, kind},
			restored: t.restored.WithLabelValues(topic, kind)}
		s.sized, _ = st.(interface{ Len() int })
		return s, nil
	}
}

// opened starts a partition's restore, and a batch when it is the first.
func (t *Tables) opened(s *tableStorage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open[s] = struct{}{}
	b := t.batches[s.id]
	if b == nil {
		b = &batch{start: time.Now()}
		t.batches[s.id] = b
		t.log.Info("restore started", "table", s.id.table, "kind", s.id.kind)
	}
	b.partitions++
	s.batch = b
}

// recovered ends a partition's restore; the last of a batch ends it.
func (t *Tables) recovered(s *tableStorage) {
	t.duration.WithLabelValues(s.id.table, s.id.kind).Observe(time.Since(s.start).Seconds())
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endRestore(s)
}

func (t *Tables) endRestore(s *tableStorage) {
	if !s.recovering.Swap(false) {
		return
	}
	for o := range t.open {
		if o.id == s.id && o.recovering.Load() {
			return
		}
	}
	b := t.batches[s.id]
	delete(t.batches, s.id)
	var entries int64
	for o := range t.open {
		if o.id == s.id {
			entries += o.entries()
		}
	}
	t.left.WithLabelValues(s.id.table, s.id.kind).Set(0)
	t.log.Info("restore finished", "table", s.id.table, "kind", s.id.kind, "partitions", b.partitions,
		"records", b.restored.Load(), "entries", entries, "took", time.Since(b.start).Round(time.Millisecond))
}

func (t *Tables) closed(s *tableStorage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endRestore(s)
	delete(t.open, s)
}

// tableStorage is one observed partition of a table copy. goka gives each
// partition one writer; scrapes read entries concurrently.
type tableStorage struct {
	storage.Storage
	t          *Tables
	id         tableKind
	sized      interface{ Len() int }
	restored   prometheus.Counter
	start      time.Time
	batch      *batch
	recovering atomic.Bool
	counted    atomic.Int64 // entries, where the store cannot say (sized is nil)
}

func (s *tableStorage) entries() int64 {
	if s.sized != nil {
		return int64(s.sized.Len())
	}
	return s.counted.Load()
}

// Open counts the entries a persistent store already holds, where it
// cannot say, and starts the partition's restore.
func (s *tableStorage) Open() error {
	if err := s.Storage.Open(); err != nil {
		return err
	}
	if s.sized == nil {
		it, err := s.Storage.Iterator()
		if err != nil {
			return err
		}
		var n int64
		for it.Next() {
			n++
		}
		it.Release()
		s.counted.Store(n)
	}
	s.start = time.Now()
	s.recovering.Store(true)
	s.t.opened(s)
	return nil
}

func (s *tableStorage) Set(key string, value []byte) error {
	if s.sized == nil {
		if has, err := s.Storage.Has(key); err == nil && !has {
			s.counted.Add(1)
		}
	}
	s.countRestored()
	return s.Storage.Set(key, value)
}

func (s *tableStorage) Delete(key string) error {
	if s.sized == nil {
		if has, err := s.Storage.Has(key); err == nil && has {
			s.counted.Add(-1)
		}
	}
	s.countRestored()
	return s.Storage.Delete(key)
}

func (s *tableStorage) countRestored() {
	if s.recovering.Load() {
		s.restored.Inc()
		s.batch.restored.Add(1)
	}
}

func (s *tableStorage) MarkRecovered() error {
	if err := s.Storage.MarkRecovered(); err != nil {
		return err
	}
	s.t.recovered(s)
	return nil
}

func (s *tableStorage) Close() error {
	s.t.closed(s)
	return s.Storage.Close()
}

// Source is where Watch reads a table copy's restore position: goka's
// statistics of a processor's table or of a view.
type Source struct {
	Table, Kind string
	Stats       func(ctx context.Context) map[int32]*goka.TableStats
}

// ProcessorSource reads the statistics of p's group table.
func ProcessorSource(table string, p *goka.Processor) Source {
	return Source{Table: table, Kind: KindGroup, Stats: func(ctx context.Context) map[int32]*goka.TableStats {
		out := map[int32]*goka.TableStats{}
		if st := p.StatsWithContext(ctx); st != nil {
			for part, ps := range st.Group {
				if ps != nil && ps.TableStats != nil {
					out[part] = ps.TableStats
				}
			}
		}
		return out
	}}
}

// ViewSource reads the statistics of view v.
func ViewSource(table string, v *goka.View) Source {
	return Source{Table: table, Kind: KindView, Stats: func(ctx context.Context) map[int32]*goka.TableStats {
		if st := v.Stats(ctx); st != nil {
			return st.Partitions
		}
		return nil
	}}
}

// Watch sets tradeflow_restore_records_left from the sources every
// interval until ctx is done, and logs the progress of restores that have
// run longer than one interval.
func (t *Tables) Watch(ctx context.Context, every time.Duration, sources ...Source) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, src := range sources {
			t.poll(ctx, every, src)
		}
	}
}

func (t *Tables) poll(ctx context.Context, every time.Duration, src Source) {
	t.mu.Lock()
	b := t.batches[tableKind{src.Table, src.Kind}]
	t.mu.Unlock()
	if b == nil {
		return // nothing restoring: left is 0
	}
	sctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	var left int64
	restoring := 0
	for _, ts := range src.Stats(sctx) {
		if ts == nil || ts.Recovery == nil || ts.Status > goka.PartitionRecovering {
			continue
		}
		restoring++
		if n := ts.Recovery.Hwm - ts.Recovery.Offset - 1; n > 0 {
			left += n
		}
	}
	t.left.WithLabelValues(src.Table, src.Kind).Set(float64(left))
	if took := time.Since(b.start); took >= every {
		t.log.Info("restoring", "table", src.Table, "kind", src.Kind, "partitions_restoring", restoring,
			"records", b.restored.Load(), "offsets_left", left, "elapsed", took.Round(time.Second))
	}
}
