package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tradeflow/tradeflow/broker"
	"github.com/tradeflow/tradeflow/datagen"
	"github.com/tradeflow/tradeflow/internal/store"
	"github.com/tradeflow/tradeflow/views/ksql"
	"github.com/tradeflow/tradeflow/worker"
)

// cmdRun is everything in one process: the embedded broker when no brokers
// are configured, the generator when its rate is above zero, the worker.
func cmdRun(ctx context.Context, cfg Config, log *slog.Logger) error {
	brokers := cfg.Brokers
	if len(brokers) == 0 {
		// The process's own clients authenticate as the embedded
		// broker's user unless told otherwise.
		if cfg.SASLMechanism == "" && len(cfg.brokerUsers) > 0 {
			u := cfg.brokerUsers[0]
			cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = u.Mechanism, u.Name, cfg.EmbeddedPassword
		}
		if cfg.brokerTLS != nil && cfg.clientTLS == nil {
			return errors.New("the embedded broker speaks TLS (TRADEFLOW_EMBEDDED_TLS_CERT_FILE): set TRADEFLOW_TLS_ENABLED and TRADEFLOW_TLS_CA_FILE for its certificate")
		}
		b, err := startBroker(cfg)
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = []string{b.Addr()}
		log.Info("embedded broker started", "addr", b.Addr(), "data", filepath.Join(cfg.DataDir, "broker"))
	}
	var extra []component
	if cfg.DatagenRate > 0 {
		extra = append(extra, component{"datagen", func(ctx context.Context) error {
			return generate(ctx, cfg, brokers, datagen.Options{Rate: cfg.DatagenRate, Seed: uint64(time.Now().UnixNano())})
		}})
	}
	return runWorker(ctx, cfg, log, brokers, extra...)
}

func cmdWorker(ctx context.Context, cfg Config, log *slog.Logger) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("TRADEFLOW_BROKERS is empty: a worker needs brokers (use `tradeflow run` for the embedded one)")
	}
	return runWorker(ctx, cfg, log, cfg.Brokers)
}

func cmdBroker(ctx context.Context, cfg Config, log *slog.Logger) error {
	b, err := startBroker(cfg)
	if err != nil {
		return err
	}
	log.Info("embedded broker started", "addr", b.Addr(), "data", filepath.Join(cfg.DataDir, "broker"))
	<-ctx.Done()
	b.Close()
	log.Info("embedded broker stopped")
	return nil
}

func cmdDatagen(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("datagen", flag.ContinueOnError)
	count := fs.Int64("count", 0, "trades to produce; 0 = until interrupted")
	rate := fs.Float64("rate", cfg.DatagenRate, "trades per second; 0 = as fast as possible")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	profile := fs.String("profile", "quickstart", "quickstart (Datagen's 7 symbols and 9 users) or market (the market options)")
	m := datagen.DefaultMarket()
	m.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	market, err := datagen.Profile(*profile, m)
	if err != nil {
		return fmt.Errorf("datagen %w", err)
	}
	o := datagen.Options{Rate: *rate, Count: *count, Seed: *seed, Progress: datagenProgress(log, os.Stderr, *count), Market: market}
	if len(cfg.Brokers) == 0 {
		return errors.New("TRADEFLOW_BROKERS is empty: datagen needs brokers")
	}
	if err := ensureTopics(cfg, cfg.Brokers); err != nil {
		return err
	}
	return generate(ctx, cfg, cfg.Brokers, o)
}

// cmdQuery runs one statement against the ksqlDB API of a worker and
// prints the answer; a push query is followed until Ctrl-C.
func cmdQuery(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 1 {
		return errors.New(`want one statement, e.g. tradeflow query "SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='ZVV';"`)
	}
	c := &ksql.Client{URL: cfg.queryURL(), Token: cfg.HTTPToken.Reveal()}
	err := ksql.Run(ctx, c, args[0], os.Stdout)
	var se *ksql.ServerError
	var pe *ksql.Error
	if err != nil && !errors.As(err, &se) && !errors.As(err, &pe) {
		return fmt.Errorf("%w (the worker at %s: TRADEFLOW_QUERY_URL, else TRADEFLOW_HTTP_ADDR)", err, c.URL)
	}
	return err
}

func startBroker(cfg Config) (*broker.Broker, error) {
	return broker.Start(broker.Options{
		Addr:         cfg.EmbeddedAddr,
		Advertised:   cfg.EmbeddedAdvertised,
		DataDir:      filepath.Join(cfg.DataDir, "broker"),
		Partitions:   int(cfg.Partitions),
		CompactEvery: cfg.EmbeddedCompact,
		Users:        cfg.brokerUsers,
		TLS:          cfg.brokerTLS,
	})
}

func generate(ctx context.Context, cfg Config, brokers []string, o datagen.Options) error {
	sink, err := datagen.NewProducer(brokers, cfg.kafka(cfg.ClientID+"-datagen").Sarama())
	if err != nil {
		return fmt.Errorf("connect to %v: %w", brokers, err)
	}
	_, err = datagen.Run(ctx, sink, o)
	return errors.Join(err, sink.Close())
}

func ensureTopics(cfg Config, brokers []string) error {
	_, err := worker.EnsureTopics(brokers, cfg.kafka(cfg.ClientID), cfg.topicPlan())
	return err
}

// logFileLimit says how many files the process may open. Go raises the
// soft limit to the hard one at start-up where allowed; LevelDB state needs
// about four files per partition and table, so a low hard limit is named.
func logFileLimit(cfg Config, log *slog.Logger) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		log.Warn("cannot read the open-files limit", "err", err)
		return
	}
	need := uint64(cfg.Partitions)*8 + 256
	if store.Kind(cfg.StateStore) == store.KindLevelDB && l.Cur < need {
		log.Warn("open-files limit is low for LevelDB state; raise the hard limit (ulimit -n) or use TRADEFLOW_STATE_STORE=memory",
			"soft", l.Cur, "hard", l.Max, "wanted", need)
		return
	}
	log.Info("open-files limit", "soft", l.Cur, "hard", l.Max)
}

// runWorker runs the processor groups, the count view and the HTTP server.
func runWorker(ctx context.Context, cfg Config, log *slog.Logger, brokers []string, extra ...component) error {
	logFileLimit(cfg, log)
	cfg.warn(log)
	log.Info("kafka security", "sasl", cfg.SASLMechanism, "tls", cfg.TLSEnabled)
	o := cfg.workerOptions(brokers, log)
	w, err := worker.New(o)
	if err != nil {
		return err
	}
	w.API.Profiling = cfg.Pprof
	w.API.Token = cfg.HTTPToken.Reveal()
	w.KSQL.Token = w.API.Token
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("TRADEFLOW_HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols)}
	// HTTP/2 beside HTTP/1.1: over TLS by ALPN, and in cleartext with
	// prior knowledge (h2c), as ksqlDB's clients speak to /query-stream.
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	// Push queries and change streams end when the server stops, instead
	// of holding its shutdown until HTTPShutdown.
	streams, endStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer endStreams()
	srv.BaseContext = func(net.Listener) context.Context { return streams }
	srv.RegisterOnShutdown(endStreams)
	if cfg.HTTPTLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HTTPTLSCertFile, cfg.HTTPTLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TRADEFLOW_HTTP_TLS_CERT_FILE: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	log.Info("serving HTTP", "addr", ln.Addr().String(), "https", cfg.HTTPTLSCertFile != "", "token_required", cfg.HTTPToken != "", "brokers", brokers)
	comps := append([]component{
		{"processors and views", w.Run},
		{"http server", func(ctx context.Context) error {
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Timings.HTTPShutdown)
				defer cancel()
				_ = srv.Shutdown(sctx) // Serve returns the outcome
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}},
	}, extra...)
	return supervise(ctx, log, o.Timings.Shutdown, comps...)
}
