package gokaext

import (
	"context"
	"errors"
	"sync"
)

// ErrNoSession is Visit's answer between sessions: the group has no
// running partitions to visit; try again after the rebalance.
var ErrNoSession = errors.New("no consumer group session is running: visit after the rebalance")

// VisitGate runs a processor's visits (goka.Processor.VisitAll) only while
// a session's partitions run, and ends them before goka stops those
// partitions. goka's VisitValues can send on a partition's visit channel
// after a rebalance has closed it (goka v1.1.17 partition_processor.go:683
// against the close at :308: it registers itself with the partition's
// runner group after Stop has waited on it), which panics the process:
// seen on 1,000 partitions when the count group rebalanced during its
// expire visit. The gate opens once a session's Setup has returned, and at
// Cleanup it cancels the visits under way and waits for them to return
// before goka stops any partition.
type VisitGate struct {
	mu      sync.Mutex
	open    bool
	session context.Context // done at Cleanup
	end     context.CancelFunc
	running sync.WaitGroup
}

// NewVisitGate returns a closed gate; the session's Setup opens it.
func NewVisitGate() *VisitGate { return &VisitGate{} }

// Visit runs visit with a context that is also done when the session
// ends, or returns ErrNoSession when no session is running.
func (g *VisitGate) Visit(ctx context.Context, visit func(context.Context) error) error {
	g.mu.Lock()
	if !g.open {
		g.mu.Unlock()
		return ErrNoSession
	}
	g.running.Add(1)
	session := g.session
	g.mu.Unlock()
	defer g.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(session, cancel)
	defer stop()
	return visit(ctx)
}

// opened lets visits in: a session's partitions are running.
func (g *VisitGate) opened() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.session, g.end = context.WithCancel(context.Background())
	g.open = true
}

// closing ends the visits under way, waits for them to return and keeps
// new ones out until the next session.
func (g *VisitGate) closing() {
	g.mu.Lock()
	if g.open {
		g.open = false
		g.end()
	}
	g.mu.Unlock()
	g.running.Wait()
}
