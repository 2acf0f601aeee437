package processor

import (
	"fmt"

	"github.com/lovoo/goka"
	"google.golang.org/protobuf/proto"

	pb "github.com/tradeflow/tradeflow/proto"
)

// rawCodec passes bytes through: input is decoded inside the callbacks, so
// that a bad record goes to the dead-letter topic instead of failing goka.
type rawCodec struct{}

func (rawCodec) Encode(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot encode %T", v)
	}
	return b, nil
}

func (rawCodec) Decode(b []byte) (any, error) { return b, nil }

// protoCodec encodes M deterministically (so replays write the same bytes)
// and also passes already-encoded bytes through.
type protoCodec[M proto.Message] struct{ new func() M }

// marshal encodes m deterministically: a replay writes the same bytes.
func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func (c protoCodec[M]) Encode(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case M:
		return marshal(m)
	}
	return nil, fmt.Errorf("proto codec: cannot encode %T", v)
}

func (c protoCodec[M]) Decode(b []byte) (any, error) {
	m := c.new()
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decode %T: %w", m, err)
	}
	return m, nil
}

func userTradeCodec() protoCodec[*pb.UserTrade] {
	return protoCodec[*pb.UserTrade]{new: func() *pb.UserTrade { return new(pb.UserTrade) }}
}

func settlementCodec() protoCodec[*pb.TradeSettlement] {
	return protoCodec[*pb.TradeSettlement]{new: func() *pb.TradeSettlement { return new(pb.TradeSettlement) }}
}

// CountsCodec is the count table's codec (*pb.WindowCounts), for views.
func CountsCodec() goka.Codec {
	return protoCodec[*pb.WindowCounts]{new: func() *pb.WindowCounts { return new(pb.WindowCounts) }}
}

// UserCodec is the local users table's codec (*pb.User).
func UserCodec() goka.Codec {
	return protoCodec[*pb.User]{new: func() *pb.User { return new(pb.User) }}
}
