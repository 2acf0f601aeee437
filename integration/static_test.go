package integration

import (
	"context"
	"testing"
	"time"
)

// A worker with TRADEFLOW_GROUP_INSTANCE_ID is a static member of every
// group (the brokers list its instance id), and one restarted on its own
// data dir under the same id becomes ready again and counts exactly.
func TestStaticMembership(t *testing.T) {
	c := newCluster(t)
	c.createTopic(t, "stocktrade", 6, nil)
	c.createTopic(t, "users", 3, nil)
	w := newWorkload(7, 1500)
	c.produce(t, w.Users...)
	half := len(w.Trades) / 2
	c.produce(t, w.Trades[:half]...)
	dir := t.TempDir()
	// The Kubernetes base's: the count group's table in LevelDB.
	env := []string{"TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_STATE_STORE=leveldb", "TRADEFLOW_COUNT=hop", "TRADEFLOW_GROUP_INSTANCE_ID=tradeflow-0"}
	wk := c.startWorker(t, dir, env...)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, g := range []string{"tradeflow-settle", "tradeflow-count", "tradeflow-users-check"} {
		described, err := c.Admin.DescribeGroups(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		dg := described[g]
		if len(dg.Members) != 1 || dg.Members[0].InstanceID == nil || *dg.Members[0].InstanceID != "tradeflow-0" {
			t.Fatalf("group %s members %+v; want one static member tradeflow-0", g, dg.Members)
		}
	}
	wk.stop()
	c.produce(t, w.Trades[half:]...)
	again := c.startWorker(t, dir, env...)
	took := awaitCounts(t, again.HTTP, w.Truth, 90*time.Second)
	t.Logf("restarted static member: counts exact %v after ready", took.Round(time.Millisecond))
	again.stop()
}
