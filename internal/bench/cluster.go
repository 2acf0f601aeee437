package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/broker"
	"github.com/tradeflow/tradeflow/internal/kclient"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/worker"
)

// cluster is one scenario's embedded broker with tradeflow's topics, a
// producer and an admin client, and a temp dir for state.
type cluster struct {
	o          Options
	partitions int32
	dir        string
	broker     *broker.Broker
	brokers    []string
	kcl        *kgo.Client
	adm        *kadm.Client
}

// startCluster starts a fresh broker on a free loopback port and creates
// tradeflow's topics with the given partition count.
func startCluster(o Options, partitions int32) (*cluster, error) {
	dir, err := os.MkdirTemp("", "tradeflow-bench-*")
	if err != nil {
		return nil, err
	}
	c := &cluster{o: o, partitions: partitions, dir: dir}
	bo := broker.Options{Addr: "127.0.0.1:0", Partitions: int(partitions)}
	if !o.BrokerInMemory {
		bo.DataDir = filepath.Join(dir, "broker")
	}
	if c.broker, err = broker.Start(bo); err != nil {
		c.close()
		return nil, err
	}
	c.brokers = []string{c.broker.Addr()}
	plan := processor.TopicPlan{Partitions: partitions, Replication: -1}
	if _, err := worker.EnsureTopics(c.brokers, kclient.Config{ClientID: o.ClientID}, plan); err != nil {
		c.close()
		return nil, err
	}
	if err := c.connect(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// connect makes the producer and admin client for c.brokers.
func (c *cluster) connect() error {
	// Datagen (Kafka Connect) writes uncompressed by default; linger as
	// Kafka 4's Java producer.
	var err error
	c.kcl, err = kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(50_000))
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	c.adm = kadm.NewClient(c.kcl)
	return nil
}

// logBytes is the size of the broker's log, all topics.
func (c *cluster) logBytes(ctx context.Context) int64 {
	ds, err := c.adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return -1
	}
	var n int64
	for _, d := range ds {
		n += d.Size()
	}
	return n
}

func (c *cluster) close() {
	if c.kcl != nil {
		c.kcl.Close()
	}
	if c.broker != nil {
		c.broker.Close()
	}
	os.RemoveAll(c.dir)
}

// running is a worker started by a scenario.
type running struct {
	w       *worker.Worker
	started time.Time
	cancel  context.CancelFunc
	done    chan error
}

// startWorker builds a worker on an empty data dir and runs it; started is
// taken before worker.New, so figures measured from it include start-up.
func (c *cluster) startWorker(name string) (*running, error) {
	started := time.Now()
	w, err := worker.New(c.o.workerOptions(c.brokers, filepath.Join(c.dir, name), c.o.ClientID+"-"+name, c.partitions))
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, started: started, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	return r, nil
}

// failed returns the worker's error if it stopped on its own.
func (r *running) failed() error {
	select {
	case err := <-r.done:
		r.done <- err
		if err == nil {
			err = errors.New("worker stopped")
		}
		return err
	default:
		return nil
	}
}

// stop stops the worker and waits up to 30 s for it.
func (r *running) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-time.After(30 * time.Second):
		return errors.New("worker did not stop within 30s")
	}
}

// waitReady waits until the worker is ready and returns how long that
// took since it was started.
func (r *running) waitReady(ctx context.Context) (time.Duration, error) {
	return poll(ctx, 10*time.Millisecond, func() (bool, error) {
		if err := r.failed(); err != nil {
			return false, err
		}
		return r.w.Ready(), nil
	}, r.started)
}

// poll calls check every interval until it reports done, fails or ctx
// ends, and returns the time since from.
func poll(ctx context.Context, interval time.Duration, check func() (bool, error), from time.Time) (time.Duration, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil {
			return time.Since(from), err
		}
		if done {
			return time.Since(from), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(from), ctx.Err()
		case <-t.C:
		}
	}
}
