// Command tradeflow settles stock trades on Kafka: `run` (everything in one
// process, embedded broker when none is configured), `worker`, `broker`,
// `datagen` and `config`. Settings come from TRADEFLOW_* variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/IBM/sarama"

	"github.com/tradeflow/tradeflow/internal/gokaext"
)

const usage = `usage: tradeflow <command>

commands:
  run       everything in one process (embedded broker when TRADEFLOW_BROKERS is empty)
  worker    the processor groups and the HTTP server against TRADEFLOW_BROKERS
  broker    the embedded broker alone
  datagen   produce Datagen-like trades and users [-count N] [-rate R]
  query     run a ksqlDB statement against TRADEFLOW_QUERY_URL: query "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV';"
  config    print every setting, its variable, value, default and meaning
  version   print the version, and the Go, goka, sarama and franz-go versions
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	if args[0] == "version" {
		printVersion(os.Stdout)
		return 0
	}
	cfg, err := loadConfig()
	if args[0] == "config" {
		if perr := printConfig(cfg); perr != nil {
			fmt.Fprintln(os.Stderr, "tradeflow:", perr)
			return 1
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tradeflow: invalid configuration:\n", err)
			return 2
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tradeflow: invalid configuration:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg, os.Stderr)
	// sarama logs through one package-level logger; goka's are per
	// processor and view (gokaext.Kit).
	sarama.Logger = gokaext.SaramaLogger(log)
	if args[0] != "-h" && args[0] != "--help" && args[0] != "help" && args[0] != "query" {
		logStart(log, args[0], cfg)
	}
	switch args[0] {
	case "run":
		err = cmdRun(ctx, cfg, log)
	case "worker":
		err = cmdWorker(ctx, cfg, log)
	case "broker":
		err = cmdBroker(ctx, cfg, log)
	case "datagen":
		err = cmdDatagen(ctx, cfg, log, args[1:])
	case "query":
		if err = cmdQuery(ctx, cfg, args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "tradeflow query:", err)
			return 1
		}
		return 0
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "tradeflow: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		log.Error("tradeflow stopped", "command", args[0], "err", err)
		return 1
	}
	return 0
}
