// Tests of the helpers themselves: a wrong helper would make the
// integration tests and the benchmark agree with each other and be wrong.

package testkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("odd: %v", got)
	}
	if got := Median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("even: %v, want the mean of 2 and 3 in integer nanoseconds, 2", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("even floats: %v", got)
	}
	if got := Median[int64](nil); got != 0 {
		t.Errorf("none: %v", got)
	}
}

// The summary is the "kstreams: trades=" line, not one of the peer's
// "kstreams: ..." error lines a combined log holds before it.
func TestPeerSummary(t *testing.T) {
	raw, f, err := PeerSummary("starting\nkstreams: cannot check the group's lag: x=1\nkstreams: trades=10 windows=3\n")
	if err != nil || raw != "trades=10 windows=3" || f["trades"] != "10" || f["windows"] != "3" || f["x"] != "" {
		t.Fatalf("%q %v %v", raw, f, err)
	}
	if _, _, err := PeerSummary("nothing"); err == nil {
		t.Fatal("no summary line accepted")
	}
}

// Served escapes the symbol and refuses an answer that is not a window's.
func TestServed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/v1/counts/A%2FB":
			w.Write([]byte(`{"symbol":"A/B","windows":[{"windowStart":60000,"windowEnd":120000,"completed":1,"pending":2,"flagged":3,"rejected":4}]}`))
		case "/v1/counts/BAD":
			w.Write([]byte(`{"symbol":"BAD","windows":[{"windowStart":60000,"windowEnd":60001}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	got, err := Served(context.Background(), srv.Client(), addr, []string{"A/B"})
	if err != nil || got[Window{"A/B", 60000}] != (Tally{1, 2, 3, 4}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := Served(context.Background(), srv.Client(), addr, []string{"BAD"}); err == nil {
		t.Fatal("a window that is not a minute accepted")
	}
	if _, err := Served(context.Background(), srv.Client(), addr, []string{"NONE"}); err == nil {
		t.Fatal("a 404 accepted")
	}
}

// A peer that cannot start its jar exits by itself: Wait sees the exit and
// its status, LogTail the JVM's complaint.
func TestStartPeerExit(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java")
	}
	p, err := StartPeer(PeerOptions{JVM: []string{"-Xmx64m"}, Jar: filepath.Join(t.TempDir(), "missing.jar"),
		Log: filepath.Join(t.TempDir(), "peer.log"), Group: true})
	if err != nil {
		t.Fatal(err)
	}
	exited, err := p.Wait(time.Minute)
	if !exited || err == nil {
		t.Fatalf("exited %v, err %v: want an exit with a non-zero status", exited, err)
	}
	if exited, _ := p.Wait(0); !exited {
		t.Fatal("Wait(0) after the exit says it is running")
	}
	lines, err := p.LogTail(5)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "missing.jar") {
		t.Fatalf("log tail %q, %v: want the JVM's error naming the jar", lines, err)
	}
}

// LogCause finds the root cause of the last stack trace, not the tail's
// "... N more".
func TestPeerLogCause(t *testing.T) {
	log := filepath.Join(t.TempDir(), "peer.log")
	trace := "ERROR first\nCaused by: java.io.IOException: old\n" +
		"ERROR Global thread has died\norg.apache.kafka.streams.errors.StreamsException: wrapped\n" +
		"\tat a.b(C.java:1)\nCaused by: org.apache.kafka.common.errors.TimeoutException: outer\n" +
		"\t... 3 more\nCaused by: org.apache.kafka.common.errors.TimeoutException: root\n\t... 30 more\n"
	if err := os.WriteFile(log, []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Peer{Log: log}
	got, err := p.LogCause()
	if want := "Caused by: org.apache.kafka.common.errors.TimeoutException: root"; err != nil || got != want {
		t.Fatalf("LogCause = %q, %v; want %q", got, err, want)
	}
	if err := os.WriteFile(log, []byte("no trace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := p.LogCause(); err != nil || got != "" {
		t.Fatalf("LogCause without a trace = %q, %v; want empty", got, err)
	}
}
