package integration

import (
	"testing"
	"time"
)

// TestRunRestartKeepsCounts: `tradeflow run` with the embedded broker
// persisted under the data dir; a second run on the same dir continues
// where the first stopped (topics, offsets, tables) and counts new input.
func TestRunRestartKeepsCounts(t *testing.T) {
	if externalBrokers() != "" {
		t.Skip("tests the embedded broker of `tradeflow run`; TRADEFLOW_TEST_BROKERS points elsewhere")
	}
	dir, kafka := t.TempDir(), freeAddr(t)
	env := func() []string {
		return []string{"TRADEFLOW_EMBEDDED_ADDR=" + kafka, "TRADEFLOW_HTTP_ADDR=" + freeAddr(t),
			"TRADEFLOW_DATA_DIR=" + dir, "TRADEFLOW_DATAGEN_RATE=0", "TRADEFLOW_FLAG_RATE=0"}
	}
	w := newWorkload(2, 2000)
	half := len(w.Trades) / 2

	first := start(t, "run", env()...)
	first.waitReady(t, 90*time.Second)
	c := clientFor(t, kafka)
	c.produce(t, w.Users...)
	c.produce(t, w.Trades[:half]...)
	awaitCounts(t, first.HTTP, w.truthOf(0, half), 60*time.Second)
	c.Client.Close()
	first.stop()

	second := start(t, "run", env()...)
	second.waitReady(t, 90*time.Second)
	awaitCounts(t, second.HTTP, w.truthOf(0, half), 30*time.Second)
	c = clientFor(t, kafka)
	c.produce(t, w.Trades[half:]...)
	awaitCounts(t, second.HTTP, w.Truth, 60*time.Second)
}
