package settlement

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTrade(t *testing.T) {
	bad := 0
	for _, tc := range tradeCorpus {
		if tc.wantErr != "" {
			bad++
		}
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrade(tc.value)
			checkDecode(t, got, err, tc.want, tc.wantErr)
		})
	}
	if bad < 20 {
		t.Errorf("the corpus has %d kinds of bad trade, want at least 20", bad)
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range userCorpus {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUser(tc.value)
			checkDecode(t, got, err, tc.want, tc.wantErr)
		})
	}
}

// checkDecode checks a decoder's result: want when wantErr is empty, else an
// *InvalidError (the dead-letter reason) whose message contains wantErr.
func checkDecode[T comparable](tb testing.TB, got T, err error, want T, wantErr string) {
	tb.Helper()
	if wantErr == "" {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		if got != want {
			tb.Fatalf("got %+v, want %+v", got, want)
		}
		return
	}
	if err == nil {
		tb.Fatalf("accepted as %+v, want an error containing %q", got, wantErr)
	}
	var ie *InvalidError
	if !errors.As(err, &ie) {
		tb.Errorf("error %v is a %T, want *InvalidError", err, err)
	}
	if !strings.Contains(err.Error(), wantErr) {
		tb.Errorf("error %q does not contain %q", err, wantErr)
	}
	var zero T
	if got != zero {
		tb.Errorf("with an error, got %+v, want the zero value", got)
	}
}
