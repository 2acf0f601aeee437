package processor

import (
	"bytes"
	"testing"

	"github.com/lovoo/goka"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
)

func TestCodecsEncode(t *testing.T) {
	counts := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000, Completed: 1,
		Applied: ledger.Offsets(map[int32]int64{5: 50, 1: 10, 3: 30, 0: 0, 2: 20, 4: 40})}
	cases := []struct {
		name    string
		codec   goka.Codec
		in      any
		wantErr bool
	}{
		{"raw bytes", rawCodec{}, []byte("x"), false},
		{"raw refuses a string", rawCodec{}, "x", true},
		{"proto message", CountsCodec(), counts, false},
		{"proto passes bytes through", CountsCodec(), []byte{0x0a, 0x03, 'Z', 'V', 'V'}, false},
		{"proto refuses another message", CountsCodec(), &pb.User{}, true},
		{"proto refuses a string", UserCodec(), "User_1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.codec.Encode(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Encode(%T) = %v, want error: %v", tc.in, err, tc.wantErr)
			}
			if in, ok := tc.in.([]byte); ok && !bytes.Equal(b, in) {
				t.Errorf("Encode changed the bytes: %q", b)
			}
		})
	}
}

// Replays write the same bytes: applied offsets are kept in partition order.
func TestProtoCodecDeterministic(t *testing.T) {
	first, err := CountsCodec().Encode(&pb.WindowCounts{Symbol: "ZVV", Applied: ledger.Offsets(map[int32]int64{5: 50, 1: 10, 3: 30, 2: 20, 4: 40})})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		applied := map[int32]int64{}
		for _, k := range []int32{4, 2, 5, 3, 1} {
			applied[k] = int64(k) * 10
		}
		b, err := CountsCodec().Encode(&pb.WindowCounts{Symbol: "ZVV", Applied: ledger.Offsets(applied)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("encoding %d differs: %x vs %x", i, b, first)
		}
	}
}

func TestProtoCodecDecode(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"empty is the zero message", nil, false},
		{"valid", []byte{0x0a, 0x03, 'Z', 'V', 'V'}, false},
		{"truncated", []byte{0x0a, 0x05, 'Z'}, true},
		{"bad wire type", []byte{0xff, 0xff, 0xff}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := CountsCodec().Decode(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Decode(%x) = %v, %v; want error: %v", tc.in, v, err, tc.wantErr)
			}
			if err == nil {
				if _, ok := v.(*pb.WindowCounts); !ok {
					t.Errorf("decoded a %T", v)
				}
			}
		})
	}
}

// applied (repeated SourceOffset) reads what map<int32, int64> wrote: a map
// entry on the wire is a message with key = 1 and value = 2.
func TestAppliedReadsMapWireFormat(t *testing.T) {
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.VarintType)
	entry = protowire.AppendVarint(entry, 3)
	entry = protowire.AppendTag(entry, 2, protowire.VarintType)
	entry = protowire.AppendVarint(entry, 1234)
	var b []byte
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, entry)
	v, err := CountsCodec().Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	a := v.(*pb.WindowCounts).Applied
	if len(a) != 1 || a[0].Partition != 3 || a[0].Offset != 1234 {
		t.Fatalf("applied = %v, want partition 3 at offset 1234", a)
	}
}
