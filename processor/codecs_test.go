package processor

import (
	"bytes"
	"testing"

	"github.com/lovoo/goka"

	pb "github.com/tradeflow/tradeflow/proto"
)

func TestCodecsEncode(t *testing.T) {
	counts := &pb.WindowCounts{Symbol: "ZVV", WindowStart: 60_000, Completed: 1,
		Applied: map[int32]int64{5: 50, 1: 10, 3: 30, 0: 0, 2: 20, 4: 40}}
	cases := []struct {
		name    string
		codec   goka.Codec
		in      any
		wantErr bool
	}{
		{"raw bytes", rawCodec{}, []byte("x"), false},
		{"raw refuses a string", rawCodec{}, "x", true},
		{"proto message", CountsCodec, counts, false},
		{"proto passes bytes through", CountsCodec, []byte{0x0a, 0x03, 'Z', 'V', 'V'}, false},
		{"proto refuses another message", CountsCodec, &pb.User{}, true},
		{"proto refuses a string", UserCodec, "User_1", true},
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

// Replays write the same bytes: map fields are encoded in key order.
func TestProtoCodecDeterministic(t *testing.T) {
	first, err := CountsCodec.Encode(&pb.WindowCounts{Symbol: "ZVV", Applied: map[int32]int64{5: 50, 1: 10, 3: 30, 2: 20, 4: 40}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		applied := map[int32]int64{}
		for _, k := range []int32{4, 2, 5, 3, 1} {
			applied[k] = int64(k) * 10
		}
		b, err := CountsCodec.Encode(&pb.WindowCounts{Symbol: "ZVV", Applied: applied})
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
			v, err := CountsCodec.Decode(tc.in)
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
