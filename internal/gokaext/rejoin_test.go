package gokaext

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
)

type closeErr struct {
	sarama.ConsumerGroup
	err error
}

func (c closeErr) Close() error { return c.err }

func TestCloseDuringARebalanceIsAStop(t *testing.T) {
	moved := fmt.Errorf("kafka: error committing offsets: %w", sarama.ErrIllegalGeneration)
	if err := (rejoiningGroup{ConsumerGroup: closeErr{err: moved}, log: slog.New(slog.DiscardHandler)}).Close(); err != nil {
		t.Errorf("Close after the group moved on: %v, want nil", err)
	}
	unreachable := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	if err := (rejoiningGroup{ConsumerGroup: closeErr{err: unreachable}, log: slog.New(slog.DiscardHandler)}).Close(); err != nil {
		t.Errorf("Close with the brokers unreachable: %v, want nil", err)
	}
	denied := fmt.Errorf("leave: %w", sarama.ErrGroupAuthorizationFailed)
	if err := (rejoiningGroup{ConsumerGroup: closeErr{err: denied}, log: slog.New(slog.DiscardHandler)}).Close(); !errors.Is(err, sarama.ErrGroupAuthorizationFailed) {
		t.Errorf("Close with another error: %v, want it returned", err)
	}
}
