package integration

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
)

// kcat runs kcat (librdkafka) with args and stdin, failing the test on error.
func kcat(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, requireTool(tb, "kcat"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestKcatInterop: kcat (librdkafka, murmur2_random = Java's partitioner for
// keyed records) writes users, a tombstone and trades into tradeflow and
// reads trade-settlements back: one settlement per trade, keyed by symbol,
// and the served counts per symbol add up.
func TestKcatInterop(t *testing.T) {
	requireTool(t, "kcat")
	c := newCluster(t)
	c.createTopic(t, "stocktrade", 6, nil)
	c.createTopic(t, "users", 6, nil)
	b := c.Brokers
	var users strings.Builder
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&users, "User_%d|{\"registertime\":1,\"userid\":\"User_%d\",\"regionid\":\"Region_%d\",\"gender\":\"MALE\"}\n", i, i, i)
	}
	users.WriteString("User_9|\n") // -Z: an empty value is a tombstone
	kcat(t, users.String(), "-b", b, "-P", "-t", "users", "-K", "|", "-Z", "-X", "partitioner=murmur2_random")

	// The worker loads the whole users table before it joins a trade.
	wk := c.startWorker(t, t.TempDir(), "TRADEFLOW_FLAG_RATE=0")
	want := map[string][3]int64{} // symbol -> completed, pending, rejected
	var trades strings.Builder
	n := 0
	for i := 0; i < 700; i++ {
		sym := symbols[i%len(symbols)]
		qty, price := int64(1+i%300), int64(5+i%900)
		user := fmt.Sprintf("User_%d", 1+i%9)
		fmt.Fprintf(&trades, "%s|{\"side\":\"BUY\",\"quantity\":%d,\"symbol\":\"%s\",\"price\":%d,\"account\":\"ABC123\",\"userid\":\"%s\"}\n", sym, qty, sym, price, user)
		n++
		w := want[sym]
		switch {
		case user == "User_9":
			w[2]++
		case qty*price > 100000:
			w[1]++
		default:
			w[0]++
		}
		want[sym] = w
	}
	kcat(t, trades.String(), "-b", b, "-P", "-t", "stocktrade", "-K", "|", "-X", "partitioner=murmur2_random")

	// librdkafka placed every trade where Java would.
	placed := kcat(t, "", "-b", b, "-C", "-t", "stocktrade", "-o", "beginning", "-e", "-q", "-f", "%k %p\n")
	for _, line := range strings.Split(strings.TrimSpace(placed), "\n") {
		var key string
		var p int32
		if _, err := fmt.Sscanf(line, "%s %d", &key, &p); err != nil {
			t.Fatalf("kcat line %q: %v", line, err)
		}
		if want := kafkahash.Partition([]byte(key), 6); p != want {
			t.Fatalf("kcat put %s in partition %d, Java puts it in %d", key, p, want)
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	var got map[string][3]int64
	for time.Now().Before(deadline) {
		got = map[string][3]int64{}
		for k, v := range served(t, wk.HTTP) {
			g := got[k.Symbol]
			g[0] += v.Completed
			g[1] += v.Pending
			g[2] += v.Rejected
			got[k.Symbol] = g
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts per symbol (completed, pending, rejected):\n got %v\nwant %v", got, want)
	}

	// kcat reads trade-settlements back: one per trade, keyed by symbol.
	out := kcat(t, "", "-b", b, "-C", "-t", "trade-settlements", "-o", "beginning", "-e", "-q", "-f", "%k\n")
	perSymbol := map[string]int64{}
	for _, k := range strings.Fields(out) {
		perSymbol[k]++
	}
	total := int64(0)
	for sym, w := range want {
		if perSymbol[sym] != w[0]+w[1]+w[2] {
			t.Errorf("kcat read %d settlements for %s, want %d", perSymbol[sym], sym, w[0]+w[1]+w[2])
		}
		total += perSymbol[sym]
	}
	if total != int64(n) {
		t.Fatalf("kcat read %d settlements, want %d", total, n)
	}
}
