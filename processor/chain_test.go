package processor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
	"github.com/tradeflow/tradeflow/settlement"
)

func TestWindowChainsStartAfreshEachRun(t *testing.T) {
	w := newWindowChains(testPolicy)
	const run1, run2 int32 = 1, 2
	if _, ok := w.prev(run1, 0, "A", 0, 1); ok {
		t.Fatal("first trade of a window has a predecessor")
	}
	w.prev(run1, 0, "B", 0, 2)
	if p, ok := w.prev(run1, 0, "A", 0, 3); !ok || p != 1 {
		t.Fatalf("prev = %d, %v; want 1", p, ok)
	}
	if _, ok := w.prev(run1, 1, "A", 0, 4); ok {
		t.Fatal("another partition shares the chain")
	}
	if _, ok := w.prev(run2, 0, "A", 0, 3); ok {
		t.Fatal("a new run inherits the old run's chain")
	}
	// Windows far behind the newest are forgotten.
	late := testPolicy.Grace + testPolicy.Retention + 3*settlement.WindowSize
	w.prev(run2, 0, "A", late.Milliseconds(), 9)
	if len(w.parts[0].last) != 1 {
		t.Fatalf("chain holds %d windows after pruning, want 1", len(w.parts[0].last))
	}
}

// TestChainsAndTakeCountEveryTradeOnce drives the settle step's chains and
// the count step's ledger.Take through runs that fail the way a producer and a
// crashed worker fail: writes lost while later ones get through, writes
// that land after the next run began (a zombie), duplicates (a broker that
// forgot the producer's sequence numbers), and a count step that restarts
// from an older committed position with state from a newer one. Every
// trade must be counted exactly once.
func TestChainsAndTakeCountEveryTradeOnce(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { simulateRuns(t, rand.New(rand.NewPCG(seed, 7))) })
	}
}

type windowRecord struct {
	window int
	offset int64
	prev   *int64
}

func simulateRuns(t *testing.T, rng *rand.Rand) {
	const trades, windows = 400, 5
	window := make([]int, trades)
	for i := range window {
		window[i] = rng.IntN(windows)
	}
	chains := newWindowChains(testPolicy)
	var log []windowRecord // the windows topic, one partition
	emit := func(run int32, o int64) windowRecord {
		r := windowRecord{window: window[o], offset: o}
		if p, ok := chains.prev(run, 0, "S", int64(window[o]), o); ok {
			r.prev = &p
		}
		return r
	}
	var late []windowRecord // written by a zombie after the next run began
	start := int64(0)
	for run := 0; start < trades; run++ {
		gen := int32(run)
		last := run > 6 // the last run fails nothing
		end := int64(trades)
		if !last {
			end = min(trades, start+1+int64(rng.IntN(120)))
		}
		// Records this run writes after the next run began: they land
		// between the next run's records. Acked records precede the
		// next run; the commit stops at the first record not acked.
		commit := int64(-1)
		var zombie []windowRecord
		for o := start; o < end; o++ {
			r := emit(gen, o)
			fate := 0 // acked
			if !last {
				fate = rng.IntN(10) // 0-6 acked, 7 lost, 8-9 late
			}
			switch {
			case fate <= 6:
				log = append(log, r)
				if rng.IntN(20) == 0 {
					log = append(log, r) // written twice
				}
			case fate == 7:
				if commit < 0 {
					commit = o
				}
			default:
				zombie = append(zombie, r)
				if commit < 0 {
					commit = o
				}
			}
		}
		if commit < 0 {
			commit = end
		}
		// The zombie's late records interleave with the next run's.
		for _, r := range late {
			log = append(log, r)
		}
		late = zombie
		start = commit
		if last {
			break
		}
	}
	log = append(log, late...)

	// The count step, restarting now and then from an older committed
	// position with each window's state as of some position between that
	// and now (the changelog may be ahead of the commit).
	type state struct {
		applied *pb.SourceOffset
		count   int
	}
	hist := make([][]state, windows) // per window: its state after each log position
	for w := range hist {
		hist[w] = []state{{&pb.SourceOffset{Offset: -1}, 0}}
	}
	pos, committed := 0, 0
	for pos < len(log) {
		r := log[pos]
		for w := range hist {
			cur := hist[w][len(hist[w])-1]
			if w == r.window {
				next := state{proto.Clone(cur.applied).(*pb.SourceOffset), cur.count}
				if taken, _ := ledger.Take(next.applied, r.offset, r.prev); taken {
					next.count++
				}
				cur = next
			}
			hist[w] = append(hist[w], cur)
		}
		pos++
		switch {
		case rng.IntN(40) == 0:
			for w := range hist {
				at := committed + rng.IntN(pos-committed+1)
				restored := hist[w][at]
				hist[w] = append(hist[w][:committed+1:committed+1], restored)[:committed+1]
				hist[w][committed] = restored
			}
			pos = committed
		case rng.IntN(5) == 0:
			committed = pos
		}
	}
	for w := range hist {
		final := hist[w][len(hist[w])-1]
		want := 0
		for o, ww := range window {
			if ww != w {
				continue
			}
			want++
			if !ledger.Applied(final.applied, int64(o)) {
				t.Fatalf("window %d: trade %d never counted (state %v)", w, o, final.applied)
			}
		}
		if final.count != want {
			t.Fatalf("window %d: count %d, want %d (state %v)", w, final.count, want, final.applied)
		}
	}
}
