package settlement

import "testing"

// BenchmarkParseTrade decodes a Datagen STOCK_TRADES value.
func BenchmarkParseTrade(b *testing.B) {
	v := []byte(`{"side":"BUY","quantity":1934,"symbol":"ZVV","price":762,"account":"XYZ789","userid":"User_5"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTrade(v); err != nil {
			b.Fatal(err)
		}
	}
}
