package processor

import (
	"encoding/binary"
	"fmt"

	"github.com/lovoo/goka"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// Users finds a user's region in the local users table; known is false
// when the user is absent.
type Users interface {
	Region(userid string) (region string, known bool, err error)
}

// Settler is the settle group's callback: the LEFT JOIN of stocktrade with
// the local users table, then the disposition rules. Every output carries
// the trade's identity (stocktrade partition and offset) and event time.
type Settler struct {
	Rules   settlement.Rules
	Users   Users
	Metrics *Metrics
	// Count, when set, counts each trade here (the fused count, fused.go)
	// instead of sending it to the windows topic.
	Count  *Counter
	chains *windowChains
}

// NewSettler returns a settle group whose window chains forget windows that
// policy has expired.
func NewSettler(rules settlement.Rules, users Users, policy settlement.Policy, m *Metrics) *Settler {
	return &Settler{Rules: rules, Users: users, Metrics: m, chains: newWindowChains(policy)}
}

func (s *Settler) settle(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	if ctx.Key() == "" {
		deadLetter(ctx, s.Metrics, raw, "record key (symbol) is empty")
		return
	}
	t, err := settlement.ParseTrade(raw)
	if err != nil {
		deadLetter(ctx, s.Metrics, raw, err.Error())
		return
	}
	ts := ctx.Timestamp().UnixMilli()
	if ctx.Timestamp().IsZero() || ts < 0 {
		deadLetter(ctx, s.Metrics, raw, "record has no timestamp (event time)")
		return
	}
	var region string
	known := false
	if t.UserID != "" {
		var err error
		if region, known, err = s.Users.Region(t.UserID); err != nil {
			ctx.Fail(fmt.Errorf("look up user %q: %w", t.UserID, err))
		}
	}
	id := settlement.TradeID{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset()}
	d := s.Rules.Decide(known, t.Quantity, t.Price, id)
	s.Metrics.Settled.WithLabelValues(d.String()).Inc()
	s.Metrics.settleEvents.advance(ts)

	ctx.Emit(UserTradesTopic, t.UserID, appendUserTrade(make([]byte, 0, 128), &pb.UserTrade{
		Userid: t.UserID, Regionid: region, Quantity: t.Quantity, Symbol: t.Symbol,
		Price: t.Price, Account: t.Account, Side: t.Side,
		Timestamp: ts, SourcePartition: id.Partition, SourceOffset: id.Offset,
	}))
	out := appendSettlement(make([]byte, 0, 128), &pb.TradeSettlement{
		User: t.UserID, Symbol: t.Symbol, Amount: float64(settlement.Amount(t.Quantity, t.Price)),
		Disposition: d.String(), Reason: d.Reason(), Timestamp: ts,
		SourcePartition: id.Partition, SourceOffset: id.Offset,
	})
	ctx.Emit(SettlementsTopic, t.Symbol, out)
	if s.Count != nil && s.Count.home(t.Symbol) == id.Partition {
		s.Count.countFused(ctx, t.Symbol, ts, d, id, nil)
		return
	}
	start := settlement.WindowStart(ts)
	win := out
	if prev, ok := s.chains.prev(gokaext.SessionGeneration(ctx), id.Partition, t.Symbol, start, id.Offset); ok {
		// window_prev_offset appended to the encoded settlement: a
		// field after the others is what Marshal would have written.
		win = make([]byte, len(out), len(out)+1+binary.MaxVarintLen64)
		copy(win, out)
		win = protowire.AppendTag(win, windowPrevField, protowire.VarintType)
		win = protowire.AppendVarint(win, uint64(prev))
	}
	if s.Count != nil {
		// Its symbol is counted by another partition (the trade's key
		// is not its symbol): re-keyed there, with its window chain, as
		// the windows topic carries it to the count group.
		ctx.Loopback(t.Symbol, win)
		return
	}
	ctx.Emit(WindowsTopic, settlement.WindowKey(t.Symbol, start), win)
}

// windowPrevField is TradeSettlement.window_prev_offset's field number
// (a test checks it against the descriptor).
const windowPrevField = 9
