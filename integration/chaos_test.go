package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

// chaosPlan sizes a chaos run.
type chaosPlan struct {
	name       string
	count      string // TRADEFLOW_COUNT of the workers
	trades     int
	symbols    int
	produceFor time.Duration // trades are spread over this long
	workers    int
	minKills   int              // worker kills at least, more while trades flow
	pause      [2]time.Duration // between a steady group and the next kill
	cut        time.Duration    // the proxy refuses connections this long
	blackhole  time.Duration    // then swallows all traffic this long (0: not)
	// Faults between kills: before kill n (counted from 0) the broker is
	// restarted with brokerAt[n], the connection cut at cutAt.
	brokerAt map[int]syscall.Signal
	cutAt    int
}

var chaosPlans = map[string]chaosPlan{
	"short": {name: "short", trades: 40_000, symbols: 40, produceFor: 55 * time.Second, workers: 3,
		minKills: 4, pause: [2]time.Duration{time.Second, 3 * time.Second}, cut: 10 * time.Second,
		brokerAt: map[int]syscall.Signal{2: syscall.SIGKILL}, cutAt: 2},
	"full": {name: "full", trades: 300_000, symbols: 120, produceFor: 5 * time.Minute, workers: 3,
		minKills: 12, pause: [2]time.Duration{2 * time.Second, 5 * time.Second}, cut: 30 * time.Second,
		blackhole: 30 * time.Second,
		brokerAt:  map[int]syscall.Signal{2: syscall.SIGKILL, 12: syscall.SIGTERM}, cutAt: 7},
}

// Takeover targets (the promise): survivors resume a SIGKILLed
// worker's partitions within 12 s, a SIGTERMed one's within 8 s.
const (
	takeoverLimitKill = 12 * time.Second
	takeoverLimitTerm = 8 * time.Second
)

// TestChaos: `tradeflow broker` behind a Toxiproxy fault proxy, several
// `tradeflow worker` processes, trades produced while workers are killed
// and restarted (on their own data dir, or an empty one), the broker is
// stopped and restarted and the connection cut; in the end every
// per-minute count equals the ground truth of what was acknowledged, and
// every takeover was within its target. TRADEFLOW_CHAOS=full runs the long
// version (`make chaos`), TRADEFLOW_CHAOS=short the short one
// (`make chaos-short`); with TRADEFLOW_CHAOS_KAFKA=1 the broker is a real
// Apache Kafka (`make chaos-short-kafka`). It is opt-in because it times
// takeovers and so must run on its own: `make test` (CI) runs the short
// version on each broker as steps of their own after the other suites.
func TestChaos(t *testing.T) {
	if externalBrokers() != "" {
		t.Skip("runs and restarts a broker of its own (TRADEFLOW_CHAOS_KAFKA=1: a real Kafka); TRADEFLOW_TEST_BROKERS points at another cluster")
	}
	mode := os.Getenv("TRADEFLOW_CHAOS")
	if mode == "" {
		t.Skip("opt-in: TRADEFLOW_CHAOS=short or full (make chaos-short, make chaos)")
	}
	plan, ok := chaosPlans[mode]
	if !ok {
		t.Fatalf("TRADEFLOW_CHAOS=%q: want short or full", mode)
	}
	// The short plan SIGKILLs the broker, the full one SIGKILLs it once and
	// SIGTERMs it once; TRADEFLOW_CHAOS_BROKER_SIGNAL=KILL or TERM makes
	// every restart use that signal. SIGKILLed,
	// the embedded broker (kfake) keeps every acknowledged record but
	// forgets the idempotent producers' sequence numbers, so producers see
	// OutOfOrderSequenceNumber, fail records and go on with later ones
	// (sarama bumps the epoch); the same happens after a long cut. The
	// count step must count those records when they are replayed
	// (README, "Guarantees").
	switch sig := os.Getenv("TRADEFLOW_CHAOS_BROKER_SIGNAL"); sig {
	case "":
	case "KILL", "TERM":
		brokerAt := map[int]syscall.Signal{}
		for k := range plan.brokerAt {
			brokerAt[k] = map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM}[sig]
		}
		plan.brokerAt = brokerAt
	default:
		t.Fatalf("TRADEFLOW_CHAOS_BROKER_SIGNAL=%q: want TERM or KILL", sig)
	}
	// TRADEFLOW_CHAOS_COUNT=fused or hop: where the workers count
	// (TRADEFLOW_COUNT); fused by default, as tradeflow.
	switch plan.count = os.Getenv("TRADEFLOW_CHAOS_COUNT"); plan.count {
	case "":
		plan.count = "fused"
	case "fused", "hop":
	default:
		t.Fatalf("TRADEFLOW_CHAOS_COUNT=%q: want fused or hop", plan.count)
	}
	began := time.Now()
	c := newChaos(t, plan)
	c.run()
	c.report(time.Since(began))
}

// chaos is one chaos run.
type chaos struct {
	t    *testing.T
	plan chaosPlan
	rng  *rand.Rand

	brokerAddr string
	broker     chaosBroker
	proxy      *faultProxy
	obs        *observer
	wl         *bigWorkload
	workers    []*chaosWorker
	prod       *chaosProducer

	takeovers  []takeoverRecord
	faults     []string // what the broker restart and the cuts did
	unexpected []string // workers that exited without being told to
	termExits  []string // SIGTERMed workers that did not exit 0
	fresh      int      // restarts on an empty data dir
	logs       []string // every worker process's log
	names      []string // and its worker's name
}

// chaosWorker is one worker slot: the process running in it now.
type chaosWorker struct {
	slot   int
	dir    string
	inc    int
	p      *proc
	exited chan struct{}
	err    error // the exit status, once exited is closed
	told   bool  // the test signalled it
	http   string
}

type takeoverRecord struct {
	what  string
	sig   syscall.Signal
	r     recovery
	exit  time.Duration // from the signal until the process was gone
	ready time.Duration // from the restart until /readyz answered 200
}

func newChaos(t *testing.T, plan chaosPlan) *chaos {
	seed := uint64(time.Now().UnixNano())
	c := &chaos{t: t, plan: plan, rng: rand.New(rand.NewPCG(seed, 3))}
	c.brokerAddr = "127.0.0.1:" + lowFreePort(t)
	c.proxy = newFaultProxy(t, freeAddr(t), c.brokerAddr)
	c.broker = newChaosBroker(t, c.brokerAddr, c.proxy.Addr())
	c.broker.start()
	c.obs = newObserver(t, c.brokerAddr, c.proxy.Addr(), watchedGroups(plan.count))
	c.wl = newBigWorkload(seed, plan.trades, plan.symbols, 18*time.Minute)
	t.Logf("chaos %s (seed %d), %s count: %s %s behind toxiproxy %s, %d workers, %d trades over %v",
		plan.name, seed, plan.count, c.broker.name(), c.brokerAddr, c.proxy.Addr(), plan.workers, plan.trades, plan.produceFor)

	// Topics as tradeflow makes them (the first worker would), users first.
	cl := clientFor(t, c.proxy.Addr())
	cl.createTopic(t, "stocktrade", 6, nil)
	cl.createTopic(t, "users", 6, map[string]*string{"cleanup.policy": ptrTo("compact")})
	cl.produce(t, c.wl.Users...)
	for i := range plan.workers {
		w := &chaosWorker{slot: i, dir: t.TempDir()}
		c.workers = append(c.workers, w)
		c.startWorker(w, false)
	}
	for _, w := range c.workers {
		c.waitReady(w)
	}
	if _, err := c.obs.awaitWhole(plan.workers, false, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

func ptrTo(s string) *string { return &s }

// startWorker starts a worker in w's slot, on its data dir or, with
// fresh, on a new empty one (its state then comes from the changelog).
func (c *chaos) startWorker(w *chaosWorker, fresh bool) {
	if fresh {
		w.dir = c.t.TempDir()
		c.fresh++
	}
	w.inc++
	w.http = freeAddr(c.t)
	w.p = start(c.t, "worker",
		"TRADEFLOW_BROKERS="+c.proxy.Addr(), "TRADEFLOW_HTTP_ADDR="+w.http, "TRADEFLOW_DATA_DIR="+w.dir,
		"TRADEFLOW_REPLICATION=1", "TRADEFLOW_FLAG_RATE=0", "TRADEFLOW_STATE_STORE="+w.store(c.plan.count), "TRADEFLOW_COUNT="+c.plan.count,
		fmt.Sprintf("TRADEFLOW_CLIENT_ID=tradeflow-w%d-%d", w.slot, w.inc))
	c.logs = append(c.logs, w.p.log)
	c.names = append(c.names, w.name())
	w.exited, w.told, w.err = make(chan struct{}), false, nil
	p, exited := w.p, w.exited
	go func() {
		err := <-p.done
		w.err = err
		close(exited)
		p.done <- err // for the harness's cleanup
	}()
}

func (w *chaosWorker) running() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

func (w *chaosWorker) name() string { return fmt.Sprintf("w%d#%d", w.slot, w.inc) }

// store is where w keeps its tables: counting by hop, the last slot in
// memory (rebuilt from the changelog at every start), the others in
// LevelDB under their data dir, so a restart on the same dir reuses local
// state; the fused count keeps them in memory.
func (w *chaosWorker) store(count string) string {
	if w.slot == 2 || count == "fused" {
		return "memory"
	}
	return "leveldb"
}

// isReady: w's /readyz answers 200.
func isReady(w *chaosWorker) bool {
	resp, err := http.Get("http://" + w.http + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitReady waits until w's /readyz answers 200.
func (c *chaos) waitReady(w *chaosWorker) {
	c.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if !w.running() {
			w.p.dumpLog()
			c.t.Fatalf("worker %s exited before it was ready: %v", w.name(), w.err)
		}
		if isReady(w) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.p.dumpLog()
	c.t.Fatalf("worker %s not ready within 120s", w.name())
}

// signal sends sig to w's process group.
func (c *chaos) signal(w *chaosWorker, sig syscall.Signal) {
	c.t.Helper()
	w.told = true
	if err := syscall.Kill(-w.p.cmd.Process.Pid, sig); err != nil {
		c.t.Fatalf("%v %s: %v", sig, w.name(), err)
	}
}

func (c *chaos) running() int {
	n := 0
	for _, w := range c.workers {
		if w.running() {
			n++
		}
	}
	return n
}

// restartCrashed restarts every worker that exited on its own (a crash:
// in production its supervisor would restart it, and a loop of those is
// what the test must catch), recording each; it does not wait for them.
func (c *chaos) restartCrashed() {
	for _, w := range c.workers {
		if w.running() || w.told {
			continue
		}
		c.unexpected = append(c.unexpected, fmt.Sprintf("%s exited on its own at %s: %v (log %s)",
			w.name(), time.Now().Format("15:04:05.000"), w.err, w.p.log))
		c.t.Logf("worker %s exited on its own: %v", w.name(), w.err)
		if len(c.unexpected) <= 3 {
			w.p.dumpLog()
		}
		if len(c.unexpected) > 10*len(c.workers) {
			c.t.Fatalf("workers exited on their own %d times; giving up:\n%s", len(c.unexpected), strings.Join(c.unexpected, "\n"))
		}
		c.startWorker(w, false)
	}
}

// checkUnexpected restarts the workers that exited on their own and waits
// until every worker is ready.
func (c *chaos) checkUnexpected() {
	c.restartCrashed()
	for _, w := range c.workers {
		c.waitReady(w)
	}
}

// awaitSteady waits until every worker runs and both groups are whole.
func (c *chaos) awaitSteady(within time.Duration) map[string]groupState {
	c.t.Helper()
	c.checkUnexpected()
	gs, err := c.obs.awaitWhole(len(c.workers), false, within)
	if err != nil {
		c.checkUnexpected()
		c.t.Fatalf("before the next fault: %v", err)
	}
	return gs
}

// run produces the trades while it injects faults, then checks the counts.
func (c *chaos) run() {
	c.prod = startProducer(c.t, c.proxy.Addr(), c.wl, c.plan.produceFor)
	kills := 0
	for kills < c.plan.minKills || !c.prod.finished() {
		if sig, ok := c.plan.brokerAt[kills]; ok {
			c.restartBroker(sig)
		}
		if kills == c.plan.cutAt {
			c.cutConnections()
		}
		c.killOne(kills)
		kills++
	}
	c.t.Logf("producer: %s", c.prod.summary())
}

// killCycle is how the kills go, in turn: the signal, whether the worker
// restarts on an empty data dir (its state then comes from the changelog)
// and whether it restarts at once, before the takeover (the new process
// joins while the old member is still in the group), or after it.
var killCycle = []struct {
	sig          syscall.Signal
	fresh, rapid bool
}{
	{syscall.SIGKILL, false, false},
	{syscall.SIGKILL, true, true},
	{syscall.SIGTERM, false, false},
	{syscall.SIGKILL, false, true},
	{syscall.SIGKILL, true, false},
	{syscall.SIGTERM, true, false},
}

// killOne kills a random worker as killCycle says, times the takeover, and
// restarts it.
func (c *chaos) killOne(n int) {
	c.awaitSteady(90 * time.Second)
	time.Sleep(c.plan.pause[0] + time.Duration(c.rng.Int64N(int64(c.plan.pause[1]-c.plan.pause[0]))))
	before := c.awaitSteady(30 * time.Second)
	w := c.workers[c.rng.IntN(len(c.workers))]
	k := killCycle[n%len(killCycle)]
	sig, fresh, rapid := k.sig, k.fresh, k.rapid
	victim := w.name()
	killedAt := time.Now()
	c.signal(w, sig)
	limit := takeoverLimitKill
	if sig == syscall.SIGTERM {
		limit = takeoverLimitTerm
	}
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s did not exit within 30s of %v", victim, sig)
	}
	exitTook := time.Since(killedAt)
	if sig == syscall.SIGTERM && w.err != nil {
		c.termExits = append(c.termExits, fmt.Sprintf("%s: %v", victim, w.err))
	}
	restartedAt, readyAt := time.Now(), time.Time{}
	tick := func() {}
	if rapid {
		c.startWorker(w, fresh)
		tick = func() {
			if readyAt.IsZero() && isReady(w) {
				readyAt = time.Now()
			}
		}
	}
	r := c.obs.awaitTakeover(before, killedAt, c.running, true, 60*time.Second, tick)
	how := "its own dir"
	if fresh {
		how = "an empty dir"
	}
	what := fmt.Sprintf("%s %s at %s, restarted on %s", victim, sigName(sig), killedAt.Format("15:04:05.0"), how)
	if rapid {
		what += " at once"
	} else {
		what += " after the takeover"
	}
	c.t.Logf("kill %d: %s: groups assigned after %v, its partitions progressing after %v (limit %v) %v",
		n+1, what, r.Assigned.Round(10*time.Millisecond), r.Resumed.Round(10*time.Millisecond), limit, errString(r.Err))
	if !rapid {
		restartedAt = time.Now()
		c.startWorker(w, fresh)
	}
	if readyAt.IsZero() {
		c.waitReady(w)
		readyAt = time.Now()
	}
	c.takeovers = append(c.takeovers, takeoverRecord{what: what, sig: sig, r: r, exit: exitTook, ready: readyAt.Sub(restartedAt)})
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGKILL"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// restartBroker stops the broker with sig and starts it again on the
// same address and data dir.
func (c *chaos) restartBroker(sig syscall.Signal) {
	c.awaitSteady(90 * time.Second)
	acked := c.prod.acked()
	at := time.Now()
	c.broker.stop(sig)
	time.Sleep(time.Second)
	c.broker.start()
	up := time.Now()
	r := c.obs.awaitTakeover(nil, up, func() int { return len(c.workers) }, false, 120*time.Second, c.restartCrashed)
	s := fmt.Sprintf("broker restart (%s at %s with %d trades acknowledged): down %v, then %s",
		sigName(sig), at.Format("15:04:05.0"), acked, (time.Since(at) - time.Since(up)).Round(10*time.Millisecond), r)
	c.faults = append(c.faults, s)
	c.t.Log(s)
	if r.Err != nil {
		c.checkUnexpected()
		c.t.Fatalf("after the broker restart: %v", r.Err)
	}
}

// cutConnections disables the proxy for plan.cut (connections reset and
// refused), then, with plan.blackhole, swallows all traffic that long.
func (c *chaos) cutConnections() {
	c.awaitSteady(90 * time.Second)
	cutAt := time.Now()
	c.proxy.Disable()
	time.Sleep(c.plan.cut)
	c.proxy.Enable(c.t)
	healed := time.Now()
	r := c.obs.awaitTakeover(nil, healed, func() int { return len(c.workers) }, false, 120*time.Second, c.restartCrashed)
	s := fmt.Sprintf("cut %v at %s (connections reset and refused), then %s", c.plan.cut, cutAt.Format("15:04:05.0"), r)
	c.faults = append(c.faults, s)
	c.t.Log(s)
	if r.Err != nil {
		c.checkUnexpected()
		c.t.Fatalf("after the cut: %v", r.Err)
	}
	if c.plan.blackhole == 0 {
		return
	}
	c.awaitSteady(90 * time.Second)
	cutAt = time.Now()
	c.proxy.Blackhole(c.t)
	time.Sleep(c.plan.blackhole)
	c.proxy.Heal(c.t)
	healed = time.Now()
	r = c.obs.awaitTakeover(nil, healed, func() int { return len(c.workers) }, false, 120*time.Second, c.restartCrashed)
	s = fmt.Sprintf("cut %v at %s (blackhole: all traffic swallowed), then %s", c.plan.blackhole, cutAt.Format("15:04:05.0"), r)
	c.faults = append(c.faults, s)
	c.t.Log(s)
	if r.Err != nil {
		c.checkUnexpected()
		c.t.Fatalf("after the blackhole: %v", r.Err)
	}
}

// report waits for the workers to catch up, compares the counts with the
// ground truth, prints the figures and fails on any loss, double count,
// slow takeover or unexpected exit.
func (c *chaos) report(wall time.Duration) {
	t := c.t
	defer c.keepLogs()
	c.prod.wait(t)
	c.checkUnexpected()
	if _, err := c.obs.awaitWhole(len(c.workers), true, 3*time.Minute); err != nil {
		c.checkUnexpected()
		t.Fatalf("workers did not catch up: %v", err)
	}
	truth := c.wl.truth(c.prod.wasAcked)
	var counted int64
	for _, v := range truth {
		counted += v.Completed + v.Pending + v.Flagged + v.Rejected
	}

	// What the broker kept of what it acknowledged.
	held := c.readBack()
	var brokerLost, brokerDup int
	for i := range c.wl.Trades {
		switch n := len(held[i]); {
		case c.prod.wasAcked(i) && n == 0:
			brokerLost++
		case n > 1:
			brokerDup += n - 1
		}
	}

	// The counts, from one worker's API, until they equal the truth or a
	// minute passed; then every other worker's too.
	got := c.awaitServed(c.workers[0], truth, time.Minute)
	lost, doubled := lostDoubled(got, truth)
	var servedBad []string
	others := ""
	for _, w := range c.workers[1:] {
		l, d := lostDoubled(c.awaitServed(w, truth, 20*time.Second), truth)
		others += fmt.Sprintf(" %s (%s store) lost %d doubled %d;", w.name(), w.store(c.plan.count), l, d)
		if l != 0 || d != 0 {
			servedBad = append(servedBad, fmt.Sprintf("%s (%s store): lost %d, doubled %d", w.name(), w.store(c.plan.count), l, d))
		}
	}
	// The changelog is what every worker's view recovers from: if it is
	// exact while an API is not, counting is right and serving is wrong.
	clCounts, clStale := c.changelogCounts()
	clLost, clDoubled := lostDoubled(clCounts, truth)

	var kill, term []time.Duration
	lines := []string{}
	slow := []string{}
	for i, tk := range c.takeovers {
		limit := takeoverLimitKill
		if tk.sig == syscall.SIGTERM {
			limit, term = takeoverLimitTerm, append(term, tk.r.Resumed)
		} else {
			kill = append(kill, tk.r.Resumed)
		}
		lines = append(lines, fmt.Sprintf("  #%-2d %-70s assigned %6v  resumed %6v  (exit %v; restarted, ready in %v)", i+1, tk.what,
			tk.r.Assigned.Round(10*time.Millisecond), tk.r.Resumed.Round(10*time.Millisecond),
			tk.exit.Round(10*time.Millisecond), tk.ready.Round(10*time.Millisecond)))
		if tk.r.Err != nil || tk.r.Resumed > limit {
			slow = append(slow, fmt.Sprintf("#%d %s: %v > %v %s", i+1, tk.what, tk.r.Resumed.Round(10*time.Millisecond), limit, errString(tk.r.Err)))
		}
	}
	t.Logf(`chaos %s summary (%s, wall %v):
worker kills survived: %d (%d SIGKILL, %d SIGTERM; %d restarts on an empty data dir)
records: %d trades produced (%d valid, %d malformed), %d acknowledged, %d failed; broker lost %d acknowledged, holds %d duplicates
counts: %d windows, %d trades counted in truth; served by %s (%s store): lost %d, doubled %d;%s
count table changelog (read as a recovering worker reads it; %d late values of a former owner ignored as stale): lost %d, doubled %d
faults:
  %s
takeovers (kill until every partition of settle and count assigned to a live member and the victim's partitions progressing):
%s
takeover SIGKILL: median %v max %v (limit %v); SIGTERM: median %v max %v (limit %v)
unexpected worker exits: %d; SIGTERM exits not 0: %d
worker logs (%d processes): %s`,
		c.plan.name, c.broker.name(), wall.Round(time.Second),
		len(c.takeovers), len(kill), len(term), c.fresh,
		len(c.wl.Trades), c.wl.Valid, c.wl.Bad, c.prod.acked(), c.prod.failed(), brokerLost, brokerDup,
		len(truth), counted, c.workers[0].name(), c.workers[0].store(c.plan.count), lost, doubled, others, clStale, clLost, clDoubled,
		strings.Join(c.faults, "\n  "), strings.Join(lines, "\n"),
		testkit.Median(kill).Round(10*time.Millisecond), slices.Max(append(kill, 0)).Round(10*time.Millisecond), takeoverLimitKill,
		testkit.Median(term).Round(10*time.Millisecond), slices.Max(append(term, 0)).Round(10*time.Millisecond), takeoverLimitTerm,
		len(c.unexpected), len(c.termExits), len(c.logs), c.scanLogs())

	if lost != 0 || doubled != 0 {
		lostBy := map[winKey]int64{}
		for k, w := range truth {
			g := got[k]
			if n := max(0, w.Completed-g.Completed) + max(0, w.Pending-g.Pending) + max(0, w.Rejected-g.Rejected); n > 0 {
				lostBy[k] = n
			}
		}
		t.Errorf("counts differ from the ground truth: lost %d, doubled %d:\n%s\n%s", lost, doubled,
			firstLines(diff(got, truth), 30), c.diagnoseLoss(held, lostBy))
	}
	if len(servedBad) > 0 {
		t.Errorf("other workers serve counts that differ from the ground truth:\n%s", strings.Join(servedBad, "\n"))
	}
	if clLost != 0 || clDoubled != 0 {
		var lostKeys []winKey
		for k, w := range truth {
			if g := clCounts[k]; g.Completed+g.Pending+g.Flagged+g.Rejected < w.Completed+w.Pending+w.Flagged+w.Rejected {
				lostKeys = append(lostKeys, k)
			}
		}
		t.Errorf("the count table's changelog differs from the ground truth: lost %d, doubled %d\n%s\n%s", clLost, clDoubled, c.diagnoseChangelog(), c.valueHistory(lostKeys, 2))
	}
	if brokerLost != 0 || brokerDup != 0 {
		t.Errorf("the broker lost %d acknowledged trades and holds %d duplicates", brokerLost, brokerDup)
	}
	if c.prod.failed() != 0 {
		t.Errorf("%d trades were not acknowledged: %v", c.prod.failed(), c.prod.firstErr())
	}
	if len(slow) > 0 {
		t.Errorf("takeovers over the target (SIGKILL %v, SIGTERM %v):\n%s", takeoverLimitKill, takeoverLimitTerm, strings.Join(slow, "\n"))
	}
	if len(c.unexpected) > 0 {
		t.Errorf("workers exited without being told to (a restart loop in production):\n%s", strings.Join(c.unexpected, "\n"))
	}
	if len(c.termExits) > 0 {
		t.Errorf("workers did not exit cleanly after SIGTERM:\n%s", strings.Join(c.termExits, "\n"))
	}
}

// keepLogs copies every worker's log to $TRADEFLOW_CHAOS_LOGS, if set,
// before the test's temporary directories are removed.
func (c *chaos) keepLogs() {
	dir := os.Getenv("TRADEFLOW_CHAOS_LOGS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Logf("keep logs: %v", err)
		return
	}
	for i, path := range c.logs {
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, c.names[i]+".log"), b, 0o644)
		}
		if err != nil {
			c.t.Logf("keep logs: %v", err)
		}
	}
	c.t.Logf("worker logs kept in %s", dir)
}

// logPatterns are worker log lines worth counting after a chaos run.
var logPatterns = []struct{ name, substr string }{
	{"consumer-group session retries", "cannot join or set up a session; will retry"},
	{"goka session errors", "error during execution of consumer group"},
	{"count gaps opened (a write lost or late, counted when replayed)", "keeping its offset open"},
	{"goka processor shutdowns on a non-transient error", "non-transient"},
	{"ERROR lines", "level=ERROR"},
}

// scanLogs counts logPatterns in every worker process's log.
func (c *chaos) scanLogs() string {
	counts := make([]int, len(logPatterns))
	for _, path := range c.logs {
		b, err := os.ReadFile(path)
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(string(b), "\n") {
			for i, p := range logPatterns {
				if strings.Contains(line, p.substr) {
					counts[i]++
				}
			}
		}
	}
	var out []string
	for i, p := range logPatterns {
		out = append(out, fmt.Sprintf("%s %d", p.name, counts[i]))
	}
	return strings.Join(out, ", ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… %d more", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

// awaitServed polls w's API until it serves want or within passed, and
// returns what it served last.
func (c *chaos) awaitServed(w *chaosWorker, want map[winKey]tally, within time.Duration) map[winKey]tally {
	deadline := time.Now().Add(within)
	for {
		got := served(c.t, w.http, c.wl.Symbols...)
		if diff(got, want) == "" || time.Now().After(deadline) {
			return got
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// readBack finds where each trade (by tid) is in stocktrade: once, unless
// the broker lost or duplicated it.
func (c *chaos) readBack() map[int][]srcID {
	held := map[int][]srcID{}
	for _, r := range c.readTopic("stocktrade") {
		id := tradeID(r.Value)
		held[id] = append(held[id], srcID{r.Partition, r.Offset})
	}
	return held
}

// chaosProducer writes the workload's trades at an even pace through the
// proxy, with franz-go's idempotent producer, and notes which of them the
// broker acknowledged.
type chaosProducer struct {
	cl   *kgo.Client
	done chan struct{}

	mu      sync.Mutex
	ack     []bool
	nAck    int
	nFail   int
	err     error
	flushed error
}

func startProducer(tb testing.TB, brokers string, w *bigWorkload, over time.Duration) *chaosProducer {
	tb.Helper()
	// AlwaysRetryEOF: while the broker behind the proxy is down or
	// blackholed, the proxy accepts a connection and closes it at once;
	// franz-go takes that first-read EOF for a TLS or SASL mistake and
	// fails the buffered records instead of retrying (seen in a long run
	// on Kafka: 5,250 trades). The test's producer stands for a user's,
	// which would retry them.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.AlwaysRetryEOF())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	p := &chaosProducer{cl: cl, done: make(chan struct{}), ack: make([]bool, len(w.Trades))}
	go func() {
		defer close(p.done)
		began := time.Now()
		for i, r := range w.Trades {
			if i%50 == 0 {
				if ahead := time.Until(began.Add(over * time.Duration(i) / time.Duration(len(w.Trades)))); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
				p.mu.Lock()
				defer p.mu.Unlock()
				if err != nil {
					p.nFail++
					if p.err == nil {
						p.err = err
					}
					return
				}
				p.ack[i] = true
				p.nAck++
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		p.flushed = cl.Flush(ctx)
	}()
	return p
}

func (p *chaosProducer) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *chaosProducer) wait(tb testing.TB) {
	tb.Helper()
	<-p.done
	if p.flushed != nil {
		tb.Fatalf("flush the producer: %v", p.flushed)
	}
}

func (p *chaosProducer) wasAcked(i int) bool { p.mu.Lock(); defer p.mu.Unlock(); return p.ack[i] }
func (p *chaosProducer) acked() int          { p.mu.Lock(); defer p.mu.Unlock(); return p.nAck }
func (p *chaosProducer) failed() int         { p.mu.Lock(); defer p.mu.Unlock(); return p.nFail }
func (p *chaosProducer) firstErr() error     { p.mu.Lock(); defer p.mu.Unlock(); return p.err }
func (p *chaosProducer) summary() string {
	return fmt.Sprintf("%d acknowledged, %d failed", p.acked(), p.failed())
}
