package datagen

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"time"
)

// MarketOptions shape the market profile: many symbols traded with Zipf
// skew (a few hot ones carry much of the volume), many users, event times
// spread over a span, and optionally late and malformed records.
type MarketOptions struct {
	Symbols int // distinct symbols
	Users   int // users in the users table (User_1 to User_n)
	// Skew is the Zipf exponent over the symbols' ranks, above 1; 0 draws
	// every symbol equally often (a key per trade spreading evenly over
	// the partitions, as the 50M run wants).
	Skew float64
	// Span spreads event times evenly over the span before a record is
	// written; 0 stamps them as written.
	Span time.Duration
	// Late is the share of trades whose event time is a further LateAge
	// back (late for the window grace when LateAge exceeds it);
	// Malformed the share of values that are not valid trades; Unknown
	// the share naming a user the table does not hold (Rejected).
	Late, Malformed, Unknown float64
	LateAge                  time.Duration
}

// DefaultMarket is the market profile's default shape: 8,000 symbols, a
// million users, skew 1.1 (the hottest symbol takes about 15% of trades),
// an hour of event times, 1% unknown users, nothing late or malformed.
func DefaultMarket() MarketOptions {
	return MarketOptions{Symbols: 8000, Users: 1_000_000, Skew: 1.1, Span: time.Hour, Unknown: 0.01, LateAge: 2 * time.Hour}
}

// Validate names the option at fault.
func (m MarketOptions) Validate() error {
	var errs []error
	if m.Symbols < 1 {
		errs = append(errs, fmt.Errorf("symbols %d: want at least 1", m.Symbols))
	}
	if m.Users < 1 {
		errs = append(errs, fmt.Errorf("users %d: want at least 1", m.Users))
	}
	if m.Skew != 0 && !(m.Skew > 1) {
		errs = append(errs, fmt.Errorf("skew %v: want a Zipf exponent above 1, or 0 for even", m.Skew))
	}
	if m.Span < 0 || m.LateAge < 0 {
		errs = append(errs, fmt.Errorf("span %v and late age %v must not be negative", m.Span, m.LateAge))
	}
	for name, v := range map[string]float64{"late": m.Late, "malformed": m.Malformed, "unknown": m.Unknown} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s share %v: want 0..1", name, v))
		}
	}
	return errors.Join(errs...)
}

// NewMarket returns a market-profile generator seeded with seed; equal
// seeds and options give equal records.
func NewMarket(seed uint64, m MarketOptions) (*Generator, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("market profile: %w", err)
	}
	g := New(seed)
	g.symbols = MarketSymbols(m.Symbols)
	g.users = m.Users
	if m.Skew != 0 {
		g.zipf = rand.NewZipf(g.rng, m.Skew, 1, uint64(m.Symbols-1))
	}
	g.unknown, g.malformed, g.late = m.Unknown, m.Malformed, m.Late
	g.span, g.lateAge = m.Span, m.LateAge
	return g, nil
}

// MarketSymbols are n ticker-like symbols, by rank: "AAAA", "AAAB", ...
// (four letters up to 456,976 symbols, more beyond).
func MarketSymbols(n int) []string {
	out := make([]string, n)
	for i := range out {
		var b []byte
		for v, width := i, 0; width < 4 || v > 0; width++ {
			b = append([]byte{byte('A' + v%26)}, b...)
			v /= 26
		}
		out[i] = string(b)
	}
	return out
}

// MalformedValues are stocktrade values that are not valid trades, each
// for its own reason; tradeflow sends them to the dead-letter topic.
func MalformedValues() []string {
	return []string{`not json`, `[1,2]`, `null`, `{"side":"BUY","quantity":-1,"symbol":"AAAA","price":5}`,
		`{"side":"HOLD","quantity":1,"symbol":"AAAA","price":5}`, `{"side":"BUY","quantity":"1","symbol":"AAAA","price":5}`,
		`{"side":"BUY","quantity":1,"symbol":"","price":5}`}
}

// AddFlags registers the market profile's options on fs (-symbols,
// -users, -skew, -span, -late, -late-age, -malformed, -unknown), with m's
// values as defaults.
func (m *MarketOptions) AddFlags(fs *flag.FlagSet) {
	fs.IntVar(&m.Symbols, "symbols", m.Symbols, "market: distinct symbols")
	fs.IntVar(&m.Users, "users", m.Users, "market: users in the users table")
	fs.Float64Var(&m.Skew, "skew", m.Skew, "market: Zipf exponent of the symbols' popularity (> 1; 0: every symbol equally)")
	fs.DurationVar(&m.Span, "span", m.Span, "market: event times spread over this span before a trade is written")
	fs.Float64Var(&m.Late, "late", m.Late, "market: share of trades a further -late-age older")
	fs.DurationVar(&m.LateAge, "late-age", m.LateAge, "market: how much older a late trade is")
	fs.Float64Var(&m.Malformed, "malformed", m.Malformed, "market: share of malformed trade values")
	fs.Float64Var(&m.Unknown, "unknown", m.Unknown, "market: share of trades naming a user the users table lacks")
}

// Profile returns the market options profile names, nil for the
// quickstart, after checking them.
func Profile(name string, m MarketOptions) (*MarketOptions, error) {
	switch name {
	case "quickstart":
		return nil, nil
	case "market":
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("-profile market: %w", err)
		}
		return &m, nil
	}
	return nil, fmt.Errorf("-profile %q: want quickstart or market", name)
}
