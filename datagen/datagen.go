// Package datagen produces stocktrade and users records with the value
// ranges of Confluent's Datagen STOCK_TRADES and USERS quickstarts, keyed
// as they are (trades by symbol, users by userid) and partitioned as the
// Java producer does.
package datagen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// The quickstarts' value ranges: symbols, accounts and genders.
func Symbols() []string  { return []string{"ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"} }
func accounts() []string { return []string{"ABC123", "LMN456", "XYZ789"} }
func genders() []string  { return []string{"MALE", "FEMALE", "OTHER"} }

const (
	quickstartUsers   = 9
	registerTimeFirst = 1487715775521
	registerTimeLast  = 1519273364599
)

// Record is one record to produce.
type Record struct {
	Topic     string
	Key       string
	Value     []byte // nil: a tombstone
	Timestamp time.Time
}

// Sink writes records; Flush waits until all are acknowledged.
type Sink interface {
	Send(ctx context.Context, r Record) error
	Flush(ctx context.Context) error
}

// Options say how much to produce and how fast.
type Options struct {
	Rate     float64  // trades per second; 0 = as fast as the sink takes them
	Count    int64    // trades to produce; 0 = until ctx is done
	Seed     uint64   // random seed; equal seeds give equal records
	Progress Progress // told how many trades were sent; nil = nobody
	// UserEvery: one users update per that many trades (0: 100).
	UserEvery int64
	Now       func() time.Time // record timestamps; nil = time.Now
	// Market, when set, is the market profile's shape; nil is the
	// quickstart.
	Market *MarketOptions
}

// Progress hears how far a run is: the trades sent so far, every few
// hundred trades (every trade when paced by Rate), and the total when the
// last was acknowledged.
type Progress interface {
	Sent(n int64)
	Done(n int64, took time.Duration)
}

// progressEvery is how many trades pass between two Sent calls when the
// run is not paced (a paced run reports every trade).
const progressEvery = 256

// Generator makes Datagen records.
type Generator struct {
	rng                        *rand.Rand
	symbols, accounts, genders []string
	users                      int
	// Market profile only (nil and zero for the quickstart's): symbols
	// drawn by rank (nil: evenly), users beyond the table, malformed
	// values.
	zipf                     *rand.Zipf
	unknown, malformed, late float64
	span, lateAge            time.Duration
}

// New returns a quickstart generator seeded with seed: the quickstart's 7
// symbols, evenly, and 9 users.
func New(seed uint64) *Generator {
	return &Generator{rng: newRand(seed), symbols: Symbols(), accounts: accounts(), genders: genders(), users: quickstartUsers}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Symbols is the generator's symbols, the hottest first in the market
// profile.
func (g *Generator) Symbols() []string { return g.symbols }

// Users is how many users the generator writes (User_1 to User_n).
func (g *Generator) Users() int { return g.users }

// Trade is a STOCK_TRADES value and its key (the symbol). In the market
// profile a share of values is malformed (MalformedValues) and a share
// names a user the users table does not hold.
func (g *Generator) Trade() (key string, value []byte) {
	side := "BUY"
	if g.rng.IntN(2) == 1 {
		side = "SELL"
	}
	var sym string
	if g.zipf != nil {
		sym = g.symbols[g.zipf.Uint64()]
	} else {
		sym = g.symbols[g.rng.IntN(len(g.symbols))]
	}
	if g.malformed > 0 && g.rng.Float64() < g.malformed {
		bad := MalformedValues()
		return sym, []byte(bad[g.rng.IntN(len(bad))])
	}
	user := 1 + g.rng.IntN(g.users)
	if g.unknown > 0 && g.rng.Float64() < g.unknown {
		user = g.users + 1 + g.rng.IntN(g.users/100+1)
	}
	v, _ := json.Marshal(map[string]any{ // a map of plain values cannot fail to marshal
		"side":     side,
		"quantity": 1 + g.rng.IntN(4999),
		"symbol":   sym,
		"price":    5 + g.rng.IntN(995),
		"account":  g.accounts[g.rng.IntN(len(g.accounts))],
		"userid":   fmt.Sprintf("User_%d", user),
	})
	return sym, v
}

// EventTime is the event time of the next trade written at now: now for
// the quickstart (Datagen stamps records as it writes them); in the market
// profile spread evenly over the span before now, a share of them late
// (MarketOptions.Late).
func (g *Generator) EventTime(now time.Time) time.Time {
	if g.span <= 0 {
		return now
	}
	t := now.Add(-time.Duration(g.rng.Int64N(int64(g.span))))
	if g.late > 0 && g.rng.Float64() < g.late {
		t = t.Add(-g.lateAge)
	}
	return t
}

// User is a USERS value for User_n and its key (the userid).
func (g *Generator) User(n int) (key string, value []byte) {
	id := fmt.Sprintf("User_%d", n)
	v, _ := json.Marshal(map[string]any{
		"registertime": registerTimeFirst + g.rng.Int64N(registerTimeLast-registerTimeFirst+1),
		"userid":       id,
		"regionid":     fmt.Sprintf("Region_%d", 1+g.rng.IntN(9)),
		"gender":       g.genders[g.rng.IntN(len(g.genders))],
	})
	return id, v
}

// Run writes every user once, then trades (with an occasional users
// update) at o.Rate until o.Count trades are written or ctx is done, and
// flushes. It returns the number of trades written.
func Run(ctx context.Context, sink Sink, o Options) (int64, error) {
	g := New(o.Seed)
	if o.Market != nil {
		var err error
		if g, err = NewMarket(o.Seed, *o.Market); err != nil {
			return 0, err
		}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.UserEvery <= 0 {
		o.UserEvery = 100
	}
	for n := 1; n <= g.users; n++ {
		k, v := g.User(n)
		if err := sink.Send(ctx, Record{Topic: "users", Key: k, Value: v, Timestamp: now()}); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	var sent int64
	for o.Count == 0 || sent < o.Count {
		if ctx.Err() != nil {
			break
		}
		if o.Rate > 0 {
			due := start.Add(time.Duration(float64(sent) / o.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
				continue
			}
		}
		k, v := g.Trade()
		if err := sink.Send(ctx, Record{Topic: "stocktrade", Key: k, Value: v, Timestamp: g.EventTime(now())}); err != nil {
			return sent, err
		}
		sent++
		if sent%o.UserEvery == 0 {
			k, v := g.User(1 + g.rng.IntN(g.users))
			if err := sink.Send(ctx, Record{Topic: "users", Key: k, Value: v, Timestamp: now()}); err != nil {
				return sent, err
			}
		}
		if o.Progress != nil && (sent%progressEvery == 0 || o.Rate > 0) {
			o.Progress.Sent(sent)
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := sink.Flush(fctx); err != nil {
		return sent, err
	}
	if o.Progress != nil {
		o.Progress.Done(sent, time.Since(start))
	}
	return sent, nil
}
