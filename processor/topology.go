// Package processor is tradeflow's topology: the goka groups that join,
// settle and count trades, what each reads, writes and keeps. The rules
// are package settlement's, the count ledger internal/ledger's, and what
// goka needs changed for exact counts internal/gokaext's.
package processor

import (
	"github.com/lovoo/goka"

	"github.com/tradeflow/tradeflow/settlement"
)

// The topology, in data-flow order (ARCHITECTURE.md, "Data flow"):
//
//	users (JSON, key userid) ──► UsersView: every worker holds all users
//	                              │  (a goka View, like a GlobalKTable)
//	stocktrade (JSON, key symbol) ▼
//	  ──► settle group: LEFT JOIN the trade with its user, decide its
//	      disposition, then emit
//	        ├─► user_trades        (UserTrade, key userid)
//	        ├─► trade-settlements  (TradeSettlement, key symbol)
//	        └─► the count:
//	            fused (the default, fused.go): counted in the symbol's
//	            partition of the settle group (a trade keyed otherwise is
//	            re-keyed there through tradeflow-settle-loop)
//	            hop: tradeflow-windows (TradeSettlement, key
//	            SYMBOL@windowStart) ──► count group
//	        └─► tradeflow-count-table (WindowCounts per key, changelog)
//	  ──► views.Counts (a goka View) ──► HTTP
//	users ──► users-check group: each malformed record ─► tradeflow-dead-letters
//
// Every group sends bad input to tradeflow-dead-letters with the reason
// in a header (deadLetter), and never stops on it.
//
// The disposition rule (settlement.Rules.Decide), first match wins:
//
//	1. userid empty or not in users          Rejected     No user account specified
//	2. quantity × price > LargeTrade         Pending      Large trade
//	3. in the SEC sample (FlagRate, drawn    SEC Flagged  This trade looks sus
//	   from the trade's stocktrade
//	   partition and offset: replays agree)
//	4. otherwise                             Completed    Within same day limit
//
// The dedup rule (ledger.Apply): a window's value keeps, per stocktrade
// partition, the highest source offset it counts and the gaps below it
// (offsets not counted yet). A settlement at or below that offset and in
// no gap is a replay and is not counted again. Each windows record names
// the previous trade of its window and source partition that the settle
// step sent in the same session (window_prev_offset); when that one is not
// counted, its offsets stay open as a gap and it is counted when it comes
// again.

// Topics and groups, defined once. stocktrade and users are what Datagen
// (or any Java producer) writes; user_trades and trade-settlements keep the
// original system's names and contents.
const (
	TradesTopic      goka.Stream = "stocktrade"
	UsersTable       goka.Table  = "users"
	UserTradesTopic  goka.Stream = "user_trades"
	SettlementsTopic goka.Stream = "trade-settlements"
	// WindowsTopic is internal: trade-settlements re-keyed by symbol and
	// window ("ZVV@1700000040000"), since goka only writes the key of the
	// record it processes and the count table holds one entry per window.
	WindowsTopic goka.Stream = "tradeflow-windows"
	// RekeyTopic is internal to the fused count: the settle group's goka
	// loop stream (ctx.Loopback), which carries the settlements of trades whose
	// key is not their symbol, keyed by symbol, to the settle group's
	// partition that counts the symbol (as Kafka Streams' repartition
	// topics do). Co-partitioned with stocktrade.
	RekeyTopic      goka.Stream = "tradeflow-settle-loop"
	DeadLetterTopic goka.Stream = "tradeflow-dead-letters"

	SettleGroup     goka.Group = "tradeflow-settle"
	CountGroup      goka.Group = "tradeflow-count"
	UsersCheckGroup goka.Group = "tradeflow-users-check"

	// CountTable is the count group's changelog-backed table of
	// per-minute counts: goka.GroupTable(CountGroup).
	CountTable goka.Table = "tradeflow-count-table"
)

// Dead-letter headers: why a record was refused and where it came from.
const (
	HeaderReason    = "tradeflow-reason"
	HeaderTopic     = "tradeflow-source-topic"
	HeaderPartition = "tradeflow-source-partition"
	HeaderOffset    = "tradeflow-source-offset"
)

// HeaderSettledAt is on a count-table changelog record that counted a new
// trade whose stocktrade offset is sampled (a multiple of 16): when the
// settle group read that trade (ms since the epoch, in decimal; the
// windows record's timestamp, which the producer sets as the settle
// callback emits it). Merged writes of one key keep the first such header
// (coalesce.go). The count view measures end-to-end latency from it
// (SettledAt).
const HeaderSettledAt = "tradeflow-settled-at"

// Table is one of the four logical tables of the original ksqlDB app:
// per symbol, WINDOW TUMBLING (SIZE 60 SECONDS), count(*) of one
// disposition. All four are read from the one count table.
type Table struct {
	Name        string
	Disposition settlement.Disposition
}

// Tables are the four tables, named as in the original app.
func Tables() [4]Table {
	return [...]Table{
		{"COMPLETED_PER_MINUTE", settlement.Completed},
		{"PENDING_PER_MINUTE", settlement.Pending},
		{"FLAGGED_PER_MINUTE", settlement.Flagged},
		{"REJECTED_PER_MINUTE", settlement.Rejected},
	}
}

// Graph defines the settle group: the join and settle stages fused into one
// group, no hop between them, while user_trades and trade-settlements keep
// their contents. It looks users up in a UsersView rather than a
// goka.Lookup edge (see UsersView).
//
// With the fused count (Settler.Count set) it writes the count table's
// changelog itself instead of the windows topic, and reads back what it
// re-keyed (fused.go).
func (s *Settler) Graph() *goka.GroupGraph {
	edges := []goka.Edge{
		goka.Input(TradesTopic, rawCodec{}, s.Metrics.instrument(SettleGroup, TradesTopic, s.settle)),
		goka.Output(UserTradesTopic, userTradeCodec()),
		goka.Output(SettlementsTopic, settlementCodec()),
		goka.Output(DeadLetterTopic, rawCodec{}),
	}
	if s.Count == nil {
		edges = append(edges, goka.Output(WindowsTopic, settlementCodec()))
	} else {
		edges = append(edges, goka.Output(goka.Stream(CountTable), rawCodec{}),
			goka.Loop(rawCodec{}, s.Metrics.instrument(SettleGroup, RekeyTopic, s.Count.countRekeyed)))
	}
	return goka.DefineGroup(SettleGroup, edges...)
}

// Graph defines the count group: one table entry per symbol and window,
// and a visit that expires windows past retention.
func (c *Counter) Graph() *goka.GroupGraph {
	return goka.DefineGroup(CountGroup,
		goka.Input(WindowsTopic, rawCodec{}, c.Metrics.instrument(CountGroup, WindowsTopic, c.count)),
		goka.Persist(CountsCodec()),
		goka.Visitor(ExpireVisit, c.expire),
		goka.Output(DeadLetterTopic, rawCodec{}),
	)
}

// UsersCheckGraph defines the users-check group: it sends each malformed
// users record to the dead-letter topic once (it is a consumer group,
// unlike the views, which every worker runs).
func UsersCheckGraph(m *Metrics) *goka.GroupGraph {
	return goka.DefineGroup(UsersCheckGroup,
		goka.Input(goka.Stream(UsersTable), rawCodec{}, m.instrument(UsersCheckGroup, goka.Stream(UsersTable), usersCheck(m))),
		goka.Output(DeadLetterTopic, rawCodec{}),
	)
}
