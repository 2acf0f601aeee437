package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tradeflow/tradeflow/internal/ledger"
	pb "github.com/tradeflow/tradeflow/proto"
)

// srcID is a trade's identity: its stocktrade partition and offset.
type srcID struct {
	Partition int32
	Offset    int64
}

// readTopic reads every record of topic, directly from the broker.
func (c *chaos) readTopic(topic string) []*kgo.Record {
	t := c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ends, err := c.obs.admin.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("%s end offsets: %v", topic, err)
	}
	var total int64
	for _, ps := range ends {
		for _, l := range ps {
			total += l.Offset
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokerAddr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), directDialer(c.brokerAddr, c.proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for int64(len(out)) < total && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if int64(len(out)) < total {
		t.Fatalf("read %d of %d %s records", len(out), total, topic)
	}
	return out
}

// diagnoseLoss explains lost counts from what tradeflow-windows (the
// count step's input) holds. A trade is not counted when its settlement
// never reached tradeflow-windows, or when it first arrived there after a
// later trade of the same source partition for the same window: the count
// step keeps the highest source offset applied per window and skips
// anything at or below it as a replay.
func (c *chaos) diagnoseLoss(trades map[int][]srcID, lostBy map[winKey]int64) string {
	type firstSeen struct {
		late bool   // a higher offset of its source partition reached its window first
		how  string // where, and who wrote it and the higher one
	}
	seen := map[srcID]firstSeen{}
	highest := map[string]map[int32]int64{} // window key: source partition: highest offset so far
	highestAt := map[string]*kgo.Record{}   // window key and source partition: the record that set it
	recs := c.readTopic("tradeflow-windows")
	// Per windows partition, in offset order (the count step's order).
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	for _, r := range recs {
		var s pb.TradeSettlement
		if err := proto.Unmarshal(r.Value, &s); err != nil {
			continue
		}
		id := srcID{s.SourcePartition, s.SourceOffset}
		key := string(r.Key)
		if highest[key] == nil {
			highest[key] = map[int32]int64{}
		}
		h, ok := highest[key][id.Partition]
		hk := fmt.Sprintf("%s/%d", key, id.Partition)
		if _, dup := seen[id]; !dup {
			f := firstSeen{late: ok && h > id.Offset}
			if f.late {
				hr := highestAt[hk]
				f.how = fmt.Sprintf("windows %d/%d (producer %d.%d, %v) after source offset %d at windows %d/%d (producer %d.%d, %v)",
					r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch, r.Timestamp.Format("15:04:05.000"),
					h, hr.Partition, hr.Offset, hr.ProducerID, hr.ProducerEpoch, hr.Timestamp.Format("15:04:05.000"))
			}
			seen[id] = f
		}
		if !ok || id.Offset > h {
			highest[key][id.Partition] = id.Offset
			highestAt[hk] = r
		}
	}
	var missing, late int
	explained := map[winKey]int64{}
	var examples []string
	for i, o := range c.wl.wins {
		if o.disp < 0 || !c.prod.wasAcked(i) {
			continue
		}
		for _, id := range trades[i] {
			f, ok := seen[id]
			switch {
			case !ok:
				missing++
				explained[o.key]++
			case f.late:
				late++
				explained[o.key]++
			default:
				continue
			}
			if len(examples) < 8 {
				examples = append(examples, fmt.Sprintf("trade %d at stocktrade %d/%d (%s@%d): in tradeflow-windows %v; %s",
					i, id.Partition, id.Offset, o.key.Symbol, o.key.Start, ok, f.how))
			}
		}
	}
	match := true
	for k, n := range lostBy {
		if explained[k] != n {
			match = false
		}
	}
	return fmt.Sprintf("tradeflow-windows holds %d records; %d acknowledged trades have no settlement there, %d reached their window only after a later trade of the same source partition (skipped as replays); this explains every window's loss: %v\n  %s",
		len(recs), missing, late, match, strings.Join(examples, "\n  "))
}

// changelogCounts reads the count table's changelog as a worker recovering
// from it does: per window the newest value, except that a value counting
// strictly fewer trades than the one held is ignored (ledger.Stale: a
// late write of a worker that had lost the partition). stale counts those.
func (c *chaos) changelogCounts() (got map[winKey]tally, stale int) {
	got = map[winKey]tally{}
	held := map[winKey]*pb.WindowCounts{}
	for _, r := range c.readTopic("tradeflow-count-table") {
		sym, start, ok := parseWindowKey(string(r.Key))
		if !ok {
			continue
		}
		k := winKey{sym, start}
		if r.Value == nil {
			delete(got, k)
			delete(held, k)
			continue
		}
		w := new(pb.WindowCounts)
		if err := proto.Unmarshal(r.Value, w); err != nil {
			c.t.Fatalf("count table %s: %v", r.Key, err)
		}
		if ledger.Stale(held[k], w) {
			stale++
			continue
		}
		held[k] = w
		got[k] = tally{w.Completed, w.Pending, w.Flagged, w.Rejected}
	}
	return got, stale
}

// parseWindowKey splits "SYMBOL@windowStart".
func parseWindowKey(key string) (string, int64, bool) {
	i := strings.LastIndexByte(key, '@')
	if i < 0 {
		return "", 0, false
	}
	var start int64
	if _, err := fmt.Sscan(key[i+1:], &start); err != nil {
		return "", 0, false
	}
	return key[:i], start, true
}

// diagnoseChangelog looks for stale writes in the count table's changelog:
// a window's value whose applied source offset is below that of a value
// written before it (a worker that lost the partition still writing, or
// a producer that reordered). When such a value is the last one of its
// window, the window has lost counts.
func (c *chaos) diagnoseChangelog() string {
	type seen struct {
		applied int64
		r       *kgo.Record
	}
	best := map[string]seen{}
	last := map[string]bool{} // key: its newest value is stale
	var regressions int
	var examples []string
	for _, r := range c.readTopic("tradeflow-count-table") {
		key := string(r.Key)
		if r.Value == nil {
			delete(best, key)
			delete(last, key)
			continue
		}
		var w pb.WindowCounts
		if err := proto.Unmarshal(r.Value, &w); err != nil {
			continue
		}
		var applied int64 = -1
		for _, o := range w.GetApplied() {
			applied = max(applied, o.GetOffset())
		}
		b, ok := best[key]
		stale := ok && applied < b.applied
		last[key] = stale
		if !stale {
			best[key] = seen{applied, r}
			continue
		}
		regressions++
		if len(examples) < 6 {
			examples = append(examples, fmt.Sprintf("%s: table %d/%d (producer %d.%d, %s) applied up to %d, after %d/%d (producer %d.%d, %s) applied up to %d",
				key, r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch, r.Timestamp.Format("15:04:05.000"), applied,
				b.r.Partition, b.r.Offset, b.r.ProducerID, b.r.ProducerEpoch, b.r.Timestamp.Format("15:04:05.000"), b.applied))
		}
	}
	staleLast := 0
	for _, s := range last {
		if s {
			staleLast++
		}
	}
	// Robust to compaction: a window whose newest value has applied less
	// than the highest source offset tradeflow-windows holds for it.
	maxSrc := map[string]int64{}
	for _, r := range c.readTopic("tradeflow-windows") {
		var st pb.TradeSettlement
		if proto.Unmarshal(r.Value, &st) == nil {
			maxSrc[string(r.Key)] = max(maxSrc[string(r.Key)], st.SourceOffset)
		}
	}
	behind := 0
	for key, b := range best {
		if last[key] || b.applied < maxSrc[key] {
			behind++
		}
	}
	return fmt.Sprintf("count table changelog: %d values older than one written before them, %d windows end on one; %d windows' newest value has not applied the newest settlement of its window\n  %s",
		regressions, staleLast, behind, strings.Join(examples, "\n  "))
}

// valueHistory prints, for up to n of the given windows, every value the
// count table's changelog holds for it in log order: where and by which
// producer it was written, what it counts and applied, and whether a
// recovering worker keeps it or ignores it as stale. A window that lost
// counts shows the value at which its state fell behind.
func (c *chaos) valueHistory(keys []winKey, n int) string {
	slices.SortFunc(keys, func(a, b winKey) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	keys = keys[:min(n, len(keys))]
	want := map[string]bool{}
	for _, k := range keys {
		want[fmt.Sprintf("%s@%013d", k.Symbol, k.Start)] = true
	}
	var b strings.Builder
	held := map[string]*pb.WindowCounts{}
	for _, r := range c.readTopic("tradeflow-count-table") {
		key := string(r.Key)
		if !want[key] {
			continue
		}
		if r.Value == nil {
			fmt.Fprintf(&b, "  %s: %d/%d tombstone\n", key, r.Partition, r.Offset)
			delete(held, key)
			continue
		}
		w := new(pb.WindowCounts)
		if err := proto.Unmarshal(r.Value, w); err != nil {
			continue
		}
		verdict := "kept"
		if ledger.Stale(held[key], w) {
			verdict = "ignored as stale"
		} else {
			held[key] = w
		}
		fmt.Fprintf(&b, "  %s: %d/%d producer %d.%d %s: generation %d, total %d, applied %v -> %s\n", key, r.Partition, r.Offset,
			r.ProducerID, r.ProducerEpoch, r.Timestamp.Format("15:04:05.000"), w.Generation,
			w.Completed+w.Pending+w.Flagged+w.Rejected, w.GetApplied(), verdict)
	}
	return "value history of windows that lost counts:\n" + b.String()
}
