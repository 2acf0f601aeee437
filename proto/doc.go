// Package pb holds tradeflow's Protobuf messages: the user_trades and
// trade-settlements records (field numbers of the original system kept) and
// the state the tables keep. Regenerate with `make proto`.
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative user_trade.proto trade_settlement.proto state.proto
