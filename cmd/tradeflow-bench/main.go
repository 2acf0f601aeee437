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
	"strings"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/tradeflow/tradeflow/internal/bench"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/settlement"
	"github.com/tradeflow/tradeflow/worker"
)

// settings are the TRADEFLOW_* variables the benchmark reads, with
// tradeflow's names and defaults.
type settings struct {
	StateStore      string        `envconfig:"STATE_STORE" default:"memory"`
	Count           string        `envconfig:"COUNT" default:"fused"`
	ClientID        string        `envconfig:"CLIENT_ID" default:"tradeflow"`
	LargeTrade      int64         `envconfig:"LARGE_TRADE" default:"100000"`
	FlagRate        float64       `envconfig:"FLAG_RATE" default:"0.30"`
	WindowGrace     time.Duration `envconfig:"WINDOW_GRACE" default:"1h"`
	WindowRetention time.Duration `envconfig:"WINDOW_RETENTION" default:"24h"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info"`
}

// validate checks the settings as tradeflow checks the same ones, naming
// the variable at fault.
func (s settings) validate() error {
	var errs []error
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("TRADEFLOW_LOG_LEVEL: %q: want debug, info, warn or error", s.LogLevel))
	}
	if err := store.Kind(s.StateStore).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("TRADEFLOW_STATE_STORE: %w", err))
	}
	if s.Count != string(worker.CountFused) && s.Count != string(worker.CountHop) {
		errs = append(errs, fmt.Errorf("TRADEFLOW_COUNT: %q: want fused or hop", s.Count))
	}
	vars := map[string]string{"FlagRate": "FLAG_RATE", "LargeTrade": "LARGE_TRADE", "Grace": "WINDOW_GRACE", "Retention": "WINDOW_RETENTION"}
	for _, err := range []error{s.rules().Validate(), s.policy().Validate()} {
		for _, pe := range settlement.ParamErrors(err) {
			names := make([]string, len(pe.Params))
			for i, p := range pe.Params {
				names[i] = "TRADEFLOW_" + vars[p]
			}
			errs = append(errs, fmt.Errorf("%s: %s", strings.Join(names, ", "), pe.Problem))
		}
	}
	return errors.Join(errs...)
}

func (s settings) rules() settlement.Rules {
	return settlement.Rules{LargeTrade: s.LargeTrade, FlagRate: s.FlagRate}
}

func (s settings) policy() settlement.Policy {
	return settlement.Policy{Grace: s.WindowGrace, Retention: s.WindowRetention}
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
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "tradeflow-bench: invalid configuration:\n%v\n", err)
		return 2
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o, help, err := options(cfg, log, args)
	switch {
	case help:
		return 0
	case err != nil:
		return 2
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "tradeflow-bench: invalid options:\n%v\n", err)
		return 2
	}
	if err := bench.Run(ctx, o); err != nil {
		log.Error("tradeflow-bench stopped", "err", err)
		return 1
	}
	return 0
}
