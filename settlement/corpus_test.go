package settlement

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// The decoder corpus, in one place: the table tests check each case's
// outcome, and FuzzParseTrade / FuzzParseUser start from every value in it
// (so `go test -fuzz` in CI explores from here).

// tradeCase is one stocktrade value and what ParseTrade must make of it:
// the trade, or an error containing wantErr.
type tradeCase struct {
	name    string
	value   []byte
	want    Trade
	wantErr string
}

// userCase is the same for a users value.
type userCase struct {
	name    string
	value   []byte
	want    User
	wantErr string
}

// trade is a Datagen-shaped stocktrade value with fields overridden or
// removed: fields maps a name to its raw JSON text, "" removes it.
func trade(fields map[string]string) []byte {
	base := [][2]string{
		{"side", `"BUY"`}, {"quantity", `1934`}, {"symbol", `"ZVZZT"`},
		{"price", `974`}, {"account", `"XYZ789"`}, {"userid", `"User_5"`},
	}
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	add := func(k, v string) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(strconv.Quote(k) + ":" + v)
	}
	for _, kv := range base {
		v, ok := fields[kv[0]]
		if !ok {
			v = kv[1]
		}
		if v != "" {
			add(kv[0], v)
		}
	}
	// Fields not in the base (unknown or oddly-cased names), in a fixed order.
	var extra []string
	for k := range fields {
		known := false
		for _, kv := range base {
			known = known || kv[0] == k
		}
		if !known && fields[k] != "" {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		add(k, fields[k])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// datagenTrade is what ParseTrade makes of trade(nil).
var datagenTrade = Trade{Side: "BUY", Quantity: 1934, Symbol: "ZVZZT", Price: 974, Account: "XYZ789", UserID: "User_5"}

// nested is a JSON value nested depth arrays deep.
func nested(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

// padTo pads a valid trade with an unknown string field to exactly n bytes.
func padTo(n int) []byte {
	v := trade(map[string]string{"pad": `""`})
	pad := strings.Repeat("x", n-len(v))
	return trade(map[string]string{"pad": `"` + pad + `"`})
}

var tradeCorpus = []tradeCase{
	// Valid.
	{name: "datagen", value: trade(nil), want: datagenTrade},
	{name: "sell", value: trade(map[string]string{"side": `"SELL"`}), want: with(datagenTrade, func(t *Trade) { t.Side = "SELL" })},
	{name: "field names in any case", value: []byte(`{"SIDE":"BUY","Quantity":1934,"sYmBoL":"ZVZZT","PRICE":974,"Account":"XYZ789","UserId":"User_5"}`), want: datagenTrade},
	{name: "unknown fields ignored", value: trade(map[string]string{"extra": `{"a":[1,2,{"b":null}]}`, "ts": `1.5e300`, "flag": `true`}), want: datagenTrade},
	{name: "userid missing", value: trade(map[string]string{"userid": ""}), want: with(datagenTrade, func(t *Trade) { t.UserID = "" })},
	{name: "userid empty", value: trade(map[string]string{"userid": `""`}), want: with(datagenTrade, func(t *Trade) { t.UserID = "" })},
	{name: "userid null", value: trade(map[string]string{"userid": `null`}), want: with(datagenTrade, func(t *Trade) { t.UserID = "" })},
	{name: "account missing", value: trade(map[string]string{"account": ""}), want: with(datagenTrade, func(t *Trade) { t.Account = "" })},
	{name: "account null", value: trade(map[string]string{"account": `null`}), want: with(datagenTrade, func(t *Trade) { t.Account = "" })},
	{name: "max int32 quantity and price", value: trade(map[string]string{"quantity": "2147483647", "price": "2147483647"}),
		want: with(datagenTrade, func(t *Trade) { t.Quantity, t.Price = math.MaxInt32, math.MaxInt32 })},
	{name: "quantity and price 1", value: trade(map[string]string{"quantity": "1", "price": "1"}),
		want: with(datagenTrade, func(t *Trade) { t.Quantity, t.Price = 1, 1 })},
	{name: "whitespace around", value: []byte(" \t\r\n" + string(trade(nil)) + " \n"), want: datagenTrade},
	{name: "escaped strings", value: trade(map[string]string{"symbol": `"Z\u0056V"`, "userid": `"User_\u00e9"`}),
		want: with(datagenTrade, func(t *Trade) { t.Symbol, t.UserID = "ZVV", "User_é" })},
	{name: "symbol with @", value: trade(map[string]string{"symbol": `"A@B"`}), want: with(datagenTrade, func(t *Trade) { t.Symbol = "A@B" })},
	{name: "unknown field nested 100 deep", value: trade(map[string]string{"deep": nested(100)}), want: datagenTrade},
	{name: "exactly MaxValueBytes", value: padTo(MaxValueBytes), want: datagenTrade},

	// Not one JSON object.
	{name: "nil value", value: nil, wantErr: "value is null"},
	{name: "empty value", value: []byte{}, wantErr: "value is empty, not a JSON object"},
	{name: "not JSON", value: []byte("not json"), wantErr: "not a JSON object"},
	{name: "JSON array", value: []byte(`[1,2]`), wantErr: "not a JSON object but a JSON array"},
	{name: "JSON array of the object", value: []byte("[" + string(trade(nil)) + "]"), wantErr: "not a JSON object but a JSON array"},
	{name: "JSON null", value: []byte(`null`), wantErr: "JSON null"},
	{name: "JSON string", value: []byte(`"ZVV"`), wantErr: "not a JSON object but a JSON string"},
	{name: "JSON number", value: []byte(`42`), wantErr: "not a JSON object but a JSON number"},
	{name: "JSON true", value: []byte(`true`), wantErr: "not a JSON object but a JSON boolean"},
	{name: "truncated", value: trade(nil)[:20], wantErr: "not a JSON object"},
	{name: "trailing comma", value: []byte(`{"side":"BUY","quantity":1,"symbol":"A","price":1,}`), wantErr: "not a JSON object"},
	{name: "single quotes", value: []byte(`{'side':'BUY'}`), wantErr: "not a JSON object"},
	{name: "trailing text", value: append(trade(nil), " trailing"...), wantErr: "data after the JSON object"},
	{name: "two objects", value: append(trade(nil), trade(nil)...), wantErr: "data after the JSON object"},
	{name: "trailing brace", value: append(trade(nil), '}'), wantErr: "data after the JSON object"},
	{name: "trailing bracket", value: append(trade(nil), ']'), wantErr: "data after the JSON object"},
	{name: "invalid UTF-8", value: trade(map[string]string{"symbol": "\"Z\xffV\""}), wantErr: "not valid UTF-8"},
	{name: "invalid UTF-8 in unknown field", value: trade(map[string]string{"x": "\"\xc3\x28\""}), wantErr: "not valid UTF-8"},
	{name: "over MaxValueBytes", value: padTo(MaxValueBytes + 1), wantErr: "more than the limit"},
	{name: "huge", value: trade(map[string]string{"pad": `"` + strings.Repeat("A", 2*MaxValueBytes) + `"`}), wantErr: "value is 131177 bytes, more than the limit of 65536"},
	{name: "nested beyond the decoder's depth", value: trade(map[string]string{"deep": nested(20000)}), wantErr: "nested deeper than 300 levels"},
	{name: "duplicate keys differing in case", value: trade(map[string]string{"SYMBOL": `"OTHER"`}), wantErr: "field symbol appears more than once"},
	{name: "duplicate keys", value: []byte(`{"side":"BUY","quantity":1,"symbol":"A","price":1,"quantity":1000000}`), wantErr: "field quantity appears more than once"},
	{name: "duplicate empty keys", value: []byte(`{"side":"BUY","quantity":1,"symbol":"A","price":1,"":1,"":2}`), wantErr: "field  appears more than once"},
	{name: "raw control character before an escape", value: []byte("{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1,\"x\":\"a\x01\\n\"}"), wantErr: "control character in a string"},

	// symbol.
	{name: "symbol missing", value: trade(map[string]string{"symbol": ""}), wantErr: "field symbol is missing"},
	{name: "symbol null", value: trade(map[string]string{"symbol": "null"}), wantErr: "field symbol is missing"},
	{name: "symbol empty", value: trade(map[string]string{"symbol": `""`}), wantErr: "field symbol is empty"},
	{name: "symbol a number", value: trade(map[string]string{"symbol": `5`}), wantErr: "field symbol is not a string"},
	{name: "symbol an object", value: trade(map[string]string{"symbol": `{"s":"A"}`}), wantErr: "field symbol is not a string"},

	// side.
	{name: "side lower-case", value: trade(map[string]string{"side": `"buy"`}), wantErr: `field side is "buy", want BUY or SELL`},
	{name: "side unknown", value: trade(map[string]string{"side": `"HOLD"`}), wantErr: `field side is "HOLD"`},
	{name: "side padded", value: trade(map[string]string{"side": `" BUY"`}), wantErr: `field side is " BUY"`},
	{name: "side missing", value: trade(map[string]string{"side": ""}), wantErr: "field side is missing"},
	{name: "side a bool", value: trade(map[string]string{"side": `true`}), wantErr: "field side is not a string"},

	// quantity.
	{name: "quantity 0", value: trade(map[string]string{"quantity": "0"}), wantErr: "field quantity is 0, want 1..2147483647"},
	{name: "quantity -0", value: trade(map[string]string{"quantity": "-0"}), wantErr: "field quantity is 0"},
	{name: "quantity negative", value: trade(map[string]string{"quantity": "-3"}), wantErr: "field quantity is -3"},
	{name: "quantity float", value: trade(map[string]string{"quantity": "1.5"}), wantErr: "field quantity is not an integer: 1.5"},
	{name: "quantity integral float", value: trade(map[string]string{"quantity": "10.0"}), wantErr: "field quantity is not an integer"},
	{name: "quantity exponent", value: trade(map[string]string{"quantity": "1e3"}), wantErr: "field quantity is not an integer: 1e3"},
	{name: "quantity beyond int32", value: trade(map[string]string{"quantity": "2147483648"}), wantErr: "field quantity is 2147483648, want 1..2147483647"},
	{name: "quantity beyond int64", value: trade(map[string]string{"quantity": "9223372036854775808"}), wantErr: "field quantity is out of range"},
	{name: "quantity below int64", value: trade(map[string]string{"quantity": "-9223372036854775809"}), wantErr: "field quantity is out of range"},
	{name: "quantity a string", value: trade(map[string]string{"quantity": `"10"`}), wantErr: "field quantity is not a number"},
	{name: "quantity a bool", value: trade(map[string]string{"quantity": `true`}), wantErr: "field quantity is not a number"},
	{name: "quantity an array", value: trade(map[string]string{"quantity": `[10]`}), wantErr: "field quantity is not a number"},
	{name: "quantity missing", value: trade(map[string]string{"quantity": ""}), wantErr: "field quantity is missing"},
	{name: "quantity null", value: trade(map[string]string{"quantity": "null"}), wantErr: "field quantity is missing"},

	// price.
	{name: "price 0", value: trade(map[string]string{"price": "0"}), wantErr: "field price is 0"},
	{name: "price negative", value: trade(map[string]string{"price": "-974"}), wantErr: "field price is -974"},
	{name: "price beyond int32", value: trade(map[string]string{"price": "4294967296"}), wantErr: "field price is 4294967296"},
	{name: "price an object", value: trade(map[string]string{"price": `{}`}), wantErr: "field price is not a number"},
	{name: "price a string", value: trade(map[string]string{"price": `"974"`}), wantErr: "field price is not a number"},
	{name: "price missing", value: trade(map[string]string{"price": ""}), wantErr: "field price is missing"},

	// account, userid.
	{name: "account an array", value: trade(map[string]string{"account": `["XYZ789"]`}), wantErr: "field account is not a string"},
	{name: "userid a number", value: trade(map[string]string{"userid": `5`}), wantErr: "field userid is not a string"},
	{name: "userid a bool", value: trade(map[string]string{"userid": `false`}), wantErr: "field userid is not a string"},
}

func with(t Trade, f func(*Trade)) Trade { f(&t); return t }

var userCorpus = []userCase{
	// Valid.
	{name: "datagen", value: []byte(`{"registertime":1493819720340,"userid":"User_2","regionid":"Region_5","gender":"FEMALE"}`),
		want: User{RegisterTime: 1493819720340, UserID: "User_2", RegionID: "Region_5", Gender: "FEMALE"}},
	{name: "field names in any case", value: []byte(`{"RegisterTime":1,"USERID":"User_1","RegionId":"Region_1","GENDER":"MALE"}`),
		want: User{RegisterTime: 1, UserID: "User_1", RegionID: "Region_1", Gender: "MALE"}},
	{name: "userid only", value: []byte(`{"userid":"User_3"}`), want: User{UserID: "User_3"}},
	{name: "userid empty", value: []byte(`{"userid":""}`), want: User{}},
	{name: "optional fields null", value: []byte(`{"registertime":null,"userid":"User_4","regionid":null,"gender":null}`), want: User{UserID: "User_4"}},
	{name: "unknown fields ignored", value: []byte(`{"userid":"User_5","interests":["a","b"],"contactinfo":{"phone":"1"}}`), want: User{UserID: "User_5"}},
	{name: "negative registertime", value: []byte(`{"userid":"User_6","registertime":-1}`), want: User{UserID: "User_6", RegisterTime: -1}},
	{name: "max int64 registertime", value: []byte(`{"userid":"User_7","registertime":9223372036854775807}`), want: User{UserID: "User_7", RegisterTime: math.MaxInt64}},

	// Bad.
	{name: "nil value", value: nil, wantErr: "value is null"},
	{name: "empty value", value: []byte{}, wantErr: "value is empty, not a JSON object"},
	{name: "not JSON", value: []byte("User_1"), wantErr: "not a JSON object"},
	{name: "JSON array", value: []byte(`[{"userid":"User_1"}]`), wantErr: "not a JSON object but a JSON array"},
	{name: "JSON null", value: []byte(`null`), wantErr: "JSON null"},
	{name: "trailing data", value: []byte(`{"userid":"User_1"} x`), wantErr: "data after the JSON object"},
	{name: "trailing brace", value: []byte(`{"userid":"User_1"}}`), wantErr: "data after the JSON object"},
	{name: "invalid UTF-8", value: []byte("{\"userid\":\"User_\xff\"}"), wantErr: "not valid UTF-8"},
	{name: "over MaxValueBytes", value: []byte(`{"userid":"` + strings.Repeat("u", MaxValueBytes) + `"}`), wantErr: "more than the limit"},
	{name: "nested beyond the decoder's depth", value: []byte(`{"userid":"User_1","x":` + nested(20000) + `}`), wantErr: "nested deeper than 300 levels"},
	{name: "duplicate keys differing in case", value: []byte(`{"userid":"User_1","UserID":"User_2"}`), wantErr: "field userid appears more than once"},
	{name: "duplicate keys", value: []byte(`{"userid":"User_1","userid":"User_2"}`), wantErr: "field userid appears more than once"},
	{name: "userid missing", value: []byte(`{"regionid":"Region_1"}`), wantErr: "field userid is missing"},
	{name: "userid null", value: []byte(`{"userid":null}`), wantErr: "field userid is missing"},
	{name: "userid a number", value: []byte(`{"userid":1}`), wantErr: "field userid is not a string"},
	{name: "regionid a number", value: []byte(`{"userid":"User_1","regionid":5}`), wantErr: "field regionid is not a string"},
	{name: "gender a bool", value: []byte(`{"userid":"User_1","gender":true}`), wantErr: "field gender is not a string"},
	{name: "registertime a string", value: []byte(`{"userid":"User_1","registertime":"1493819720340"}`), wantErr: "field registertime is not a number"},
	{name: "registertime a float", value: []byte(`{"userid":"User_1","registertime":1.5}`), wantErr: "field registertime is not an integer"},
	{name: "registertime beyond int64", value: []byte(`{"userid":"User_1","registertime":9223372036854775808}`), wantErr: "field registertime is out of range"},
}
