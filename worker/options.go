package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
)

// Options configure a worker. Validate checks them together; New calls it.
type Options struct {
	Brokers []string
	DataDir string
	Store   store.Kind
	// Count is where trades are counted: CountFused or CountHop.
	Count CountMode
	// Kafka is every client's connection configuration; its group
	// timings come from Timings.
	Kafka   kclient.Config
	Topics  processor.TopicPlan
	Rules   settlement.Rules
	Policy  settlement.Policy
	Timings Timings
	Log     *slog.Logger
	// Version is the build's, reported by tradeflow_build_info.
	Version string
}

// CountMode is where a worker counts trades.
type CountMode string

const (
	// CountFused counts each trade in the settle group's partition
	// goroutine, with the windows in the count view's index
	// (processor.WindowStore): one record and one group less per trade,
	// and each window held once per worker.
	CountFused CountMode = "fused"
	// CountHop sends each trade through the windows topic to the count
	// group, which keeps the windows in its own table (memory or LevelDB).
	CountHop CountMode = "hop"
)

// Timings are every duration a worker runs by, in one place because they
// must agree with each other (Validate).
type Timings struct {
	// Shutdown bounds a graceful stop (TRADEFLOW_SHUTDOWN_TIMEOUT).
	Shutdown time.Duration
	// HTTPShutdown bounds the HTTP server's stop, within Shutdown.
	HTTPShutdown time.Duration
	// Session, Heartbeat, Rebalance: consumer group membership
	// (kclient.GroupTimings). A dead worker's partitions move after
	// Session; survivors learn of a rebalance at their next Heartbeat.
	Session, Heartbeat, Rebalance time.Duration
	// ProducerLinger: how long a batch of the processors' producer waits
	// for more records.
	ProducerLinger time.Duration
	// ProducerDelivery: a record not delivered within this fails (the
	// producer retries in order until then, riding out broker restarts
	// and cuts); it is not bounded by Shutdown: at a stop ProducerClose
	// bounds the last flush.
	ProducerDelivery time.Duration
	// ProducerClose bounds the producer's last flush at a stop.
	ProducerClose time.Duration
	// ChangelogLinger: writes of one window to the count changelog within
	// this are merged into the newest.
	ChangelogLinger time.Duration
	// RejoinBackoffMin, RejoinBackoffMax: the backoff between attempts to
	// start a consumer-group session; RejoinGiveUp: how long an error not
	// known to be transient may go on before the worker stops.
	RejoinBackoffMin, RejoinBackoffMax, RejoinGiveUp time.Duration
	// TopicsServed bounds the wait for new topics to have leaders.
	TopicsServed time.Duration
	// ExpireEvery: how often windows past retention are removed.
	ExpireEvery time.Duration
	// SampleEvery: how often consumer lag and restore progress are read
	// (and a long restore logs its progress).
	SampleEvery time.Duration
}

// DefaultTimings are the timings tradeflow runs with for a shutdown
// timeout: the producer's last flush gets three quarters of it and the
// HTTP server's stop a quarter (at most 5 s), so that a stop ends in time.
func DefaultTimings(shutdown time.Duration) Timings {
	return Timings{
		Shutdown:     shutdown,
		HTTPShutdown: min(shutdown/4, 5*time.Second),
		// 6 s is the brokers' default group.min.session.timeout.ms, and
		// kfake's minimum: the fastest takeover a broker allows.
		Session: 6 * time.Second, Heartbeat: time.Second, Rebalance: 10 * time.Second,
		ProducerLinger: 5 * time.Millisecond, ProducerDelivery: 2 * time.Minute, ProducerClose: shutdown * 3 / 4,
		ChangelogLinger:  10 * time.Millisecond,
		RejoinBackoffMin: 250 * time.Millisecond, RejoinBackoffMax: 5 * time.Second, RejoinGiveUp: 2 * time.Minute,
		TopicsServed: 30 * time.Second,
		ExpireEvery:  time.Minute,
		SampleEvery:  5 * time.Second,
	}
}

// WithSession returns t for another consumer session timeout: heartbeats
// every sixth of it, at most 3 s (Kafka's default for its 45 s), a
// rebalance timeout of at least the session, and a delivery timeout at
// least a minute longer, so a cut shorter than a session loses no record.
func (t Timings) WithSession(session time.Duration) Timings {
	t.Session = session
	t.Heartbeat = min(session/6, 3*time.Second)
	t.Rebalance = max(t.Rebalance, session)
	t.ProducerDelivery = max(t.ProducerDelivery, session+time.Minute)
	return t
}

// OptionError names the options at fault by their path in Options
// ("Timings.Shutdown", "Policy.Retention"), the first being the one to
// change, so that a command can name its settings instead.
type OptionError struct {
	Options []string
	Problem string
}

func (e *OptionError) Error() string { return strings.Join(e.Options, ", ") + ": " + e.Problem }

// Validate reports every option a worker cannot run with, and timings
// that contradict each other, as *OptionError values (joined).
func (o Options) Validate() error {
	var errs []error
	bad := func(options []string, format string, args ...any) {
		errs = append(errs, &OptionError{Options: options, Problem: fmt.Sprintf(format, args...)})
	}
	if len(o.Brokers) == 0 {
		bad([]string{"Brokers"}, "no brokers")
	}
	if o.Log == nil {
		bad([]string{"Log"}, "no logger")
	}
	if err := o.Store.Validate(); err != nil {
		bad([]string{"Store"}, "%v", err)
	}
	if o.Store == store.KindLevelDB && o.DataDir == "" {
		bad([]string{"DataDir"}, "LevelDB state needs a data dir")
	}
	switch o.Count {
	case CountFused:
		if o.Store == store.KindLevelDB {
			bad([]string{"Store", "Count"}, "the fused count (the default) keeps its windows in the count view's memory and has no table for LevelDB to hold; use the memory store, or count with the count group (hop), whose table LevelDB holds")
		}
	case CountHop:
	default:
		bad([]string{"Count"}, "%q: want fused or hop", o.Count)
	}
	if o.Topics.Partitions < 1 || o.Topics.Partitions > 10000 {
		bad([]string{"Topics.Partitions"}, "%d is outside 1..10000", o.Topics.Partitions)
	}
	if o.Topics.Replication == 0 || o.Topics.Replication < -1 {
		bad([]string{"Topics.Replication"}, "replication %d: want -1 (broker default) or at least 1", o.Topics.Replication)
	}
	errs = append(errs, prefixed("Rules.", o.Rules.Validate())...)
	errs = append(errs, prefixed("Policy.", o.Policy.Validate())...)
	errs = append(errs, o.Timings.validate()...)
	return errors.Join(errs...)
}

// prefixed turns settlement's parameter errors into option errors.
func prefixed(prefix string, err error) []error {
	var out []error
	for _, pe := range settlement.ParamErrors(err) {
		names := make([]string, len(pe.Params))
		for i, p := range pe.Params {
			names[i] = prefix + p
		}
		out = append(out, &OptionError{Options: names, Problem: pe.Problem})
	}
	return out
}

// OptionErrors returns the *OptionError values in err: Validate returns
// nothing else, one or several joined.
func OptionErrors(err error) []*OptionError {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*OptionError
		for _, e := range j.Unwrap() {
			out = append(out, OptionErrors(e)...)
		}
		return out
	}
	var oe *OptionError
	if errors.As(err, &oe) {
		return []*OptionError{oe}
	}
	return nil
}

func (t Timings) validate() []error {
	var errs []error
	bad := func(options []string, format string, args ...any) {
		errs = append(errs, &OptionError{Options: options, Problem: fmt.Sprintf(format, args...)})
	}
	if t.Shutdown <= 0 {
		// Nothing can be checked against it, and DefaultTimings derives
		// the stop's parts from it.
		bad([]string{"Timings.Shutdown"}, "%v must be positive", t.Shutdown)
		return errs
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HTTPShutdown", t.HTTPShutdown}, {"Session", t.Session}, {"Heartbeat", t.Heartbeat},
		{"Rebalance", t.Rebalance}, {"ProducerLinger", t.ProducerLinger}, {"ProducerDelivery", t.ProducerDelivery},
		{"ProducerClose", t.ProducerClose}, {"ChangelogLinger", t.ChangelogLinger}, {"RejoinBackoffMin", t.RejoinBackoffMin},
		{"RejoinBackoffMax", t.RejoinBackoffMax}, {"RejoinGiveUp", t.RejoinGiveUp}, {"TopicsServed", t.TopicsServed},
		{"ExpireEvery", t.ExpireEvery}, {"SampleEvery", t.SampleEvery},
	} {
		if d.v <= 0 {
			bad([]string{"Timings." + d.name}, "%v must be positive", d.v)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	// Kafka's advice: a heartbeat no more than a third of the session
	// timeout, so two can be lost before the member is dropped.
	if 3*t.Heartbeat > t.Session {
		bad([]string{"Timings.Heartbeat", "Timings.Session"}, "heartbeat %v is more than a third of the session timeout %v", t.Heartbeat, t.Session)
	}
	if t.Rebalance < t.Session {
		bad([]string{"Timings.Rebalance", "Timings.Session"}, "rebalance timeout %v is shorter than the session timeout %v", t.Rebalance, t.Session)
	}
	// The stop: the producer's last flush and the HTTP server's stop run
	// side by side within Shutdown.
	if t.ProducerClose >= t.Shutdown {
		bad([]string{"Timings.Shutdown", "Timings.ProducerClose"}, "shutdown timeout %v leaves no time after the producer's last flush (%v)", t.Shutdown, t.ProducerClose)
	}
	if t.HTTPShutdown >= t.Shutdown {
		bad([]string{"Timings.Shutdown", "Timings.HTTPShutdown"}, "shutdown timeout %v is not above the HTTP server's stop (%v)", t.Shutdown, t.HTTPShutdown)
	}
	// A cut shorter than the session timeout leaves the group as it is:
	// its records must survive it.
	if t.ProducerDelivery <= t.Session {
		bad([]string{"Timings.ProducerDelivery", "Timings.Session"}, "delivery timeout %v is not above the session timeout %v", t.ProducerDelivery, t.Session)
	}
	if t.ProducerLinger >= t.ProducerDelivery || t.ChangelogLinger >= t.ProducerDelivery {
		bad([]string{"Timings.ProducerLinger", "Timings.ChangelogLinger"}, "lingers %v and %v must be below the delivery timeout %v", t.ProducerLinger, t.ChangelogLinger, t.ProducerDelivery)
	}
	if t.RejoinBackoffMin > t.RejoinBackoffMax {
		bad([]string{"Timings.RejoinBackoffMin", "Timings.RejoinBackoffMax"}, "backoff from %v up to %v", t.RejoinBackoffMin, t.RejoinBackoffMax)
	}
	if t.RejoinBackoffMax >= t.RejoinGiveUp {
		bad([]string{"Timings.RejoinBackoffMax", "Timings.RejoinGiveUp"}, "backoff %v leaves no second try before giving up after %v", t.RejoinBackoffMax, t.RejoinGiveUp)
	}
	return errs
}
