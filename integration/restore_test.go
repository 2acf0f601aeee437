package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/ledger"
	"github.com/tradeflow/tradeflow/processor"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// TestRestoreWorker measures a trading day's count table restored into an
// empty `tradeflow worker` process: TRADEFLOW_RESTORE_SYMBOLS (8,000)
// symbols × TRADEFLOW_RESTORE_MINUTES (1,440) windows written to the
// count table's changelog on a `tradeflow broker` process (or the Kafka
// of TRADEFLOW_TEST_BROKERS), then a worker started on an empty data dir:
// the time to ready (count group and count view restored), its peak RSS
// and its RSS once ready, every window checked on a sample of symbols, and
// GET /v1/counts/{symbol} (a day of windows per answer) under wrk;
// TRADEFLOW_RESTORE_COUNT sets the worker's TRADEFLOW_COUNT, and
// TRADEFLOW_RESTORE_GOMEMLIMIT its GOMEMLIMIT. A
// measurement, so opt-in: TRADEFLOW_RESTORE=1 (make restore-worker).
func TestRestoreWorker(t *testing.T) {
	if os.Getenv("TRADEFLOW_RESTORE") == "" {
		t.Skip("a measurement: TRADEFLOW_RESTORE=1 (make restore-worker)")
	}
	symbols, minutes := envInt(t, "TRADEFLOW_RESTORE_SYMBOLS", 8000), envInt(t, "TRADEFLOW_RESTORE_MINUTES", 1440)
	const partitions = 6
	c := newCluster(t)
	c.createTopic(t, string(processor.CountTable), partitions, map[string]*string{"cleanup.policy": ptrTo("compact")})
	// The newest window is the current minute's: all are inside the 24 h
	// retention, so the worker expires none.
	last := settlement.WindowStart(time.Now().UnixMilli())
	symbol := func(i int) string { return fmt.Sprintf("S%05d", i) }
	began := time.Now()
	ctx := context.Background()
	fe := make(chan error, 1)
	for s := range symbols {
		for m := range minutes {
			start := last - int64(m)*settlement.WindowSize.Milliseconds()
			v, err := processor.CountsCodec().Encode(&pb.WindowCounts{
				Symbol: symbol(s), WindowStart: start, Completed: int64(m%97 + 1), Pending: int64(s % 13), Flagged: int64(m % 41), Rejected: int64(s % 7),
				Applied: ledger.Offsets(map[int32]int64{int32(s % partitions): int64(m)}),
			})
			if err != nil {
				t.Fatal(err)
			}
			c.Client.Produce(ctx, &kgo.Record{Topic: string(processor.CountTable), Key: []byte(settlement.WindowKey(symbol(s), start)), Value: v},
				func(_ *kgo.Record, err error) {
					if err != nil {
						select {
						case fe <- err:
						default:
						}
					}
				})
		}
	}
	if err := c.Client.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-fe:
		t.Fatal(err)
	default:
	}
	t.Logf("%d windows (%d symbols × %d minutes) written in %v", symbols*minutes, symbols, minutes, time.Since(began).Round(10*time.Millisecond))

	started := time.Now()
	env := []string{"TRADEFLOW_PARTITIONS=" + strconv.Itoa(partitions)}
	if v := os.Getenv("TRADEFLOW_RESTORE_COUNT"); v != "" {
		env = append(env, "TRADEFLOW_COUNT="+v) // fused: the windows held once, in the view
	}
	if v := os.Getenv("TRADEFLOW_RESTORE_GOMEMLIMIT"); v != "" {
		env = append(env, "GOMEMLIMIT="+v) // the worker's alone, not the broker's
	}
	p := c.launchWorker(t, t.TempDir(), env...)
	p.waitReady(t, 10*time.Minute)
	ready := time.Since(started)
	peak := p.peakRSS(t)
	time.Sleep(5 * time.Second) // past the first expire visit, which reads every window
	rss := p.memory(t, "VmRSS")
	for _, s := range []int{0, symbols / 2, symbols - 1} {
		var got struct {
			Windows []struct{ WindowStart, Completed, Pending, Rejected int64 }
		}
		if code := getJSON(t, p.HTTP, "/v1/counts/"+symbol(s), &got); code != 200 || len(got.Windows) != minutes {
			t.Fatalf("GET /v1/counts/%s: %d with %d windows, want %d", symbol(s), code, len(got.Windows), minutes)
		}
		for _, w := range got.Windows {
			m := (last - w.WindowStart) / settlement.WindowSize.Milliseconds()
			if w.Completed != m%97+1 || w.Pending != int64(s%13) || w.Rejected != int64(s%7) {
				t.Fatalf("%s window %d: %+v", symbol(s), w.WindowStart, w)
			}
		}
	}
	wrk := requireTool(t, "wrk")
	out, err := exec.Command(wrk, "-t1", "-c32", "-d10s", "--latency", "http://"+p.HTTP+"/v1/counts/"+symbol(symbols/2)).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	var rate, p99 string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Requests/sec:" {
			rate = f[1]
		} else if len(f) == 2 && f[0] == "99%" {
			p99 = f[1]
		}
	}
	t.Logf("%d windows restored into an empty worker: ready after %v; worker peak RSS %s, RSS once ready %s; GET /v1/counts/{symbol} (%d windows per answer) under wrk -t1 -c32 -d10s: %s req/s, p99 %s",
		symbols*minutes, ready.Round(10*time.Millisecond), peak, rss, minutes, rate, p99)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
