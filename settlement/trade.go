// Package settlement is tradeflow's domain: trades, users, the disposition
// rules of the original settlement Lambda (made deterministic) and window
// arithmetic. It knows nothing of Kafka or goka, so every rule is a pure
// function tested with tables of cases.
package settlement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
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
func ParseTrade(value []byte) (Trade, error) {
	fields, err := objectFields(value)
	if err != nil {
		return Trade{}, err
	}
	var t Trade
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
func ParseUser(value []byte) (User, error) {
	fields, err := objectFields(value)
	if err != nil {
		return User{}, err
	}
	var u User
	if u.UserID, err = stringField(fields, "userid", true); err != nil {
		return User{}, err
	}
	if u.RegionID, err = stringField(fields, "regionid", false); err != nil {
		return User{}, err
	}
	if u.Gender, err = stringField(fields, "gender", false); err != nil {
		return User{}, err
	}
	if raw, ok := fields["registertime"]; ok && !isNull(raw) {
		if u.RegisterTime, err = int64Field(raw, "registertime"); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// objectFields splits a JSON object into its fields, keyed by lower-case
// name. Duplicate names (in any case) are ambiguous and rejected; so is
// anything but whitespace after the object.
func objectFields(value []byte) (map[string]json.RawMessage, error) {
	switch {
	case value == nil:
		return nil, invalid("value is null")
	case len(value) > MaxValueBytes:
		return nil, invalid("value is %d bytes, more than the limit of %d", len(value), MaxValueBytes)
	case !utf8.Valid(value):
		return nil, invalid("value is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, invalid("value is not a JSON object: %v", err)
	}
	if tok == nil {
		return nil, invalid("value is JSON null, not an object")
	}
	if tok != json.Delim('{') {
		kind := "array"
		switch tok.(type) {
		case string:
			kind = "string"
		case json.Number:
			kind = "number"
		case bool:
			kind = "boolean"
		}
		return nil, invalid("value is not a JSON object but a JSON %s", kind)
	}
	fields := make(map[string]json.RawMessage)
	for dec.More() {
		if tok, err = dec.Token(); err != nil {
			return nil, invalid("value is not a JSON object: %v", err)
		}
		name, _ := tok.(string) // the decoder only returns strings as keys
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, invalid("value is not a JSON object: %v", err)
		}
		lk := strings.ToLower(name)
		if _, dup := fields[lk]; dup {
			return nil, invalid("field %s appears more than once", lk)
		}
		fields[lk] = v
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, invalid("value is not a JSON object: %v", err)
	}
	// dec.More would not see a stray '}' or ']' after the object.
	if len(bytes.Trim(value[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, invalid("value has data after the JSON object")
	}
	return fields, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func stringField(fields map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		if required {
			return "", invalid("field %s is missing", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid("field %s is not a string", name)
	}
	return s, nil
}

func int64Field(raw json.RawMessage, name string) (int64, error) {
	var n json.Number
	// Unmarshal takes a JSON string holding a number ("10") as a Number:
	// that is a wrong type here.
	if err := json.Unmarshal(raw, &n); err != nil || bytes.HasPrefix(raw, []byte{'"'}) {
		return 0, invalid("field %s is not a number", name)
	}
	v, err := n.Int64()
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, invalid("field %s is out of range", name)
		}
		return 0, invalid("field %s is not an integer: %s", name, n)
	}
	return v, nil
}

func positiveInt32(fields map[string]json.RawMessage, name string) (int32, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return 0, invalid("field %s is missing", name)
	}
	v, err := int64Field(raw, name)
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > math.MaxInt32 {
		return 0, invalid("field %s is %d, want 1..%d", name, v, math.MaxInt32)
	}
	return int32(v), nil
}
