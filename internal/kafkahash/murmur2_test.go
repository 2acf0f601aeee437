package kafkahash

import (
	"testing"

	"github.com/IBM/sarama"
)

// Values from Kafka's UtilsTest.testMurmur2 (clients/src/test/.../UtilsTest.java).
func TestMurmur2KafkaVectors(t *testing.T) {
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			if got := int32(Murmur2([]byte(in))); got != want {
				t.Fatalf("murmur2(%q) = %d, want %d", in, got, want)
			}
		})
	}
}

// Partitions for the Datagen symbols and users as Java's
// BuiltInPartitioner.partitionForKey computes them for 6 partitions.
func TestPartitionMatchesJava(t *testing.T) {
	for key, want := range javaPartitions6 {
		if got := Partition([]byte(key), 6); got != want {
			t.Errorf("partition(%q, 6) = %d, want %d", key, got, want)
		}
	}
}

// The hasher through sarama's custom hash partitioner (what goka uses for
// every emit and table write) lands where Partition says.
func TestHasherThroughSarama(t *testing.T) {
	p := sarama.NewCustomHashPartitioner(NewHasher)("t")
	for key, want := range javaPartitions6 {
		got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, 6)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("sarama partition(%q) = %d, want %d", key, got, want)
		}
	}
}

// Computed with kafka-clients 4.4.0:
// Utils.toPositive(Utils.murmur2(key.getBytes(UTF_8))) % 6.
var javaPartitions6 = map[string]int32{
	"ZBZX": 4, "ZJZZT": 5, "ZTEST": 2, "ZVV": 0, "ZVZZT": 5, "ZWZZT": 0, "ZXZZT": 5,
	"User_1": 1, "User_2": 0, "User_3": 1, "User_4": 0, "User_5": 4, "User_6": 5,
	"User_7": 4, "User_8": 2, "User_9": 4, "": 3, "ZVV@1700000040000": 0,
}
