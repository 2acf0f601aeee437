// Command tradeflow-bench runs tradeflow's benchmark scenarios against the
// embedded broker (and, with -kafka, against a real Kafka beside the Kafka
// Streams peer) and prints their figures: see BENCHMARKS.md. It is a
// command of its own so that the benchmark's code stays out of the
// tradeflow binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// settings are the TRADEFLOW_* variables the benchmark reads, with
// tradeflow's names and defaults.
type settings struct {
	StateStore      string        `envconfig:"STATE_STORE" default:"memory"`
	ClientID        string        `envconfig:"CLIENT_ID" default:"tradeflow"`
	LargeTrade      int64         `envconfig:"LARGE_TRADE" default:"100000"`
	FlagRate        float64       `envconfig:"FLAG_RATE" default:"0.30"`
	WindowGrace     time.Duration `envconfig:"WINDOW_GRACE" default:"1h"`
	WindowRetention time.Duration `envconfig:"WINDOW_RETENTION" default:"24h"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	var cfg settings
	if err := envconfig.Process("TRADEFLOW", &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "tradeflow-bench: invalid configuration:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "tradeflow-bench: TRADEFLOW_LOG_LEVEL:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := runBench(ctx, cfg, log, args); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		log.Error("tradeflow-bench stopped", "err", err)
		return 1
	}
	return 0
}

// usageError is a flag the command could not parse; flag already said
// why on stderr.
type usageError struct{ error }
