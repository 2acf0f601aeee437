package processor

import (
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// fakeAdmin is a cluster with some topics; CreateTopic adds one.
type fakeAdmin struct {
	sarama.ClusterAdmin // only ListTopics, CreateTopic and DescribeTopics are called
	topics              map[string]sarama.TopicDetail
	created             []string
	createErr           error
}

func (a *fakeAdmin) ListTopics() (map[string]sarama.TopicDetail, error) {
	out := make(map[string]sarama.TopicDetail, len(a.topics))
	for k, v := range a.topics {
		out[k] = v
	}
	return out, nil
}

func (a *fakeAdmin) CreateTopic(topic string, d *sarama.TopicDetail, _ bool) error {
	if a.createErr != nil {
		if errors.Is(a.createErr, sarama.ErrTopicAlreadyExists) {
			a.topics[topic] = *d // another worker made it
		}
		return a.createErr
	}
	a.topics[topic] = *d
	a.created = append(a.created, topic)
	return nil
}

// DescribeTopics serves every topic, each partition with a leader.
func (a *fakeAdmin) DescribeTopics(topics []string) ([]*sarama.TopicMetadata, error) {
	var out []*sarama.TopicMetadata
	for _, t := range topics {
		md := &sarama.TopicMetadata{Name: t}
		for p := int32(0); p < a.topics[t].NumPartitions; p++ {
			md.Partitions = append(md.Partitions, &sarama.PartitionMetadata{ID: p})
		}
		out = append(out, md)
	}
	return out, nil
}

func TestEnsureTopics(t *testing.T) {
	all := []string{string(TradesTopic), string(UsersTable), string(UserTradesTopic), string(SettlementsTopic),
		string(DeadLetterTopic), string(WindowsTopic), string(RekeyTopic), string(CountTable)}
	cases := []struct {
		name        string
		existing    map[string]int32
		plan        TopicPlan
		want        Layout
		wantCreated int
		wantErr     string
	}{
		{"empty cluster", nil, TopicPlan{Partitions: 6, Replication: 1}, Layout{6, 6, 6}, 8, ""},
		{"existing stocktrade and users keep their counts", map[string]int32{"stocktrade": 12, "users": 3},
			TopicPlan{Partitions: 6, Replication: 1}, Layout{12, 3, 12}, 6, ""},
		{"everything exists", map[string]int32{"stocktrade": 4, "users": 4, "user_trades": 4, "trade-settlements": 4,
			"tradeflow-dead-letters": 4, "tradeflow-windows": 4, "tradeflow-settle-loop": 4, "tradeflow-count-table": 4},
			TopicPlan{Partitions: 6, Replication: 1}, Layout{4, 4, 4}, 0, ""},
		{"count table not co-partitioned", map[string]int32{"tradeflow-windows": 6, "tradeflow-count-table": 3},
			TopicPlan{Partitions: 6, Replication: 1}, Layout{}, 0, "tradeflow-count-table has 3 partitions but tradeflow-windows has 6"},
		{"loop stream not co-partitioned", map[string]int32{"stocktrade": 6, "tradeflow-settle-loop": 12},
			TopicPlan{Partitions: 6, Replication: 1}, Layout{}, 0, "tradeflow-settle-loop has 12 partitions but stocktrade has 6"},
		{"no partitions", nil, TopicPlan{Partitions: 0}, Layout{}, 0, "partitions 0: must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeAdmin{topics: map[string]sarama.TopicDetail{}}
			for topic, n := range tc.existing {
				a.topics[topic] = sarama.TopicDetail{NumPartitions: n}
			}
			got, err := EnsureTopics(a, tc.plan)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EnsureTopics = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("layout %+v, want %+v", got, tc.want)
			}
			if len(a.created) != tc.wantCreated {
				t.Errorf("created %v, want %d topics", a.created, tc.wantCreated)
			}
			for _, topic := range all {
				if _, ok := a.topics[topic]; !ok {
					t.Errorf("topic %s missing", topic)
				}
			}
			for _, topic := range a.created {
				d := a.topics[topic]
				compact := d.ConfigEntries["cleanup.policy"] != nil && *d.ConfigEntries["cleanup.policy"] == "compact"
				wantCompact := topic == string(UsersTable) || topic == string(CountTable)
				if compact != wantCompact {
					t.Errorf("%s: compacted %v, want %v", topic, compact, wantCompact)
				}
				if d.ReplicationFactor != tc.plan.Replication {
					t.Errorf("%s: replication %d, want %d", topic, d.ReplicationFactor, tc.plan.Replication)
				}
			}
		})
	}
}

func TestEnsureTopicsCreateFails(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"already exists (a race with another worker) is fine", &sarama.TopicError{Err: sarama.ErrTopicAlreadyExists}, false},
		{"other errors name the topic", errors.New("not authorized"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeAdmin{topics: map[string]sarama.TopicDetail{}, createErr: tc.err}
			_, err := EnsureTopics(a, TopicPlan{Partitions: 6, Replication: 1})
			if (err != nil) != tc.wantErr {
				t.Fatalf("EnsureTopics: %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "create topic stocktrade") {
				t.Errorf("error %q does not name the topic", err)
			}
		})
	}
}
