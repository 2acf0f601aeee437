package integration

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// watchedGroup is a group whose takeover the chaos test times, with the
// topic it consumes.
type watchedGroup struct{ Group, Topic string }

// watchedGroups are the groups that count in a worker counting by count
// mode (TRADEFLOW_COUNT): the fused count has no count group.
func watchedGroups(count string) []watchedGroup {
	if count == "fused" {
		return []watchedGroup{{"tradeflow-settle", "stocktrade"}}
	}
	return []watchedGroup{{"tradeflow-settle", "stocktrade"}, {"tradeflow-count", "tradeflow-windows"}}
}

// observer looks at the broker directly, bypassing the fault proxy, so it
// sees the groups also while the workers' connections are cut.
type observer struct {
	admin   *kadm.Client
	watched []watchedGroup
}

// newObserver connects to the broker at direct; every connection to the
// advertised (proxy) address is dialled to direct instead.
func newObserver(tb testing.TB, direct, advertised string, watched []watchedGroup) *observer {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(direct), directDialer(direct, advertised), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return &observer{admin: kadm.NewClient(cl), watched: watched}
}

// directDialer dials direct whenever a client would connect to
// advertised.
func directDialer(direct, advertised string) kgo.Opt {
	return kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		if host == advertised {
			host = direct
		}
		var d net.Dialer
		return d.DialContext(ctx, network, host)
	})
}

// groupState is a consumer group as the broker sees it at one instant.
type groupState struct {
	State     string
	Members   map[string][]int32 // member id: its partitions of the input topic
	Committed map[int32]int64
	End       map[int32]int64 // log end offsets of the input topic
}

// whole: the group is stable with `members` members and every partition of
// its input assigned.
func (s groupState) whole(members int) bool {
	return len(s.Members) == members && s.covered()
}

// covered: the group is stable and every partition of its input is
// assigned.
func (s groupState) covered() bool {
	if s.State != "Stable" {
		return false
	}
	assigned := map[int32]bool{}
	for _, ps := range s.Members {
		for _, p := range ps {
			assigned[p] = true
		}
	}
	return len(s.End) > 0 && len(assigned) == len(s.End)
}

// lag is what the group has not committed yet.
func (s groupState) lag() int64 {
	var n int64
	for p, end := range s.End {
		if c := s.Committed[p]; c < end {
			n += end - c
		}
	}
	return n
}

// groups reads the watched groups; an error when the broker does not
// answer in time.
func (o *observer) groups() (map[string]groupState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	names := make([]string, 0, len(o.watched))
	topics := make([]string, 0, len(o.watched))
	for _, g := range o.watched {
		names = append(names, g.Group)
		topics = append(topics, g.Topic)
	}
	described, err := o.admin.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, err
	}
	ends, err := o.admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	out := map[string]groupState{}
	for _, g := range o.watched {
		d, ok := described[g.Group]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("describe %s: %v", g.Group, d.Err)
		}
		s := groupState{State: d.State, Members: map[string][]int32{}, Committed: map[int32]int64{}, End: map[int32]int64{}}
		for _, m := range d.Members {
			s.Members[m.MemberID] = nil
			if a, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range a.Topics {
					if t.Topic == g.Topic {
						s.Members[m.MemberID] = append(s.Members[m.MemberID], t.Partitions...)
					}
				}
			}
		}
		ends.Each(func(l kadm.ListedOffset) {
			if l.Topic == g.Topic {
				s.End[l.Partition] = l.Offset
			}
		})
		committed, err := o.admin.FetchOffsets(ctx, g.Group)
		if err != nil {
			return nil, err
		}
		committed.Each(func(r kadm.OffsetResponse) {
			if r.Topic == g.Topic && r.Err == nil {
				s.Committed[r.Partition] = r.At
			}
		})
		out[g.Group] = s
	}
	return out, nil
}

// awaitWhole polls until every watched group is whole with `members`
// members (and, with caughtUp, has no lag); it returns the last state.
func (o *observer) awaitWhole(members int, caughtUp bool, within time.Duration) (map[string]groupState, error) {
	deadline := time.Now().Add(within)
	var last map[string]groupState
	var lastErr error
	for time.Now().Before(deadline) {
		gs, err := o.groups()
		if err == nil {
			last, lastErr = gs, nil
			ok := true
			for _, s := range gs {
				ok = ok && s.whole(members) && (!caughtUp || s.lag() == 0)
			}
			if ok {
				return gs, nil
			}
		} else {
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		return last, fmt.Errorf("groups not whole with %d members within %v: %w", members, within, lastErr)
	}
	return last, fmt.Errorf("groups not whole with %d members within %v: %s", members, within, o.describeStates(last))
}

func (o *observer) describeStates(gs map[string]groupState) string {
	out := ""
	for _, g := range o.watched {
		s := gs[g.Group]
		out += fmt.Sprintf("\n  %s: state %s, %d members %v, lag %d", g.Group, s.State, len(s.Members), s.Members, s.lag())
	}
	return out
}

// recovery is how a group came back after a fault.
type recovery struct {
	Assigned time.Duration // until every group was whole again without the dead members
	Resumed  time.Duration // until, in addition, every partition they held progressed
	Err      error
}

func (r recovery) String() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("groups whole after %v, every partition concerned progressing after %v",
		r.Assigned.Round(10*time.Millisecond), r.Resumed.Round(10*time.Millisecond))
}

// awaitTakeover times the takeover after the members of `before` that no
// longer exist (the victim's) vanished: from `since` until every watched
// group is stable, every partition assigned, and every partition the
// vanished members held has progressed (its committed offset moved past
// the last one committed while they were still in the group, or reached
// the end of the log). members is how many members the group must have
// at most then (the workers running, the victim not among them); with
// anyVanished=false no member need vanish but the group must have exactly
// members members (after a fault that hit every worker), and every
// partition must progress.
// tick is called at every poll.
func (o *observer) awaitTakeover(before map[string]groupState, since time.Time, members func() int, anyVanished bool, within time.Duration, tick func()) recovery {
	baseline := map[string]map[int32]int64{}
	for g, s := range before {
		baseline[g] = map[int32]int64{}
		for p, c := range s.Committed {
			baseline[g][p] = c
		}
	}
	var r recovery
	var last map[string]groupState
	completeSeen := map[string]bool{}
	deadline := since.Add(within)
	for time.Now().Before(deadline) {
		tick()
		gs, err := o.groups()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		last = gs
		assigned, resumed := true, true
		for g, s := range gs {
			b := before[g]
			if baseline[g] == nil {
				baseline[g] = map[int32]int64{}
			}
			var held []int32
			vanished := 0
			for id, ps := range b.Members {
				if _, ok := s.Members[id]; !ok {
					vanished++
					held = append(held, ps...)
				}
			}
			if !anyVanished {
				held = held[:0]
				for p := range s.End {
					held = append(held, p)
				}
			}
			complete := s.covered() && len(s.Members) <= members() && (vanished > 0 || !anyVanished)
			if !anyVanished {
				complete = s.whole(members())
			}
			if !complete || !completeSeen[g] {
				// Until a poll has seen the group complete, a commit may
				// still be the victim's (a SIGTERMed worker commits as it
				// leaves): progress counts from the first complete poll,
				// which makes the time pessimistic by up to one commit
				// interval.
				for p, c := range s.Committed {
					baseline[g][p] = max(baseline[g][p], c)
				}
				completeSeen[g] = complete
				if !complete {
					assigned = false
				}
				for _, p := range held {
					if s.Committed[p] < s.End[p] {
						resumed = false
					}
				}
				continue
			}
			for _, p := range held {
				if c := s.Committed[p]; c <= baseline[g][p] && c < s.End[p] {
					resumed = false
				}
			}
		}
		now := time.Since(since)
		if assigned && r.Assigned == 0 {
			r.Assigned = now
		}
		if assigned && resumed {
			r.Resumed = now
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.Err = fmt.Errorf("no takeover within %v:%s", within, o.describeStates(last))
	return r
}
