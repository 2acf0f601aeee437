package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/ledger"
	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// windowsPerSymbol is how many windows each restore symbol gets: 1,000
// minutes, inside the retention, so the worker expires none of them.
const windowsPerSymbol = 1000

// restoreResult is the recovery of a count table from its changelog.
type restoreResult struct {
	Entries int64
	Write   time.Duration // writing the changelog, not part of the figure
	Elapsed time.Duration // worker start to Ready
	usage
	held memory // what the ready worker added
}

// memory is the process's Go heap in use and RSS, in bytes.
type memory struct{ heap, rss int64 }

func (m memory) minus(o memory) memory { return memory{m.heap - o.heap, m.rss - o.rss} }

// heldMemory is what the worker holds over before: the least of five
// readings a second apart after it is ready, so that the transient state
// of the expire visit that starts then (a snapshot of every window) is
// not counted as the table's.
func heldMemory(before memory) memory {
	least := settledMemory().minus(before)
	for range 4 {
		time.Sleep(time.Second)
		if m := settledMemory().minus(before); m.heap < least.heap {
			least = m
		}
	}
	return least
}

// settledMemory collects garbage, returns what it freed to the OS, and
// reads the heap in use and the RSS.
func settledMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := statusKB("VmRSS")
	return memory{heap: int64(ms.HeapInuse), rss: rss << 10}
}

func (r restoreResult) rate() float64 { return float64(r.Entries) / r.Elapsed.Seconds() }

// runRestore writes the entries straight into the count table's changelog
// (as the count group writes them: LZ4, murmur2 on the key), then starts a
// worker on an empty data dir and times it until Ready: the count group
// and the count view each recover the whole table.
func (b *bench) runRestore(ctx context.Context) error {
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, b.o.Partitions)
	if err != nil {
		return err
	}
	defer c.close()
	res := restoreResult{Entries: b.o.Restore}
	if res.Write, err = c.writeCountTable(ctx, b.o.Restore); err != nil {
		return err
	}
	before := settledMemory()
	stopProfile, err := startProfile(b.o.RestoreProfile, "")
	if err != nil {
		return err
	}
	r, err := c.startWorker("worker")
	if err != nil {
		return errors.Join(err, stopProfile())
	}
	res.Elapsed, err = r.waitReady(ctx)
	err = errors.Join(err, stopProfile())
	res.usage = mon.finish()
	res.held = heldMemory(before)
	res.BrokerBytes = c.logBytes(ctx)
	var held int64
	if err == nil {
		held, err = restoredEntries(r, b.o.Restore)
	}
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	b.res.restore = &res
	b.res.addUsage(Restore, res.usage)
	b.printf("%-11s %d entries in %v = %.0f entries/s (worker start to ready: count group and count view; checked: the view holds %d; writing took %v, not counted); %v\n",
		Restore, res.Entries, res.Elapsed.Round(time.Millisecond), res.rate(), held, res.Write.Round(time.Millisecond), res.usage)
	b.printf("%-11s the ready worker holds the table (the least of 5 readings after a GC, a second apart, minus the process before the worker started): Go heap %d MiB = %.0f B/entry, RSS %d MiB = %.0f B/entry\n",
		"", res.held.heap>>20, float64(res.held.heap)/float64(res.Entries), res.held.rss>>20, float64(res.held.rss)/float64(res.Entries))
	return nil
}

func restoreSymbol(i int64) string { return fmt.Sprintf("R%05d", i/windowsPerSymbol) }

// writeCountTable writes n distinct windows to the count table topic.
func (c *cluster) writeCountTable(ctx context.Context, n int64) (time.Duration, error) {
	start := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.MaxBufferedRecords(50_000))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	first := settlement.WindowStart(start.Add(-20 * time.Hour).UnixMilli())
	fe := &firstErr{}
	for i := range n {
		sym, win := restoreSymbol(i), first+(i%windowsPerSymbol)*settlement.WindowSize.Milliseconds()
		v, err := processor.CountsCodec().Encode(&pb.WindowCounts{
			Symbol: sym, WindowStart: win, Completed: i % 97, Pending: i % 13, Flagged: i % 41, Rejected: i % 7,
			Applied: ledger.Offsets(map[int32]int64{int32(i % int64(c.partitions)): i}),
		})
		if err != nil {
			return 0, err
		}
		cl.Produce(ctx, &kgo.Record{Topic: string(processor.CountTable), Key: []byte(settlement.WindowKey(sym, win)), Value: v}, fe.set)
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), fe.get()
}

// restoredEntries counts the windows the worker's count view holds and
// checks that it is every one written.
func restoredEntries(r *running, n int64) (int64, error) {
	var held int64
	for i := int64(0); i < n; i += windowsPerSymbol {
		ws, err := r.w.Counts.Windows(restoreSymbol(i), math.MinInt64, math.MaxInt64)
		if err != nil {
			return held, err
		}
		held += int64(len(ws))
	}
	if held != n {
		return held, fmt.Errorf("the count view holds %d windows after restore, %d were written", held, n)
	}
	return held, nil
}

// runRestoreUsers writes the profile's users to the users table, then
// starts a worker and times it until Ready: every worker's users view
// holds the whole table (a GlobalKTable's shape), so this is what each
// worker pays at start-up.
func (b *bench) runRestoreUsers(ctx context.Context) error {
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, b.o.Partitions)
	if err != nil {
		return err
	}
	defer c.close()
	g := b.generator(b.o.Seed)
	start := time.Now()
	if err := c.produceUsers(ctx, g); err != nil {
		return err
	}
	write := time.Since(start)
	before := settledMemory()
	r, err := c.startWorker("worker")
	if err != nil {
		return err
	}
	elapsed, err := r.waitReady(ctx)
	u := mon.finish()
	held := heldMemory(before)
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	b.res.addUsage(RestoreUsers, u)
	n := float64(g.Users())
	b.printf("%-11s %d users in %v = %.0f users/s (worker start to ready; writing took %v, not counted); the ready worker holds them in Go heap %d MiB = %.0f B/user, RSS %d MiB = %.0f B/user; %v\n",
		RestoreUsers, g.Users(), elapsed.Round(time.Millisecond), n/elapsed.Seconds(), write.Round(time.Millisecond),
		held.heap>>20, float64(held.heap)/n, held.rss>>20, float64(held.rss)/n, u)
	return nil
}
