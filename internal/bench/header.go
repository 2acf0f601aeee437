package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/worker"
)

// printHeader prints the machine and the settings, and raises the open
// files limit (RLIMIT_NOFILE) from soft to hard: a worker at 1,000
// partitions holds thousands of LevelDB files.
func (b *bench) printHeader() {
	o := b.o
	b.printf("tradeflow-bench  %s\n", time.Now().UTC().Format(time.RFC3339))
	b.printf("machine   cpu %q, %d cores, GOMAXPROCS %d, %s, memory %s, kernel %s, load %s\n",
		procField("/proc/cpuinfo", "model name"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(),
		procField("/proc/meminfo", "MemTotal"), readTrim("/proc/sys/kernel/osrelease"), readTrim("/proc/loadavg"))
	if q := readTrim("/sys/fs/cgroup/cpu.max"); q != "" {
		b.printf("          cgroup cpu.max %s\n", q)
	}
	b.printf("          open files limit: %s\n", raiseNoFile())
	where := "log in a temp dir (as run keeps it under its data dir)"
	if o.BrokerInMemory {
		where = "log in memory"
	}
	if slices.ContainsFunc(o.Scenarios, func(s string) bool { return s != KStreams }) {
		b.printf("broker    embedded (kfake) on 127.0.0.1, %s, a fresh one per scenario; it runs in this process, so RSS and fds include it\n", where)
	}
	if slices.Contains(o.Scenarios, KStreams) {
		b.printPeerHeader()
	}
	b.printf("settings  trades %d, partitions %d and %d, rate %.0f/s, latency %v, restore %d entries, wrk %v after a %d-trade backlog, seed %d, scenarios %s\n",
		o.Trades, o.Partitions, o.PartitionsLarge, o.Rate, o.LatencyDuration, o.Restore, o.WrkDuration, o.HTTPBacklog, o.Seed, strings.Join(o.Scenarios, ","))
	b.printf("          rules large trade %d, flag rate %.2f; window grace %v, retention %v; backlog event times span the last %v\n",
		o.Rules.LargeTrade, o.Rules.FlagRate, o.Policy.Grace, o.Policy.Retention, backlogSpan)
	b.printf("          workers: worker.New + Run, state store %s, temp data dir, consumers on sarama (kclient.Config.Sarama), one franz-go producer per worker (gokaext.SharedProducer), count changelog writes merged over %v; the bench's input producer: franz-go kgo (murmur2 partitioner, acks=all, idempotent)\n", o.Store, worker.DefaultTimings(20*time.Second).ChangelogLinger)
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

// printPeerHeader prints the kstreams scenario's settings, both sides'.
func (b *bench) printPeerHeader() {
	o := b.o
	t := worker.DefaultTimings(20 * time.Second)
	sc := kclient.Config{ClientID: o.ClientID, Group: kclient.GroupTimings{Session: t.Session, Heartbeat: t.Heartbeat, Rebalance: t.Rebalance}}.Sarama()
	b.printf("kstreams  real broker %s (a separate process: RSS and CPU figures are each side's own process); the scenario deletes and recreates stocktrade, users, tradeflow's topics and groups, and %s* topics\n",
		strings.Join(o.Kafka, ","), peerPrefix)
	b.printf("          order: %d drain runs of each side, alternating, on the same %d-trade backlog; then %d latency runs of each, alternating, at %.0f/s for %v after a %v warm-up\n",
		o.Runs, o.Trades, o.Runs, o.Rate, o.LatencyDuration, latencyWarmup)
	b.printf("          tradeflow: in-process worker.New + Run, Brokers = the real broker, state store %s, topics %d partitions, groups and topics deleted before each run; GOMAXPROCS %d\n",
		o.Store, o.Partitions, runtime.GOMAXPROCS(0))
	b.printf("            sarama (kclient.Config.Sarama): version %s, acks %d, idempotent %v, max open requests %d, compression %s, flush %v / %d bytes, channel buffer %d, fetch default %d bytes, offsets initial %d, session %v, heartbeat %v, rebalance %v\n",
		sc.Version, sc.Producer.RequiredAcks, sc.Producer.Idempotent, sc.Net.MaxOpenRequests, sc.Producer.Compression, sc.Producer.Flush.Frequency,
		sc.Producer.Flush.Bytes, sc.ChannelBufferSize, sc.Consumer.Fetch.Default, sc.Consumer.Offsets.Initial, sc.Consumer.Group.Session.Timeout,
		sc.Consumer.Group.Heartbeat.Interval, sc.Consumer.Group.Rebalance.Timeout)
	b.printf("          Kafka Streams peer: java %s -jar %s %s (+ --bootstrap-servers, --application-id %s<time>-<n>, --output-topic <id>-counts, --threshold %d, --flag-rate %g, --grace-seconds %d; drains add --until-idle 1)\n",
		strings.Join(o.KStreamsJVM, " "), o.KStreamsJar, strings.Join(o.KStreamsArgs, " "), peerPrefix, o.Rules.LargeTrade, o.Rules.FlagRate, int64(o.Policy.Grace/time.Second))
	b.printf("            fixed by the peer: processing.guarantee at_least_once (unless --eos), RocksDB stores, record cache 10 MiB (statestore.cache.max.bytes default; flushed on commit), auto.offset.reset earliest, state dir a fresh temp dir; java: %s\n", javaVersion())
	b.printf("          latency: tradeflow's counts polled over HTTP every %v; the peer's output consumed here with franz-go (long-poll fetch); a trade's latency = first time its symbol's total reached its rank − time handed to the producer\n", pollEvery)
}

// javaVersion is the first line of `java -version`.
func javaVersion() string {
	out, err := exec.Command("java", "-version").CombinedOutput()
	if err != nil {
		return "unknown: " + err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
