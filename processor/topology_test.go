package processor

import (
	"testing"

	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/settlement"
)

// CountTable is spelled out so that it can be a constant; it must be the
// name goka gives the count group's table.
func TestCountTableIsTheGroupTable(t *testing.T) {
	if got := goka.GroupTable(CountGroup); got != CountTable {
		t.Fatalf("goka names the count group's table %q, CountTable is %q", got, CountTable)
	}
	if got := (&Counter{}).Graph().GroupTable().Topic(); got != string(CountTable) {
		t.Fatalf("the count graph persists to %q, want %q", got, CountTable)
	}
}

// The four tables are one per disposition, each once.
func TestTablesCoverEveryDisposition(t *testing.T) {
	seen := map[settlement.Disposition]string{}
	for _, tb := range Tables() {
		if prev, ok := seen[tb.Disposition]; ok {
			t.Fatalf("%s and %s count the same disposition", prev, tb.Name)
		}
		seen[tb.Disposition] = tb.Name
	}
	for _, d := range settlement.Dispositions() {
		if _, ok := seen[d]; !ok {
			t.Errorf("no table counts %s", d)
		}
	}
}
