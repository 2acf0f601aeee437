package worker

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/settlement"
)

func validOptions() Options {
	return Options{
		Brokers: []string{"127.0.0.1:9092"}, Store: store.KindMemory, Count: CountFused, Log: slog.New(slog.DiscardHandler),
		Topics:  processor.TopicPlan{Partitions: 6, Replication: -1},
		Rules:   settlement.DefaultRules(),
		Policy:  settlement.Policy{Grace: time.Hour, Retention: 24 * time.Hour},
		Timings: DefaultTimings(20 * time.Second),
	}
}

// optionErrors returns the options each error of err names first.
func optionErrors(tb testing.TB, err error) [][]string {
	tb.Helper()
	var out [][]string
	oes := OptionErrors(err)
	if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != len(oes) {
		tb.Fatalf("%v: not every error is an *OptionError", err)
	}
	for _, oe := range oes {
		out = append(out, oe.Options)
	}
	return out
}

func TestDefaultTimingsAreValid(t *testing.T) {
	for _, shutdown := range []time.Duration{time.Second, 20 * time.Second, 10 * time.Minute} {
		o := validOptions()
		o.Timings = DefaultTimings(shutdown)
		if err := o.Validate(); err != nil {
			t.Errorf("DefaultTimings(%v): %v", shutdown, err)
		}
	}
}

func TestValidateNamesTheOptionsAtFault(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Options)
		want   []string // the options the one error names
	}{
		{"heartbeat above a third of the session", func(o *Options) { o.Timings.Heartbeat = 3 * time.Second }, []string{"Timings.Heartbeat", "Timings.Session"}},
		{"rebalance shorter than session", func(o *Options) { o.Timings.Rebalance = 5 * time.Second }, []string{"Timings.Rebalance", "Timings.Session"}},
		{"producer close outlasts the shutdown", func(o *Options) { o.Timings.ProducerClose = 30 * time.Second }, []string{"Timings.Shutdown", "Timings.ProducerClose"}},
		{"http stop outlasts the shutdown", func(o *Options) { o.Timings.HTTPShutdown = 20 * time.Second }, []string{"Timings.Shutdown", "Timings.HTTPShutdown"}},
		{"delivery within a session", func(o *Options) { o.Timings.ProducerDelivery = 6 * time.Second }, []string{"Timings.ProducerDelivery", "Timings.Session"}},
		{"backoff reversed", func(o *Options) { o.Timings.RejoinBackoffMin = time.Minute }, []string{"Timings.RejoinBackoffMin", "Timings.RejoinBackoffMax"}},
		{"giving up before a second try", func(o *Options) { o.Timings.RejoinGiveUp = time.Second }, []string{"Timings.RejoinBackoffMax", "Timings.RejoinGiveUp"}},
		{"shutdown zero", func(o *Options) { o.Timings = DefaultTimings(0) }, []string{"Timings.Shutdown"}},
		{"expire never", func(o *Options) { o.Timings.ExpireEvery = 0 }, []string{"Timings.ExpireEvery"}},
		{"flag rate", func(o *Options) { o.Rules.FlagRate = 2 }, []string{"Rules.FlagRate"}},
		{"retention within the grace", func(o *Options) { o.Policy.Retention = time.Hour }, []string{"Policy.Retention", "Policy.Grace"}},
		{"store", func(o *Options) { o.Store = "rocksdb" }, []string{"Store"}},
		{"leveldb without a dir", func(o *Options) { o.Count = CountHop; o.Store = store.KindLevelDB }, []string{"DataDir"}},
		{"count unknown", func(o *Options) { o.Count = "both" }, []string{"Count"}},
		{"fused count in leveldb", func(o *Options) { o.Store = store.KindLevelDB; o.DataDir = "d" }, []string{"Store", "Count"}},
		{"partitions", func(o *Options) { o.Topics.Partitions = 0 }, []string{"Topics.Partitions"}},
		{"replication", func(o *Options) { o.Topics.Replication = 0 }, []string{"Topics.Replication"}},
		{"no brokers", func(o *Options) { o.Brokers = nil }, []string{"Brokers"}},
		{"no logger", func(o *Options) { o.Log = nil }, []string{"Log"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.change(&o)
			got := optionErrors(t, o.Validate())
			if len(got) != 1 || !slices.Equal(got[0], tc.want) {
				t.Fatalf("errors name %v, want one naming %v (%v)", got, tc.want, o.Validate())
			}
		})
	}
}

// Every session timeout the setting allows gives timings that agree.
func TestWithSessionKeepsTimingsValid(t *testing.T) {
	for _, session := range []time.Duration{6 * time.Second, 45 * time.Second, 2 * time.Minute, 30 * time.Minute} {
		o := validOptions()
		o.Timings = DefaultTimings(20 * time.Second).WithSession(session)
		if err := o.Validate(); err != nil {
			t.Errorf("session %v: %v", session, err)
		}
		if session == 6*time.Second && o.Timings != DefaultTimings(20*time.Second) {
			t.Errorf("session 6s changed the default timings: %+v", o.Timings)
		}
	}
}
