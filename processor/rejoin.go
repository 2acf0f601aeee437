package processor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Backoff between attempts to join while the brokers are unreachable, and
// how long an error that is not known to be transient may go on before
// Consume gives up.
const (
	rejoinBackoffMin = 250 * time.Millisecond
	rejoinBackoffMax = 5 * time.Second
	rejoinGiveUp     = 2 * time.Minute
)

// rejoiningGroup rejoins at once when a session ends in a rebalance. goka's
// processor sleeps a fixed 5 s after every ended session before it calls
// Consume again (processor.go, rebalanceLoop), which adds 5 s to every
// takeover; looping here, inside Consume, skips that sleep. goka still sees
// each session's Setup and Cleanup.
//
// It also rides out brokers that are unreachable for a while (a broker
// restart, a network cut): sarama's Consume gives up after a few quick
// metadata and coordinator retries, and goka then stops the processor for
// good, so the whole worker would exit and restart. A transient error
// (see transient) is retried here with backoff until ctx is done. Any other
// error is retried too until it has gone on for rejoinGiveUp, then
// returned: goka's own session set-up errors (recovering a table partition
// when the connection drops) wrap the broker error as text, so they cannot
// be told apart from a lasting fault by their type.
type rejoiningGroup struct {
	sarama.ConsumerGroup
	tracking *commitTracking
}

func (g rejoiningGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	backoff := rejoinBackoffMin
	var failingSince time.Time
	for {
		err := g.ConsumerGroup.Consume(ctx, topics, &orderedCommits{ConsumerGroupHandler: h, tracking: g.tracking})
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff, failingSince = rejoinBackoffMin, time.Time{}
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return err
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if !transient(err) && time.Since(failingSince) > rejoinGiveUp {
			return err
		}
		slog.Warn("consumer group: cannot join or set up a session; will retry", "topics", topics, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, rejoinBackoffMax)
	}
}

// Close leaves the group. When the worker stops during a rebalance, the
// last offset commit or the leave is refused because the group has moved
// to a new generation; goka would then end Run with an error and the
// worker would exit 1 after a clean SIGTERM. Nothing is lost: the next
// owner resumes from the last committed offset and the count step skips
// what it replays. So those refusals are logged, not returned.
func (g rejoiningGroup) Close() error {
	err := g.ConsumerGroup.Close()
	if movedOn(err) {
		slog.Info("consumer group: left during a rebalance; the new owner resumes from the last committed offset", "err", err)
		return nil
	}
	return err
}

// movedOn reports whether err says the group went on without this member.
func movedOn(err error) bool {
	for _, kerr := range []sarama.KError{sarama.ErrIllegalGeneration, sarama.ErrUnknownMemberId, sarama.ErrRebalanceInProgress, sarama.ErrFencedInstancedId} {
		if errors.Is(err, kerr) {
			return true
		}
	}
	return false
}

// transient reports whether a later attempt to consume may succeed where
// this one failed with err: the brokers unreachable or restarting, the
// group coordinator moving or loading, the group rebalancing.
func transient(err error) bool {
	var nerr net.Error
	var kerr sarama.KError
	switch {
	case errors.Is(err, sarama.ErrClosedConsumerGroup), errors.Is(err, sarama.ErrClosedClient):
		return false
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &nerr):
		return true
	case errors.As(err, &kerr):
		switch kerr {
		case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable,
			sarama.ErrOffsetsLoadInProgress, sarama.ErrRebalanceInProgress, sarama.ErrRequestTimedOut,
			sarama.ErrUnknownMemberId, sarama.ErrIllegalGeneration, sarama.ErrFencedInstancedId,
			sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrNetworkException:
			return true
		}
	}
	// goka reports a partition that failed to set up (its table could not
	// be read while the brokers were away) with %v, not %w, so the cause
	// survives only in the text.
	msg := err.Error()
	for _, cause := range []string{": EOF", "broken pipe", "connection refused", "connection reset",
		"broker not connected", "run out of available brokers", "i/o timeout"} {
		if strings.Contains(msg, cause) {
			return true
		}
	}
	return false
}

// consumerGroupBuilder builds rejoining consumer groups with ordered
// commits from a copy of cfg; tracking must also be the processor's context
// wrapper.
func consumerGroupBuilder(cfg *sarama.Config, tracking *commitTracking) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		c := clone(cfg)
		c.ClientID = clientID
		cg, err := sarama.NewConsumerGroup(brokers, group, c)
		if err != nil {
			return nil, err
		}
		return rejoiningGroup{cg, tracking}, nil
	}
}
