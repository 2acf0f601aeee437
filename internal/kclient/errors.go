package kclient

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/IBM/sarama"
)

// Versions whose error messages Transient reads as text; errors_test.go
// fails when go.mod moves away from them, so the matches below are
// checked again against the new sources.
const (
	checkedGoka   = "v1.1.17"
	checkedSarama = "v1.46.3"
)

// Transient reports whether a later attempt to consume may succeed where
// this one failed with err: the brokers unreachable or restarting, the
// group coordinator moving or loading, the group rebalancing.
func Transient(err error) bool {
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
	// goka reports a partition that failed to set up (its table could
	// not be read while the brokers were away) with %v, not %w: errSetup
	// in goka's errors.go:72 around "Setup failed. Cannot start processor
	// for partition %d: %v" (partition_processor.go:239), so the sarama or
	// net error inside survives only as text.
	msg := err.Error()
	for _, cause := range [...]string{": EOF", "broken pipe", "connection refused", "connection reset",
		"broker not connected", "run out of available brokers", "i/o timeout"} {
		if strings.Contains(msg, cause) {
			return true
		}
	}
	return false
}

// MovedOn reports whether err says the group went on without this member:
// a commit or a leave refused because the group is in a newer generation.
func MovedOn(err error) bool {
	for _, kerr := range [...]sarama.KError{sarama.ErrIllegalGeneration, sarama.ErrUnknownMemberId, sarama.ErrRebalanceInProgress, sarama.ErrFencedInstancedId} {
		if errors.Is(err, kerr) {
			return true
		}
	}
	return false
}
