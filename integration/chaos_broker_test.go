package integration

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chaosBroker is the one broker a chaos run stops and starts again: the
// embedded one (`tradeflow broker`, kfake) or, with
// TRADEFLOW_CHAOS_KAFKA=1, a real Apache Kafka (interop/kafka). Either
// advertises the fault proxy's address, so every client goes through it.
type chaosBroker interface {
	// start starts the broker on its address and data, and returns once
	// it takes connections.
	start()
	// stop sends sig and returns once the process is gone.
	stop(sig syscall.Signal)
	name() string
}

func newChaosBroker(t *testing.T, addr, advertised string) chaosBroker {
	if os.Getenv("TRADEFLOW_CHAOS_KAFKA") == "1" {
		return newKafkaBroker(t, addr, advertised)
	}
	return &embeddedBroker{t: t, addr: addr, advertised: advertised, dir: t.TempDir()}
}

// embeddedBroker is `tradeflow broker` with its log on disk.
type embeddedBroker struct {
	t                *testing.T
	addr, advertised string
	dir              string
	p                *proc
}

func (b *embeddedBroker) name() string { return "embedded broker (kfake)" }

func (b *embeddedBroker) start() {
	b.p = start(b.t, "broker", "TRADEFLOW_EMBEDDED_ADDR="+b.addr,
		"TRADEFLOW_EMBEDDED_ADVERTISED_ADDR="+b.advertised, "TRADEFLOW_DATA_DIR="+b.dir)
	waitPort(b.t, b.addr)
}

func (b *embeddedBroker) stop(sig syscall.Signal) {
	if err := syscall.Kill(-b.p.cmd.Process.Pid, sig); err != nil {
		b.t.Fatalf("%v broker: %v", sig, err)
	}
	select {
	case err := <-b.p.done:
		b.p.done <- err // for the harness's cleanup
	case <-time.After(30 * time.Second):
		b.t.Fatalf("broker did not exit within 30s of %v", sig)
	}
}

// kafkaBroker is a single-node Apache Kafka (KRaft) run by
// interop/kafka/kafka-up.sh in a directory of the test's; a restart keeps
// its data (KAFKA_RESTART=1).
type kafkaBroker struct {
	t   *testing.T
	dir string
	env []string
}

func newKafkaBroker(t *testing.T, addr, advertised string) *kafkaBroker {
	_, port, _ := net.SplitHostPort(addr)
	cport := lowFreePort(t)
	b := &kafkaBroker{t: t, dir: filepath.Join(t.TempDir(), "kafka")}
	b.env = []string{
		"KAFKA_DIR=" + b.dir, "KAFKA_PORT=" + port, "KAFKA_CONTROLLER_PORT=" + cport,
		"KAFKA_HEAP_OPTS=-Xmx768m -Xms768m",
		// Clients learn the proxy's address; the controller listener is
		// not proxied.
		fmt.Sprintf("KAFKA_EXTRA_CONFIG=advertised.listeners=PLAINTEXT://%s,CONTROLLER://127.0.0.1:%s", advertised, cport),
	}
	t.Cleanup(func() {
		if t.Failed() {
			if tail, err := exec.Command("tail", "-n", "60", filepath.Join(b.dir, "logs", "server.log")).Output(); err == nil {
				t.Logf("kafka server.log tail:\n%s", tail)
			}
		}
		b.script("kafka-down.sh")
	})
	return b
}

func (b *kafkaBroker) name() string { return "Apache Kafka (interop/kafka)" }

func (b *kafkaBroker) script(name string, env ...string) {
	cmd := exec.Command(filepath.Join("..", "interop", "kafka", name))
	cmd.Env = append(append(os.Environ(), b.env...), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (b *kafkaBroker) start() {
	if _, err := os.Stat(filepath.Join(b.dir, "server.properties")); err == nil {
		b.script("kafka-up.sh", "KAFKA_RESTART=1")
		return
	}
	b.script("kafka-up.sh")
}

func (b *kafkaBroker) stop(sig syscall.Signal) {
	raw, err := os.ReadFile(filepath.Join(b.dir, "kafka.pid"))
	if err != nil {
		b.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		b.t.Fatalf("kafka.pid: %v", err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		b.t.Fatalf("%v Kafka: %v", sig, err)
	}
	// Not our child (kafka-up.sh detaches it): poll until it is gone.
	deadline := time.Now().Add(60 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			b.t.Fatalf("Kafka did not exit within 60s of %v", sig)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lowFreePort returns a free port below Linux's ephemeral range
// (32768-60999): a broker that restarts on a port in that range can find
// it taken by a client connection's local port ("Address already in use").
func lowFreePort(tb testing.TB) string {
	tb.Helper()
	for range 200 {
		port := strconv.Itoa(20000 + rand.IntN(10000))
		if l, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			l.Close()
			return port
		}
	}
	tb.Fatal("no free port in 20000-29999")
	return ""
}
