package processor

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// TopicPlan says how tradeflow creates the topics it needs.
type TopicPlan struct {
	// Partitions of the topics tradeflow creates itself.
	Partitions int32
	// Replication of the topics tradeflow creates; -1 takes the broker's
	// default.replication.factor (a single broker needs 1, goka's
	// default is 2).
	Replication int16
	// ServedWithin bounds the wait for topics just created to have a
	// leader for every partition; zero is 30 s.
	ServedWithin time.Duration
}

// Layout is what EnsureTopics found or made: the partition counts the
// groups work with.
type Layout struct {
	Trades  int32 // stocktrade
	Users   int32 // users
	Windows int32 // tradeflow-windows and the count table: follow stocktrade
}

// EnsureTopics creates the topics tradeflow needs when they are missing and
// uses existing ones as they are. stocktrade and users may differ in
// partition count: the join looks users up in a local copy of the whole
// table (goka Lookup, like a GlobalKTable), so no co-partitioning is needed.
// The internal windows topic and the count table must have equal counts
// (goka's group table is co-partitioned with its input), and so must
// stocktrade and the settle group's loop stream (the fused count's
// re-keying); a mismatch is an error naming both.
func EnsureTopics(admin sarama.ClusterAdmin, plan TopicPlan) (l Layout, err error) {
	if plan.Partitions < 1 {
		return Layout{}, fmt.Errorf("partitions %d: must be at least 1", plan.Partitions)
	}
	existing, err := admin.ListTopics()
	if err != nil {
		return Layout{}, fmt.Errorf("list topics: %w", err)
	}
	var created []string
	ensure := func(topic string, partitions int32, compact bool) (int32, error) {
		if d, ok := existing[topic]; ok {
			return d.NumPartitions, nil
		}
		detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: plan.Replication}
		if compact {
			detail.ConfigEntries = map[string]*string{"cleanup.policy": ptr("compact")}
		}
		err := admin.CreateTopic(topic, detail, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return 0, fmt.Errorf("create topic %s (%d partitions, replication %d): %w", topic, partitions, plan.Replication, err)
		}
		existing[topic] = *detail
		created = append(created, topic)
		return partitions, nil
	}
	defer func() {
		if err == nil {
			err = awaitTopics(admin, created, plan.ServedWithin)
		}
	}()
	if l.Trades, err = ensure(string(TradesTopic), plan.Partitions, false); err != nil {
		return l, err
	}
	if l.Users, err = ensure(string(UsersTable), plan.Partitions, true); err != nil {
		return l, err
	}
	for _, t := range []goka.Stream{UserTradesTopic, SettlementsTopic, DeadLetterTopic} {
		if _, err = ensure(string(t), plan.Partitions, false); err != nil {
			return l, err
		}
	}
	if l.Windows, err = ensure(string(WindowsTopic), l.Trades, false); err != nil {
		return l, err
	}
	rekey, err := ensure(string(RekeyTopic), l.Trades, false)
	if err != nil {
		return l, err
	}
	if rekey != l.Trades {
		return l, fmt.Errorf("topic %s has %d partitions but %s has %d: the settle group's loop stream must be co-partitioned with its input; delete %s when no worker runs (it holds only re-keyed trades in flight) or give it %d partitions",
			RekeyTopic, rekey, TradesTopic, l.Trades, RekeyTopic, l.Trades)
	}
	table, err := ensure(string(CountTable), l.Windows, true)
	if err != nil {
		return l, err
	}
	if table != l.Windows {
		return l, fmt.Errorf("topic %s has %d partitions but %s has %d: the count table must be co-partitioned with its input; delete %s (it is rebuilt) or recreate both",
			CountTable, table, WindowsTopic, l.Windows, CountTable)
	}
	return l, nil
}

// awaitTopics waits until every topic has a leader for each partition: a
// topic just created (above all one deleted and created again) can take a
// while to be served, longer than sarama's metadata retries.
func awaitTopics(admin sarama.ClusterAdmin, topics []string, within time.Duration) error {
	if len(topics) == 0 {
		return nil
	}
	if within <= 0 {
		within = 30 * time.Second
	}
	deadline := time.Now().Add(within)
	for {
		md, err := admin.DescribeTopics(topics)
		ready := err == nil
		for _, t := range md {
			if t.Err != sarama.ErrNoError || len(t.Partitions) == 0 {
				ready = false
			}
			for _, p := range t.Partitions {
				if p.Err != sarama.ErrNoError || p.Leader < 0 {
					ready = false
				}
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topics %v not served %v after they were created: %v", topics, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ptr(s string) *string { return &s }
