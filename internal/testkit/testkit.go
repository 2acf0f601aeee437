// Package testkit is what the integration tests and the benchmark both
// need around a running tradeflow, kept in one place so that the two do
// not drift apart: reading the counts a worker serves, deleting topics on
// a shared cluster, running the Kafka Streams peer (peer.go), and medians.
// It imports no "testing": the benchmark is a command, and callers turn
// errors into test failures.
package testkit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Window names one symbol's tumbling minute.
type Window struct {
	Symbol string
	Start  int64 // ms since the epoch
}

// Tally is one window's counts.
type Tally struct{ Completed, Pending, Flagged, Rejected int64 }

// Total is the window's count over every disposition.
func (t Tally) Total() int64 { return t.Completed + t.Pending + t.Flagged + t.Rejected }

// countsAnswer is GET /v1/counts/{symbol}.
type countsAnswer struct {
	Symbol  string `json:"symbol"`
	Windows []struct {
		WindowStart, WindowEnd                int64
		Completed, Pending, Flagged, Rejected int64
	} `json:"windows"`
}

// Served reads the windows of symbols from the worker's HTTP API at addr
// (host:port): GET /v1/counts/{symbol}, the symbol path-escaped.
func Served(ctx context.Context, cl *http.Client, addr string, symbols []string) (map[Window]Tally, error) {
	got := map[Window]Tally{}
	for _, s := range symbols {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/counts/"+url.PathEscape(s), nil)
		if err != nil {
			return nil, err
		}
		resp, err := cl.Do(req)
		if err != nil {
			return nil, err
		}
		var a countsAnswer
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		switch {
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("GET /v1/counts/%s: %s", s, resp.Status)
		case err != nil:
			return nil, fmt.Errorf("GET /v1/counts/%s: decode: %w", s, err)
		case a.Symbol != s:
			return nil, fmt.Errorf("GET /v1/counts/%s answered for symbol %q", s, a.Symbol)
		}
		for _, w := range a.Windows {
			if w.WindowEnd != w.WindowStart+60_000 {
				return nil, fmt.Errorf("%s: window %d ends at %d, not a minute later", s, w.WindowStart, w.WindowEnd)
			}
			got[Window{s, w.WindowStart}] = Tally{w.Completed, w.Pending, w.Flagged, w.Rejected}
		}
	}
	return got, nil
}

// DeleteTopics deletes those of topics that exist and waits until the
// cluster no longer lists them (deletion is asynchronous on Apache Kafka).
func DeleteTopics(ctx context.Context, adm *kadm.Client, topics ...string) error {
	td, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	topics = slices.DeleteFunc(slices.Clone(topics), func(t string) bool { return !td.Has(t) })
	if len(topics) == 0 {
		return nil
	}
	resp, err := adm.DeleteTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("delete topics %v: %w", topics, err)
	}
	if err := resp.Error(); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("delete topics %v: %w", topics, err)
	}
	for {
		td, err := adm.ListTopics(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		if !slices.ContainsFunc(topics, td.Has) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v still listed after deletion: %w", topics, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Number is what Median takes: durations, counts, rates.
type Number interface {
	~int | ~int64 | ~float64
}

// Median is the middle value, the mean of the middle two for an even
// count, zero for none.
func Median[T Number](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.SortFunc(s, cmp.Compare[T])
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
