package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/processor"
	"github.com/tradeflow/tradeflow/worker"
)

// The copy baseline: one goka hop that consumes stocktrade and emits each
// record unchanged.
const (
	copyTopic goka.Stream = "bench-copy"
	copyGroup goka.Group  = "bench-copy"
)

// copyResult is the baseline's figure.
type copyResult struct {
	Records    int64
	Produce    time.Duration
	FirstReady time.Duration
	Elapsed    time.Duration // processor start to every copy acknowledged
	usage
}

func (c copyResult) rate() float64 { return float64(c.Records) / c.Elapsed.Seconds() }

func copyGraph() *goka.GroupGraph {
	return goka.DefineGroup(copyGroup,
		goka.Input(processor.TradesTopic, new(codec.Bytes), func(ctx goka.Context, msg any) {
			ctx.Emit(copyTopic, ctx.Key(), msg)
		}),
		goka.Output(copyTopic, new(codec.Bytes)),
	)
}

// copyOptions are the pipeline's processor options: the same sarama
// config, consumer group wrapper (rejoin without goka's sleep, ordered
// commits), producer, hasher and topic manager; the copy has no table, so
// the store is never used.
func (o Options) copyOptions(brokers []string, clientID string, partitions int32) ([]goka.ProcessorOption, error) {
	wo := o.workerOptions(brokers, "", clientID, partitions)
	wo.Store = store.KindMemory
	kit, err := worker.NewKit(wo)
	if err != nil {
		return nil, err
	}
	return kit.ProcessorOptions(nil), nil
}

// runCopy drains the same backlog as the drain scenario through the copy
// hop, at the drain scenario's partition count, timed from processor start
// until the sum of bench-copy's high watermarks is the backlog.
func (b *bench) runCopy(ctx context.Context) error {
	mon := startMonitor()
	defer mon.close()
	c, err := startCluster(b.o, b.o.Partitions)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.adm.CreateTopic(ctx, b.o.Partitions, 1, nil, string(copyTopic)); err != nil {
		return fmt.Errorf("create %s: %w", copyTopic, err)
	}
	res := copyResult{Records: b.o.Trades}
	if res.Produce, err = c.produceBacklog(ctx, b.generator(b.o.Seed), b.o.Trades); err != nil {
		return err
	}
	start := time.Now()
	opts, err := b.o.copyOptions(c.brokers, b.o.ClientID+"-copy", c.partitions)
	if err != nil {
		return err
	}
	p, err := goka.NewProcessor(c.brokers, copyGraph(), opts...)
	if err != nil {
		return fmt.Errorf("copy processor: %w", err)
	}
	pctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case <-time.After(30 * time.Second):
			return errors.New("copy processor did not stop within 30s")
		}
	}
	res.FirstReady, err = poll(ctx, 10*time.Millisecond, func() (bool, error) { return p.Recovered(), nil }, start)
	if err == nil {
		res.Elapsed, err = poll(ctx, 20*time.Millisecond, func() (bool, error) {
			n, err := c.endOffsets(ctx, string(copyTopic))
			if n > res.Records {
				return false, fmt.Errorf("%d records copied, %d produced", n, res.Records)
			}
			return n == res.Records, err
		}, start)
	}
	res.usage = mon.finish()
	res.BrokerBytes = c.logBytes(ctx)
	if err = errors.Join(err, stop()); err != nil {
		return err
	}
	b.res.copy = &res
	b.res.addUsage(Copy, res.usage)
	b.printf("%-11s %d partitions: %d records in %v = %.0f records/s (consume + produce, one goka hop, from processor start; ready after %v); %v\n",
		Copy, b.o.Partitions, res.Records, res.Elapsed.Round(time.Millisecond), res.rate(), res.FirstReady.Round(time.Millisecond), res.usage)
	return nil
}

// endOffsets sums a topic's high watermarks.
func (c *cluster) endOffsets(ctx context.Context, topic string) (int64, error) {
	l, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := l.Error(); err != nil {
		return 0, err
	}
	var n int64
	l.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, nil
}
