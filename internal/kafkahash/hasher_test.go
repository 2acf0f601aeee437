package kafkahash

import (
	"encoding/binary"
	"strconv"
	"testing"
)

// sarama's custom hash partitioner keeps one hasher and calls Reset before
// each key: a reused hasher must give what a fresh one gives.
func TestHasherReuse(t *testing.T) {
	h := NewHasher()
	for _, key := range []string{"ZVV", "a-little-bit-long-string", "", "User_1", "ZVV@1700000040000"} {
		t.Run(key, func(t *testing.T) {
			h.Reset()
			if _, err := h.Write([]byte(key)); err != nil {
				t.Fatal(err)
			}
			want := Positive(Murmur2([]byte(key)))
			if got := h.Sum32(); got != want {
				t.Errorf("Sum32 after Reset = %d, want %d", got, want)
			}
			if got := binary.BigEndian.Uint32(h.Sum([]byte{})); got != want {
				t.Errorf("Sum = %d, want %d", got, want)
			}
			if int32(h.Sum32()) < 0 {
				t.Errorf("Sum32 %d is negative as int32: goka would take a negative modulo", h.Sum32())
			}
		})
	}
	// Two writes hash like one.
	h.Reset()
	for _, part := range []string{"a-little-", "bit-long-string"} {
		if _, err := h.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if want := Positive(0xc53b1da0); h.Sum32() != want { // murmur2 = -985981536 (Kafka's vector)
		t.Errorf("split write: %d, want %d", h.Sum32(), want)
	}
	if h.Size() != 4 {
		t.Errorf("Size = %d", h.Size())
	}
}

func TestPartitionInRange(t *testing.T) {
	for _, n := range []int32{1, 2, 6, 7, 64, 1000} {
		t.Run(strconv.Itoa(int(n)), func(t *testing.T) {
			seen := map[int32]bool{}
			for i := 0; i < 5000; i++ {
				p := Partition([]byte("key-"+strconv.Itoa(i)), n)
				if p < 0 || p >= n {
					t.Fatalf("partition %d of %d", p, n)
				}
				seen[p] = true
			}
			if n <= 64 && len(seen) != int(n) {
				t.Errorf("5000 keys reached %d of %d partitions", len(seen), n)
			}
		})
	}
}
