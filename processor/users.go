package processor

import (
	"strings"
	"sync"

	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/internal/gokaext"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/settlement"
)

// UsersView is the local copy of the whole users table every worker keeps
// (like Kafka Streams' GlobalKTable): trades need no re-keying, and the
// settle group starts only once it has recovered.
//
// The copy is a map from userid to region, all the settle step reads; it
// is the view's storage (store.KeyedBuilder), so a user is held once,
// decoded once, and looked up without goka's hashing and decoding. Like a
// memory store it starts empty, and the view rebuilds it from the topic
// at every start. A million users take about 70 MiB (BENCHMARKS.md).
type UsersView struct {
	*goka.View
	m *Metrics

	mu       sync.RWMutex
	regions  map[string]string // userid → regionid
	interned map[string]string // each distinct regionid once
}

// NewUsersView builds the users view with the view options of kit.
func NewUsersView(brokers []string, kit *gokaext.Kit, m *Metrics, opts ...goka.ViewOption) (*UsersView, error) {
	u := newUsers(m)
	// The map is the storage, whatever opts say (goka's tester sets its
	// own).
	o := append(append(kit.ViewOptions(), opts...), goka.WithViewStorageBuilder(kit.ViewStorage(store.KeyedBuilder(u))))
	v, err := goka.NewView(brokers, UsersTable, UserCodec(), o...)
	if err != nil {
		return nil, err
	}
	u.View = v
	return u, nil
}

func newUsers(m *Metrics) *UsersView {
	return &UsersView{m: m, regions: make(map[string]string), interned: make(map[string]string)}
}

// Region returns the user's region, and whether the user is in the table.
func (u *UsersView) Region(userid string) (string, bool, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	r, ok := u.regions[userid]
	return r, ok, nil
}

// Apply records a users record (store.Copy): a validated user's region,
// a deletion on a tombstone; a malformed record is ignored (the previous
// value stays, as ksqlDB skips a record it cannot deserialize) and
// counted. The users-check group (usersCheck) sends that record to the
// dead-letter topic once.
func (u *UsersView) Apply(key string, value []byte) int {
	if value == nil {
		u.mu.Lock()
		defer u.mu.Unlock()
		if _, ok := u.regions[key]; ok {
			delete(u.regions, key)
			return -1
		}
		return 0
	}
	p, err := settlement.ParseUser(value)
	if err != nil || key == "" {
		u.m.UsersBad.Inc()
		return 0
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	region, ok := u.interned[p.RegionID]
	if !ok {
		region = strings.Clone(p.RegionID)
		u.interned[region] = region
	}
	_, had := u.regions[key]
	u.regions[strings.Clone(key)] = region
	if had {
		return 0
	}
	return 1
}

// Value is the user's region (store.Copy); nil when absent.
func (u *UsersView) Value(key string) []byte {
	r, ok, _ := u.Region(key)
	if !ok {
		return nil
	}
	return []byte(r)
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
