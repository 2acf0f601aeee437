// Package processor is tradeflow's goka glue: the processor groups (settle,
// count, users check), their codecs, the Kafka client settings and topic
// set-up. The rules themselves live in package settlement.
package processor

import "github.com/lovoo/goka"

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
	WindowsTopic    goka.Stream = "tradeflow-windows"
	DeadLetterTopic goka.Stream = "tradeflow-dead-letters"

	SettleGroup     goka.Group = "tradeflow-settle"
	CountGroup      goka.Group = "tradeflow-count"
	UsersCheckGroup goka.Group = "tradeflow-users-check"
)

// CountTable is the changelog-backed table of per-minute counts.
var CountTable = goka.GroupTable(CountGroup)

// Dead-letter headers: why a record was refused and where it came from.
const (
	HeaderReason    = "tradeflow-reason"
	HeaderTopic     = "tradeflow-source-topic"
	HeaderPartition = "tradeflow-source-partition"
	HeaderOffset    = "tradeflow-source-offset"
)
