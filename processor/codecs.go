package processor

import (
	"fmt"

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

var deterministic = proto.MarshalOptions{Deterministic: true}

func (c protoCodec[M]) Encode(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case M:
		return deterministic.Marshal(m)
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

var (
	userTradeCodec  = protoCodec[*pb.UserTrade]{new: func() *pb.UserTrade { return new(pb.UserTrade) }}
	settlementCodec = protoCodec[*pb.TradeSettlement]{new: func() *pb.TradeSettlement { return new(pb.TradeSettlement) }}
	// CountsCodec decodes the count table's values, for views.
	CountsCodec = protoCodec[*pb.WindowCounts]{new: func() *pb.WindowCounts { return new(pb.WindowCounts) }}
	// UserCodec decodes the local users table's values.
	UserCodec = protoCodec[*pb.User]{new: func() *pb.User { return new(pb.User) }}
)
