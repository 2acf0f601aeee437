// Package integration runs tradeflow's binary over TCP against a real
// Kafka-protocol broker: the embedded one (`tradeflow broker`, started per
// test), or the cluster named by TRADEFLOW_TEST_BROKERS (real Apache Kafka
// in CI), with franz-go's kgo as an independent client whose default
// partitioner is Java's (murmur2).
package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

var binary string // the tradeflow binary, built once

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tradeflow-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tradeflow")
	build := exec.Command("go", "build", "-o", binary, "../cmd/tradeflow")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tradeflow:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// externalBrokers names a real cluster to test against instead of the
// embedded broker.
func externalBrokers() string { return os.Getenv("TRADEFLOW_TEST_BROKERS") }

// requireTool skips when an external tool is absent, unless
// TRADEFLOW_REQUIRE_TOOLS is set (make test sets it), so CI fails instead.
func requireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("TRADEFLOW_REQUIRE_TOOLS") != "" {
			tb.Fatalf("%s is required (TRADEFLOW_REQUIRE_TOOLS is set) but not found: %v", name, err)
		}
		tb.Skipf("%s not found; set TRADEFLOW_REQUIRE_TOOLS=1 to make this a failure", name)
	}
	return p
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a tradeflow process started by a test.
type proc struct {
	tb   testing.TB
	cmd  *exec.Cmd
	log  string
	done chan error
	HTTP string // its HTTP address
}

// start runs `tradeflow <command>` with env (KEY=VALUE) added, logging as
// text (the tests read the logs for level=ERROR; a test may set the
// format).
func start(tb testing.TB, command string, env ...string) *proc {
	tb.Helper()
	logf, err := os.CreateTemp(tb.TempDir(), command+"-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(binary, command)
	cmd.Env = append(append(os.Environ(), "TRADEFLOW_LOG_FORMAT=text"), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{tb: tb, cmd: cmd, log: logf.Name(), done: make(chan error, 1)}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "TRADEFLOW_HTTP_ADDR="); ok {
			p.HTTP = v
		}
	}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	tb.Cleanup(func() {
		p.kill()
		if tb.Failed() {
			p.dumpLog()
		}
	})
	return p
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // may be gone already
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// mustRun fails the test at once if the process has exited: a long wait
// for counts would otherwise outlive a crashed worker.
func (p *proc) mustRun() {
	p.tb.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for kill, at the test's end
		p.dumpLog()
		p.tb.Fatalf("%s exited while it should be running: %v", p.cmd.Args[1], err)
	default:
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.tb.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for kill, at the test's end
		if err != nil {
			p.dumpLog()
			p.tb.Fatalf("%s exited with %v after SIGTERM", p.cmd.Args[1], err)
		}
	case <-time.After(60 * time.Second):
		p.dumpLog()
		p.tb.Fatalf("%s did not stop within 60s of SIGTERM", p.cmd.Args[1])
	}
}

func (p *proc) dumpLog() {
	f, err := os.Open(p.log)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	p.tb.Logf("--- last lines of %s %s:\n%s", p.cmd.Args[1], p.log, strings.Join(lines, "\n"))
}

// cluster is a broker for one test, empty of tradeflow's topics and groups.
type cluster struct {
	Brokers string
	Admin   *kadm.Client
	Client  *kgo.Client
	Broker  *proc // the `tradeflow broker` started for the test; nil on an external cluster
}

// newCluster starts `tradeflow broker` on a free port, or cleans the
// external cluster named by TRADEFLOW_TEST_BROKERS.
func newCluster(tb testing.TB) *cluster {
	tb.Helper()
	brokers := externalBrokers()
	var broker *proc
	if brokers == "" {
		addr := freeAddr(tb)
		broker = start(tb, "broker", "TRADEFLOW_EMBEDDED_ADDR="+addr, "TRADEFLOW_DATA_DIR="+tb.TempDir())
		waitPort(tb, addr)
		brokers = addr
	}
	c := clientFor(tb, brokers)
	c.Broker = broker
	if broker == nil {
		c.clean(tb)
	}
	return c
}

// clientFor connects a kgo client and an admin to brokers.
func clientFor(tb testing.TB, brokers string) *cluster {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return &cluster{Brokers: brokers, Admin: kadm.NewClient(cl), Client: cl}
}

// tradeflowTopics are every topic tradeflow creates or reads, and the
// output of the Kafka Streams peer.
var tradeflowTopics = []string{"stocktrade", "users", "user_trades", "trade-settlements",
	"tradeflow-windows", "tradeflow-settle-loop", "tradeflow-count-table", "tradeflow-dead-letters", "kstreams-counts"}

// kstreamsTopicPrefix starts the internal topics of the Kafka Streams peer
// as the tests run it (application ids "tradeflow-kstreams-test-...").
const kstreamsTopicPrefix = "tradeflow-kstreams-"

// clean deletes tradeflow's topics and groups from a shared cluster and
// waits until they are gone.
func (c *cluster) clean(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	groups, err := c.Admin.ListGroups(ctx)
	if err != nil {
		tb.Fatalf("list groups: %v", err)
	}
	var ours []string
	for _, g := range groups.Groups() {
		if strings.HasPrefix(g, "tradeflow") {
			ours = append(ours, g)
		}
	}
	if len(ours) > 0 {
		// A worker of the test before that did not leave its groups is a
		// member until its session times out; a group is deleted once
		// empty.
		for ctx.Err() == nil {
			described, err := c.Admin.DescribeGroups(ctx, ours...)
			members := 0
			for _, g := range described {
				members += len(g.Members)
			}
			if err == nil && members == 0 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if _, err := c.Admin.DeleteGroups(ctx, ours...); err != nil {
			tb.Fatalf("delete groups: %v", err)
		}
	}
	topics := append([]string{}, tradeflowTopics...)
	td, err := c.Admin.ListTopics(ctx)
	if err != nil {
		tb.Fatalf("list topics: %v", err)
	}
	for _, t := range td.Names() {
		if strings.HasPrefix(t, kstreamsTopicPrefix) {
			topics = append(topics, t)
		}
	}
	c.deleteTopics(ctx, tb, topics...)
}

// deleteTopics deletes topics and waits until the cluster no longer lists
// them.
func (c *cluster) deleteTopics(ctx context.Context, tb testing.TB, topics ...string) {
	tb.Helper()
	if err := testkit.DeleteTopics(ctx, c.Admin, topics...); err != nil {
		tb.Fatal(err)
	}
}

// createTopic creates topic with n partitions and replication 1.
func (c *cluster) createTopic(tb testing.TB, topic string, n int32, configs map[string]*string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Admin.CreateTopic(ctx, n, 1, configs, topic)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		tb.Fatalf("create %s: %v", topic, err)
	}
	// A real broker takes a moment to give hundreds of partitions a
	// leader; a producer that asks before then is told the topic is
	// unknown.
	for ctx.Err() == nil {
		td, err := c.Admin.ListTopics(ctx, topic)
		if err == nil && td.Error() == nil {
			led := 0
			for _, p := range td[topic].Partitions {
				if p.Err == nil && p.Leader >= 0 {
					led++
				}
			}
			if led == int(n) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("create %s: not every partition has a leader after 30s", topic)
}

// produce writes records with the client's default (Java) partitioner and
// waits for every acknowledgement.
func (c *cluster) produce(tb testing.TB, recs ...*kgo.Record) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		tb.Fatalf("produce: %v", err)
	}
}

func waitPort(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("nothing listens on %s after 30s", addr)
}

// startWorker runs `tradeflow worker` against the cluster and waits until
// /readyz answers 200.
func (c *cluster) startWorker(tb testing.TB, dataDir string, env ...string) *proc {
	tb.Helper()
	p := c.launchWorker(tb, dataDir, env...)
	p.waitReady(tb, 90*time.Second)
	return p
}

// liveRun starts `tradeflow run` on its own embedded broker and data dir,
// generating 200 trades/s, with env added, and waits until it is ready.
func liveRun(tb testing.TB, env ...string) *proc {
	tb.Helper()
	p := start(tb, "run", append([]string{"TRADEFLOW_EMBEDDED_ADDR=" + freeAddr(tb), "TRADEFLOW_HTTP_ADDR=" + freeAddr(tb),
		"TRADEFLOW_DATA_DIR=" + tb.TempDir(), "TRADEFLOW_DATAGEN_RATE=200"}, env...)...)
	p.waitReady(tb, 90*time.Second)
	return p
}

// launchWorker runs `tradeflow worker` against the cluster.
func (c *cluster) launchWorker(tb testing.TB, dataDir string, env ...string) *proc {
	tb.Helper()
	env = append([]string{
		"TRADEFLOW_BROKERS=" + c.Brokers,
		"TRADEFLOW_HTTP_ADDR=" + freeAddr(tb),
		"TRADEFLOW_DATA_DIR=" + dataDir,
		"TRADEFLOW_REPLICATION=1",
	}, env...)
	return start(tb, "worker", env...)
}

func (p *proc) waitReady(tb testing.TB, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			tb.Fatalf("%s exited before it was ready: %v", p.cmd.Args[1], err)
		default:
		}
		resp, err := http.Get("http://" + p.HTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("%s not ready within %v", p.cmd.Args[1], within)
}

// getJSON decodes GET http://addr/path into v and returns the status.
func getJSON(tb testing.TB, addr, path string, v any) int {
	tb.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}
