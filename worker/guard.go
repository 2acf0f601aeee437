package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tradeflow/tradeflow/processor"
)

// The fused count's guards. A worker counting fused (TRADEFLOW_COUNT=fused)
// must not count beside workers of the count group (hop), which would count
// the same windows a second time, nor start while the count group has
// windows records left to count, which nobody would count after.

// countEndOffsets are the count table's end offsets, per partition (the
// fused count waits for the view to reach them at every rebalance of the
// settle group). It fails while the count group has members
// (countGroupEmpty).
func (w *Worker) countEndOffsets(ctx context.Context) (map[int32]int64, error) {
	if err := w.countGroupEmpty(ctx); err != nil {
		return nil, err
	}
	adm := kadm.NewClient(w.admin)
	ends, err := adm.ListEndOffsets(ctx, string(processor.CountTable))
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	out := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	if len(out) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", processor.CountTable)
	}
	return out, nil
}

// countGroupEmpty fails while the count group has members: workers
// counting with the count group (hop) would count the same windows beside
// the fused count, so a worker started fused among them stops instead.
// Errors a broker may answer for a while (no coordinator yet on a new
// cluster, one loading) are retried for up to groupCheckWithin; a group
// this worker may not describe has no members it could see.
func (w *Worker) countGroupEmpty(ctx context.Context) error {
	return retryGroupCheck(ctx, w.countGroupMembers, errCountGroupBusy)
}

// retryGroupCheck calls look until it returns nil or an error wrapping
// final, retrying others for up to groupCheckWithin.
func retryGroupCheck(ctx context.Context, look func(context.Context) error, final error) error {
	ctx, cancel := context.WithTimeout(ctx, groupCheckWithin)
	defer cancel()
	for {
		err := look(ctx)
		if err == nil || errors.Is(err, final) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retried for up to %v)", err, groupCheckWithin)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// groupCheckWithin bounds the retries of one check.
const groupCheckWithin = 30 * time.Second

var errCountGroupBusy = errors.New("workers with TRADEFLOW_COUNT=hop are running, and the fused count cannot count beside them; stop them first, or set TRADEFLOW_COUNT=hop here")

// countGroupMembers is one look at the count group: errCountGroupBusy
// (wrapped) when it has members, another error when the brokers did not
// say.
func (w *Worker) countGroupMembers(ctx context.Context) error {
	groups, err := kadm.NewClient(w.admin).DescribeGroups(ctx, string(processor.CountGroup))
	if err != nil {
		return fmt.Errorf("describe group %s: %w", processor.CountGroup, err)
	}
	g, ok := groups[string(processor.CountGroup)]
	switch {
	case !ok:
		return nil
	case g.Err != nil && kerr.IsRetriable(g.Err):
		return fmt.Errorf("describe group %s: %w", processor.CountGroup, g.Err)
	case g.Err == nil && len(g.Members) > 0:
		return fmt.Errorf("group %s has %d members: %w", processor.CountGroup, len(g.Members), errCountGroupBusy)
	}
	return nil
}

var errCountGroupBehind = errors.New("the count group has not counted everything the settle group sent it; run with TRADEFLOW_COUNT=hop until it has, then switch to fused")

// countGroupDone fails while the count group has windows records left to
// count: what workers with TRADEFLOW_COUNT=hop settled but did not count
// yet. A partition the group committed no offset for counts from its log
// start. Errors a broker may answer for a while are retried, as
// countGroupEmpty retries them.
func (w *Worker) countGroupDone(ctx context.Context) error {
	return retryGroupCheck(ctx, w.countGroupBacklog, errCountGroupBehind)
}

// countGroupBacklog is one look at the count group's lag on the windows
// topic: errCountGroupBehind (wrapped) when records are left.
func (w *Worker) countGroupBacklog(ctx context.Context) error {
	adm := kadm.NewClient(w.admin)
	topic := string(processor.WindowsTopic)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	committed, err := adm.FetchOffsets(ctx, string(processor.CountGroup))
	if err == nil {
		err = committed.Error()
	}
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("offsets of group %s: %w", processor.CountGroup, err)
	}
	var left int64
	var partitions int
	ends.Each(func(e kadm.ListedOffset) {
		from := int64(0)
		if s, ok := starts.Lookup(topic, e.Partition); ok {
			from = s.Offset
		}
		if c, ok := committed.Lookup(topic, e.Partition); ok && c.At > from {
			from = c.At
		}
		if e.Offset > from {
			left += e.Offset - from
			partitions++
		}
	})
	if left > 0 {
		return fmt.Errorf("group %s has %d records of %s in %d partitions left to count: %w", processor.CountGroup, left, topic, partitions, errCountGroupBehind)
	}
	return nil
}
