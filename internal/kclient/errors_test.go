package kclient

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
)

// The text matches in Transient were read in these versions' sources;
// moving goka or sarama needs a new look at them (and at the goka
// messages below), then new versions here.
func TestErrorShimPinnedToItsVersions(t *testing.T) {
	// A test binary carries no module versions in its build info, so
	// go.mod is read: its require lines are "path version".
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for path, checked := range map[string]string{"github.com/lovoo/goka": checkedGoka, "github.com/IBM/sarama": checkedSarama} {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(path) + `\s+(\S+)`).FindSubmatch(mod)
		if m == nil {
			t.Errorf("go.mod requires no %s", path)
			continue
		}
		if got := string(m[1]); got != checked {
			t.Errorf("go.mod requires %s %s, but Transient's text matches were checked against %s: check them in the new sources, then update checked* in errors.go", path, got, checked)
		}
	}
}

func TestTransient(t *testing.T) {
	// gokaSetup is how goka v1.1.17 reports a partition that failed to set
	// up: errSetup (errors.go:72) around partition_processor.go:239, both
	// with %v.
	gokaSetup := func(cause error) error {
		return errors.New(fmt.Sprintf("error setting up (partition=%d): %v", 1,
			fmt.Errorf("Setup failed. Cannot start processor for partition %d: %v", 1, cause)))
	}
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
		{"setup failed while the broker was away", gokaSetup(fmt.Errorf("kafka: error while consuming tradeflow-count-table/1: %w", io.EOF)), true},
		{"setup failed, out of brokers", gokaSetup(sarama.ErrOutOfBrokers), true},
		{"setup failed, not connected", gokaSetup(sarama.ErrNotConnected), true},
		{"setup failed, refused", gokaSetup(fmt.Errorf("dial tcp 127.0.0.1:9092: %w", syscall.ECONNREFUSED)), true},
		{"setup failed, not authorized", gokaSetup(sarama.ErrGroupAuthorizationFailed), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestMovedOn(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("kafka: error committing offsets: %w", sarama.ErrIllegalGeneration), true},
		{fmt.Errorf("leave: %w", sarama.ErrUnknownMemberId), true},
		{fmt.Errorf("leave: %w", sarama.ErrGroupAuthorizationFailed), false},
		{nil, false},
	} {
		if got := MovedOn(tt.err); got != tt.want {
			t.Errorf("MovedOn(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// The sarama errors Transient finds by text inside goka's messages still
// read as it expects in the pinned sarama.
func TestSaramaTextsTransientMatches(t *testing.T) {
	for _, tc := range []struct {
		err  error
		text string
	}{
		{sarama.ErrOutOfBrokers, "run out of available brokers"},
		{sarama.ErrNotConnected, "broker not connected"},
	} {
		if !strings.Contains(tc.err.Error(), tc.text) {
			t.Errorf("sarama's %q no longer contains %q", tc.err, tc.text)
		}
		if !Transient(errors.New("setup failed: " + tc.err.Error())) {
			t.Errorf("%q in text is not transient", tc.err)
		}
	}
}
