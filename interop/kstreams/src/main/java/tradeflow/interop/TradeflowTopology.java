package tradeflow.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * tradeflow's topology in Kafka Streams:
 *
 * <pre>
 * users ──► global store "users-store" (every instance holds all users, like a GlobalKTable)
 * stocktrade ──► settle: parse, LEFT JOIN users by userid, disposition ──► (symbol, Settled)
 *   ──► per disposition: windowed count(*) per symbol, 60 s tumbling, event time
 *   ──► output topic: "SYMBOL@windowStartMs@DISPOSITION" = "count"
 * </pre>
 */
public final class TradeflowTopology {
  public static final String STOCKTRADE = "stocktrade";
  public static final String USERS = "users";
  public static final String USERS_STORE = "users-store";

  /** Disposition -> the name of its windowed count store (the original ksqlDB tables). */
  public static final Map<String, String> TABLES = new LinkedHashMap<>();

  /** The reason each disposition's TradeSettlement gives (DESIGN: the Lambda's). */
  static final Map<String, String> REASONS =
      Map.of(
          Rules.REJECTED, "No user account specified",
          Rules.PENDING, "Large trade",
          Rules.FLAGGED, "This trade looks sus",
          Rules.COMPLETED, "Within same day limit");

  static {
    TABLES.put(Rules.COMPLETED, "COMPLETED_PER_MINUTE");
    TABLES.put(Rules.PENDING, "PENDING_PER_MINUTE");
    TABLES.put(Rules.FLAGGED, "FLAGGED_PER_MINUTE");
    TABLES.put(Rules.REJECTED, "REJECTED_PER_MINUTE");
  }

  /**
   * settlementTopics, when not empty, is the prefix of two more outputs the peer then writes, as
   * tradeflow writes user_trades and trade-settlements: PREFIX-user_trades (UserTrade, key
   * userid) and PREFIX-trade-settlements (TradeSettlement, key symbol), so that it does the same
   * work per trade.
   */
  public record Options(
      String outputTopic, long threshold, double flagRate, Duration grace, String settlementTopics) {
    public static Options defaults() {
      return new Options("kstreams-counts", 100_000, 0.30, Duration.ofHours(1), "");
    }
  }

  /** Counters the run summary reports; times are System.nanoTime(), 0 = not yet. */
  public static final class Stats {
    public final AtomicLong trades = new AtomicLong();
    public final AtomicLong invalidTrades = new AtomicLong();
    /** Of invalidTrades: a negative timestamp (Kafka Streams counts them as dropped records). */
    public final AtomicLong noTimestamp = new AtomicLong();
    public final AtomicLong users = new AtomicLong();
    public final AtomicLong invalidUsers = new AtomicLong();
    public final AtomicLong outputs = new AtomicLong();
    public volatile long firstTradeNanos;
    public volatile long lastInputNanos;
    public volatile long lastOutputNanos;

    void input(boolean trade) {
      long now = System.nanoTime();
      if (trade && trades.getAndIncrement() == 0) firstTradeNanos = now;
      lastInputNanos = now;
    }
  }

  /**
   * A settled trade: what the counts need of a TradeSettlement; with --settlement-topics also the
   * encoded UserTrade (key userid) and TradeSettlement, else null.
   */
  public record Settled(
      String symbol, String disposition, String userid, byte[] userTrade, byte[] settlement) {
    Settled(String symbol, String disposition) {
      this(symbol, disposition, null, null, null);
    }
  }

  /** "disposition TAB symbol" in UTF-8 (a disposition has no tab); only the re-key topic uses it. */
  static final Serde<Settled> SETTLED_SERDE =
      Serdes.serdeFrom(
          (topic, s) -> (s.disposition() + "\t" + s.symbol()).getBytes(StandardCharsets.UTF_8),
          (topic, b) -> {
            String s = new String(b, StandardCharsets.UTF_8);
            int tab = s.indexOf('\t');
            return new Settled(s.substring(tab + 1), s.substring(0, tab));
          });

  private TradeflowTopology() {}

  /** streamsConfig: the application's Streams config (topology-level settings apply too). */
  public static Topology build(Options o, Stats stats, Properties streamsConfig) {
    StreamsBuilder b = new StreamsBuilder(new TopologyConfig(new StreamsConfig(streamsConfig)));

    // Our own processor keeps the users store, so that an invalid users record leaves the
    // table as it was (a GlobalKTable would read it as a delete). Kafka Streams also replays
    // the topic through this processor when it restores the store at start.
    // Keys stay bytes, as tradeflow (goka) sees them: users are found by the exact bytes of
    // their record key, and a trade's key is compared with its symbol byte for byte.
    b.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(USERS_STORE), Serdes.Bytes(), Serdes.String())
            .withLoggingDisabled(),
        USERS,
        Consumed.with(Serdes.Bytes(), Serdes.ByteArray()),
        () -> new UsersProcessor(stats));

    KStream<Bytes, Settled> settled =
        b.stream(
                STOCKTRADE,
                Consumed.with(Serdes.Bytes(), Serdes.ByteArray())
                    .withTimestampExtractor(new TradeTimestamp(stats)))
            .processValues(() -> new Settle(o, stats));

    // Counts are per the value's symbol, as in tradeflow. stocktrade is keyed by symbol, so
    // normally nothing is re-keyed; a record whose key is not its symbol goes through a
    // repartition topic.
    if (!o.settlementTopics().isEmpty()) {
      settled
          .map((key, s) -> KeyValue.pair(utf8(s.userid()), s.userTrade()))
          .to(
              o.settlementTopics() + "-user_trades",
              Produced.with(Serdes.Bytes(), Serdes.ByteArray()));
      settled
          .mapValues(Settled::settlement)
          .to(
              o.settlementTopics() + "-trade-settlements",
              Produced.with(Serdes.Bytes(), Serdes.ByteArray()));
    }

    KStream<Bytes, Settled> bySymbol =
        settled
            .filter((key, s) -> keyIsSymbol(key, s))
            .merge(
                settled
                    .filterNot((key, s) -> keyIsSymbol(key, s))
                    .selectKey((key, s) -> utf8(s.symbol()))
                    .repartition(
                        Repartitioned.with(Serdes.Bytes(), SETTLED_SERDE)
                            .withName("rekey-by-symbol")));

    TimeWindows minute = TimeWindows.ofSizeAndGrace(Duration.ofSeconds(60), o.grace());
    for (Map.Entry<String, String> table : TABLES.entrySet()) {
      String disposition = table.getKey();
      bySymbol
          .filter((symbol, s) -> s.disposition().equals(disposition))
          .groupByKey(Grouped.with(Serdes.Bytes(), SETTLED_SERDE))
          .windowedBy(minute)
          .count(
              Materialized.<Bytes, Long, WindowStore<Bytes, byte[]>>as(table.getValue())
                  .withKeySerde(Serdes.Bytes())
                  .withValueSerde(Serdes.Long()))
          .toStream()
          .map(
              (w, n) ->
                  KeyValue.pair(
                      new String(w.key().get(), StandardCharsets.UTF_8)
                          + "@"
                          + w.window().start()
                          + "@"
                          + disposition,
                      Long.toString(n)))
          .peek(
              (k, v) -> {
                stats.outputs.incrementAndGet();
                stats.lastOutputNanos = System.nanoTime();
              })
          .to(o.outputTopic(), Produced.with(Serdes.String(), Serdes.String()));
    }
    return b.build();
  }

  static Bytes utf8(String s) {
    return Bytes.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Whether the record key is the symbol's UTF-8 (valid: the symbol has no lone surrogate). */
  static boolean keyIsSymbol(Bytes key, Settled s) {
    return key != null && Arrays.equals(key.get(), s.symbol().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A trade's event time is its record timestamp; one without (negative) is invalid, as in
   * tradeflow, and skipped (Kafka Streams drops a record with a negative timestamp).
   */
  static final class TradeTimestamp implements TimestampExtractor {
    private final Stats stats;

    TradeTimestamp(Stats stats) {
      this.stats = stats;
    }

    @Override
    public long extract(ConsumerRecord<Object, Object> r, long partitionTime) {
      if (r.timestamp() < 0) {
        stats.input(true);
        stats.invalidTrades.incrementAndGet();
        stats.noTimestamp.incrementAndGet();
      }
      return r.timestamp();
    }
  }

  /**
   * Keeps users-store by the record key's bytes: put valid users, delete on tombstones, skip
   * invalid values and null or empty keys (the table stays as it was), as tradeflow does.
   */
  static final class UsersProcessor implements Processor<Bytes, byte[], Void, Void> {
    private final Stats stats;
    private KeyValueStore<Bytes, String> store;

    UsersProcessor(Stats stats) {
      this.stats = stats;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(USERS_STORE);
    }

    @Override
    public void process(Record<Bytes, byte[]> r) {
      stats.users.incrementAndGet();
      stats.input(false);
      if (r.value() == null) {
        if (r.key() != null) store.delete(r.key());
        return;
      }
      Rules.User u = Rules.userOrNull(r.value());
      if (u == null || r.key() == null || r.key().get().length == 0) {
        stats.invalidUsers.incrementAndGet();
      } else {
        store.put(r.key(), u.regionid());
      }
    }
  }

  /**
   * Parses and settles a trade; an invalid one (as tradeflow: a null or empty key, an invalid
   * value) is counted and dropped.
   */
  static final class Settle implements FixedKeyProcessor<Bytes, byte[], Settled> {
    private final Options o;
    private final Stats stats;
    private FixedKeyProcessorContext<Bytes, Settled> ctx;
    private KeyValueStore<Bytes, String> users;

    Settle(Options o, Stats stats) {
      this.o = o;
      this.stats = stats;
    }

    @Override
    public void init(FixedKeyProcessorContext<Bytes, Settled> context) {
      ctx = context;
      users = context.getStateStore(USERS_STORE); // global stores need no connecting
    }

    @Override
    public void process(FixedKeyRecord<Bytes, byte[]> r) {
      stats.input(true);
      Rules.Trade t =
          r.key() == null || r.key().get().length == 0 ? null : Rules.tradeOrNull(r.value());
      if (t == null) {
        stats.invalidTrades.incrementAndGet();
        return;
      }
      // LEFT JOIN users ON userid: the regionid is not needed for counting, only whether the
      // user is there.
      boolean userKnown = !t.userid().isEmpty() && users.get(utf8(t.userid())) != null;
      RecordMetadata m = ctx.recordMetadata().orElseThrow();
      boolean sampled = Rules.secSampled(m.topic(), m.partition(), m.offset(), o.flagRate());
      String d = Rules.disposition(t, userKnown, o.threshold(), sampled);
      if (o.settlementTopics().isEmpty()) {
        ctx.forward(r.withValue(new Settled(t.symbol(), d)));
        return;
      }
      String region = userKnown ? users.get(utf8(t.userid())) : "";
      ctx.forward(
          r.withValue(
              new Settled(
                  t.symbol(),
                  d,
                  t.userid(),
                  Wire.userTrade(t, region, r.timestamp(), m.partition(), m.offset()),
                  Wire.settlement(t, d, REASONS.get(d), r.timestamp(), m.partition(), m.offset()))));
    }
  }
}
