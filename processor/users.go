package processor

import (
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/memstore"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// UsersView is the local copy of the whole users table every worker keeps
// (like Kafka Streams' GlobalKTable): trades need no re-keying, and the
// settle group starts only once it has recovered.
//
// Get answers from a map of decoded users that the update callback keeps:
// a goka View's Get hashes the key, reads storage and decodes the value,
// for every trade. So that the map holds every user, the view keeps its
// storage in memory and rebuilds it from the topic at every start (a view
// resuming from stored offsets would not pass old users through the
// callback); the users table is small.
type UsersView struct {
	*goka.View

	mu    sync.RWMutex
	users map[string]*pb.User
}

// NewUsersView builds the users view.
func NewUsersView(brokers []string, b Builders, m *Metrics, opts ...goka.ViewOption) (*UsersView, error) {
	u := &UsersView{users: make(map[string]*pb.User)}
	o := append(b.viewOptions(), goka.WithViewStorageBuilder(memstore.Builder()), goka.WithViewCallback(u.update(m)))
	v, err := goka.NewView(brokers, UsersTable, UserCodec, append(o, opts...)...)
	if err != nil {
		return nil, err
	}
	u.View = v
	return u, nil
}

// Get returns the user (a *pb.User), or nil when there is none.
func (u *UsersView) Get(userid string) (any, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if v, ok := u.users[userid]; ok {
		return v, nil
	}
	return nil, nil
}

// update is the view's update callback: it keeps a validated User per
// userid, deletes on a tombstone, and ignores a malformed record (the
// previous value stays, as ksqlDB skips a record it cannot deserialize).
// The users-check group sends that record to the dead-letter topic once.
func (u *UsersView) update(m *Metrics) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value == nil {
			u.mu.Lock()
			delete(u.users, key)
			u.mu.Unlock()
			return s.Delete(key)
		}
		p, err := settlement.ParseUser(value)
		if err != nil || key == "" {
			m.UsersBad.Inc()
			return nil
		}
		user := &pb.User{Userid: p.UserID, Regionid: p.RegionID, Gender: p.Gender, Registertime: p.RegisterTime}
		b, err := deterministic.Marshal(user)
		if err != nil {
			return err
		}
		u.mu.Lock()
		u.users[key] = user
		u.mu.Unlock()
		return s.Set(key, b)
	}
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
