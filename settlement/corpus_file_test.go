package settlement

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bad-input.jsonl from the corpus")

// BadInputFile holds every malformed value of the corpus with the reason it
// must be refused for, so that packages that cannot import test code (the
// processor's dead-letter test) use the same corpus.
const badInputFile = "testdata/bad-input.jsonl"

// badInput is one line of badInputFile; Value is raw bytes (base64 in JSON,
// since some values are not UTF-8). Kind is "trade" or "user".
type badInput struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Value  []byte `json:"value"`
	Null   bool   `json:"null,omitempty"`
	Reason string `json:"reason"`
}

func corpusLines(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	add := func(kind, name string, v []byte, reason string) {
		if reason == "" {
			return
		}
		if err := enc.Encode(badInput{Kind: kind, Name: name, Value: v, Null: v == nil, Reason: reason}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range tradeCorpus {
		add("trade", c.name, c.value, c.wantErr)
	}
	for _, c := range userCorpus {
		add("user", c.name, c.value, c.wantErr)
	}
	return b.Bytes()
}

// The file is the corpus; `go test ./settlement -run TestBadInputFile -update`
// rewrites it after the corpus changes.
func TestBadInputFile(t *testing.T) {
	want := corpusLines(t)
	if *update {
		if err := os.WriteFile(badInputFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(badInputFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: go test ./settlement -run TestBadInputFile -update", badInputFile)
	}
}
