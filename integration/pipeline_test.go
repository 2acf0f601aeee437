package integration

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
)

// TestPipelineExact: users and tombstones, then half the trades, written
// before the worker starts and half after, with Java partitioning and
// explicit event times; every per-minute count served over HTTP equals the
// ground truth, trade-settlements holds one record per valid trade, bad
// input is in the dead-letter topic, and a restart (same data dir, then an
// empty one rebuilt from the changelog) serves the same counts.
func TestPipelineExact(t *testing.T) {
	for _, p := range producers {
		t.Run(p.name, func(t *testing.T) { pipelineExact(t, p) })
	}
}

func pipelineExact(t *testing.T, p producer) {
	c := newCluster(t)
	c.createTopic(t, "stocktrade", 6, nil)
	c.createTopic(t, "users", 4, nil) // need not equal stocktrade's count
	w := newWorkload(1, 4000, p.textOnly)
	p.write(t, c, w.Users)
	half := len(w.Trades) / 2
	p.write(t, c, w.Trades[:half])

	// One writer's run counts with the count group and keeps its table in
	// LevelDB, so its restart on the same data dir resumes from files
	// rather than rebuilding in memory; the others count fused (the
	// default).
	env := []string{"TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_STATE_STORE=memory"}
	if p.name == "kgo" {
		env = []string{"TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_STATE_STORE=leveldb", "TRADEFLOW_COUNT=hop"}
	}
	dir := t.TempDir()
	wk := c.startWorker(t, dir, env...)
	p.write(t, c, w.Trades[half:])
	took := awaitCounts(t, wk.HTTP, w.Truth, 90*time.Second)
	t.Logf("%d trades (%d valid, %d malformed) in %d windows: counts exact %v after the last write",
		len(w.Trades), w.Valid, w.BadTrades, len(w.Truth), took.Round(time.Millisecond))

	settlements := c.consumeAll(t, "trade-settlements", w.Valid, 30*time.Second)
	if len(settlements) != w.Valid {
		t.Fatalf("trade-settlements has %d records, want %d (one per valid trade)", len(settlements), w.Valid)
	}
	seen := map[[2]int64]bool{}
	for _, r := range settlements {
		var s pb.TradeSettlement
		if err := proto.Unmarshal(r.Value, &s); err != nil {
			t.Fatalf("settlement at %d/%d: %v", r.Partition, r.Offset, err)
		}
		id := [2]int64{int64(s.SourcePartition), s.SourceOffset}
		if seen[id] {
			t.Fatalf("trade %v settled twice", id)
		}
		seen[id] = true
		if string(r.Key) != s.Symbol {
			t.Fatalf("settlement key %q, symbol %q", r.Key, s.Symbol)
		}
	}
	dead := c.consumeAll(t, "tradeflow-dead-letters", w.BadTrades+w.BadUsers, 30*time.Second)
	if len(dead) != w.BadTrades+w.BadUsers {
		t.Fatalf("dead-letter topic has %d records, want %d", len(dead), w.BadTrades+w.BadUsers)
	}
	for _, r := range dead {
		if header(r, "tradeflow-reason") == "" || header(r, "tradeflow-source-topic") == "" {
			t.Fatalf("dead letter without reason or source: %s", mustJSON(r.Headers))
		}
	}

	wk.stop()
	again := c.startWorker(t, dir, env...)
	awaitCounts(t, again.HTTP, w.Truth, 30*time.Second)
	again.stop()
	fresh := c.startWorker(t, t.TempDir(), "TRADEFLOW_FLAG_RATE=0")
	awaitCounts(t, fresh.HTTP, w.Truth, 30*time.Second)
}
