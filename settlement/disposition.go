package settlement

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
)

// Disposition is the outcome of settling a trade.
type Disposition int

// The dispositions, in the order the rules test them.
const (
	Rejected Disposition = iota
	Pending
	Flagged
	Completed
)

// Dispositions lists every disposition, for iteration.
func Dispositions() [4]Disposition { return [...]Disposition{Completed, Pending, Flagged, Rejected} }

// String is the disposition's wire name, as the original Lambda wrote it.
func (d Disposition) String() string {
	switch d {
	case Rejected:
		return "Rejected"
	case Pending:
		return "Pending"
	case Flagged:
		return "SEC Flagged"
	case Completed:
		return "Completed"
	}
	return "Disposition(" + strconv.Itoa(int(d)) + ")"
}

// Reason is the human-readable reason the original Lambda gave.
func (d Disposition) Reason() string {
	switch d {
	case Rejected:
		return "No user account specified"
	case Pending:
		return "Large trade"
	case Flagged:
		return "This trade looks sus"
	case Completed:
		return "Within same day limit"
	}
	return ""
}

// ParseDisposition is the inverse of String.
func ParseDisposition(s string) (Disposition, error) {
	for _, d := range Dispositions() {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown disposition %q", s)
}

// Rules are the settlement rules' parameters.
type Rules struct {
	// LargeTrade: a trade whose amount (quantity × price) is above it is Pending.
	LargeTrade int64
	// FlagRate is the SEC inspection sample, 0..1.
	FlagRate float64
}

// DefaultRules are the original Lambda's parameters.
func DefaultRules() Rules { return Rules{LargeTrade: 100000, FlagRate: 0.30} }

// Validate reports parameters the rules cannot work with, each as a
// *ParamError.
func (r Rules) Validate() error {
	var errs []error
	if !(r.FlagRate >= 0 && r.FlagRate <= 1) { // also NaN
		errs = append(errs, paramError([]string{"FlagRate"}, "flag rate %v is outside 0..1", r.FlagRate))
	}
	if r.LargeTrade < 0 {
		errs = append(errs, paramError([]string{"LargeTrade"}, "large-trade threshold %d is negative", r.LargeTrade))
	}
	return errors.Join(errs...)
}

// TradeID is a trade's identity: where it sits in the stream the settle step
// reads. It seeds the SEC sample and lets the count step recognise replays.
type TradeID struct {
	Topic     string
	Partition int32
	Offset    int64
}

// sampleScale is the resolution of the SEC sample: one in a million.
const sampleScale = 1_000_000

// Sampled reports whether the trade falls in the SEC inspection sample. The
// original Lambda drew a random number, so a replay changed results; here
// the draw is murmur2 of "topic/partition/offset", so every replay agrees
// and a second implementation (the Kafka Streams peer) computes the same.
func (r Rules) Sampled(id TradeID) bool {
	s := id.Topic + "/" + strconv.FormatInt(int64(id.Partition), 10) + "/" + strconv.FormatInt(id.Offset, 10)
	u := kafkahash.Positive(kafkahash.Murmur2([]byte(s))) % sampleScale
	return int64(u) < int64(r.FlagRate*sampleScale+0.5)
}

// Amount is quantity × price, computed in 64 bits so it cannot overflow.
func Amount(quantity, price int32) int64 { return int64(quantity) * int64(price) }

// Decide applies the rules in order: no known user → Rejected; amount above
// the threshold → Pending; in the SEC sample → Flagged; else Completed.
func (r Rules) Decide(userKnown bool, quantity, price int32, id TradeID) Disposition {
	switch {
	case !userKnown:
		return Rejected
	case Amount(quantity, price) > r.LargeTrade:
		return Pending
	case r.Sampled(id):
		return Flagged
	}
	return Completed
}
