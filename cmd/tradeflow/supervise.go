package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// component is one long-running part of a process.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// supervise runs the components until ctx is done (a signal) or one fails,
// then gives them the shutdown timeout to stop. When it expires, it names
// what is still running and returns an error, so the process exits non-zero.
func supervise(ctx context.Context, log *slog.Logger, timeout time.Duration, comps ...component) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu      sync.Mutex
		running = map[string]bool{}
		wg      sync.WaitGroup
		errs    []error
	)
	start := time.Now()
	for _, c := range comps {
		running[c.name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.run(ctx)
			mu.Lock()
			delete(running, c.name)
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
				cancel(fmt.Errorf("%s failed: %w", c.name, err))
			}
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		log.Info("stopping", "cause", context.Cause(ctx), "timeout", timeout)
		stopping := time.Now()
		select {
		case <-done:
			names := make([]string, len(comps))
			for i, c := range comps {
				names[i] = c.name
			}
			log.Info("stopped cleanly", "waited_for", names, "took", time.Since(stopping).Round(time.Millisecond),
				"ran", time.Since(start).Round(time.Second))
		case <-time.After(timeout):
			mu.Lock()
			names := make([]string, 0, len(running))
			for n := range running {
				names = append(names, n)
			}
			mu.Unlock()
			sort.Strings(names)
			errs = append(errs, fmt.Errorf("shutdown timed out after %v; still running: %s", timeout, strings.Join(names, ", ")))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}
