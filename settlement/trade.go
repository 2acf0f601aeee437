// Package settlement is tradeflow's domain: trades, users, the disposition
// rules of the original settlement Lambda (made deterministic) and window
// arithmetic. It knows nothing of Kafka or goka, so every rule is a pure
// function tested with tables of cases.
package settlement

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// MaxValueBytes bounds an input record's value; a larger one is bad input.
const MaxValueBytes = 64 << 10

// Trade is one stocktrade record as Confluent's Datagen STOCK_TRADES
// quickstart writes it.
type Trade struct {
	Side     string
	Quantity int32
	Symbol   string
	Price    int32
	Account  string
	UserID   string
}

// User is one users record as Datagen's USERS quickstart writes it.
type User struct {
	RegisterTime int64
	UserID       string
	RegionID     string
	Gender       string
}

// InvalidError says why an input record is bad input; its message is the
// reason written to the dead-letter header.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// ParseTrade decodes and validates a stocktrade value. Field names match
// case-insensitively (as ksqlDB does) and unknown fields are ignored. A valid
// trade has a non-empty symbol, side BUY or SELL, and a quantity and price
// that are integers in 1..MaxInt32; a missing or empty userid is valid (the
// trade settles as Rejected).
func ParseTrade(value []byte) (t Trade, err error) {
	err = parseObject(value, func(fields fields) (err error) {
		t, err = tradeFrom(fields)
		return err
	})
	return t, err
}

func tradeFrom(fields fields) (t Trade, err error) {
	if t.Symbol, err = stringField(fields, "symbol", true); err != nil {
		return Trade{}, err
	}
	if t.Symbol == "" {
		return Trade{}, invalid("field symbol is empty")
	}
	if t.Side, err = stringField(fields, "side", true); err != nil {
		return Trade{}, err
	}
	if t.Side != "BUY" && t.Side != "SELL" {
		return Trade{}, invalid("field side is %q, want BUY or SELL", t.Side)
	}
	if t.Quantity, err = positiveInt32(fields, "quantity"); err != nil {
		return Trade{}, err
	}
	if t.Price, err = positiveInt32(fields, "price"); err != nil {
		return Trade{}, err
	}
	if t.Account, err = stringField(fields, "account", false); err != nil {
		return Trade{}, err
	}
	if t.UserID, err = stringField(fields, "userid", false); err != nil {
		return Trade{}, err
	}
	return t, nil
}

// ParseUser decodes and validates a users value (not a tombstone: the caller
// handles a nil value as a delete). userid must be a string; the other fields
// are optional but must have their types when present.
func ParseUser(value []byte) (u User, err error) {
	err = parseObject(value, func(fields fields) (err error) {
		u, err = userFrom(fields)
		return err
	})
	return u, err
}

func userFrom(fields fields) (u User, err error) {
	if u.UserID, err = stringField(fields, "userid", true); err != nil {
		return User{}, err
	}
	if u.RegionID, err = stringField(fields, "regionid", false); err != nil {
		return User{}, err
	}
	if u.Gender, err = stringField(fields, "gender", false); err != nil {
		return User{}, err
	}
	if v, ok := present(fields, "registertime"); ok {
		if u.RegisterTime, err = int64Field(v, "registertime"); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// parsers reuses fastjson's parsers (and their buffers) across records,
// with the slice the fields of a record are gathered in; a cache, not
// state: any parser decodes any record the same.
var parsers = sync.Pool{New: func() any { return &parser{f: make(fields, 0, 8)} }}

// parser is a fastjson parser and the fields of the object it parsed last,
// which point into it.
type parser struct {
	p fastjson.Parser
	f fields
}

// fields are a JSON object's fields as they came, a handful, so looked up
// by scanning: no map and no lower-cased copy of each name per record.
// Names match as strings.ToLower makes them equal.
type fields []field

type field struct {
	name []byte // as in the value, valid while the parser is
	v    *fastjson.Value
}

// get is the field whose name is name (lower case) in any case.
func (f fields) get(name string) (*fastjson.Value, bool) {
	for _, x := range f {
		if sameName(x.name, name) {
			return x.v, true
		}
	}
	return nil, false
}

// sameName reports whether strings.ToLower(a) == b, for b in lower case,
// without a copy when a is ASCII.
func sameName(a []byte, b string) bool {
	if !isASCII(a) {
		return strings.ToLower(string(a)) == b
	}
	if len(a) != len(b) {
		return false
	}
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}

// sameNames reports whether strings.ToLower makes a and b equal, without
// copies when both are ASCII.
func sameNames(a, b []byte) bool {
	if !isASCII(a) || !isASCII(b) {
		return strings.ToLower(string(a)) == strings.ToLower(string(b))
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseObject parses value as one JSON object and calls use with its
// fields; the fields are valid only during use. Duplicate names (in any
// case) are ambiguous and rejected; so is anything after the object.
func parseObject(value []byte, use func(fields) error) error {
	switch {
	case value == nil:
		return invalid("value is null")
	case len(value) > MaxValueBytes:
		return invalid("value is %d bytes, more than the limit of %d", len(value), MaxValueBytes)
	case !utf8.Valid(value):
		return invalid("value is not valid UTF-8")
	}
	// fastjson's validator recurses once per level with no limit: 40 KB of
	// '[' took it 8 s (found by fuzzing). Its parser stops at MaxDepth;
	// stop there before validating, in one pass.
	tooDeep, rawControl := scanStrings(value, fastjson.MaxDepth)
	if tooDeep {
		return invalid("value is nested deeper than %d levels", fastjson.MaxDepth)
	}
	// fastjson's parser is lenient (NaN, 01, unknown escapes, raw control
	// characters); its validator is strict RFC 8259, as Jackson and
	// encoding/json are.
	if err := fastjson.ValidateBytes(value); err != nil {
		return syntaxError(value, err)
	}
	if rawControl {
		return invalid("value is not a JSON object: invalid JSON: control character in a string")
	}
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	v, err := p.p.ParseBytes(value)
	if err != nil {
		return syntaxError(value, err)
	}
	o, err := v.Object()
	if err != nil {
		if v.Type() == fastjson.TypeNull {
			return invalid("value is JSON null, not an object")
		}
		return invalid("value is not a JSON object but a JSON %s", kind(v.Type()))
	}
	f := p.f[:0]
	dup, duplicated := "", false
	o.Visit(func(key []byte, v *fastjson.Value) {
		for _, x := range f {
			if !duplicated && sameNames(x.name, key) {
				dup, duplicated = strings.ToLower(string(key)), true
			}
		}
		f = append(f, field{key, v})
	})
	// The grown slice serves the next record; cleared, so that a pooled
	// parser does not keep this record's names alive.
	defer func() { clear(f); p.f = f[:0] }()
	if duplicated {
		return invalid("field %s appears more than once", dup)
	}
	return use(f)
}

// scanStrings walks b once, tracking JSON strings and their escapes, and
// reports whether arrays and objects outside strings nest deeper than max
// anywhere (well-formed or not), and whether a raw control character
// appears inside a string, which JSON forbids: fastjson's validator only
// looks after a string's last escape.
func scanStrings(b []byte, max int) (tooDeep, rawControl bool) {
	depth := 0
	in, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in:
			if c < 0x20 {
				rawControl = true
			}
		case c == '[' || c == '{':
			if depth++; depth > max {
				return true, rawControl
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false, rawControl
}

// syntaxError turns fastjson's error, which nests a clause per level and
// quotes the input, into a short reason fit for a dead-letter header.
func syntaxError(value []byte, err error) error {
	msg := err.Error()
	switch {
	case len(strings.TrimSpace(string(value))) == 0:
		return invalid("value is empty, not a JSON object")
	case strings.Contains(msg, "unexpected tail"):
		return invalid("value has data after the JSON object")
	case strings.Contains(msg, "too big depth"):
		return invalid("value is nested deeper than %d levels", fastjson.MaxDepth)
	}
	if i := strings.Index(msg, "; unparsed tail"); i >= 0 {
		msg = msg[:i]
	}
	if parts := strings.Split(msg, ": "); len(parts) > 2 {
		msg = strings.Join(parts[len(parts)-2:], ": ")
	}
	return invalid("value is not a JSON object: invalid JSON: %s", msg)
}

func kind(t fastjson.Type) string {
	switch t {
	case fastjson.TypeArray:
		return "array"
	case fastjson.TypeString:
		return "string"
	case fastjson.TypeNumber:
		return "number"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "boolean"
	}
	return t.String()
}

func present(f fields, name string) (*fastjson.Value, bool) {
	v, ok := f.get(name)
	if !ok || v.Type() == fastjson.TypeNull {
		return nil, false
	}
	return v, true
}

func stringField(f fields, name string, required bool) (string, error) {
	v, ok := present(f, name)
	if !ok {
		if required {
			return "", invalid("field %s is missing", name)
		}
		return "", nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return "", invalid("field %s is not a string", name)
	}
	return string(b), nil
}

func int64Field(v *fastjson.Value, name string) (int64, error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, invalid("field %s is not a number", name)
	}
	n, err := v.Int64()
	if err != nil {
		raw := v.String()
		// An integer literal that does not fit is out of range; anything
		// else (1.5, 1e3) is not an integer.
		if strings.Trim(raw, "-0123456789") == "" {
			return 0, invalid("field %s is out of range", name)
		}
		return 0, invalid("field %s is not an integer: %s", name, raw)
	}
	return n, nil
}

func positiveInt32(f fields, name string) (int32, error) {
	v, ok := present(f, name)
	if !ok {
		return 0, invalid("field %s is missing", name)
	}
	n, err := int64Field(v, name)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > math.MaxInt32 {
		return 0, invalid("field %s is %d, want 1..%d", name, n, math.MaxInt32)
	}
	return int32(n), nil
}
