package processor

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/tradeflow/tradeflow/settlement"
)

// badInput is a line of settlement/testdata/bad-input.jsonl: the decoder
// corpus's malformed values with the reason each is refused for.
type badInput struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Value  []byte `json:"value"`
	Null   bool   `json:"null"`
	Reason string `json:"reason"`
}

func readBadInput(tb testing.TB, kind string) []badInput {
	tb.Helper()
	f, err := os.Open("../settlement/testdata/bad-input.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []badInput
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var b badInput
		if err := json.Unmarshal(s.Bytes(), &b); err != nil {
			tb.Fatal(err)
		}
		if b.Null {
			b.Value = nil
		} else if b.Value == nil {
			b.Value = []byte{}
		}
		if b.Kind == kind {
			out = append(out, b)
		}
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) < 20 {
		tb.Fatalf("only %d %s cases in the corpus", len(out), kind)
	}
	return out
}

// Every malformed stocktrade value of the corpus goes to the dead-letter
// topic with its reason, and nothing else comes out: no panic, no stop.
func TestSettleDeadLettersTheCorpus(t *testing.T) {
	h := newSettle(t, settlement.DefaultRules(), testUsers)
	for i, c := range readBadInput(t, "trade") {
		h.consume("ZVZZT", c.Value, tester.WithTime(eventTime))
		dl := one(t, DeadLetterTopic, drain(h.dlq))
		checkDeadLetter(t, dl, TradesTopic, itoa(int64(i)), "ZVZZT", c.Value, c.Reason)
		none(t, SettlementsTopic, drain(h.settlements))
		none(t, UserTradesTopic, drain(h.userTrades))
		none(t, WindowsTopic, drain(h.windows))
	}
}

// Every malformed users value (not a tombstone: that deletes) goes to the
// dead-letter topic with its reason.
func TestUsersCheckDeadLettersTheCorpus(t *testing.T) {
	tt := tester.New(t)
	m, _ := newMetrics(t)
	runProcessor(t, tt, UsersCheckGraph(m))
	dlq := tt.NewQueueTracker(string(DeadLetterTopic))
	n := 0
	for _, c := range readBadInput(t, "user") {
		if c.Value == nil {
			continue // a tombstone is a delete, not bad input
		}
		tt.Consume(string(UsersTable), "User_1", c.Value)
		checkDeadLetter(t, one(t, DeadLetterTopic, drain(dlq)), goka.Stream(UsersTable), itoa(int64(n)), "User_1", c.Value, c.Reason)
		n++
	}
}
