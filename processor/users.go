package processor

import (
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// usersUpdate is the local users table's update callback: it keeps a
// validated User per userid, deletes on a tombstone, and ignores a
// malformed record (the previous value stays, as ksqlDB skips a record it
// cannot deserialize). The users-check group sends that record to the
// dead-letter topic once.
func usersUpdate(m *Metrics) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value == nil {
			return s.Delete(key)
		}
		u, err := settlement.ParseUser(value)
		if err != nil || key == "" {
			m.UsersBad.Inc()
			return nil
		}
		b, err := deterministic.Marshal(&pb.User{Userid: u.UserID, Regionid: u.RegionID, Gender: u.Gender, Registertime: u.RegisterTime})
		if err != nil {
			return err
		}
		return s.Set(key, b)
	}
}

// NewUsersView is the local copy of the whole users table every worker
// keeps (like Kafka Streams' GlobalKTable): trades need no re-keying, and
// the settle group starts only once it has recovered.
func NewUsersView(brokers []string, b Builders, m *Metrics, opts ...goka.ViewOption) (*goka.View, error) {
	o := append(b.viewOptions(), goka.WithViewCallback(usersUpdate(m)))
	return goka.NewView(brokers, UsersTable, UserCodec, append(o, opts...)...)
}

// UsersCheckGraph sends each malformed users record to the dead-letter
// topic, once per record (it is a consumer group, unlike the views).
func UsersCheckGraph(m *Metrics) *goka.GroupGraph {
	return goka.DefineGroup(UsersCheckGroup,
		goka.Input(goka.Stream(UsersTable), rawCodec{}, func(ctx goka.Context, msg any) {
			raw, _ := msg.([]byte)
			if ctx.Key() == "" {
				deadLetter(ctx, m, raw, "record key (userid) is empty")
				return
			}
			if _, err := settlement.ParseUser(raw); err != nil {
				deadLetter(ctx, m, raw, err.Error())
			}
		}),
		goka.Output(DeadLetterTopic, rawCodec{}),
	)
}

// deadLetter writes the record being processed (raw: its value) to the
// dead-letter topic, with the reason and its source coordinates in
// headers, and counts it.
func deadLetter(ctx goka.Context, m *Metrics, raw []byte, reason string) {
	h := goka.Headers{
		HeaderReason:    []byte(reason),
		HeaderTopic:     []byte(ctx.Topic()),
		HeaderPartition: []byte(itoa(int64(ctx.Partition()))),
		HeaderOffset:    []byte(itoa(ctx.Offset())),
	}
	m.DeadLetters.WithLabelValues(string(ctx.Topic())).Inc()
	ctx.Emit(DeadLetterTopic, ctx.Key(), raw, goka.WithCtxEmitHeaders(h))
}
