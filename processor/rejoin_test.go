package processor

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"brokers unreachable", sarama.Wrap(sarama.ErrOutOfBrokers, fmt.Errorf("write tcp: %w", syscall.EPIPE)), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("kafka: error while consuming x/1: %w", io.EOF), true},
		{"not connected", sarama.ErrNotConnected, true},
		{"coordinator moving", sarama.ErrNotCoordinatorForConsumer, true},
		{"coordinator loading", sarama.ErrOffsetsLoadInProgress, true},
		{"unknown member after a broker restart", sarama.ErrUnknownMemberId, true},
		{"group closed", sarama.ErrClosedConsumerGroup, false},
		{"client closed", sarama.ErrClosedClient, false},
		{"not authorized", sarama.ErrGroupAuthorizationFailed, false},
		{"setup failed", errors.New("error setting up partition processor"), false},
		{"setup failed while the broker was away", errors.New("error setting up (partition=1): Setup failed. Cannot start processor for partition 1: kafka: error while consuming tradeflow-count-table/1: EOF"), true},
		{"authorization failure in text", errors.New("Setup failed: kafka server: The client is not authorized to access this group"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

type closeErr struct {
	sarama.ConsumerGroup
	err error
}

func (c closeErr) Close() error { return c.err }

func TestCloseDuringARebalanceIsAStop(t *testing.T) {
	moved := fmt.Errorf("kafka: error committing offsets: %w", sarama.ErrIllegalGeneration)
	if err := (rejoiningGroup{ConsumerGroup: closeErr{err: moved}}).Close(); err != nil {
		t.Errorf("Close after the group moved on: %v, want nil", err)
	}
	denied := fmt.Errorf("leave: %w", sarama.ErrGroupAuthorizationFailed)
	if err := (rejoiningGroup{ConsumerGroup: closeErr{err: denied}}).Close(); !errors.Is(err, sarama.ErrGroupAuthorizationFailed) {
		t.Errorf("Close with another error: %v, want it returned", err)
	}
}
