package settlement

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"unicode/utf8"
)

// The fuzz targets start from the shared corpus (corpus_test.go). A decoder
// must never panic, must refuse with an *InvalidError (the dead-letter
// reason), and what it accepts must satisfy the invariants the settle step
// relies on and survive a re-encoding unchanged.

func FuzzParseTrade(f *testing.F) {
	for _, tc := range tradeCorpus {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		tr, err := ParseTrade(value)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		checkAcceptedInput(t, value)
		if tr.Symbol == "" {
			t.Errorf("accepted an empty symbol: %q", value)
		}
		if tr.Quantity <= 0 || tr.Price <= 0 {
			t.Errorf("accepted quantity %d, price %d: %q", tr.Quantity, tr.Price, value)
		}
		if tr.Side != "BUY" && tr.Side != "SELL" {
			t.Errorf("accepted side %q: %q", tr.Side, value)
		}
		if a := Amount(tr.Quantity, tr.Price); a <= 0 {
			t.Errorf("amount %d of an accepted trade is not positive", a)
		}
		again, err := ParseTrade(reencode(t, map[string]any{
			"side": tr.Side, "quantity": tr.Quantity, "symbol": tr.Symbol,
			"price": tr.Price, "account": tr.Account, "userid": tr.UserID,
		}))
		if err != nil || again != tr {
			t.Errorf("re-encoded %+v parses as %+v, %v", tr, again, err)
		}
	})
}

func FuzzParseUser(f *testing.F) {
	for _, tc := range userCorpus {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		u, err := ParseUser(value)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		checkAcceptedInput(t, value)
		again, err := ParseUser(reencode(t, map[string]any{
			"registertime": u.RegisterTime, "userid": u.UserID, "regionid": u.RegionID, "gender": u.Gender,
		}))
		if err != nil || again != u {
			t.Errorf("re-encoded %+v parses as %+v, %v", u, again, err)
		}
	})
}

// FuzzParseWindowKey parses key as a window key and uses it as a symbol.
func FuzzParseWindowKey(f *testing.F) {
	for _, k := range []string{"ZVV@1700000040000", "A@B@0000000060000", "@0000000000000", "A@-000000060000",
		"ZVV", "ZVV@", "ZVV@60000", "ZVV@+1700000040000", "ZVV@99999999999999999999", ""} {
		f.Add(k, int64(1700000040000))
	}
	f.Fuzz(func(t *testing.T, key string, start int64) {
		if sym, s, err := ParseWindowKey(key); err == nil && WindowKey(sym, s) != key {
			t.Errorf("ParseWindowKey(%q) = %q, %d, but WindowKey of that is %q", key, sym, s, WindowKey(sym, s))
		}
		k := WindowKey(key, start)
		if want := key + "@" + fmt.Sprintf("%013d", start); k != want {
			t.Errorf("WindowKey(%q, %d) = %q, want %q", key, start, k, want)
		}
		sym, s, err := ParseWindowKey(k)
		if err != nil || sym != key || s != start {
			t.Errorf("ParseWindowKey(WindowKey(%q, %d)) = %q, %d, %v", key, start, sym, s, err)
		}
		if start != math.MinInt64 { // its window start does not fit in int64
			if ws := WindowStart(start); ws > start || start-ws >= windowMillis {
				t.Errorf("WindowStart(%d) = %d", start, ws)
			}
		}
	})
}

func checkInvalid(tb testing.TB, err error) {
	tb.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.Reason == "" {
		tb.Fatalf("error %v (%T) is not an *InvalidError with a reason", err, err)
	}
}

func checkAcceptedInput(tb testing.TB, value []byte) {
	tb.Helper()
	if len(value) > MaxValueBytes {
		tb.Errorf("accepted %d bytes, above MaxValueBytes", len(value))
	}
	if !utf8.Valid(value) {
		tb.Errorf("accepted invalid UTF-8: %q", value)
	}
	if !json.Valid(value) {
		tb.Errorf("accepted invalid JSON: %q", value)
	}
}

// reencode is v as JSON; it skips the test when that is above
// MaxValueBytes (the fields the input left out make it longer).
func reencode(tb testing.TB, v map[string]any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) > MaxValueBytes {
		tb.Skip("re-encoded value is above MaxValueBytes")
	}
	return b
}
