package gokaext

import "testing"

func TestOwnWritesRun(t *testing.T) {
	var o ownWrites
	const topic = "table"
	steps := []struct {
		what      string
		recovered *int64 // start a run after this offset first
		partition int32
		offset    int64
		want      bool
	}{
		{what: "no run before recovery", offset: 0, want: false},
		{what: "first write right after the recovered offset", recovered: ptr64(9), offset: 10, want: true},
		{what: "the next one", offset: 11, want: true},
		{what: "another partition has no run", partition: 1, offset: 12, want: false},
		{what: "a record of someone else at 12 lies before this one", offset: 13, want: false},
		{what: "the run stays ended", offset: 14, want: false},
		{what: "a new recovery starts a new run", recovered: ptr64(20), offset: 21, want: true},
		{what: "an offset at or below the run (a late write of an earlier session) ends it", offset: 21, want: false},
		{what: "and it stays ended", offset: 22, want: false},
		{what: "a table that recovered nothing has no run", recovered: ptr64(-1), offset: 0, want: false},
	}
	for _, s := range steps {
		if s.recovered != nil {
			o.recovered(topic, s.partition, *s.recovered)
		}
		if got := o.landed(topic, s.partition, s.offset); got != s.want {
			t.Errorf("%s: landed(%d/%d) = %v, want %v", s.what, s.partition, s.offset, got, s.want)
		}
	}
}

func TestOwnWritesIgnoresOtherTopics(t *testing.T) {
	var o ownWrites
	if o.landed("table", 0, 0) {
		t.Error("a write before any recovery extends a run")
	}
	o.recovered("table", 0, 4)
	if o.landed("output", 0, 5) {
		t.Error("a write to a topic that is no table extends a run")
	}
	if !o.landed("table", 0, 5) {
		t.Error("the table's run did not take its next write")
	}
}

func ptr64(v int64) *int64 { return &v }
