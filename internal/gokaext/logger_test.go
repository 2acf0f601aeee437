package gokaext

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// goka's and sarama's lines come out as slog records: debug, or warn when
// they report an error, with goka's bracketed prefix as the component.
func TestLoggerRoutesThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	GokaLogger(log).Printf("[Processor tradeflow-settle] setup generation %d, claims=%v", 3, map[string][]int32{"stocktrade": {0}})
	GokaLogger(log).Printf("[Processor tradeflow-count] error during execution of consumer group: %v", "EOF")
	SaramaLogger(log).Println("client/metadata fetching metadata for all topics from broker", "127.0.0.1:9092")
	SaramaLogger(log).Print("txnmgr/init-producer-id successful init producer id Err:kafka server: Not an error, why are you printing me?")
	want := []struct{ level, from, component, msg string }{
		{"DEBUG", "goka", "Processor tradeflow-settle", "setup generation 3, claims=map[stocktrade:[0]]"},
		{"WARN", "goka", "Processor tradeflow-count", "error during execution of consumer group: EOF"},
		{"DEBUG", "sarama", "", "client/metadata fetching metadata for all topics from broker 127.0.0.1:9092"},
		{"DEBUG", "sarama", "", "txnmgr/init-producer-id successful init producer id Err:kafka server: Not an error, why are you printing me?"},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		var got struct{ Level, From, Component, Msg string }
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
		}
		w := want[i]
		if got.Level != w.level || got.From != w.from || got.Component != w.component || got.Msg != w.msg {
			t.Errorf("line %d = %+v, want %+v", i, got, w)
		}
	}
	// At info, debug lines cost nothing and say nothing.
	buf.Reset()
	GokaLogger(slog.New(slog.NewJSONHandler(&buf, nil))).Printf("[Processor x] setup generation %d", 1)
	if buf.Len() != 0 {
		t.Errorf("a debug line written at info: %s", buf.String())
	}
}
