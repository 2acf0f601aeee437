package gokaext

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/internal/kclient"
)

// RejoinTimings are how a consumer group retries a session that could not
// start: the backoff between attempts while the brokers are unreachable,
// and how long an error not known to be transient may go on before
// Consume gives up.
type RejoinTimings struct {
	BackoffMin, BackoffMax, GiveUp time.Duration
}

// rejoiningGroup rejoins at once when a session ends in a rebalance. goka's
// processor sleeps a fixed 5 s after every ended session before it calls
// Consume again (goka v1.1.17 processor.go:391, in rebalanceLoop), which adds 5 s to every
// takeover; looping here, inside Consume, skips that sleep. goka still sees
// each session's Setup and Cleanup.
//
// It also rides out brokers that are unreachable for a while (a broker
// restart, a network cut): sarama's Consume gives up after a few quick
// metadata and coordinator retries, and goka then stops the processor for
// good, so the whole worker would exit and restart. A transient error
// (kclient.Transient) is retried here with backoff until ctx is done. Any other
// error is retried too until it has gone on for GiveUp, then
// returned: goka's own session set-up errors (recovering a table partition
// when the connection drops) wrap the broker error as text, so they cannot
// be told apart from a lasting fault by their type.
type rejoiningGroup struct {
	sarama.ConsumerGroup
	tracking *commitTracking
	visits   *VisitGate
	timings  RejoinTimings
	log      *slog.Logger
}

func (g rejoiningGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	backoff := g.timings.BackoffMin
	var failingSince time.Time
	for {
		err := g.ConsumerGroup.Consume(ctx, topics, &orderedCommits{ConsumerGroupHandler: h, tracking: g.tracking, visits: g.visits})
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff, failingSince = g.timings.BackoffMin, time.Time{}
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return err
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if !kclient.Transient(err) && time.Since(failingSince) > g.timings.GiveUp {
			return err
		}
		g.log.Warn("consumer group: cannot join or set up a session; will retry", "topics", topics, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, g.timings.BackoffMax)
	}
}

// Close leaves the group. When the worker stops during a rebalance, the
// last offset commit or the leave is refused because the group has moved
// to a new generation; goka would then end Run with an error and the
// worker would exit 1 after a clean SIGTERM. Nothing is lost: the next
// owner resumes from the last committed offset and the count step skips
// what it replays. So those refusals are logged, not returned. So is a
// leave that does not reach the brokers (a stop just after a cut): the
// group then moves the partitions once this member's session times out,
// and the next owner resumes from the last committed offset as well.
func (g rejoiningGroup) Close() error {
	err := g.ConsumerGroup.Close()
	switch {
	case kclient.MovedOn(err):
		g.log.Info("consumer group: left during a rebalance; the new owner resumes from the last committed offset", "err", err)
		return nil
	case err != nil && kclient.Transient(err):
		g.log.Warn("consumer group: could not leave, the brokers did not answer; its partitions move when this member's session times out (TRADEFLOW_SESSION_TIMEOUT), and the new owner resumes from the last committed offset", "err", err)
		return nil
	}
	return err
}

// consumerGroupBuilder builds rejoining consumer groups with ordered
// commits from the sarama configuration kc gives; tracking must also be
// the processor's context wrapper.
func consumerGroupBuilder(kc kclient.Config, tracking *commitTracking, visits *VisitGate, t RejoinTimings, log *slog.Logger) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := sarama.NewConsumerGroup(brokers, group, kc.WithClientID(clientID).Sarama())
		if err != nil {
			return nil, err
		}
		return rejoiningGroup{ConsumerGroup: cg, tracking: tracking, visits: visits, timings: t, log: log}, nil
	}
}
