package bench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// usage is what one scenario cost the process.
type usage struct {
	PeakRSS     int64 // bytes, VmHWM
	RSSNote     string
	MaxFDs      int
	BrokerBytes int64   // the embedded broker's log when the scenario ended
	Cores       float64 // CPU time this process used ÷ wall time: how busy it kept the machine
	Load        string  // the machine's 1-minute load average at the end: other work shares the cores
}

func (u usage) String() string {
	s := fmt.Sprintf("peak RSS %s, max open fds %d, broker log %s, process CPU %.2f cores, load %s", mib(u.PeakRSS), u.MaxFDs, mib(u.BrokerBytes), u.Cores, u.Load)
	if u.RSSNote != "" {
		s += " (" + u.RSSNote + ")"
	}
	return s
}

// monitor follows the process's peak RSS and open file descriptors during
// one scenario.
type monitor struct {
	start    time.Time
	cpu      time.Duration
	resetErr error
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	maxFDs   int
}

// startMonitor returns what the previous scenario left to the OS, resets
// the kernel's peak RSS (VmHWM) to the current RSS, and samples the open
// file descriptors every 100 ms.
func startMonitor() *monitor {
	runtime.GC()
	debug.FreeOSMemory()
	m := &monitor{stop: make(chan struct{}), start: time.Now(), cpu: cpuTime()}
	m.resetErr = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m.sample()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *monitor) sample() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	m.mu.Lock()
	m.maxFDs = max(m.maxFDs, len(ents))
	m.mu.Unlock()
}

// close stops sampling; a scenario defers it for when it fails early.
func (m *monitor) close() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
}

// finish stops sampling and reads the peak RSS.
func (m *monitor) finish() usage {
	m.sample()
	m.close()
	u := usage{MaxFDs: m.maxFDs, Cores: (cpuTime() - m.cpu).Seconds() / time.Since(m.start).Seconds()}
	if f := strings.Fields(readTrim("/proc/loadavg")); len(f) > 0 {
		u.Load = f[0]
	}
	hwm, err := statusKB("VmHWM")
	switch {
	case err != nil:
		u.RSSNote = "VmHWM unreadable: " + err.Error()
	case m.resetErr != nil:
		u.RSSNote = "peak since process start: clear_refs failed: " + m.resetErr.Error()
	}
	u.PeakRSS = hwm << 10
	return u
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statusKB reads a "Name: N kB" line of /proc/self/status.
func statusKB(name string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", name)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
