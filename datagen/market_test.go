package datagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The market profile: deterministic by seed, skewed (the hottest symbol
// takes a tenth or more), every symbol and user within range, the shares
// of unknown users, malformed and late records near what was asked, event
// times within the span.
func TestMarketProfile(t *testing.T) {
	m := MarketOptions{Symbols: 2000, Users: 5000, Skew: 1.1, Span: time.Hour, Late: 0.02, Malformed: 0.05, Unknown: 0.01, LateAge: 3 * time.Hour}
	a, err := NewMarket(7, m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewMarket(7, m)
	now := time.Now()
	const n = 100_000
	bySymbol := map[string]int{}
	var malformed, unknown, late int
	symbols := map[string]bool{}
	for _, s := range a.Symbols() {
		symbols[s] = true
	}
	if len(symbols) != 2000 {
		t.Fatalf("%d distinct symbols, want 2000", len(symbols))
	}
	bad := map[string]bool{}
	for _, v := range MalformedValues() {
		bad[v] = true
	}
	for range n {
		k, v := a.Trade()
		k2, v2 := b.Trade()
		if k != k2 || !bytes.Equal(v, v2) {
			t.Fatal("two generators with one seed differ")
		}
		ts := a.EventTime(now)
		b.EventTime(now)
		if !symbols[k] {
			t.Fatalf("key %q is not one of the symbols", k)
		}
		bySymbol[k]++
		var tr struct{ Userid string }
		if bad[string(v)] {
			malformed++
		} else {
			if err := json.Unmarshal(v, &tr); err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			var id int
			if _, err := fmt.Sscanf(tr.Userid, "User_%d", &id); err != nil || id < 1 {
				t.Fatalf("userid %q", tr.Userid)
			}
			if id > m.Users {
				unknown++
			}
		}
		switch age := now.Sub(ts); {
		case age < 0 || age > m.Span+m.LateAge:
			t.Fatalf("event time %v before now: outside span and late age", age)
		case age > m.Span:
			late++
		}
	}
	if hot := float64(bySymbol[a.Symbols()[0]]) / n; hot < 0.08 || hot > 0.25 {
		t.Errorf("hottest symbol takes %.1f%% of trades, want about 10-15%%", 100*hot)
	}
	for name, c := range map[string]struct {
		got  int
		want float64
	}{"malformed": {malformed, 0.05}, "unknown": {unknown, 0.01 * 0.95}, "late": {late, 0.02}} {
		if share := float64(c.got) / n; share < c.want*0.7 || share > c.want*1.3 {
			t.Errorf("%s share %.4f, want about %.4f", name, share, c.want)
		}
	}
	if _, err := NewMarket(1, MarketOptions{Symbols: 0, Users: 1, Skew: 1}); err == nil || !strings.Contains(err.Error(), "symbols 0") || !strings.Contains(err.Error(), "skew 1") {
		t.Errorf("bad options: %v", err)
	}
	if got := MarketSymbols(28); got[0] != "AAAA" || got[1] != "AAAB" || got[27] != "AABB" {
		t.Errorf("symbols %v", got[:3])
	}
}

// Skew 0 spreads trades evenly over the symbols, and so over stocktrade's
// partitions: no symbol is far from its fair share.
func TestMarketEven(t *testing.T) {
	g, err := NewMarket(3, MarketOptions{Symbols: 100, Users: 10, Skew: 0})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200_000
	bySymbol := map[string]int{}
	for range n {
		k, _ := g.Trade()
		bySymbol[k]++
	}
	if len(bySymbol) != 100 {
		t.Fatalf("%d symbols traded, want 100", len(bySymbol))
	}
	for s, c := range bySymbol {
		if c < n/100*9/10 || c > n/100*11/10 {
			t.Errorf("%s: %d trades, want %d ± 10%%", s, c, n/100)
		}
	}
	if _, err := NewMarket(1, MarketOptions{Symbols: 1, Users: 1, Skew: 0.5}); err == nil || !strings.Contains(err.Error(), "or 0 for even") {
		t.Errorf("skew 0.5: %v", err)
	}
}
