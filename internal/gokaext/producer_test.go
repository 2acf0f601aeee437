package gokaext

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
)

// The producer puts every key where Java's producer and goka's own lookups
// (the hasher) look for it.
func TestHashPartitionerIsJavas(t *testing.T) {
	p := hashPartitioner(Hasher()).ForTopic("t")
	for _, n := range []int{1, 6, 7, 1000} {
		for i := range 2000 {
			key := []byte(fmt.Sprintf("User_%d@%d", i, i*7919))
			want := int(kafkahash.Positive(kafkahash.Murmur2(key)) % uint32(n))
			if got := p.Partition(&kgo.Record{Key: key}, n); got != want {
				t.Fatalf("key %q, %d partitions: partition %d, Java's is %d", key, n, got, want)
			}
		}
	}
}
