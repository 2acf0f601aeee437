package processor

import (
	"strconv"

	"github.com/lovoo/goka"
)

// deadLetter writes the record being processed (raw: its value) to the
// dead-letter topic, with the reason and its source coordinates in
// headers, and counts it.
func deadLetter(ctx goka.Context, m *Metrics, raw []byte, reason string) {
	h := goka.Headers{
		HeaderReason:    []byte(reason),
		HeaderTopic:     []byte(ctx.Topic()),
		HeaderPartition: []byte(itoa(int64(ctx.Partition()))),
		HeaderOffset:    []byte(itoa(ctx.Offset())),
	}
	m.DeadLetters.WithLabelValues(string(ctx.Topic())).Inc()
	ctx.Emit(DeadLetterTopic, ctx.Key(), raw, goka.WithCtxEmitHeaders(h))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
