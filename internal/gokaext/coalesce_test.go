package gokaext

import (
	"errors"
	"hash"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// recordingProducer is a goka.Producer that records what it is asked to
// write and finishes each write with err.
type recordingProducer struct {
	mu     sync.Mutex
	writes []string // topic/key=value
	err    error
}

func (r *recordingProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return r.EmitWithHeaders(topic, key, value, nil)
}

func (r *recordingProducer) EmitWithHeaders(topic, key string, value []byte, _ goka.Headers) *goka.Promise {
	r.mu.Lock()
	r.writes = append(r.writes, topic+"/"+key+"="+string(value))
	n := len(r.writes)
	r.mu.Unlock()
	p, finish := goka.NewPromiseWithFinisher()
	finish(&sarama.ProducerMessage{Offset: int64(n)}, r.err)
	return p
}

func (r *recordingProducer) Close() error { return nil }

func newCoalescing(t *testing.T, inner *recordingProducer) goka.Producer {
	t.Helper()
	build := func([]string, string, func() hash.Hash32) (goka.Producer, error) { return inner, nil }
	p, err := coalescingBuilder(build, time.Hour, "table")(nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCoalescingMergesWritesOfAKey(t *testing.T) {
	inner := &recordingProducer{}
	p := newCoalescing(t, inner)
	var results []string
	done := func(name string) func(*sarama.ProducerMessage, error) {
		return func(msg *sarama.ProducerMessage, err error) {
			if err != nil || msg == nil {
				t.Errorf("%s: finished with %v, %v", name, msg, err)
			}
			results = append(results, name)
		}
	}
	p.Emit("table", "B", []byte("b1")).ThenWithMessage(done("b1"))
	p.Emit("table", "A", []byte("a1")).ThenWithMessage(done("a1"))
	p.Emit("stream", "A", []byte("s1")).ThenWithMessage(done("s1"))
	p.Emit("table", "B", []byte("b2")).ThenWithMessage(done("b2"))
	if len(results) != 1 || results[0] != "s1" {
		t.Fatalf("before the flush: finished %v, want only the stream write", results)
	}
	if err := p.Close(); err != nil { // flushes
		t.Fatal(err)
	}
	want := []string{"stream/A=s1", "table/B=b2", "table/A=a1"}
	if len(inner.writes) != len(want) {
		t.Fatalf("writes %v, want %v", inner.writes, want)
	}
	for i := range want {
		if inner.writes[i] != want[i] {
			t.Fatalf("writes %v, want %v", inner.writes, want)
		}
	}
	if len(results) != 4 {
		t.Fatalf("finished %v, want all four", results)
	}
}

func TestCoalescingPassesAFailureToEveryMergedWrite(t *testing.T) {
	boom := errors.New("broker gone")
	p := newCoalescing(t, &recordingProducer{err: boom})
	var errs []error
	for _, v := range []string{"1", "2", "3"} {
		p.Emit("table", "K", []byte(v)).Then(func(err error) { errs = append(errs, err) })
	}
	p.Close()
	if len(errs) != 3 {
		t.Fatalf("%d writes finished, want 3", len(errs))
	}
	for _, err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("merged write finished with %v, want %v", err, boom)
		}
	}
}
