package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRollingRestart measures what a rolling restart of three workers
// costs with and without static membership (TRADEFLOW_GROUP_INSTANCE_ID),
// the test playing the kubelet: each worker in turn is sent SIGTERM and
// started again on its own LevelDB data dir, and the next waits until it
// is ready. It prints, per mode, how many partition assignments of the
// settle and count groups changed owner (an owner is a static member's
// instance id, else its member id) and each restart's time to ready, and
// checks the counts are exact afterwards. A measurement, so opt-in:
// TRADEFLOW_ROLLING=1 (make rolling).
func TestRollingRestart(t *testing.T) {
	if os.Getenv("TRADEFLOW_ROLLING") == "" {
		t.Skip("a measurement: TRADEFLOW_ROLLING=1 (make rolling)")
	}
	for _, static := range []bool{false, true} {
		name := "dynamic membership"
		if static {
			name = "static membership"
		}
		t.Run(name, func(t *testing.T) { rollingRestart(t, static) })
	}
}

func rollingRestart(t *testing.T, static bool) {
	c := newCluster(t)
	c.createTopic(t, "stocktrade", 6, nil)
	c.createTopic(t, "users", 3, nil)
	w := newWorkload(11, 6000)
	c.produce(t, w.Users...)
	c.produce(t, w.Trades...)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	env := func(i int) []string {
		// The Kubernetes base's: the count group's table in LevelDB.
		e := []string{"TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_STATE_STORE=leveldb", "TRADEFLOW_COUNT=hop"}
		if static {
			e = append(e, fmt.Sprintf("TRADEFLOW_GROUP_INSTANCE_ID=tradeflow-%d", i))
		}
		return e
	}
	workers := make([]*proc, 3)
	for i := range workers {
		workers[i] = c.startWorker(t, dirs[i], env(i)...)
	}
	awaitCounts(t, workers[0].HTTP, w.Truth, 90*time.Second)
	time.Sleep(3 * time.Second) // let the groups settle after the joins

	// Watch the owners of the settle and count groups' partitions.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	owner := map[string]string{} // "group/topic/partition" -> owner
	moves := 0
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			described, err := c.Admin.DescribeGroups(pctx, "tradeflow-settle", "tradeflow-count")
			pcancel()
			if err == nil {
				mu.Lock()
				for g, dg := range described {
					for _, m := range dg.Members {
						id := m.MemberID
						if m.InstanceID != nil {
							id = *m.InstanceID
						}
						a, ok := m.Assigned.AsConsumer()
						if !ok {
							continue
						}
						for _, tp := range a.Topics {
							for _, p := range tp.Partitions {
								k := fmt.Sprintf("%s/%s/%d", g, tp.Topic, p)
								if prev, seen := owner[k]; seen && prev != id {
									moves++
								}
								owner[k] = id
							}
						}
					}
				}
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	var readies []string
	for i := range workers {
		workers[i].stop()
		began := time.Now()
		workers[i] = c.startWorker(t, dirs[i], env(i)...)
		readies = append(readies, time.Since(began).Round(10*time.Millisecond).String())
	}
	time.Sleep(8 * time.Second) // past a session timeout: any late rebalance shows
	cancel()
	done.Wait()
	for _, wk := range workers {
		awaitCounts(t, wk.HTTP, w.Truth, 60*time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("rolling restart of 3 workers, %s: %d partition assignments changed owner (settle and count groups, %d partitions watched); restart to ready: %s; counts exact on every worker",
		map[bool]string{false: "dynamic membership", true: "static membership (TRADEFLOW_GROUP_INSTANCE_ID)"}[static], moves, len(owner), strings.Join(readies, ", "))
}
