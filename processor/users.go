package processor

import (
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/store"
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

// NewUsersView builds the users view with the view options of kit.
func NewUsersView(brokers []string, kit *gokaext.Kit, m *Metrics, opts ...goka.ViewOption) (*UsersView, error) {
	u := &UsersView{users: make(map[string]*pb.User)}
	o := append(kit.ViewOptions(), goka.WithViewStorageBuilder(kit.ViewStorage(store.MemoryBuilder())), goka.WithViewCallback(u.update(m)))
	v, err := goka.NewView(brokers, UsersTable, UserCodec(), append(o, opts...)...)
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
// The users-check group (usersCheck) sends that record to the dead-letter
// topic once.
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
		b, err := marshal(user)
		if err != nil {
			return err
		}
		u.mu.Lock()
		u.users[key] = user
		u.mu.Unlock()
		return s.Set(key, b)
	}
}

// usersCheck is the users-check group's callback: a malformed users
// record, or one with an empty key, goes to the dead-letter topic.
func usersCheck(m *Metrics) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		raw, _ := msg.([]byte)
		if ctx.Key() == "" {
			deadLetter(ctx, m, raw, "record key (userid) is empty")
			return
		}
		if _, err := settlement.ParseUser(raw); err != nil {
			deadLetter(ctx, m, raw, err.Error())
		}
	}
}
