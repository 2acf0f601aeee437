package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A component that ignores the stop past the shutdown timeout is named in
// the error, so the process exits non-zero and says what hung.
func TestSuperviseNamesWhatOutlivesTheTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	err := supervise(ctx, quiet(), 100*time.Millisecond,
		component{"polite", func(ctx context.Context) error { <-ctx.Done(); return nil }},
		component{"stuck", func(context.Context) error { <-release; return nil }},
	)
	if err == nil || !strings.Contains(err.Error(), "still running: stuck") || strings.Contains(err.Error(), "polite") {
		t.Fatalf("err = %v, want a timeout naming only stuck", err)
	}
}

// A clean stop returns nil; a failing component stops the others and its
// error is returned.
func TestSupervise(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := supervise(ctx, quiet(), time.Second,
		component{"a", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	boom := errors.New("boom")
	err := supervise(context.Background(), quiet(), time.Second,
		component{"waits", func(ctx context.Context) error { <-ctx.Done(); return nil }},
		component{"fails", func(context.Context) error { return boom }},
	)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fails") {
		t.Fatalf("err = %v, want boom from fails", err)
	}
}
