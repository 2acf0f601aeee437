// Package kafkahash partitions keys exactly as Apache Kafka's Java producer
// does (murmur2, toPositive(h) % n), so that tradeflow, goka and every Java,
// librdkafka (murmur2_random) or Kafka Connect producer agree on where a key
// lives. goka's default FNV hasher does not, and a join against a topic
// written by Java would then silently miss.
package kafkahash

import "hash"

// Murmur2 is Kafka's org.apache.kafka.common.utils.Utils.murmur2, returned
// as the unsigned bits of Java's int result.
func Murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	n := length / 4
	for i := 0; i < n; i++ {
		i4 := i * 4
		k := uint32(data[i4]) | uint32(data[i4+1])<<8 | uint32(data[i4+2])<<16 | uint32(data[i4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n*4:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// Positive is Kafka's Utils.toPositive: the hash with its sign bit cleared.
func Positive(h uint32) uint32 { return h & 0x7fffffff }

// Partition is where the Java client's default partitioner puts a keyed
// record: toPositive(murmur2(key)) % n.
func Partition(key []byte, n int32) int32 {
	return int32(Positive(Murmur2(key)) % uint32(n))
}

// NewHasher returns a hash.Hash32 whose Sum32 is toPositive(murmur2(data)).
// goka (WithHasher, WithEmitterHasher, WithViewHasher) and sarama's
// NewCustomHashPartitioner take int32(Sum32) % n, which then equals Java's
// partition for the key.
func NewHasher() hash.Hash32 { return &hasher{} }

type hasher struct{ buf []byte }

func (h *hasher) Write(p []byte) (int, error) { h.buf = append(h.buf, p...); return len(p), nil }
func (h *hasher) Sum(b []byte) []byte {
	s := h.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}
func (h *hasher) Sum32() uint32  { return Positive(Murmur2(h.buf)) }
func (h *hasher) Reset()         { h.buf = h.buf[:0] }
func (h *hasher) Size() int      { return 4 }
func (h *hasher) BlockSize() int { return 4 }
