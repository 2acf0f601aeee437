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
	users             = 9
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
	Rate     float64   // trades per second; 0 = as fast as the sink takes them
	Count    int64     // trades to produce; 0 = until ctx is done
	Seed     uint64    // random seed; equal seeds give equal records
	Progress Progress // told how many trades were sent; nil = nobody
	// UserEvery: one users update per that many trades (0: 100).
	UserEvery int64
	Now       func() time.Time // record timestamps; nil = time.Now
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
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), symbols: Symbols(), accounts: accounts(), genders: genders()}
}

// Trade is a STOCK_TRADES value and its key (the symbol).
func (g *Generator) Trade() (key string, value []byte) {
	side := "BUY"
	if g.rng.IntN(2) == 1 {
		side = "SELL"
	}
	sym := g.symbols[g.rng.IntN(len(g.symbols))]
	v, _ := json.Marshal(map[string]any{ // a map of plain values cannot fail to marshal
		"side":     side,
		"quantity": 1 + g.rng.IntN(4999),
		"symbol":   sym,
		"price":    5 + g.rng.IntN(995),
		"account":  g.accounts[g.rng.IntN(len(g.accounts))],
		"userid":   fmt.Sprintf("User_%d", 1+g.rng.IntN(users)),
	})
	return sym, v
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
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.UserEvery <= 0 {
		o.UserEvery = 100
	}
	for n := 1; n <= users; n++ {
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
		if err := sink.Send(ctx, Record{Topic: "stocktrade", Key: k, Value: v, Timestamp: now()}); err != nil {
			return sent, err
		}
		sent++
		if sent%o.UserEvery == 0 {
			k, v := g.User(1 + g.rng.IntN(users))
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
