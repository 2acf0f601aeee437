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
