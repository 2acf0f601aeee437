// The Kafka Streams peer (interop/kstreams) as a child process, started
// the same way by the integration test that compares its counts with
// tradeflow's and by the benchmark that compares their speed: its java
// command line, its log, waiting for its exit with a bound, its summary.

package testkit

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// PeerOptions say how StartPeer runs the peer.
type PeerOptions struct {
	JVM  []string // java options before -jar
	Jar  string   // the peer's runnable jar
	Args []string // the peer's own options
	// Log is the file that gets the peer's stderr, and its stdout unless
	// Stdout is set; it is created (or truncated).
	Log    string
	Stdout io.Writer
	// Group starts the peer in a process group of its own, which Kill
	// then kills as a whole.
	Group bool
}

// Peer is a running (or exited) peer.
type Peer struct {
	Cmd     *exec.Cmd
	Started time.Time // taken just before the process was started
	Log     string    // PeerOptions.Log
	group   bool
	done    chan struct{} // closed once the process has exited and its log is closed
	err     error         // cmd.Wait's, set before done is closed
}

// StartPeer starts `java JVM... -jar JAR ARGS...` as o says.
func StartPeer(o PeerOptions) (*Peer, error) {
	argv := append(append(slices.Clone(o.JVM), "-jar", o.Jar), o.Args...)
	p := &Peer{Cmd: exec.Command("java", argv...), Log: o.Log, group: o.Group, done: make(chan struct{})}
	logf, err := os.Create(o.Log)
	if err != nil {
		return nil, err
	}
	p.Cmd.Stdout, p.Cmd.Stderr = logf, logf
	if o.Stdout != nil {
		p.Cmd.Stdout = o.Stdout
	}
	if o.Group {
		p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	p.Started = time.Now()
	if err := p.Cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start the Kafka Streams peer: %w", err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Peer) Pid() int { return p.Cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Wait waits up to within (not at all for 0) for the process to exit, and
// reports whether it has, with its exit error (nil for status 0).
func (p *Peer) Wait(within time.Duration) (exited bool, err error) {
	if within > 0 {
		t := time.NewTimer(within)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		}
	}
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Signal sends sig to the process; os.ErrProcessDone once it has exited.
func (p *Peer) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Kill sends SIGKILL to the process, or to its group if it has one.
func (p *Peer) Kill() error {
	if p.group {
		return syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	}
	return p.Cmd.Process.Kill()
}

// LogTail is the last n lines of the log.
func (p *Peer) LogTail(n int) ([]string, error) {
	lines, err := p.logLines()
	if err != nil {
		return nil, err
	}
	return lines[max(0, len(lines)-n):], nil
}

// LogCause is the last "Caused by:" line of the log, the root cause of
// the last Java stack trace in it, or "" if there is none. A JVM's last
// lines are often "... 30 more" and a generic "thread has died"; the
// cause is what names the fault.
func (p *Peer) LogCause() (string, error) {
	lines, err := p.logLines()
	if err != nil {
		return "", err
	}
	cause := ""
	for _, l := range lines {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "Caused by: ") {
			cause = l
		}
	}
	return cause, nil
}

// logLines is the log's lines, without the blank ones at its ends.
func (p *Peer) logLines() ([]string, error) {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n"), nil
}

// summaryPrefix starts the peer's summary line on its stdout; its error
// lines on stderr start "kstreams: " too.
const summaryPrefix = "kstreams: trades="

// PeerSummary parses the peer's summary line, "kstreams: trades=N k=v ...",
// out of its output: the text after "kstreams: ", and its fields.
func PeerSummary(out string) (raw string, fields map[string]string, err error) {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, summaryPrefix) {
			continue
		}
		raw = strings.TrimPrefix(line, "kstreams: ")
		fields = map[string]string{}
		for _, f := range strings.Fields(raw) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		return raw, fields, nil
	}
	return "", nil, fmt.Errorf("no summary line in the peer's output %q", out)
}
