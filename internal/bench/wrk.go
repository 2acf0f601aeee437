package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tradeflow/tradeflow/datagen"
)

// wrkSymbol is the symbol wrk queries.
const wrkSymbol = "ZVV"

// queryStreamLua is the wrk script of the pull query through POST
// /query-stream.
//
//go:embed query-stream.lua
var queryStreamLua []byte

// httpResult is GET /v1/counts/{symbol} under wrk while the pipeline runs,
// then the same symbol's pull query through ksqlDB's POST /query-stream
// (Pull).
type httpResult struct {
	wrkRun
	Pull     wrkRun
	Windows  int   // windows in each answer
	Produced int64 // trades produced at the fixed rate during both wrk runs
	CatchUp  time.Duration
	usage
}

// wrkRun is one wrk run's figures.
type wrkRun struct {
	ReqPerSec  float64
	P99        time.Duration
	Errors     string // wrk's error and non-2xx lines
	WrkCommand string
}

// runHTTP drains a backlog (so queries return a symbol's windows of the
// last hour), then runs wrk against the worker's HTTP API while trades
// arrive at the fixed rate, and afterwards checks the pipeline kept up.
func (b *bench) runHTTP(ctx context.Context) error {
	path, err := exec.LookPath("wrk")
	if err != nil {
		b.res.skipped[HTTP] = "not run: wrk not found"
		b.printf("%-11s NOT RUN: wrk not found in PATH (%v); install the Debian package wrk\n", HTTP, err)
		return nil
	}
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, b.o.Partitions)
	if err != nil {
		return err
	}
	defer c.close()
	g := b.generator(b.o.Seed)
	if err := c.produceUsers(ctx, g); err != nil {
		return err
	}
	if _, err := c.produceBacklog(ctx, g, b.o.HTTPBacklog); err != nil {
		return err
	}
	r, err := c.startWorker("worker")
	if err != nil {
		return err
	}
	res, err := b.measureHTTP(ctx, c, r, g, path)
	res.usage = mon.finish()
	res.BrokerBytes = c.logBytes(ctx)
	if err = errors.Join(err, r.stop()); err != nil {
		return err
	}
	b.res.http = &res
	b.res.addUsage(HTTP, res.usage)
	b.printf("%-11s `%s` (%d windows per answer) while trades arrived at %.0f/s: %.0f req/s, p99 %v%s; `%s`: %.0f req/s, p99 %v%s; %d trades arrived, pipeline caught up %v after wrk ended; %v\n",
		HTTP, res.WrkCommand, res.Windows, b.o.Rate, res.ReqPerSec, ms(res.P99), res.Errors,
		res.Pull.WrkCommand, res.Pull.ReqPerSec, ms(res.Pull.P99), res.Pull.Errors, res.Produced, res.CatchUp.Round(time.Millisecond), res.usage)
	return nil
}

func (b *bench) measureHTTP(ctx context.Context, c *cluster, r *running, g *datagen.Generator, wrk string) (httpResult, error) {
	var res httpResult
	if _, err := r.waitVisible(ctx, b.o.HTTPBacklog, b.symbols()); err != nil {
		return res, fmt.Errorf("backlog: %w", err)
	}
	ws, err := r.w.Counts.Windows(wrkSymbol, 0, 1<<62)
	if err != nil {
		return res, err
	}
	res.Windows = len(ws)
	addr, stopHTTP, err := serve(r.w.Handler())
	if err != nil {
		return res, err
	}
	defer stopHTTP()
	pctx, cancel := context.WithCancel(ctx)
	produced := make(chan error, 1)
	go func() {
		var err error
		res.Produced, err = c.pace(pctx, g, b.o.Rate, 24*time.Hour, nil)
		produced <- err
	}()
	script, err := os.CreateTemp("", "tradeflow-query-stream-*.lua")
	if err == nil {
		defer os.Remove(script.Name())
		_, err = script.Write(queryStreamLua)
		err = errors.Join(err, script.Close())
	}
	if err != nil {
		cancel()
		return res, fmt.Errorf("wrk script: %w", err)
	}
	common := []string{"-t" + strconv.Itoa(b.o.WrkThreads), "-c" + strconv.Itoa(b.o.WrkConnections), "-d" + strconv.Itoa(int(b.o.WrkDuration.Seconds()+0.5)) + "s", "--latency"}
	werr := runWrk(ctx, wrk, &res.wrkRun, append(common, "http://"+addr+"/v1/counts/"+wrkSymbol)...)
	if werr == nil {
		werr = runWrk(ctx, wrk, &res.Pull, append(common, "-s", script.Name(), "http://"+addr+"/query-stream")...)
	}
	cancel()
	ended := time.Now()
	if err := <-produced; err != nil && !errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("producing during wrk: %w", err)
	}
	if werr != nil {
		return res, werr
	}
	if _, err := r.waitVisible(ctx, b.o.HTTPBacklog+res.Produced, b.symbols()); err != nil {
		return res, fmt.Errorf("after wrk: %w", err)
	}
	res.CatchUp = time.Since(ended)
	return res, nil
}

// runWrk runs wrk with args into res.
func runWrk(ctx context.Context, wrk string, res *wrkRun, args ...string) error {
	res.WrkCommand = "wrk " + strings.Join(args, " ")
	out, err := exec.CommandContext(ctx, wrk, args...).CombinedOutput()
	if err == nil {
		err = parseWrk(string(out), res)
	}
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", res.WrkCommand, err, out)
	}
	return nil
}

// parseWrk reads Requests/sec, the 99% latency and any errors from wrk's
// --latency output.
func parseWrk(out string, res *wrkRun) error {
	var haveRate, haveP99 bool
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return fmt.Errorf("requests/sec %q: %w", f[1], err)
			}
			res.ReqPerSec, haveRate = v, true
		case len(f) == 2 && f[0] == "99%":
			d, err := wrkDuration(f[1])
			if err != nil {
				return err
			}
			res.P99, haveP99 = d, true
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx") || strings.HasPrefix(strings.TrimSpace(line), "Socket errors"):
			res.Errors += "; " + strings.TrimSpace(line)
		}
	}
	if !haveRate || !haveP99 {
		return errors.New("no Requests/sec or 99% line in wrk's output")
	}
	return nil
}

// wrkDuration parses wrk's latency units: us, ms, s, m.
func wrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk latency %q: %w", s, err)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk latency %q: unknown unit", s)
}
