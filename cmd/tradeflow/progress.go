package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tradeflow/tradeflow/datagen"
)

// datagenProgress shows how far `tradeflow datagen` is: a progress bar on a
// terminal, a log line every few seconds otherwise.
func datagenProgress(log *slog.Logger, out *os.File, count int64) datagen.Progress {
	if term.IsTerminal(int(out.Fd())) {
		max := count
		if max == 0 {
			max = -1 // until interrupted: a spinner with the count
		}
		return &barProgress{bar: progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("datagen"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("trades"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { _, _ = out.WriteString("\n") }),
		), log: log}
	}
	return &logProgress{log: log, count: count, every: 5 * time.Second, last: time.Now()}
}

type barProgress struct {
	bar *progressbar.ProgressBar
	log *slog.Logger
}

func (p *barProgress) Sent(n int64) { _ = p.bar.Set64(n) }

func (p *barProgress) Done(n int64, took time.Duration) {
	_ = p.bar.Set64(n)
	_ = p.bar.Finish()
	logDone(p.log, n, took)
}

// logProgress logs the trades sent and the rate since the last line.
type logProgress struct {
	log   *slog.Logger
	count int64
	every time.Duration
	last  time.Time
	lastN int64
}

func (p *logProgress) Sent(n int64) {
	if el := time.Since(p.last); el >= p.every {
		p.log.Info("datagen progress", "trades", n, "of", p.count, "per_second", int64(float64(n-p.lastN)/el.Seconds()))
		p.last, p.lastN = time.Now(), n
	}
}

func (p *logProgress) Done(n int64, took time.Duration) { logDone(p.log, n, took) }

func logDone(log *slog.Logger, n int64, took time.Duration) {
	log.Info("datagen done", "trades", n, "took", took.Round(time.Millisecond), "per_second", int64(float64(n)/took.Seconds()))
}
