package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/tradeflow/tradeflow/internal/testkit"
	"github.com/tradeflow/tradeflow/processor"
)

// tradeflowGroups and tradeflowTopics are what a tradeflow worker leaves on
// a broker besides its inputs; deleting them makes the next worker start
// from the beginning with empty tables.
var (
	tradeflowGroups = []string{string(processor.SettleGroup), string(processor.CountGroup), string(processor.UsersCheckGroup)}
	tradeflowTopics = []string{
		string(processor.UserTradesTopic), string(processor.SettlementsTopic), string(processor.WindowsTopic),
		string(processor.RekeyTopic), string(processor.DeadLetterTopic), string(processor.CountTable),
	}
)

// connectCluster uses the real broker of o.Kafka; the scenario owns its
// topics. dir holds the workers' data.
func connectCluster(o Options) (*cluster, error) {
	dir, err := os.MkdirTemp("", "tradeflow-bench-*")
	if err != nil {
		return nil, err
	}
	c := &cluster{o: o, partitions: o.Partitions, dir: dir, brokers: o.Kafka}
	if err := c.connect(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// brokerVersions is each broker's Kafka version as guessed from its
// ApiVersions answer (the protocol carries no version string).
func (c *cluster) brokerVersions(ctx context.Context) string {
	vs, err := c.adm.ApiVersions(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	var out []string
	for _, v := range vs.Sorted() {
		if v.Err != nil {
			out = append(out, fmt.Sprintf("node %d: %v", v.NodeID, v.Err))
			continue
		}
		out = append(out, fmt.Sprintf("node %d: %s", v.NodeID, v.VersionGuess()))
	}
	return strings.Join(out, ", ")
}

// recreateInputs deletes stocktrade and users (and what tradeflow and
// earlier runs of the peer made from them) and creates both afresh.
func (c *cluster) recreateInputs(ctx context.Context, peerPrefix string) error {
	if err := c.resetTradeflow(ctx); err != nil {
		return err
	}
	if err := c.deletePrefixed(ctx, peerPrefix); err != nil {
		return err
	}
	inputs := []string{string(processor.TradesTopic), string(processor.UsersTable)}
	if err := c.deleteTopics(ctx, inputs...); err != nil {
		return err
	}
	for _, t := range inputs {
		var cfg map[string]*string
		if t == string(processor.UsersTable) {
			compact := "compact"
			cfg = map[string]*string{"cleanup.policy": &compact}
		}
		if _, err := c.adm.CreateTopic(ctx, c.partitions, 1, cfg, t); err != nil {
			return fmt.Errorf("create %s: %w", t, err)
		}
	}
	return c.awaitLeaders(ctx, inputs...)
}

// resetTradeflow deletes tradeflow's groups and the topics its workers
// make, so the next worker starts from the beginning with empty tables.
func (c *cluster) resetTradeflow(ctx context.Context) error {
	if err := c.deleteGroups(ctx, 60*time.Second, tradeflowGroups...); err != nil {
		return err
	}
	return c.deleteTopics(ctx, tradeflowTopics...)
}

// deletePrefixed deletes the topics and (where empty) groups whose names
// start with prefix: what runs of the peer leave.
func (c *cluster) deletePrefixed(ctx context.Context, prefix string) error {
	gs, err := c.adm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	var groups []string
	for _, g := range gs.Groups() {
		if strings.HasPrefix(g, prefix) {
			groups = append(groups, g)
		}
	}
	// A group the peer has just left keeps its member until the session
	// times out; it goes at the next cleanup.
	if err := c.deleteGroups(ctx, 0, groups...); err != nil && !errors.Is(err, kerr.NonEmptyGroup) {
		return err
	}
	td, err := c.adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var topics []string
	for _, t := range td.Names() {
		if strings.HasPrefix(t, prefix) {
			topics = append(topics, t)
		}
	}
	return c.deleteTopics(ctx, topics...)
}

// coordinatorBusy is an error a group request meets while the group
// coordinator starts or moves (a fresh broker creates __consumer_offsets on
// first use): worth retrying.
func coordinatorBusy(err error) bool {
	return errors.Is(err, kerr.CoordinatorNotAvailable) || errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.NotCoordinator)
}

// coordinatorWait bounds retrying coordinatorBusy errors.
const coordinatorWait = 30 * time.Second

// deleteGroups deletes groups, retrying those that still have members for
// up to wait; missing groups are fine.
func (c *cluster) deleteGroups(ctx context.Context, wait time.Duration, groups ...string) error {
	deadline := time.Now().Add(wait)
	busyUntil := time.Now().Add(coordinatorWait)
	for len(groups) > 0 {
		resp, err := c.adm.DeleteGroups(ctx, groups...)
		if coordinatorBusy(err) && time.Now().Before(busyUntil) {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("delete groups %v: %w", groups, err)
		}
		var busy []string
		for _, r := range resp.Sorted() {
			switch {
			case r.Err == nil, errors.Is(r.Err, kerr.GroupIDNotFound):
			case coordinatorBusy(r.Err) && time.Now().Before(busyUntil):
				if t := time.Now().Add(time.Second); t.After(deadline) {
					deadline = t
				}
				busy = append(busy, r.Group)
			case errors.Is(r.Err, kerr.NonEmptyGroup):
				busy = append(busy, r.Group)
			default:
				return fmt.Errorf("delete group %s: %w", r.Group, r.Err)
			}
		}
		if len(busy) > 0 && !time.Now().Before(deadline) {
			return fmt.Errorf("groups %v: %w", busy, kerr.NonEmptyGroup)
		}
		groups = busy
		if len(groups) > 0 {
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteTopics deletes the topics that exist and waits until the broker
// no longer lists them.
func (c *cluster) deleteTopics(ctx context.Context, topics ...string) error {
	return testkit.DeleteTopics(ctx, c.adm, topics...)
}

// awaitLeaders waits until every partition of the topics has a leader.
func (c *cluster) awaitLeaders(ctx context.Context, topics ...string) error {
	_, err := poll(ctx, 100*time.Millisecond, func() (bool, error) {
		td, err := c.adm.ListTopics(ctx, topics...)
		if err != nil {
			return false, err
		}
		for _, t := range topics {
			d, ok := td[t]
			if !ok || d.Err != nil || len(d.Partitions) == 0 {
				return false, nil
			}
			for _, p := range d.Partitions {
				if p.Err != nil || p.Leader < 0 {
					return false, nil
				}
			}
		}
		return true, nil
	}, time.Now())
	return err
}

// commitAtEnd commits group's offsets at the end of topic, so that a
// consumer of that group starts with the records produced from now on.
func (c *cluster) commitAtEnd(ctx context.Context, group, topic string) error {
	l, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	busyUntil := time.Now().Add(coordinatorWait)
	for {
		var resp kadm.OffsetResponses
		resp, err = c.adm.CommitOffsets(ctx, group, l.Offsets())
		if err == nil {
			err = resp.Error()
		}
		if !coordinatorBusy(err) || !time.Now().Before(busyUntil) {
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("commit %s at the end of %s: %w", group, topic, err)
	}
	return nil
}

// caughtUp reports whether group has committed the end of every partition
// of topic, given those ends.
func (c *cluster) caughtUp(ctx context.Context, group string, ends kadm.ListedOffsets) (bool, error) {
	committed, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) || coordinatorBusy(err) {
			return false, nil
		}
		return false, err
	}
	done := true
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset == 0 {
			return
		}
		o, ok := committed.Lookup(e.Topic, e.Partition)
		if !ok || o.Err != nil || o.At < e.Offset {
			done = false
		}
	})
	return done, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// wrote reports whether topic holds a record yet (false while it does not
// exist).
func (c *cluster) wrote(ctx context.Context, topic string) bool {
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		return false
	}
	n := int64(0)
	ends.Each(func(e kadm.ListedOffset) { n += e.Offset })
	return n > 0
}
