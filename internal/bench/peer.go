package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tradeflow/tradeflow/internal/testkit"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat CPU times (100 on every
// Linux build this runs on).
const clockTick = 100

// peer is one run of the Kafka Streams peer as a subprocess, its stdout
// (the summary line) kept here and its stderr in a file.
type peer struct {
	proc    *testkit.Peer
	started time.Time
	stdout  bytes.Buffer

	mu      sync.Mutex
	peakRSS int64 // bytes, the last VmHWM read before it exited
	cpu     time.Duration
}

// startPeer starts `java JVM... -jar JAR ARGS...` with its stderr in dir
// and samples its VmHWM and CPU time every 100 ms until it exits.
func startPeer(o Options, dir, name string, args []string) (*peer, error) {
	p := &peer{}
	proc, err := testkit.StartPeer(testkit.PeerOptions{
		JVM: o.KStreamsJVM, Jar: o.KStreamsJar, Args: args,
		Log: filepath.Join(dir, name+".stderr"), Stdout: &p.stdout,
	})
	if err != nil {
		return nil, err
	}
	p.proc, p.started = proc, proc.Started
	go p.sample()
	return p, nil
}

func (p *peer) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	pid := strconv.Itoa(p.proc.Pid())
	for {
		if hwm, err := pidStatusKB(pid, "VmHWM"); err == nil {
			cpu, cerr := pidCPU(pid)
			p.mu.Lock()
			p.peakRSS = max(p.peakRSS, hwm<<10)
			if cerr == nil {
				p.cpu = cpu
			}
			p.mu.Unlock()
		}
		select {
		case <-p.proc.Done():
			return
		case <-t.C:
		}
	}
}

// exited returns an error if the process has exited.
func (p *peer) exited() error {
	if exited, err := p.proc.Wait(0); exited {
		return fmt.Errorf("the Kafka Streams peer exited early (%v): %s", err, p.stderrTail())
	}
	return nil
}

// stop sends SIGTERM unless term is false, waits up to wait for the exit
// and returns the summary line.
func (p *peer) stop(term bool, wait time.Duration) (summary, error) {
	if term {
		if err := p.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return summary{}, err
		}
	}
	exited, waitErr := p.proc.Wait(wait)
	if !exited {
		p.proc.Kill() //nolint:errcheck // reported below
		<-p.proc.Done()
		return summary{}, fmt.Errorf("the Kafka Streams peer did not exit within %v; killed: %s", wait, p.stderrTail())
	}
	// The JVM exits with 128 + SIGTERM after its shutdown hooks ran.
	var ee *exec.ExitError
	if waitErr != nil && !(term && errors.As(waitErr, &ee) && ee.ExitCode() == 128+int(syscall.SIGTERM)) {
		return summary{}, fmt.Errorf("the Kafka Streams peer: %w: %s", waitErr, p.stderrTail())
	}
	return parseSummary(p.stdout.String())
}

// usage is the process's peak RSS and CPU as last sampled.
func (p *peer) usage(wall time.Duration) (peakRSS int64, cores float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS, p.cpu.Seconds() / wall.Seconds()
}

// stderrTail is the last three lines of its stderr and the root cause of
// its last stack trace, each cut at 300 bytes: the log itself goes with
// the scenario's temporary directory.
func (p *peer) stderrTail() string {
	lines, err := p.proc.LogTail(3)
	if err != nil {
		return err.Error()
	}
	if cause, err := p.proc.LogCause(); err == nil && cause != "" {
		lines = append(lines, cause)
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	return strings.Join(lines, " | ")
}

// summary is the peer's summary line, "kstreams: k=v k=v ...".
type summary struct {
	raw string
	kv  map[string]string
}

func parseSummary(out string) (summary, error) {
	raw, kv, err := testkit.PeerSummary(out)
	return summary{raw: raw, kv: kv}, err
}

func (s summary) int(key string) int64 {
	n, err := strconv.ParseInt(s.kv[key], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// pidStatusKB reads a "Name: N kB" line of /proc/PID/status.
func pidStatusKB(pid, name string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%s/status", name, pid)
}

// pidCPU is the user + system CPU time of /proc/PID/stat.
func pidCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, 12 and 13 after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// peerDeadline bounds waiting for a run of the peer to exit after its work.
const peerDeadline = 60 * time.Second

// waitExit is for a peer started with --until-idle: it should exit by
// itself shortly after draining.
func (p *peer) waitExit(ctx context.Context) (summary, error) {
	select {
	case <-ctx.Done():
		return p.stop(true, 30*time.Second)
	case <-p.proc.Done():
		return p.stop(false, 0)
	case <-time.After(peerDeadline):
		return p.stop(true, 30*time.Second)
	}
}
