package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

// kstreamsCounts is the Kafka Streams peer's output topic.
const kstreamsCounts = "kstreams-counts"

// TestKafkaStreamsPeer: the same input through tradeflow and through the
// Kafka Streams peer (interop/kstreams, a second implementation of the
// rules), at the default SEC sample rate; the counts of every symbol,
// window and disposition must be equal. The input is the workload plus
// records on the edges of validity (keys, escapes, users keyed apart from
// their userid, control characters, nesting depth), where two decoders could disagree.
func TestKafkaStreamsPeer(t *testing.T) {
	jar := javaJar(t, "kstreams")
	c := newCluster(t)
	c.createTopic(t, "stocktrade", 6, nil)
	c.createTopic(t, "users", 4, nil)
	// A new application id per run: the peer starts with empty state. A
	// shared cluster may hold an earlier run's output.
	appID := fmt.Sprintf("%s%d", kstreamsAppPrefix, time.Now().UnixNano())
	c.deleteKstreams(t)
	t.Cleanup(func() { c.deleteKstreams(t) })

	w := newWorkload(3, 4000)
	edge := newEdgeCases(time.Now().Add(-5 * time.Minute).UnixMilli())
	truth := merged(w.Truth)
	for k, v := range merged(edge.Truth) {
		tt := truth[k]
		tt.Completed += v.Completed
		tt.Pending += v.Pending
		tt.Rejected += v.Rejected
		truth[k] = tt
	}
	syms := append([]string{}, symbols...)
	for k := range edge.Truth {
		if !contains(syms, k.Symbol) {
			syms = append(syms, k.Symbol)
		}
	}

	// Users first (both load all of them before they join a trade), half
	// the trades, then both run beside each other on the same topics while
	// the rest arrives. The SEC sample is the default 30 %.
	start := time.Now()
	trades := append(append([]*kgo.Record{}, w.Trades...), edge.Trades...)
	half := len(w.Trades) / 2
	c.produce(t, append(w.Users, edge.Users...)...)
	c.produce(t, trades[:half]...)
	wk := c.startWorker(t, t.TempDir())
	peer := startKstreams(t, jar, c.Brokers, appID)
	c.produce(t, trades[half:]...)
	// A record without a timestamp goes in a batch of its own: sarama reads
	// a batch's later timestamps relative to its first.
	c.produce(t, edge.NoTimestamp)
	wrote := time.Since(start)

	var got map[winKey]tally
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got = served(t, wk.HTTP, syms...)
		if diff(merged(got), truth) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tradeflow's counts (SEC Flagged counted as Completed) differ from the ground truth:\n%s", diff(merged(got), truth))
		}
		time.Sleep(250 * time.Millisecond)
	}
	tradeflowDone := time.Since(start)

	summary := peer.wait(t, 3*time.Minute)
	peerDone := time.Since(start)
	peerCounts, extra := c.readKstreamsCounts(t)
	for _, s := range extra {
		if !contains(syms, s) {
			syms = append(syms, s)
		}
	}
	got = served(t, wk.HTTP, syms...) // symbols only the peer saw, too
	if d := diff(got, peerCounts); d != "" {
		t.Fatalf("tradeflow (got) and Kafka Streams (want) differ:\n%s", d)
	}
	var flagged, windows int64
	for _, v := range got {
		flagged += v.Flagged
		windows++
	}
	if flagged == 0 {
		t.Fatalf("no trade was SEC Flagged at the default rate: the sample was not exercised")
	}
	t.Logf("%d trades (%d valid, %d malformed) + %d edge cases, %d windows, %d SEC Flagged: equal in tradeflow and Kafka Streams"+
		" (input written %v, tradeflow exact %v, peer done %v after the start)\n%s",
		len(w.Trades), w.Valid, w.BadTrades, len(edge.Trades)+1, windows, flagged,
		wrote.Round(time.Millisecond), tradeflowDone.Round(time.Millisecond), peerDone.Round(time.Millisecond), summary)
}

// merged counts SEC Flagged as Completed: the ground truth does not know
// the sample.
func merged(m map[winKey]tally) map[winKey]tally {
	out := make(map[winKey]tally, len(m))
	for k, v := range m {
		out[k] = tally{Completed: v.Completed + v.Flagged, Pending: v.Pending, Rejected: v.Rejected}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// edgeCases are records on the edges of validity, beyond the workload's,
// with the ground truth of the valid ones.
type edgeCases struct {
	Users, Trades []*kgo.Record
	NoTimestamp   *kgo.Record
	Truth         map[winKey]tally
}

func newEdgeCases(base int64) *edgeCases {
	e := &edgeCases{Truth: map[winKey]tally{}}
	user := func(key []byte, value string) {
		e.Users = append(e.Users, &kgo.Record{Topic: "users", Key: key, Value: []byte(value)})
	}
	user([]byte("User_12"), `{"userid":"someone else","regionid":"R"}`)    // found by its key
	user([]byte(""), `{"userid":"User_13"}`)                               // no key: invalid
	user(nil, `{"userid":"User_14"}`)                                      // no key: invalid
	user([]byte("User_15"), `{"userid":"User_15","registertime":"1"}`)     // a quoted number: invalid
	user([]byte("User_16"), `{"userid":"User_16","UserId":"x"}`)           // a duplicate name: invalid
	user([]byte("User_17"), "{\"userid\":\"User_17\",\"x\":\"a\x01\\n\"}") // a raw control character: invalid
	known := map[string]bool{"User_1": true, "User_2": true, "User_12": true}

	ts := base
	trade := func(key []byte, value string) *kgo.Record {
		ts += 1000
		r := &kgo.Record{Topic: "stocktrade", Key: key, Timestamp: time.UnixMilli(ts)}
		if value != "" {
			r.Value = []byte(value)
		}
		e.Trades = append(e.Trades, r)
		return r
	}
	valid := func(key []byte, value, symbol, userid string) {
		trade(key, value)
		k := winKey{symbol, ts - ts%60_000}
		t := e.Truth[k]
		if known[userid] {
			t.Completed++ // quantity × price is small
		} else {
			t.Rejected++
		}
		e.Truth[k] = t
	}
	v := func(symbol, userid, extra string) string {
		return `{"side":"BUY","quantity":10,"symbol":"` + symbol + `","price":10,"userid":"` + userid + `"` + extra + `}`
	}
	// Valid.
	valid([]byte("ZVV"), v("ZTEST", "User_1", ""), "ZTEST", "User_1") // counted by the value's symbol
	valid([]byte("ZVV"), v(`Z\u0056V`, "User_1", ""), "ZVV", "User_1")
	valid([]byte("A@B"), v("A@B", "User_12", ""), "A@B", "User_12")
	valid([]byte("ZVV"), v("ZVV", "User_13", ""), "ZVV", "User_13")
	valid([]byte("ZVV"), v("ZVV", "User_14", ""), "ZVV", "User_14")
	valid([]byte("ZVV"), v("ZVV", "User_15", ""), "ZVV", "User_15")
	valid([]byte("ZVV"), v("ZVV", "User_16", ""), "ZVV", "User_16")
	valid([]byte("ZVV"), v("ZVV", "User_17", ""), "ZVV", "User_17")
	valid([]byte("ZVV"), v("ZVV", `User_\u0031`, ""), "ZVV", "User_1")
	valid([]byte("ZVV"), v("ZVV", "User_2", `,"deep":`+strings.Repeat("[", 299)+strings.Repeat("]", 299)), "ZVV", "User_2")
	valid([]byte("ZVV"), v(`Z\ud800`, "User_2", ""), `Z\ud800`, "User_2") // a lone surrogate stays escaped
	valid([]byte("ZVV"), `{"SIDE":"SELL","Quantity":10,"sYmBoL":"ZVV","PRICE":10,"userİd":"User_1"}`, "ZVV", "User_1")
	// Invalid.
	trade(nil, v("ZVV", "User_1", ""))
	trade([]byte(""), v("ZVV", "User_1", ""))
	trade([]byte("ZVV"), "")
	trade([]byte("ZVV"), v("ZVV", "User_1", `,"SYMBOL":"ZVV"`))
	trade([]byte("ZVV"), v("ZVV", "User_1", `,"account":5`))
	trade([]byte("ZVV"), v("ZVV", "User_1", "")+" x")
	trade([]byte("ZVV"), v("ZVV", "User_1", `,"deep":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)))
	trade([]byte("ZVV"), v("ZVV", "User_1", ",\"x\":\"\\na\x01\""))
	trade([]byte("ZVV"), v("ZVV", "User_2", ",\"x\":\"a\x01\\n\"")) // a raw control character before an escape
	trade([]byte("ZVV"), v("ZVV", "User_2", `,"":1,"":2`))          // the empty name twice
	trade([]byte("ZVV"), v("ZVV", "User_1", `,"pad":"`+strings.Repeat("x", 65536)+`"`))
	trade([]byte("ZVV"), "\xef\xbb\xbf"+v("ZVV", "User_1", ""))
	e.NoTimestamp = &kgo.Record{Topic: "stocktrade", Key: []byte("ZVV"), Value: []byte(v("ZVV", "User_1", "")),
		Timestamp: time.UnixMilli(-1)}
	return e
}

// kstreamsPeer is the Kafka Streams peer running as a child process, its
// stdout and stderr in one log.
type kstreamsPeer struct{ *testkit.Peer }

// startKstreams runs the peer with a fresh application id (so it starts
// from the beginning with empty state) until its input has been idle for
// 5 s and it has committed all of stocktrade.
func startKstreams(tb testing.TB, jar, brokers, appID string) *kstreamsPeer {
	tb.Helper()
	tp, err := testkit.StartPeer(testkit.PeerOptions{
		JVM: []string{"-Xmx512m"}, Jar: jar,
		Args: []string{"--bootstrap-servers", brokers, "--application-id", appID, "--state-dir", tb.TempDir(), "--until-idle", "5"},
		Log:  filepath.Join(tb.TempDir(), "kstreams.log"), Group: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	p := &kstreamsPeer{tp}
	tb.Cleanup(func() {
		_ = p.Kill() // gone already, normally
		_, _ = p.Wait(10 * time.Second)
		if tb.Failed() {
			p.dumpLog(tb)
		}
	})
	return p
}

// wait waits for the peer to exit and returns its summary line.
func (p *kstreamsPeer) wait(tb testing.TB, within time.Duration) string {
	tb.Helper()
	exited, err := p.Wait(within)
	switch {
	case !exited:
		p.dumpLog(tb)
		tb.Fatalf("the Kafka Streams peer did not finish within %v", within)
	case err != nil:
		p.dumpLog(tb)
		tb.Fatalf("the Kafka Streams peer exited with %v", err)
	}
	b, _ := os.ReadFile(p.Log)
	raw, _, err := testkit.PeerSummary(string(b))
	if err != nil {
		return "(no summary line)"
	}
	return "kstreams: " + raw
}

func (p *kstreamsPeer) dumpLog(tb testing.TB) {
	lines, err := p.LogTail(60)
	if err != nil {
		return
	}
	tb.Logf("--- last lines of the Kafka Streams peer %s:\n%s", p.Log, strings.Join(lines, "\n"))
}

// readKstreamsCounts reads kstreams-counts to its end: the last count per
// "SYMBOL@windowStart@DISPOSITION" key, as windows, and the symbols seen.
func (c *cluster) readKstreamsCounts(tb testing.TB) (map[winKey]tally, []string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := c.Admin.ListEndOffsets(ctx, kstreamsCounts)
	if err != nil || ends.Error() != nil {
		tb.Fatalf("end offsets of %s: %v %v", kstreamsCounts, err, ends.Error())
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Brokers, ",")...), kgo.ConsumeTopics(kstreamsCounts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	last := map[string]int64{}
	for len(want) > 0 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("reading %s: %v; partitions left: %v", kstreamsCounts, ctx.Err(), want)
		}
		f.EachRecord(func(r *kgo.Record) {
			n, err := strconv.ParseInt(string(r.Value), 10, 64)
			if err != nil {
				tb.Fatalf("%s: key %q value %q: %v", kstreamsCounts, r.Key, r.Value, err)
			}
			last[string(r.Key)] = n
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	out := map[winKey]tally{}
	seen := map[string]bool{}
	for k, n := range last {
		i := strings.LastIndexByte(k, '@')
		j := strings.LastIndexByte(k[:max(i, 0)], '@')
		if i < 0 || j < 0 {
			tb.Fatalf("%s: key %q is not SYMBOL@windowStart@DISPOSITION", kstreamsCounts, k)
		}
		start, err := strconv.ParseInt(k[j+1:i], 10, 64)
		if err != nil {
			tb.Fatalf("%s: key %q: %v", kstreamsCounts, k, err)
		}
		wk := winKey{k[:j], start}
		t := out[wk]
		switch k[i+1:] {
		case "Completed":
			t.Completed = n
		case "Pending":
			t.Pending = n
		case "SEC Flagged":
			t.Flagged = n
		case "Rejected":
			t.Rejected = n
		default:
			tb.Fatalf("%s: key %q: unknown disposition", kstreamsCounts, k)
		}
		out[wk] = t
		seen[k[:j]] = true
	}
	var syms []string
	for s := range seen {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	return out, syms
}

// kstreamsAppPrefix starts the application id of every run of the peer in
// these tests: its consumer group and the prefix of its internal topics.
const kstreamsAppPrefix = "tradeflow-kstreams-test-"

// deleteKstreams removes what runs of the peer leave on a shared cluster:
// kstreams-counts, the internal topics of every run (also of one killed
// before its cleanup) and their consumer groups. A group a run has just left
// may still have its member (Kafka Streams does not leave the group on
// close) and is deleted by a later run, or by clean(), once it is empty.
func (c *cluster) deleteKstreams(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	groups, err := c.Admin.ListGroups(ctx)
	if err != nil {
		tb.Fatalf("list groups: %v", err)
	}
	var ours []string
	for _, g := range groups.Groups() {
		if strings.HasPrefix(g, kstreamsAppPrefix) {
			ours = append(ours, g)
		}
	}
	if len(ours) > 0 {
		if resp, err := c.Admin.DeleteGroups(ctx, ours...); err != nil {
			tb.Logf("delete groups %v: %v", ours, err)
		} else {
			for _, r := range resp.Sorted() {
				if r.Err != nil && !errors.Is(r.Err, kerr.NonEmptyGroup) {
					tb.Logf("delete group %s: %v", r.Group, r.Err)
				}
			}
		}
	}
	td, err := c.Admin.ListTopics(ctx)
	if err != nil {
		tb.Fatalf("list topics: %v", err)
	}
	var topics []string
	for _, t := range td.Names() {
		if t == kstreamsCounts || strings.HasPrefix(t, kstreamsAppPrefix) {
			topics = append(topics, t)
		}
	}
	c.deleteTopics(ctx, tb, topics...)
}
