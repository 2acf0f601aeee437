package processor

import (
	"context"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// rejoiningGroup rejoins at once when a session ends in a rebalance. goka's
// processor sleeps a fixed 5 s after every ended session before it calls
// Consume again (processor.go, rebalanceLoop), which adds 5 s to every
// takeover; looping here, inside Consume, skips that sleep. goka still sees
// each session's Setup and Cleanup, and Consume still returns on an error
// or when ctx is done.
type rejoiningGroup struct{ sarama.ConsumerGroup }

func (g rejoiningGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	for {
		if err := g.ConsumerGroup.Consume(ctx, topics, h); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// consumerGroupBuilder builds rejoining consumer groups from a copy of cfg.
func consumerGroupBuilder(cfg *sarama.Config) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		c := clone(cfg)
		c.ClientID = clientID
		cg, err := sarama.NewConsumerGroup(brokers, group, c)
		if err != nil {
			return nil, err
		}
		return rejoiningGroup{cg}, nil
	}
}
