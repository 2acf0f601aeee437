package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// bigWorkload is a large stream of trades for the chaos test, generated
// up front with its ground truth. Every valid trade carries a unique "tid"
// (an unknown field, ignored by tradeflow), so the test can check what the
// broker kept of what it acknowledged.
type bigWorkload struct {
	Users   []*kgo.Record
	Trades  []*kgo.Record
	Symbols []string
	Valid   int
	Bad     int
	// wins[i] is the window and disposition of Trades[i]; Bad trades have
	// disp < 0.
	wins []tradeOutcome
}

type tradeOutcome struct {
	key  winKey
	disp int // 0 completed, 1 pending, 2 flagged (never: flag rate 0), 3 rejected; -1 malformed
}

// newBigWorkload makes n trades over nSymbols symbols with event times
// spread over the `spread` before now (flag rate 0, large trade 100000),
// ~1% malformed. Users: User_1..User_9 written, User_9 then deleted by a
// tombstone, so trades of User_9, of unknown users and without userid are
// Rejected.
func newBigWorkload(seed uint64, n, nSymbols int, spread time.Duration) *bigWorkload {
	rng := rand.New(rand.NewPCG(seed, 11))
	w := &bigWorkload{}
	for i := range nSymbols {
		w.Symbols = append(w.Symbols, fmt.Sprintf("Z%c%c%c", 'A'+i/26/26%26, 'A'+i/26%26, 'A'+i%26))
	}
	known := map[string]bool{}
	for i := 1; i <= 9; i++ {
		id := fmt.Sprintf("User_%d", i)
		v := fmt.Sprintf(`{"registertime":%d,"userid":%q,"regionid":"Region_%d","gender":"MALE"}`, 1500000000000+i, id, i)
		w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte(id), Value: []byte(v)})
		known[id] = true
	}
	w.Users = append(w.Users, &kgo.Record{Topic: "users", Key: []byte("User_9")})
	known["User_9"] = false

	now := time.Now().UnixMilli()
	for i := range n {
		ts := now - rng.Int64N(spread.Milliseconds())
		sym := w.Symbols[rng.IntN(len(w.Symbols))]
		rec := &kgo.Record{Topic: "stocktrade", Key: []byte(sym), Timestamp: time.UnixMilli(ts)}
		w.Trades = append(w.Trades, rec)
		if rng.IntN(100) == 0 {
			rec.Value = []byte(fmt.Sprintf(`{"tid":%d,"side":"BUY","quantity":"x","symbol":%q,"price":5}`, i, sym))
			w.wins = append(w.wins, tradeOutcome{disp: -1})
			w.Bad++
			continue
		}
		qty, price := 1+rng.Int64N(1000), 5+rng.Int64N(995)
		user := fmt.Sprintf("User_%d", 1+rng.IntN(10)) // User_10 never exists
		if rng.IntN(15) == 0 {
			user = ""
		}
		rec.Value = []byte(fmt.Sprintf(`{"tid":%d,"side":"SELL","quantity":%d,"symbol":%q,"price":%d,"account":"ABC123","userid":%q}`,
			i, qty, sym, price, user))
		disp := 0
		switch {
		case !known[user]:
			disp = 3
		case qty*price > 100000:
			disp = 1
		}
		w.wins = append(w.wins, tradeOutcome{key: winKey{sym, ts - ts%60_000}, disp: disp})
		w.Valid++
	}
	return w
}

// truth is the ground truth of the trades whose index is in idx (all when
// idx is nil).
func (w *bigWorkload) truth(include func(i int) bool) map[winKey]tally {
	m := map[winKey]tally{}
	for i, o := range w.wins {
		if o.disp < 0 || (include != nil && !include(i)) {
			continue
		}
		t := m[o.key]
		switch o.disp {
		case 0:
			t.Completed++
		case 1:
			t.Pending++
		case 2:
			t.Flagged++
		case 3:
			t.Rejected++
		}
		m[o.key] = t
	}
	return m
}

// tradeID reads the "tid" of a stocktrade value; -1 when it has none.
func tradeID(value []byte) int {
	var v struct {
		TID *int `json:"tid"`
	}
	if json.Unmarshal(value, &v) != nil || v.TID == nil {
		return -1
	}
	return *v.TID
}

// lostDoubled sums, over every window and disposition, how many counts
// are missing from got and how many are in excess of want.
func lostDoubled(got, want map[winKey]tally) (lost, doubled int64) {
	add := func(g, w int64) {
		if g < w {
			lost += w - g
		} else {
			doubled += g - w
		}
	}
	keys := map[winKey]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for k := range keys {
		g, w := got[k], want[k]
		add(g.Completed, w.Completed)
		add(g.Pending, w.Pending)
		add(g.Flagged, w.Flagged)
		add(g.Rejected, w.Rejected)
	}
	return lost, doubled
}
