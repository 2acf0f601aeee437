package gokaext

import "github.com/lovoo/goka"

// goka's Context does not say which consumer-group session delivered a
// message (goka v1.1.17 context.go:41, the Context interface); the count
// step needs it to tell a former owner's late value from the new owner's,
// and the settle step to know where a run of a partition begins.

// wrap is the processor's goka context wrapper (WithContextWrapper): it
// records each input message as delivered for orderedCommits, and tells
// the callback the session's generation (SessionGeneration). Visits
// (goka.Visitor) pass through it too; their "topic" is the visit's name,
// which has no tracker.
func (c *commitTracking) wrap(ctx goka.Context) goka.Context {
	c.mu.RLock()
	t, gen := c.trackers[topicPartition{string(ctx.Topic()), ctx.Partition()}], c.generation
	c.mu.RUnlock()
	if t != nil {
		t.delivered(ctx.Offset())
	}
	return generationContext{ctx, gen}
}

// gokaContext names goka.Context so that embedding it keeps its Context
// method (a field named Context would hide it).
type gokaContext = goka.Context

// generationContext is a goka.Context that knows its session's generation.
type generationContext struct {
	gokaContext
	generation int32
}

// SessionGeneration is the consumer-group generation of the session that
// delivered the message: a worker that lost its partitions without
// knowing it yet still has the older one.
func (g generationContext) SessionGeneration() int32 { return g.generation }

// SessionGeneration returns ctx's session generation, 0 when ctx does not
// know it (goka's tester). Count values carry it (the stale rule), and the
// settle step's window chains are kept per generation: a new session
// starts from the committed offsets, so its chains start afresh.
func SessionGeneration(ctx goka.Context) int32 {
	if g, ok := ctx.(interface{ SessionGeneration() int32 }); ok {
		return g.SessionGeneration()
	}
	return 0
}
