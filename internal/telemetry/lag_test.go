package telemetry

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The lag gauge follows a known backlog: all of it while nothing is
// committed, then what is left above the commits, and only for the
// partitions owned.
func TestLagFollowsCommits(t *testing.T) {
	ctx := context.Background()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "trades"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("trades"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p, n := range map[int32]int{0: 10, 1: 4} {
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	admin := kadm.NewClient(cl)
	reg := prometheus.NewPedanticRegistry()
	lag := NewLag(reg, admin, slog.New(slog.DiscardHandler))
	lag.Assigned("g", []string{"trades"}, []int32{0, 1})

	sample := func(want string) {
		t.Helper()
		if err := lag.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tradeflow_consumer_lag", "tradeflow_consumer_committed_offset"); err != nil {
			t.Error(err)
		}
	}
	sample(lagText(`{group="g",partition="0",topic="trades"} 10`, `{group="g",partition="1",topic="trades"} 4`,
		`{group="g",partition="0",topic="trades"} 0`, `{group="g",partition="1",topic="trades"} 0`))

	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: "trades", Partition: 0, At: 7})
	commit.Add(kadm.Offset{Topic: "trades", Partition: 1, At: 4})
	if _, err := admin.CommitOffsets(ctx, "g", commit); err != nil {
		t.Fatal(err)
	}
	sample(lagText(`{group="g",partition="0",topic="trades"} 3`, `{group="g",partition="1",topic="trades"} 0`,
		`{group="g",partition="0",topic="trades"} 7`, `{group="g",partition="1",topic="trades"} 4`))

	// The rest is processed and committed: the lag is 0.
	commit = kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: "trades", Partition: 0, At: 10})
	if _, err := admin.CommitOffsets(ctx, "g", commit); err != nil {
		t.Fatal(err)
	}
	sample(lagText(`{group="g",partition="0",topic="trades"} 0`, `{group="g",partition="1",topic="trades"} 0`,
		`{group="g",partition="0",topic="trades"} 10`, `{group="g",partition="1",topic="trades"} 4`))

	// Partition 0 moved to another worker: its series go.
	lag.Assigned("g", []string{"trades"}, []int32{1})
	sample(lagText(`{group="g",partition="1",topic="trades"} 0`, "", `{group="g",partition="1",topic="trades"} 4`, ""))
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

// lagText is the exposition of two lag and two committed-offset series
// (an empty one is left out).
func lagText(lag0, lag1, committed0, committed1 string) string {
	var b strings.Builder
	b.WriteString("# HELP tradeflow_consumer_committed_offset The group's committed offset of a partition this worker owns (the log start offset while the group has committed none).\n")
	b.WriteString("# TYPE tradeflow_consumer_committed_offset gauge\n")
	for _, s := range []string{committed0, committed1} {
		if s != "" {
			b.WriteString("tradeflow_consumer_committed_offset" + s + "\n")
		}
	}
	b.WriteString("# HELP tradeflow_consumer_lag Records between the group's committed offset and the partition's high watermark, for the partitions this worker owns (kafka_exporter's kafka_consumergroup_lag, per owner).\n")
	b.WriteString("# TYPE tradeflow_consumer_lag gauge\n")
	for _, s := range []string{lag0, lag1} {
		if s != "" {
			b.WriteString("tradeflow_consumer_lag" + s + "\n")
		}
	}
	return b.String()
}
