package settlement

import (
	"strings"
	"testing"
)

// Deep nesting is refused in one pass before fastjson's validator, which
// recurses per level without a limit: the fuzzer found 40 KB of '[' in a
// users record that took it 8 s (testdata/fuzz/FuzzParseUser). The limit is
// the parser's own: a value 300 levels deep (the object counts) is
// accepted, 301 is not, as before.
func TestNestingDepth(t *testing.T) {
	deep := func(levels int) []byte { // levels of arrays inside the trade object
		return trade(map[string]string{"deep": nested(levels)})
	}
	if _, err := ParseTrade(deep(299)); err != nil {
		t.Errorf("300 levels: %v, want accepted", err)
	}
	for _, v := range [][]byte{
		deep(300),
		[]byte(`{"userid":"User_1","x":` + strings.Repeat("[", 40000)),
		[]byte(`{"userid":"User_1","x":` + strings.Repeat("[{\"a\":", 8000)),
	} {
		_, err := ParseUser(v)
		checkInvalid(t, err)
		if !strings.Contains(err.Error(), "nested deeper than 300 levels") {
			t.Errorf("%.40q…: %v, want nested deeper than 300 levels", v, err)
		}
	}
	// Brackets inside strings, escaped quotes included, do not nest.
	s := `"` + strings.Repeat(`[\"{`, 400) + `"`
	if _, err := ParseTrade(trade(map[string]string{"note": s})); err != nil {
		t.Errorf("brackets in a string: %v, want accepted", err)
	}
}
