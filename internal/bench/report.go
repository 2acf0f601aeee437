package bench

import (
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// results are the figures of the scenarios that finished.
type results struct {
	drain, drainLarge *drainResult
	copy              *copyResult
	latency           *latencyResult
	restore           *restoreResult
	http              *httpResult
	fanout            *fanoutResult
	peer              *peerResult
	usage             []namedUsage
	failed            map[string]bool   // scenarios that returned an error
	skipped           map[string]string // scenarios that could not run, and why
}

type namedUsage struct {
	name string
	usage
}

func (r *results) addUsage(name string, u usage) { r.usage = append(r.usage, namedUsage{name, u}) }

// row is one line of the final table: a figure and its target. atLeast
// says whether the target is a floor (else a ceiling); target 0: none.
type row struct {
	figure  string
	value   float64
	ok      bool // value was measured
	unit    string
	target  float64
	atLeast bool
	note    string // shown instead of a value when there is none
}

func (b *bench) rows() []row {
	r := b.res
	var rows []row
	// add adds a row whose value needs the named scenarios' results; f
	// runs only when all of them are there.
	add := func(figure string, needs []string, have bool, f func() float64, unit string, target float64, atLeast bool) {
		if !slices.ContainsFunc(needs, func(n string) bool { return slices.Contains(b.o.Scenarios, n) }) {
			return // none of its scenarios was chosen
		}
		x := row{figure: figure, ok: have, unit: unit, target: target, atLeast: atLeast}
		if have {
			x.value = f()
		}
		for _, n := range needs {
			switch {
			case r.failed[n]:
				x.note = n + " failed"
			case r.skipped[n] != "":
				x.note = r.skipped[n]
			case !slices.Contains(b.o.Scenarios, n) && x.note == "":
				x.note = n + " not run"
			}
		}
		rows = append(rows, x)
	}
	d, dl, cp, l, h := r.drain, r.drainLarge, r.copy, r.latency, r.http
	p, pl, rate := strconv.Itoa(int(b.o.Partitions)), strconv.Itoa(int(b.o.PartitionsLarge)), strconv.Itoa(int(b.o.Rate))
	both := func(a, b string) []string { return []string{a, b} }
	one := func(a string) []string { return []string{a} }
	add("drain, "+p+" partitions", one(Drain), d != nil, func() float64 { return d.rate() }, "trades/s", 50_000, true)
	add("copy baseline, "+p+" partitions", one(Copy), cp != nil, func() float64 { return cp.rate() }, "records/s", 0, true)
	add("drain ÷ copy baseline", both(Drain, Copy), d != nil && cp != nil, func() float64 { return d.rate() / cp.rate() }, "×", 0.35, true)
	add("drain, "+pl+" partitions", one(DrainLarge), dl != nil, func() float64 { return dl.rate() }, "trades/s", 0, true)
	add("drain "+pl+" ÷ drain "+p, both(Drain, DrainLarge), d != nil && dl != nil, func() float64 { return dl.rate() / d.rate() }, "×", 0.5, true)
	add("peak RSS, drain "+pl+" partitions", one(DrainLarge), dl != nil, func() float64 { return float64(dl.PeakRSS) / (1 << 20) }, "MiB", 1024, false)
	add("latency p50 at "+rate+"/s", one(Latency), l != nil, func() float64 { return msf(l.P50) }, "ms", 0, false)
	add("latency p99 at "+rate+"/s", one(Latency), l != nil, func() float64 { return msf(l.P99) }, "ms", 300, false)
	add("restore", one(Restore), r.restore != nil, func() float64 { return r.restore.rate() }, "entries/s", 100_000, true)
	add("GET /v1/counts/"+wrkSymbol+" under wrk", one(HTTP), h != nil, func() float64 { return h.ReqPerSec }, "req/s", 20_000, true)
	add("GET /v1/counts/"+wrkSymbol+" p99 under wrk", one(HTTP), h != nil, func() float64 { return msf(h.P99) }, "ms", 5, false)
	add("POST /query-stream (pull, "+wrkSymbol+") under wrk", one(HTTP), h != nil, func() float64 { return h.Pull.ReqPerSec }, "req/s", 0, true)
	add("POST /query-stream (pull, "+wrkSymbol+") p99 under wrk", one(HTTP), h != nil, func() float64 { return msf(h.Pull.P99) }, "ms", 0, false)
	fo := r.fanout
	add("drain with "+strconv.Itoa(b.o.FanoutClients)+" change-stream clients ÷ without", one(Fanout), fo != nil, func() float64 { return fo.rate(fo.With) / fo.rate(fo.Before) }, "×", 0, true)
	ks := r.peer
	ksDone := ks != nil && len(ks.TFDrain) > 0 && len(ks.KSDrain) > 0
	ksLat := ks != nil && len(ks.TFLat) > 0 && len(ks.KSLat) > 0
	rss := func(s sideRun) float64 { return float64(s.PeakRSS) }
	add("drain throughput ÷ Kafka Streams (real broker)", one(KStreams), ksDone, func() float64 { return ks.rate(ks.TFDrain) / ks.rate(ks.KSDrain) }, "×", 1.5, true)
	add("steady-state throughput ÷ Kafka Streams (real broker)", one(KStreams), ksDone, func() float64 { return ks.steady(ks.TFDrain) / ks.steady(ks.KSDrain) }, "×", 1.5, true)
	add("drain peak RSS ÷ Kafka Streams (real broker)", one(KStreams), ksDone, func() float64 { return median(ks.TFDrain, rss) / median(ks.KSDrain, rss) }, "×", 0, false)
	add("latency p50 ÷ Kafka Streams at "+rate+"/s", one(KStreams), ksLat, func() float64 {
		return median(ks.TFLat, func(s sideRun) float64 { return msf(s.Lat.P50) }) / median(ks.KSLat, func(s sideRun) float64 { return msf(s.Lat.P50) })
	}, "×", 0, false)
	add("latency p99 ÷ Kafka Streams at "+rate+"/s", one(KStreams), ksLat, func() float64 {
		return median(ks.TFLat, func(s sideRun) float64 { return msf(s.Lat.P99) }) / median(ks.KSLat, func(s sideRun) float64 { return msf(s.Lat.P99) })
	}, "×", 0, false)
	return rows
}

// printTable prints the figures against their targets, then each
// scenario's resource use.
func (b *bench) printTable() {
	b.printf("\n")
	tw := tabwriter.NewWriter(b.o.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tvalue/target\tmeets")
	for _, r := range b.rows() {
		value, target, ratio, meets := r.note, "-", "-", "-"
		if r.ok {
			value = fmt.Sprintf("%s %s", num(r.value), r.unit)
		}
		if r.target > 0 {
			op := "≤"
			if r.atLeast {
				op = "≥"
			}
			target = fmt.Sprintf("%s %s %s", op, num(r.target), r.unit)
			if r.ok {
				ratio = fmt.Sprintf("%.2f", r.value/r.target)
				met := r.value <= r.target
				if r.atLeast {
					met = r.value >= r.target
				}
				meets = yesNo(met)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.figure, value, target, ratio, meets)
	}
	tw.Flush()
	b.printf("\n")
	tw = tabwriter.NewWriter(b.o.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tpeak RSS\tmax open fds\tbroker log at end\tprocess CPU (cores)\tload at end")
	for _, u := range b.res.usage {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.2f\t%s\n", u.name, mib(u.PeakRSS), u.MaxFDs, mib(u.BrokerBytes), u.Cores, u.Load)
	}
	tw.Flush()
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func num(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
