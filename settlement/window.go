package settlement

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WindowSize is the tumbling window of the per-minute tables.
const WindowSize = time.Minute

const windowMs = int64(WindowSize / time.Millisecond)

// WindowStart is the start (inclusive, ms since the UTC epoch) of the
// tumbling window holding event time ts (ms). Windows are aligned to the
// epoch; the end, WindowStart+WindowSize, is exclusive.
func WindowStart(ts int64) int64 {
	s := ts - ts%windowMs
	if ts < 0 && ts%windowMs != 0 {
		s -= windowMs
	}
	return s
}

// WindowEnd is the exclusive end of the window starting at start.
func WindowEnd(start int64) int64 { return start + windowMs }

// Policy says how late a record may be and how long windows are kept, both
// measured against stream time (the newest event time seen), as Kafka
// Streams does.
type Policy struct {
	Grace     time.Duration
	Retention time.Duration
}

// Validate reports a policy that would drop windows while they still take
// records, as a *ParamError.
func (p Policy) Validate() error {
	if p.Grace < 0 {
		return paramError([]string{"Grace"}, "grace %v is negative", p.Grace)
	}
	if p.Retention < WindowSize+p.Grace {
		return paramError([]string{"Retention", "Grace"}, "retention %v is shorter than the window size plus grace (%v)", p.Retention, WindowSize+p.Grace)
	}
	return nil
}

// Late reports whether a record at event time ts comes too late for its
// window: the window closed (end + grace) at or before stream time.
func (p Policy) Late(ts, streamTime int64) bool {
	return WindowEnd(WindowStart(ts))+p.Grace.Milliseconds() <= streamTime
}

// Expired reports whether the window starting at start is past retention
// at stream time, and may be removed from state.
func (p Policy) Expired(start, streamTime int64) bool {
	return WindowEnd(start)+p.Retention.Milliseconds() <= streamTime
}

// WindowKey is the state key of a symbol's window, e.g. "ZVV@1700000040000".
// The start is zero-padded to 13 digits so keys sort by time.
func WindowKey(symbol string, start int64) string {
	if start < 0 {
		return symbol + "@" + fmt.Sprintf("%013d", start)
	}
	// What %013d writes, in one allocation: this runs for every trade.
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], start, 10)
	var b strings.Builder
	b.Grow(len(symbol) + 1 + max(startDigits, len(d)))
	b.WriteString(symbol)
	b.WriteByte('@')
	for range startDigits - len(d) {
		b.WriteByte('0')
	}
	b.Write(d)
	return b.String()
}

// startDigits is the width WindowKey pads a window start to.
const startDigits = 13

// ParseWindowKey splits a WindowKey. The symbol may itself contain '@': the
// start follows the last one. Only keys WindowKey writes are accepted: another
// spelling of the same start ("ZVV@60000", "ZVV@+0000000060000") would be a
// second table entry for one window.
func ParseWindowKey(key string) (symbol string, start int64, err error) {
	i := strings.LastIndexByte(key, '@')
	if i < 0 {
		return "", 0, fmt.Errorf("window key %q has no '@'", key)
	}
	digits := key[i+1:]
	start, err = strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("window key %q: bad start: %w", key, err)
	}
	if start >= 0 && canonicalDigits(digits) {
		return key[:i], start, nil
	}
	if WindowKey(key[:i], start) != key {
		return "", 0, fmt.Errorf("window key %q is not canonical: want %q", key, WindowKey(key[:i], start))
	}
	return key[:i], start, nil
}

// canonicalDigits reports whether s is how WindowKey writes a non-negative
// start: only digits, at least startDigits of them, and no leading zero
// beyond the padding.
func canonicalDigits(s string) bool {
	if len(s) < startDigits || (len(s) > startDigits && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
