package settlement

import (
	"math"
	"strings"
	"testing"
	"time"
)

// minute is a window-aligned event time: 2023-11-14T22:14:00Z.
const minute = int64(1700000040000)

const windowMillis = int64(time.Minute / time.Millisecond)

func TestWindowStart(t *testing.T) {
	cases := []struct {
		name string
		ts   int64
		want int64
	}{
		{"epoch", 0, 0},
		{"1 ms after the epoch", 1, 0},
		{"last ms of the first window", 59_999, 0},
		{"second window", 60_000, 60_000},
		{"exactly on a minute", minute, minute},
		{"1 ms before a minute", minute - 1, minute - windowMillis},
		{"1 ms after a minute", minute + 1, minute},
		{"last ms of a window", minute + 59_999, minute},
		{"1 ms before the epoch", -1, -60_000},
		{"exactly one window before the epoch", -60_000, -60_000},
		{"1 ms before that", -60_001, -120_000},
		{"negative, mid-window", -90_000, -120_000},
		{"max int64", math.MaxInt64, math.MaxInt64 - math.MaxInt64%windowMillis},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := WindowStart(tc.ts)
			if got != tc.want {
				t.Fatalf("WindowStart(%d) = %d, want %d", tc.ts, got, tc.want)
			}
		})
	}
}

// Every event time lies in [start, end) of its window, windows are aligned
// to the epoch and one WindowSize long.
func TestWindowContainsTimestamp(t *testing.T) {
	for _, base := range []int64{-3 * windowMillis, 0, minute} {
		for ts := base - 2*windowMillis; ts < base+2*windowMillis; ts += 997 {
			start := WindowStart(ts)
			end := WindowEnd(start)
			if !(start <= ts && ts < end) || start%windowMillis != 0 || end-start != WindowSize.Milliseconds() {
				t.Fatalf("ts %d: window [%d, %d)", ts, start, end)
			}
		}
	}
}

func TestWindowEnd(t *testing.T) {
	cases := []struct {
		name        string
		start, want int64
	}{
		{"epoch", 0, 60_000},
		{"a minute", minute, minute + 60_000},
		{"before the epoch", -60_000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := WindowEnd(tc.start); got != tc.want {
				t.Fatalf("WindowEnd(%d) = %d, want %d", tc.start, got, tc.want)
			}
		})
	}
}

func TestPolicyLate(t *testing.T) {
	hour := Policy{Grace: time.Hour, Retention: 24 * time.Hour}
	none := Policy{Grace: 0, Retention: time.Minute}
	end := minute + windowMillis // end of the window starting at minute
	cases := []struct {
		name       string
		policy     Policy
		ts, stream int64
		want       bool
	}{
		{"stream time at the record", hour, minute, minute, false},
		{"stream time behind the record", hour, minute + 5, minute, false},
		{"end + grace == stream time is late", hour, minute, end + time.Hour.Milliseconds(), true},
		{"end + grace - 1 ms is not late", hour, minute, end + time.Hour.Milliseconds() - 1, false},
		{"last ms of the window, at the boundary", hour, end - 1, end + time.Hour.Milliseconds(), true},
		{"last ms of the window, 1 ms before", hour, end - 1, end + time.Hour.Milliseconds() - 1, false},
		{"next window is open at the boundary", hour, end, end + time.Hour.Milliseconds(), false},
		{"no grace: stream time at the end", none, minute, end, true},
		{"no grace: 1 ms before the end", none, minute + 59_999, end - 1, false},
		{"sub-ms grace counts whole ms", Policy{Grace: 1500 * time.Microsecond}, minute, end + 1, true},
		{"negative event time", hour, -1, time.Hour.Milliseconds(), true},
		{"negative event time, 1 ms before", hour, -1, time.Hour.Milliseconds() - 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Late(tc.ts, tc.stream); got != tc.want {
				t.Fatalf("Late(ts=%d, stream=%d) with grace %v = %v, want %v", tc.ts, tc.stream, tc.policy.Grace, got, tc.want)
			}
		})
	}
}

func TestPolicyExpired(t *testing.T) {
	p := Policy{Grace: time.Hour, Retention: 24 * time.Hour}
	end := minute + windowMillis
	ret := (24 * time.Hour).Milliseconds()
	cases := []struct {
		name          string
		start, stream int64
		want          bool
	}{
		{"fresh", minute, minute, false},
		{"end + retention == stream time is expired", minute, end + ret, true},
		{"1 ms before", minute, end + ret - 1, false},
		{"long past", minute, end + 10*ret, true},
		{"stream time behind the window", minute, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Expired(tc.start, tc.stream); got != tc.want {
				t.Fatalf("Expired(start=%d, stream=%d) = %v, want %v", tc.start, tc.stream, got, tc.want)
			}
		})
	}
}

// With a valid policy a window is never expired while it still takes
// records: Expired implies Late for each of its event times.
func TestValidPolicyExpiresOnlyClosedWindows(t *testing.T) {
	for _, p := range []Policy{
		{Grace: 0, Retention: time.Minute},
		{Grace: time.Hour, Retention: time.Hour + time.Minute},
		{Grace: time.Hour, Retention: 24 * time.Hour},
	} {
		if err := p.Validate(); err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		for stream := minute; stream < minute+p.Retention.Milliseconds()+3*windowMillis; stream += 1000 {
			for _, ts := range []int64{minute, minute + 59_999} {
				if p.Expired(WindowStart(ts), stream) && !p.Late(ts, stream) {
					t.Fatalf("%+v: window of %d expired at stream time %d while a record at %d still counts", p, ts, stream, ts)
				}
			}
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name    string
		policy  Policy
		wantErr string
	}{
		{"defaults", Policy{Grace: time.Hour, Retention: 24 * time.Hour}, ""},
		{"no grace, retention one window", Policy{Grace: 0, Retention: time.Minute}, ""},
		{"retention == window + grace", Policy{Grace: time.Hour, Retention: time.Hour + time.Minute}, ""},
		{"retention 1 ns short", Policy{Grace: time.Hour, Retention: time.Hour + time.Minute - 1}, "shorter than the window size plus grace"},
		{"zero policy", Policy{}, "shorter than the window size plus grace"},
		{"negative grace", Policy{Grace: -time.Millisecond, Retention: time.Hour}, "grace -1ms is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tc.policy, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate(%+v) = %v, want an error containing %q", tc.policy, err, tc.wantErr)
			}
		})
	}
}

func TestWindowKey(t *testing.T) {
	cases := []struct {
		name   string
		symbol string
		start  int64
		want   string
	}{
		{"design example", "ZVV", minute, "ZVV@1700000040000"},
		{"epoch is zero-padded", "ZVV", 0, "ZVV@0000000000000"},
		{"one window", "A", 60_000, "A@0000000060000"},
		{"negative", "A", -60_000, "A@-000000060000"},
		{"beyond 13 digits", "A", 10_000_000_000_000, "A@10000000000000"},
		{"symbol with @", "A@B", minute, "A@B@1700000040000"},
		{"empty symbol", "", minute, "@1700000040000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := WindowKey(tc.symbol, tc.start); got != tc.want {
				t.Fatalf("WindowKey(%q, %d) = %q, want %q", tc.symbol, tc.start, got, tc.want)
			}
			sym, start, err := ParseWindowKey(tc.want)
			if err != nil || sym != tc.symbol || start != tc.start {
				t.Fatalf("ParseWindowKey(%q) = %q, %d, %v; want %q, %d", tc.want, sym, start, err, tc.symbol, tc.start)
			}
		})
	}
}

// Keys of one symbol sort by window start (for non-negative starts below
// 10^13 ms, i.e. until the year 2286), so a range scan returns them in order.
func TestWindowKeysSortByTime(t *testing.T) {
	starts := []int64{0, 60_000, 600_000, minute - windowMillis, minute, minute + windowMillis, 9_999_999_960_000}
	for i := 1; i < len(starts); i++ {
		a, b := WindowKey("ZVV", starts[i-1]), WindowKey("ZVV", starts[i])
		if a >= b {
			t.Errorf("WindowKey for %d (%q) does not sort before %d (%q)", starts[i-1], a, starts[i], b)
		}
	}
}

func TestWindowKeyRoundTrip(t *testing.T) {
	symbols := []string{"ZVV", "ZJZZT", "A@B", "@", "@@", "ZVV@1700000040000", "ÄÖÜ", "with space", "", "a\x00b"}
	starts := []int64{0, 1, minute, -60_000, -1, math.MaxInt64, math.MinInt64}
	for _, sym := range symbols {
		for _, start := range starts {
			key := WindowKey(sym, start)
			gotSym, gotStart, err := ParseWindowKey(key)
			if err != nil || gotSym != sym || gotStart != start {
				t.Errorf("ParseWindowKey(WindowKey(%q, %d) = %q) = %q, %d, %v", sym, start, key, gotSym, gotStart, err)
			}
		}
	}
}

func TestParseWindowKeyBad(t *testing.T) {
	cases := []struct {
		name, key, wantErr string
	}{
		{"empty", "", "has no '@'"},
		{"no @", "ZVV", "has no '@'"},
		{"no start", "ZVV@", "bad start"},
		{"letters", "ZVV@abc", "bad start"},
		{"start then symbol", "1700000040000@ZVV", "bad start"},
		{"fraction", "ZVV@1700000040000.5", "bad start"},
		{"space", "ZVV@ 1700000040000", "bad start"},
		{"beyond int64", "ZVV@99999999999999999999", "bad start"},
		// Keys WindowKey never writes would be a second entry for one window
		// (a replay would escape the dedup, a query would list it twice).
		{"not zero-padded", "ZVV@60000", "not canonical"},
		{"extra leading zero", "ZVV@01700000040000", "not canonical"},
		{"plus sign", "ZVV@+1700000040000", "not canonical"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sym, start, err := ParseWindowKey(tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseWindowKey(%q) = %q, %d, %v; want an error containing %q", tc.key, sym, start, err, tc.wantErr)
			}
		})
	}
}
