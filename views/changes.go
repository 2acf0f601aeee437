package views

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Change is one window of one symbol as the count view applied it: its
// counts before and after (Prev is zero for a new window; Deleted is a
// window removed after retention).
type Change struct {
	// ID orders the changes of one process: "<process>.<seq>". Resume
	// takes it back (Last-Event-ID); an ID of another process, or one
	// too old to be kept, resumes from the current windows instead.
	ID      string
	Symbol  string
	Window  Window
	Prev    Window
	Deleted bool
}

// recentChanges is how many changes a feed keeps for resuming subscribers.
const recentChanges = 4096

// feed hands the changes the index applies to subscribers, each with a
// bounded buffer: a subscriber that falls behind is dropped (its channel
// closed, Dropped set), never waited for, so a slow client cannot slow
// the view. Until the first subscriber, publishing is one atomic load;
// from then on every change is kept in a ring of the recent ones, also
// while nobody listens, so that a client that reconnects resumes where it
// left off.
type feed struct {
	armed atomic.Bool // someone has subscribed: changes are kept

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	prefix string // ids of this process's feed start with it
	seq    uint64
	recent *[recentChanges]Change // ring: recent[seq % recentChanges], allocated when armed
}

func newFeed() *feed {
	return &feed{subs: map[*Subscription]struct{}{}, prefix: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// Subscription is one subscriber's changes.
type Subscription struct {
	// C delivers the changes; it is closed when the subscription is
	// closed or dropped.
	C <-chan Change
	// Since is the ID of the last change before the subscription began:
	// windows read after subscribing are at least as new as it, so a
	// client that has them resumes from it.
	Since   string
	c       chan Change
	symbol  string // "" = every symbol
	dropped atomic.Bool
	f       *feed
	once    sync.Once
}

// Dropped reports whether C was closed because the subscriber fell more
// than its buffer behind.
func (s *Subscription) Dropped() bool { return s.dropped.Load() }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.f.subs, s)
		close(s.c)
	})
}

// subscribe returns a subscription to symbol's changes ("" for every
// symbol) with room for buffer changes, and replays the recent changes
// after the change with id after, if they are all still kept; resumed
// says whether they were (false: the caller starts from the current
// windows).
func (f *feed) subscribe(symbol string, buffer int, after string) (s *Subscription, resumed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recent == nil {
		f.recent = new([recentChanges]Change)
		f.armed.Store(true)
	}
	c := make(chan Change, buffer)
	s = &Subscription{C: c, c: c, symbol: symbol, f: f, Since: f.id(f.seq)}
	f.subs[s] = struct{}{}
	// The ring holds seqs above f.seq-recentChanges.
	seq, ok := f.parse(after)
	if !ok || seq > f.seq || f.seq-seq > recentChanges {
		return s, false
	}
	var missed []Change
	for q := seq + 1; q <= f.seq; q++ {
		if ch := f.recent[q%recentChanges]; symbol == "" || ch.Symbol == symbol {
			missed = append(missed, ch)
		}
	}
	if len(missed) > buffer/2 {
		return s, false // more than it could take: the current windows are shorter
	}
	for _, ch := range missed {
		s.c <- ch
	}
	return s, true
}

// id is the ID of the change numbered seq.
func (f *feed) id(seq uint64) string { return f.prefix + "." + strconv.FormatUint(seq, 10) }

// parse reads an id of this feed.
func (f *feed) parse(id string) (uint64, bool) {
	head, seq, ok := strings.Cut(id, ".")
	if !ok || head != f.prefix {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil
}

// publish hands one change to every subscriber of its symbol.
func (f *feed) publish(ch Change) {
	if !f.armed.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	ch.ID = f.id(f.seq)
	f.recent[f.seq%recentChanges] = ch
	for s := range f.subs {
		if s.symbol == "" || s.symbol == ch.Symbol {
			f.send(s, ch)
		}
	}
}

// send delivers ch to s or drops s if its buffer is full.
func (f *feed) send(s *Subscription, ch Change) {
	select {
	case s.c <- ch:
	default:
		s.dropped.Store(true)
		s.closeLocked()
	}
}
