package processor

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/broker"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/ledger"
	"github.com/tradeflow/tradeflow/internal/store"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// A worker with LevelDB tables that regains a count partition catches up
// from its local table's offset. Another owner's value that landed in the
// changelog before one of this worker's own (late) writes must still be
// read then: goka moves the local offset to each of its own changelog
// writes, which skipped it, so the worker went on from a value that lacked
// the other owner's trades while the committed input offset was past them
// (ARCHITECTURE.md, "Own-writes runs").
func TestCatchUpReadsOtherOwnersWritesBeforeOwnLateOnes(t *testing.T) {
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	brokers := []string{b.Addr()}
	kc := kclient.Config{ClientID: "catchup-test"}
	admin, err := kc.Admin(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := EnsureTopics(admin, TopicPlan{Partitions: 1, Replication: 1}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kit := testKit(t, store.KindLevelDB, dir)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(string(WindowsTopic)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	produce := func(r *kgo.Record) {
		t.Helper()
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	settle := func(symbol string, offset int64) {
		t.Helper()
		s := settled{symbol: symbol, at: eventTime, disposition: settlement.Completed, offset: offset}
		produce(&kgo.Record{Key: []byte(s.key()), Value: encodeSettlement(t, s.proto())})
	}
	client, err := sarama.NewClient(brokers, kc.WithClientID("catchup-test-offsets").Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	changelogEnd := func(want int64) {
		t.Helper()
		for {
			hwm, err := client.GetOffset(string(CountTable), 0, sarama.OffsetNewest)
			if err != nil {
				t.Fatal(err)
			}
			if hwm >= want {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("count changelog ends at %d, want %d", hwm, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	m, _ := newMetrics(t)
	start := func() (*goka.Processor, func()) {
		t.Helper()
		c := &Counter{Policy: testPolicy, Metrics: m, Log: quietLog()}
		p, err := goka.NewProcessor(brokers, c.Graph(), append(kit.ProcessorOptions(nil, string(CountTable)),
			goka.WithNilHandling(goka.NilProcess), goka.WithUpdateCallback(countUpdate(m)))...)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(runCtx) }()
		if err := p.WaitForReadyContext(ctx); err != nil {
			t.Fatal(err)
		}
		return p, func() {
			stop()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("count processor: %v", err)
			}
		}
	}

	window := settlement.WindowStart(eventTime.UnixMilli())
	foreign := func(symbol string, completed int64) {
		t.Helper()
		v, err := proto.Marshal(&pb.WindowCounts{Symbol: symbol, WindowStart: window,
			Completed: completed, Applied: ledger.Offsets(map[int32]int64{0: 100}), Generation: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		produce(&kgo.Record{Topic: string(CountTable), Key: []byte(settlement.WindowKey(symbol, window)), Value: v})
	}
	holds := func(p *goka.Processor, symbol string, completed int64) {
		t.Helper()
		got, err := p.Get(settlement.WindowKey(symbol, window))
		if err != nil {
			t.Fatal(err)
		}
		if w, _ := got.(*pb.WindowCounts); w == nil || w.Completed != completed {
			t.Fatalf("after catching up, %s's window is %v; want %d completed", symbol, got, completed)
		}
	}
	localOffset := func() int64 {
		t.Helper()
		st, err := store.LevelDB(filepath.Join(dir, "processors"))(string(CountTable), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Open(); err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		off, err := st.GetOffset(-1)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}

	// session runs the worker once: do, wait until the changelog ends at
	// end, stop, and check the local offset the worker left.
	session := func(do func(p *goka.Processor), end, local int64, why string) {
		t.Helper()
		p, stop := start()
		do(p)
		changelogEnd(end)
		stop()
		if off := localOffset(); off != local {
			t.Fatalf("local offset %d %s; want %d", off, why, local)
		}
	}

	// The worker counts a trade of AAA (changelog offset 0); another owner
	// writes BBB's window (offset 1), then one of this worker's writes
	// lands after it (offset 2). No offset was recovered, so none moves.
	session(func(*goka.Processor) {
		settle("AAA", 0)
		changelogEnd(1)
		foreign("BBB", 7)
		settle("AAA", 1)
	}, 3, -1, "after a session that recovered nothing")

	// The worker gets the partition again: it must hold the other
	// owner's value. It recovered up to offset 2; its next write (3)
	// follows at once, so the local offset may move to it: the next
	// catch-up has nothing to read again.
	session(func(p *goka.Processor) {
		holds(p, "BBB", 7)
		holds(p, "AAA", 2)
		settle("AAA", 2)
	}, 4, 3, "after the worker's own write at 3 right after what it recovered")

	// Another owner's write (4) lies before the worker's next one (5): the
	// local offset stays at 3, and the next catch-up reads CCC's value.
	session(func(*goka.Processor) {
		foreign("CCC", 5)
		settle("AAA", 3)
	}, 6, 3, "after another owner's write at 4")
	session(func(p *goka.Processor) {
		holds(p, "CCC", 5)
		holds(p, "AAA", 4)
	}, 6, 5, "after catching up to the end of the changelog")
}
