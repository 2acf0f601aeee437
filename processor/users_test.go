package processor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tradeflow/tradeflow/internal/store"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// updateContext is the UpdateContext of a users record at users/0/offset.
type updateContext struct{ offset int64 }

func (updateContext) Topic() goka.Stream    { return goka.Stream(UsersTable) }
func (updateContext) Partition() int32      { return 0 }
func (u updateContext) Offset() int64       { return u.offset }
func (updateContext) Headers() goka.Headers { return nil }
func (updateContext) Timestamp() time.Time  { return eventTime }

// storedUser reads key from the users table's storage; nil when absent.
func storedUser(tb testing.TB, st storage.Storage, key string) *pb.User {
	tb.Helper()
	b, err := st.Get(key)
	if err != nil {
		tb.Fatalf("get %s: %v", key, err)
	}
	if b == nil {
		return nil
	}
	v, err := UserCodec().Decode(b)
	if err != nil {
		tb.Fatalf("stored value of %s: %v", key, err)
	}
	return v.(*pb.User)
}

// The users table's update callback applies a sequence of users records to
// one storage: each step says what the table holds afterwards.
func TestUsersUpdate(t *testing.T) {
	user1 := &pb.User{Userid: "User_1", Regionid: "Region_1", Gender: "MALE", Registertime: 1493819720340}
	user1moved := &pb.User{Userid: "User_1", Regionid: "Region_9", Gender: "MALE", Registertime: 1493819720340}
	steps := []struct {
		name    string
		key     string
		value   []byte
		want    *pb.User // User_1 afterwards
		wantBad float64
	}{
		{"valid user is stored", "User_1", []byte(`{"registertime":1493819720340,"userid":"User_1","regionid":"Region_1","gender":"MALE"}`), user1, 0},
		{"field names in any case", "User_1", []byte(`{"RegisterTime":1493819720340,"USERID":"User_1","RegionId":"Region_9","Gender":"MALE"}`), user1moved, 0},
		{"malformed is ignored, the old value stays", "User_1", []byte(`{"userid":1}`), user1moved, 1},
		{"not JSON is ignored", "User_1", []byte(`User_1`), user1moved, 2},
		{"empty value (not a tombstone) is ignored", "User_1", []byte{}, user1moved, 3},
		{"empty key is ignored", "", []byte(`{"userid":"User_1","regionid":"Region_0"}`), user1moved, 4},
		{"tombstone of another user leaves it", "User_2", nil, user1moved, 4},
		{"tombstone deletes", "User_1", nil, nil, 4},
		{"tombstone of an absent user", "User_1", nil, nil, 4},
		{"stored again after the delete", "User_1", []byte(`{"registertime":1493819720340,"userid":"User_1","regionid":"Region_1","gender":"MALE"}`), user1, 4},
	}
	m, _ := newMetrics(t)
	u := &UsersView{users: make(map[string]*pb.User)}
	update := u.update(m)
	st := storage.NewMemory()
	for i, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			if err := update(updateContext{int64(i)}, st, s.key, s.value); err != nil {
				t.Fatalf("update: %v", err)
			}
			got := storedUser(t, st, "User_1")
			if (got == nil) != (s.want == nil) || (got != nil && !equalUser(got, s.want)) {
				t.Errorf("User_1 = %v, want %v", got, s.want)
			}
			// What the settle step reads: the map, the same as storage.
			v, _ := u.Get("User_1")
			if got, _ := v.(*pb.User); (got == nil) != (s.want == nil) || (got != nil && !equalUser(got, s.want)) {
				t.Errorf("Get(User_1) = %v, want %v", v, s.want)
			}
			if u := storedUser(t, st, ""); u != nil {
				t.Errorf("stored a user under the empty key: %v", u)
			}
			if got := testutil.ToFloat64(m.UsersBad); got != s.wantBad {
				t.Errorf("users ignored = %v, want %v", got, s.wantBad)
			}
		})
		if !ok {
			t.FailNow() // later steps build on this one
		}
	}
}

func equalUser(a, b *pb.User) bool {
	return a.Userid == b.Userid && a.Regionid == b.Regionid && a.Gender == b.Gender && a.Registertime == b.Registertime
}

// The users-check group sends each malformed users record to the
// dead-letter topic; valid records and tombstones go nowhere.
func TestUsersCheck(t *testing.T) {
	cases := []struct {
		name   string
		key    string
		value  []byte
		reason string // "" = not a dead letter
	}{
		{"valid", "User_1", []byte(`{"registertime":1,"userid":"User_1","regionid":"Region_1","gender":"MALE"}`), ""},
		{"tombstone", "User_1", nil, ""},
		{"not JSON", "User_1", []byte(`not json`), "not a JSON object"},
		{"userid not a string", "User_1", []byte(`{"userid":1}`), "field userid is not a string"},
		{"userid missing", "User_1", []byte(`{"regionid":"Region_1"}`), "field userid is missing"},
		{"duplicate keys", "User_1", []byte(`{"userid":"User_1","USERID":"User_2"}`), "appears more than once"},
		{"empty key", "", []byte(`{"userid":"User_1"}`), "record key (userid) is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			m, _ := newMetrics(t)
			runProcessor(t, tt, UsersCheckGraph(m)) // no NilProcess, as in pipeline.go
			dlq := tt.NewQueueTracker(string(DeadLetterTopic))
			if tc.value == nil {
				tt.Consume(string(UsersTable), tc.key, nil)
			} else {
				tt.Consume(string(UsersTable), tc.key, tc.value)
			}
			recs := drain(dlq)
			want := 0.0
			if tc.reason == "" {
				none(t, DeadLetterTopic, recs)
			} else {
				want = 1
				checkDeadLetter(t, one(t, DeadLetterTopic, recs), goka.Stream(UsersTable), "0", tc.key, tc.value, tc.reason)
			}
			if got := testutil.ToFloat64(m.DeadLetters.WithLabelValues(string(UsersTable))); got != want {
				t.Errorf("dead letters{users} = %v, want %v", got, want)
			}
		})
	}
}

// The settle group joined with the real users view (goka View with the
// update callback) on one tester: a users update only changes the table,
// and each trade sees the table as it is when the trade is processed.
func TestSettleJoinsUsersView(t *testing.T) {
	tt := tester.New(t)
	m, _ := newMetrics(t)
	users, err := NewUsersView(nil, testKit(t, store.KindLevelDB, t.TempDir()), m, goka.WithViewTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- users.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("users view: %v", err)
		}
	})
	s := NewSettler(settlement.DefaultRules(), users, testPolicy, m)
	runProcessor(t, tt, s.Graph(), goka.WithNilHandling(goka.NilProcess))
	userTrades := tt.NewQueueTracker(string(UserTradesTopic))
	settlements := tt.NewQueueTracker(string(SettlementsTopic))

	// Offsets 0..3 of stocktrade are outside the 30 % sample.
	steps := []struct {
		name       string
		key        string
		user       []byte // users record before the trade; nil = tombstone
		wantRegion string
		want       settlement.Disposition
	}{
		{"user added", "User_1", []byte(`{"userid":"User_1","regionid":"Region_1"}`), "Region_1", settlement.Completed},
		{"user moved", "User_1", []byte(`{"userid":"User_1","regionid":"Region_2"}`), "Region_2", settlement.Completed},
		{"malformed update keeps the user", "User_1", []byte(`{"userid":true}`), "Region_2", settlement.Completed},
		{"user deleted", "User_1", nil, "", settlement.Rejected},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.user == nil {
				tt.Consume(string(UsersTable), s.key, nil)
			} else {
				tt.Consume(string(UsersTable), s.key, s.user)
			}
			none(t, UserTradesTopic, drain(userTrades)) // users updates produce nothing
			tt.Consume(string(TradesTopic), "ZVZZT", tradeJSON("User_1", 1, 1), tester.WithTime(eventTime))
			ut := decode(t, one(t, UserTradesTopic, drain(userTrades)).value, new(pb.UserTrade))
			if ut.Regionid != s.wantRegion {
				t.Errorf("regionid %q, want %q", ut.Regionid, s.wantRegion)
			}
			st := decode(t, one(t, SettlementsTopic, drain(settlements)).value, new(pb.TradeSettlement))
			if st.Disposition != s.want.String() {
				t.Errorf("disposition %q, want %q", st.Disposition, s.want)
			}
		})
	}
	for _, d := range []settlement.Disposition{settlement.Completed, settlement.Rejected} {
		want := map[settlement.Disposition]float64{settlement.Completed: 3, settlement.Rejected: 1}[d]
		if got := testutil.ToFloat64(m.Settled.WithLabelValues(d.String())); got != want {
			t.Errorf("settled{%s} = %v, want %v", d, got, want)
		}
	}
	if got := testutil.ToFloat64(m.UsersBad); got != 1 {
		t.Errorf("users ignored = %v, want 1", got)
	}
}
