package processor

import (
	"context"
	"errors"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tradeflow/tradeflow/internal/store"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

// The users view's copy applies a sequence of users records: each step
// says what it holds for User_1 afterwards.
func TestUsersUpdate(t *testing.T) {
	user1 := &pb.User{Userid: "User_1", Regionid: "Region_1"}
	user1moved := &pb.User{Userid: "User_1", Regionid: "Region_9"}
	steps := []struct {
		name    string
		key     string
		value   []byte
		want    *pb.User // User_1 afterwards
		wantBad float64
		added   int
	}{
		{"valid user is stored", "User_1", []byte(`{"registertime":1493819720340,"userid":"User_1","regionid":"Region_1","gender":"MALE"}`), user1, 0, 1},
		{"field names in any case", "User_1", []byte(`{"RegisterTime":1493819720340,"USERID":"User_1","RegionId":"Region_9","Gender":"MALE"}`), user1moved, 0, 0},
		{"malformed is ignored, the old value stays", "User_1", []byte(`{"userid":1}`), user1moved, 1, 0},
		{"not JSON is ignored", "User_1", []byte(`User_1`), user1moved, 2, 0},
		{"empty value (not a tombstone) is ignored", "User_1", []byte{}, user1moved, 3, 0},
		{"empty key is ignored", "", []byte(`{"userid":"User_1","regionid":"Region_0"}`), user1moved, 4, 0},
		{"tombstone of another user leaves it", "User_2", nil, user1moved, 4, 0},
		{"tombstone deletes", "User_1", nil, nil, 4, -1},
		{"tombstone of an absent user", "User_1", nil, nil, 4, 0},
		{"stored again after the delete", "User_1", []byte(`{"registertime":1493819720340,"userid":"User_1","regionid":"Region_1","gender":"MALE"}`), user1, 4, 1},
	}
	m, _ := newMetrics(t)
	u := newUsers(m)
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			if added := u.Apply(s.key, s.value); added != s.added {
				t.Errorf("Apply added %d entries, want %d", added, s.added)
			}
			// What the settle step reads.
			region, known, _ := u.Region("User_1")
			if known != (s.want != nil) || (known && region != s.want.Regionid) {
				t.Errorf("Region(User_1) = %q, %v; want %v", region, known, s.want)
			}
			if _, known, _ := u.Region(""); known {
				t.Error("a user under the empty key")
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
