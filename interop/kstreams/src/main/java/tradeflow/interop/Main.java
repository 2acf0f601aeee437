package tradeflow.interop;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * Runs {@link TradeflowTopology} against a broker.
 *
 * <pre>
 * Main [--bootstrap-servers 127.0.0.1:29092] [--application-id tradeflow-kstreams-peer]
 *      [--output-topic kstreams-counts] [--settlement-topics PREFIX] [--threshold 100000] [--flag-rate 0.30]
 *      [--grace-seconds 3600] [--threads 2] [--commit-interval-ms 100] [--eos]
 *      [--state-dir DIR] [--until-idle SECONDS] [--config streams.key=value]...
 * </pre>
 *
 * With --until-idle it stops once no input has arrived for that long (after at least one trade)
 * and the group has committed all of stocktrade; otherwise on SIGTERM/SIGINT. Either way it prints one summary line on stdout.
 */
public final class Main {
  public static void main(String[] args) throws Exception {
    long startNanos = System.nanoTime();
    String bootstrap = "127.0.0.1:29092";
    String appId = "tradeflow-kstreams-peer";
    TradeflowTopology.Options d = TradeflowTopology.Options.defaults();
    String output = d.outputTopic();
    String settlementTopics = d.settlementTopics();
    long threshold = d.threshold();
    double flagRate = d.flagRate();
    long graceSeconds = d.grace().toSeconds();
    int threads = 2;
    long commitMs = 100;
    boolean eos = false;
    String stateDir = null;
    long untilIdleSeconds = 0;
    Properties extra = new Properties();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--eos")) {
        eos = true;
        continue;
      }
      if (i + 1 >= args.length) usage("missing value for " + a);
      String v = args[++i];
      switch (a) {
        case "--bootstrap-servers" -> bootstrap = v;
        case "--application-id" -> appId = v;
        case "--output-topic" -> output = v;
        case "--settlement-topics" -> settlementTopics = v;
        case "--threshold" -> threshold = Long.parseLong(v);
        case "--flag-rate" -> flagRate = Double.parseDouble(v);
        case "--grace-seconds" -> graceSeconds = Long.parseLong(v);
        case "--threads" -> threads = Integer.parseInt(v);
        case "--commit-interval-ms" -> commitMs = Long.parseLong(v);
        case "--state-dir" -> stateDir = v;
        case "--until-idle" -> untilIdleSeconds = Long.parseLong(v);
        case "--config" -> {
          int eq = v.indexOf('=');
          if (eq <= 0) usage("--config wants key=value, got " + v);
          extra.put(v.substring(0, eq), v.substring(eq + 1));
        }
        default -> usage("unknown argument " + a);
      }
    }
    if (!(flagRate >= 0 && flagRate <= 1)) usage("--flag-rate must be in 0..1");

    Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    prepareTopics(admin, output, settlementTopics);

    boolean tempState = stateDir == null;
    if (tempState) stateDir = Files.createTempDirectory("tradeflow-kstreams-").toString();

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitMs);
    p.put(
        StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
        eos ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // A record with a negative timestamp is skipped (and logged), not fatal (stocktrade has its
    // own extractor, which also counts such a trade as invalid).
    p.put(
        StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG,
        LogAndSkipOnInvalidTimestamp.class.getName());
    p.putAll(extra);


    TradeflowTopology.Stats stats = new TradeflowTopology.Stats();
    var options =
        new TradeflowTopology.Options(
            output, threshold, flagRate, Duration.ofSeconds(graceSeconds), settlementTopics);
    KafkaStreams streams = new KafkaStreams(TradeflowTopology.build(options, stats, p), p);
    streams.setUncaughtExceptionHandler(
        e -> StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT);

    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop.countDown();
                  try {
                    done.await();
                  } catch (InterruptedException ignored) {
                    // exiting anyway
                  }
                }));

    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long peakHeap = 0;
    long lastLagCheck = 0;
    boolean failed = false;
    streams.start();
    try {
      while (!stop.await(100, TimeUnit.MILLISECONDS)) {
        peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
        KafkaStreams.State s = streams.state();
        if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING
            || s == KafkaStreams.State.PENDING_ERROR) {
          failed = true;
          break;
        }
        long idle = System.nanoTime() - stats.lastInputNanos;
        if (untilIdleSeconds > 0 && stats.trades.get() > 0
            && idle >= Duration.ofSeconds(untilIdleSeconds).toNanos()
            && System.nanoTime() - lastLagCheck > 1_000_000_000L) {
          // Idle could also be a stall (a rebalance, a slow store open): stop only once the
          // group has committed all of stocktrade.
          lastLagCheck = System.nanoTime();
          if (caughtUp(admin, appId)) break;
        }
      }
      peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
      long late = lateDropped(streams, stats);
      streams.close(Duration.ofSeconds(30));
      System.out.println(summary(stats, startNanos, late, peakHeap, eos, threads));
    } finally {
      admin.close();
      if (tempState) Utils.delete(new File(stateDir));
      done.countDown();
    }
    if (failed) {
      System.err.println("kstreams: Kafka Streams stopped in state " + streams.state());
      System.exit(1);
    }
  }

  /**
   * Fails if an input topic is missing; creates the output topic (1 partition) if missing, and
   * with settlementTopics the two settlement topics (as many partitions as stocktrade).
   */
  private static void prepareTopics(Admin admin, String output, String settlementTopics)
      throws Exception {
    int partitions = 1;
    for (String t : List.of(TradeflowTopology.STOCKTRADE, TradeflowTopology.USERS)) {
      try {
        var d = admin.describeTopics(List.of(t)).allTopicNames().get().get(t);
        if (t.equals(TradeflowTopology.STOCKTRADE)) partitions = d.partitions().size();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) throw e;
        System.err.println("kstreams: input topic " + t + " does not exist; create it first");
        System.exit(2);
      }
    }
    List<NewTopic> topics = new java.util.ArrayList<>();
    topics.add(new NewTopic(output, Optional.of(1), Optional.empty()));
    if (!settlementTopics.isEmpty()) {
      for (String t : List.of("-user_trades", "-trade-settlements")) {
        topics.add(new NewTopic(settlementTopics + t, Optional.of(partitions), Optional.empty()));
      }
    }
    for (NewTopic t : topics) {
      try {
        admin.createTopics(List.of(t)).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
  }

  /** Whether group appId has committed offsets at the end of every stocktrade partition. */
  private static boolean caughtUp(Admin admin, String appId) {
    try {
      return caughtUpOrThrow(admin, appId);
    } catch (Exception e) {
      System.err.println("kstreams: cannot check the group's lag: " + e);
      return false;
    }
  }

  private static boolean caughtUpOrThrow(Admin admin, String appId) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    admin.describeTopics(List.of(TradeflowTopology.STOCKTRADE)).allTopicNames().get()
        .get(TradeflowTopology.STOCKTRADE).partitions()
        .forEach(pi -> latest.put(
            new TopicPartition(TradeflowTopology.STOCKTRADE, pi.partition()), OffsetSpec.latest()));
    for (var e : admin.listOffsets(latest).all().get().entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      long end = e.getValue().offset();
      if (end > 0 && (c == null || c.offset() < end)) return false;
    }
    return true;
  }

  /**
   * Records dropped as too late for their window: Kafka Streams' task metric, which also counts
   * the trades without a timestamp (those are invalid_trades).
   */
  private static long lateDropped(KafkaStreams streams, TradeflowTopology.Stats stats) {
    long dropped =
        streams.metrics().values().stream()
            .filter(m -> m.metricName().name().equals("dropped-records-total"))
            .mapToLong(m -> ((Number) m.metricValue()).longValue())
            .sum();
    return Math.max(0, dropped - stats.noTimestamp.get());
  }

  private static String summary(
      TradeflowTopology.Stats s, long startNanos, long late, long peakHeap, boolean eos,
      int threads) {
    long last = s.lastOutputNanos;
    long wallMs = last == 0 ? 0 : (last - startNanos) / 1_000_000;
    long busyMs = last == 0 ? 0 : Math.max(1, (last - s.firstTradeNanos) / 1_000_000);
    long tps = busyMs == 0 ? 0 : s.trades.get() * 1000 / busyMs;
    return String.format(
        "kstreams: trades=%d users=%d invalid_trades=%d invalid_users=%d late_dropped=%d"
            + " outputs=%d wall_ms=%d busy_ms=%d trades_per_s=%d peak_heap_mb=%d"
            + " peak_rss_mb=%d guarantee=%s threads=%d",
        s.trades.get(), s.users.get(), s.invalidTrades.get(), s.invalidUsers.get(), late,
        s.outputs.get(), wallMs, busyMs, tps, peakHeap >> 20, peakRssKb() >> 10,
        eos ? "exactly_once_v2" : "at_least_once", threads);
  }

  /** The process's peak resident set (VmHWM), 0 where /proc is missing. */
  private static long peakRssKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (Exception ignored) {
      // not Linux
    }
    return 0;
  }

  private static void usage(String why) {
    System.err.println("kstreams: " + why);
    System.err.println(
        "usage: Main [--bootstrap-servers H:P] [--application-id ID] [--output-topic T] [--settlement-topics PREFIX]"
            + " [--threshold N] [--flag-rate R] [--grace-seconds N] [--threads N]"
            + " [--commit-interval-ms N] [--eos] [--state-dir DIR] [--until-idle SECONDS]"
            + " [--config key=value]...");
    System.exit(2);
  }
}
