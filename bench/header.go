package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// printHeader prints the machine and the settings, and raises the open
// files limit (RLIMIT_NOFILE) from soft to hard: a worker at 1,000
// partitions holds thousands of LevelDB files.
func (b *bench) printHeader() {
	o := b.o
	b.printf("tradeflow bench  %s\n", time.Now().UTC().Format(time.RFC3339))
	b.printf("machine   cpu %q, %d cores, GOMAXPROCS %d, %s, memory %s, kernel %s, load %s\n",
		procField("/proc/cpuinfo", "model name"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(),
		procField("/proc/meminfo", "MemTotal"), readTrim("/proc/sys/kernel/osrelease"), readTrim("/proc/loadavg"))
	if q := readTrim("/sys/fs/cgroup/cpu.max"); q != "" {
		b.printf("          cgroup cpu.max %s\n", q)
	}
	b.printf("          open files limit: %s\n", raiseNoFile())
	where := "in memory"
	if o.BrokerOnDisk {
		where = "log in a temp dir"
	}
	b.printf("broker    embedded (kfake) on 127.0.0.1, %s, a fresh one per scenario; it runs in this process, so RSS and fds include it\n", where)
	b.printf("settings  trades %d, partitions %d and %d, rate %.0f/s, latency %v, restore %d entries, wrk %v after a %d-trade backlog, seed %d, scenarios %s\n",
		o.Trades, o.Partitions, o.PartitionsLarge, o.Rate, o.LatencyDuration, o.Restore, o.WrkDuration, o.HTTPBacklog, o.Seed, strings.Join(o.Scenarios, ","))
	b.printf("          rules large trade %d, flag rate %.2f; window grace %v, retention %v; backlog event times span the last %v\n",
		o.Rules.LargeTrade, o.Rules.FlagRate, o.Policy.Grace, o.Policy.Retention, backlogSpan)
	b.printf("          workers: worker.New + Run, state store %s, temp data dir, sarama config processor.SaramaConfig; producer: franz-go kgo (murmur2 partitioner, acks=all, idempotent)\n", o.Store)
	b.printf("          per scenario: peak RSS = VmHWM after clear_refs at its start; fds sampled every 100 ms; process CPU = CPU time ÷ wall time of the whole scenario; load = 1-min load average at its end (the machine is shared)\n\n")
}

// raiseNoFile sets the soft open-files limit to the hard one and says how
// that went.
func raiseNoFile() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "unknown: " + err.Error()
	}
	if l.Cur >= l.Max {
		return "soft = hard = " + itoa(int64(l.Max)) + " (already raised; Go raises it at start-up)"
	}
	was := l.Cur
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "soft " + itoa(int64(was)) + ", hard " + itoa(int64(l.Max)) + "; raising failed: " + err.Error()
	}
	return "raised soft " + itoa(int64(was)) + " to hard " + itoa(int64(l.Max))
}

// procField is the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
