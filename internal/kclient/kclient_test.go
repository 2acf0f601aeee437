package kclient

import "testing"

// A group instance id makes every consumer group member static.
func TestGroupInstanceID(t *testing.T) {
	if got := (Config{}).Sarama().Consumer.Group.InstanceId; got != "" {
		t.Fatalf("instance id %q without one set", got)
	}
	s := Config{GroupInstanceID: "tradeflow-1"}.Sarama()
	if s.Consumer.Group.InstanceId != "tradeflow-1" {
		t.Fatalf("instance id %q, want tradeflow-1", s.Consumer.Group.InstanceId)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("sarama refuses it: %v", err)
	}
}

// What a consumer fetches does not grow with the partitions it reads past
// 64, each partition buffers two of its shares of Datagen trades, and
// sarama accepts every size.
func TestFetchSizesStayWithinBudget(t *testing.T) {
	for _, p := range []int{0, 1, 6, 64, 65, 100, 1000, 10000} {
		s := Config{Partitions: p}.Sarama()
		bytes, msgs := s.Consumer.Fetch.Default, s.ChannelBufferSize
		n := max(p, 1)
		if p <= 64 && (bytes != 256<<10 || msgs != 64) {
			t.Errorf("%d partitions: %d bytes, %d messages; want 256 KiB and 64", p, bytes, msgs)
		}
		if p > 64 && int(bytes)*n > fetchBudget && bytes != 16<<10 {
			t.Errorf("%d partitions: %d bytes each is %d in all, over the budget %d", p, bytes, int(bytes)*n, fetchBudget)
		}
		if bytes < 16<<10 || msgs < 8 {
			t.Errorf("%d partitions: %d bytes, %d messages: below the floor", p, bytes, msgs)
		}
		if p > 64 && msgs != 128 {
			t.Errorf("%d partitions: %d messages each, want 128", p, msgs)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%d partitions: sarama refuses it: %v", p, err)
		}
	}
}
