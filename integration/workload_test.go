package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

var symbols = []string{"ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"}

// winKey names one symbol's window (a testkit.Window).
type winKey testkit.Window

// tally is a window's counts per disposition (a testkit.Tally).
type tally testkit.Tally

// workload is input with its ground truth, computed here from the rules as
// README.md states them (flag rate 0), independently of tradeflow's code.
type workload struct {
	Users      []*kgo.Record // users, a malformed one, tombstones
	Trades     []*kgo.Record // valid and malformed, in produce order
	Valid      int           // valid trades
	BadTrades  int
	BadUsers   int
	Truth      map[winKey]tally
	LargeTrade int64
	outcome    []func(map[winKey]tally) // per trade: adds it to a truth; nil when malformed
}

// truthOf is the ground truth of Trades[from:to] alone.
func (w *workload) truthOf(from, to int) map[winKey]tally {
	m := map[winKey]tally{}
	for _, f := range w.outcome[from:to] {
		if f != nil {
			f(m)
		}
	}
	return m
}

// newWorkload makes n trades with explicit event times spread over the ten
// minutes before now, some out of order, ~5% malformed. textOnly leaves out
// the malformed value that is not valid UTF-8, for clients fed from JSON.
func newWorkload(seed uint64, n int, textOnly ...bool) *workload {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := &workload{Truth: map[winKey]tally{}, LargeTrade: 100000}
	known := map[string]bool{}
	for i := 1; i <= 9; i++ {
		id := fmt.Sprintf("User_%d", i)
		v := fmt.Sprintf(`{"registertime":%d,"userid":%q,"regionid":"Region_%d","gender":"OTHER"}`, 1500000000000+i, id, i)
		w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte(id), Value: []byte(v)})
		known[id] = true
	}
	// Tombstones delete two users; a malformed update must not delete one.
	for _, id := range []string{"User_8", "User_9"} {
		w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte(id)})
		known[id] = false
	}
	w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte("User_1"), Value: []byte(`{"userid": 42}`)})
	w.BadUsers = 1

	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	bad := []string{`not json`, `[1,2]`, `null`, `{"side":"BUY","quantity":-1,"symbol":"ZVV","price":5}`,
		`{"side":"HOLD","quantity":1,"symbol":"ZVV","price":5}`, `{"side":"BUY","quantity":"1","symbol":"ZVV","price":5}`,
		`{"side":"BUY","quantity":1,"symbol":"","price":5}`, `{"side":"BUY","quantity":1,"symbol":"ZVV","price":9999999999}`,
		"{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"Z\xff\",\"price\":5}"}
	if len(textOnly) > 0 && textOnly[0] {
		bad = bad[:len(bad)-1]
	}
	for i := 0; i < n; i++ {
		ts := base + rng.Int64N(9*60_000)
		sym := symbols[rng.IntN(len(symbols))]
		if rng.IntN(20) == 0 {
			v := bad[rng.IntN(len(bad))]
			w.Trades = append(w.Trades, &kgo.Record{Topic: "stocktrade", Key: []byte(sym), Value: []byte(v), Timestamp: time.UnixMilli(ts)})
			w.BadTrades++
			w.outcome = append(w.outcome, nil)
			continue
		}
		qty, price := 1+rng.Int64N(4999), 5+rng.Int64N(995)
		if rng.IntN(2) == 0 { // keep many trades small, so all dispositions occur
			qty = 1 + rng.Int64N(100)
		}
		user := fmt.Sprintf("User_%d", 1+rng.IntN(9))
		var v string
		switch rng.IntN(12) {
		case 0: // no userid at all
			user = ""
			v = fmt.Sprintf(`{"side":"SELL","quantity":%d,"symbol":%q,"price":%d,"account":"ABC123"}`, qty, sym, price)
		case 1: // upper-case field names, an unknown field
			v = fmt.Sprintf(`{"SIDE":"BUY","Quantity":%d,"SYMBOL":%q,"Price":%d,"account":"XYZ789","UserId":%q,"extra":1}`, qty, sym, price, user)
		default:
			v = fmt.Sprintf(`{"side":"BUY","quantity":%d,"symbol":%q,"price":%d,"account":"LMN456","userid":%q}`, qty, sym, price, user)
		}
		w.Trades = append(w.Trades, &kgo.Record{Topic: "stocktrade", Key: []byte(sym), Value: []byte(v), Timestamp: time.UnixMilli(ts)})
		w.Valid++
		k := winKey{sym, ts - ts%60_000}
		rejected, pending := !known[user], qty*price > w.LargeTrade
		w.outcome = append(w.outcome, func(m map[winKey]tally) {
			t := m[k]
			switch {
			case rejected:
				t.Rejected++
			case pending:
				t.Pending++
			default:
				t.Completed++
			}
			m[k] = t
		})
	}
	w.Truth = w.truthOf(0, len(w.Trades))
	return w
}

// served reads the windows of syms (default: the workload's symbols)
// from a worker's HTTP API.
func served(tb testing.TB, addr string, syms ...string) map[winKey]tally {
	tb.Helper()
	if len(syms) == 0 {
		syms = symbols
	}
	// 30 s, and a millisecond a symbol: the 50M run reads 100,000 of them
	// while the worker drains.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+time.Duration(len(syms))*time.Millisecond)
	defer cancel()
	got, err := testkit.Served(ctx, http.DefaultClient, addr, syms)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[winKey]tally, len(got))
	for k, v := range got {
		out[winKey(k)] = tally(v)
	}
	return out
}

// diff lists the windows where got and want differ.
func diff(got, want map[winKey]tally) string {
	var out []string
	for k, w := range want {
		if got[k] != w {
			out = append(out, fmt.Sprintf("%s@%d: got %+v want %+v", k.Symbol, k.Start, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s@%d: got %+v, want no window", k.Symbol, k.Start, g))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// awaitCounts polls the API until it serves exactly want, for syms
// (default: the quickstart's symbols).
func awaitCounts(tb testing.TB, addr string, want map[winKey]tally, within time.Duration, syms ...string) time.Duration {
	tb.Helper()
	start := time.Now()
	var d string
	for time.Since(start) < within {
		if d = diff(served(tb, addr, syms...), want); d == "" {
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("counts differ from the ground truth after %v:\n%s", within, d)
	return 0
}

// consumeAll reads topic from the start until n records arrived (or
// within passes) and returns them.
func (c *cluster) consumeAll(tb testing.TB, topic string, n int, within time.Duration) []*kgo.Record {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Brokers, ",")...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		f := cl.PollFetches(ctx)
		f.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	// Anything beyond n that is already there is a duplicate or an error.
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
