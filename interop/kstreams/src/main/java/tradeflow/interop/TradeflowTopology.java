package tradeflow.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
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

  static {
    TABLES.put(Rules.COMPLETED, "COMPLETED_PER_MINUTE");
    TABLES.put(Rules.PENDING, "PENDING_PER_MINUTE");
    TABLES.put(Rules.FLAGGED, "FLAGGED_PER_MINUTE");
    TABLES.put(Rules.REJECTED, "REJECTED_PER_MINUTE");
  }

  public record Options(String outputTopic, long threshold, double flagRate, Duration grace) {
    public static Options defaults() {
      return new Options("kstreams-counts", 100_000, 0.30, Duration.ofHours(1));
    }
  }

  /** Counters the run summary reports; times are System.nanoTime(), 0 = not yet. */
  public static final class Stats {
    public final AtomicLong trades = new AtomicLong();
    public final AtomicLong invalidTrades = new AtomicLong();
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

  /** A settled trade: what the counts need of a TradeSettlement. */
  public record Settled(String symbol, String disposition) {}

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
    b.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(USERS_STORE), Serdes.String(), Serdes.String())
            .withLoggingDisabled(),
        USERS,
        Consumed.with(Serdes.String(), Serdes.String()),
        () -> new UsersProcessor(stats));

    KStream<String, Settled> settled =
        b.stream(STOCKTRADE, Consumed.with(Serdes.String(), Serdes.String()))
            .processValues(() -> new Settle(o, stats));

    // Counts are per the value's symbol. stocktrade is keyed by symbol, so normally nothing
    // is re-keyed; a record whose key is not its symbol goes through a repartition topic.
    KStream<String, Settled> bySymbol =
        settled
            .filter((key, s) -> s.symbol().equals(key))
            .merge(
                settled
                    .filterNot((key, s) -> s.symbol().equals(key))
                    .selectKey((key, s) -> s.symbol())
                    .repartition(
                        Repartitioned.with(Serdes.String(), SETTLED_SERDE)
                            .withName("rekey-by-symbol")));

    TimeWindows minute = TimeWindows.ofSizeAndGrace(Duration.ofSeconds(60), o.grace());
    for (Map.Entry<String, String> table : TABLES.entrySet()) {
      String disposition = table.getKey();
      bySymbol
          .filter((symbol, s) -> s.disposition().equals(disposition))
          .groupByKey(Grouped.with(Serdes.String(), SETTLED_SERDE))
          .windowedBy(minute)
          .count(
              Materialized.<String, Long, WindowStore<Bytes, byte[]>>as(table.getValue())
                  .withKeySerde(Serdes.String())
                  .withValueSerde(Serdes.Long()))
          .toStream()
          .map(
              (w, n) ->
                  KeyValue.pair(
                      w.key() + "@" + w.window().start() + "@" + disposition, Long.toString(n)))
          .peek(
              (k, v) -> {
                stats.outputs.incrementAndGet();
                stats.lastOutputNanos = System.nanoTime();
              })
          .to(o.outputTopic(), Produced.with(Serdes.String(), Serdes.String()));
    }
    return b.build();
  }

  /** Keeps users-store: put valid users, delete on tombstones, skip invalid values. */
  static final class UsersProcessor implements Processor<String, String, Void, Void> {
    private final Stats stats;
    private KeyValueStore<String, String> store;

    UsersProcessor(Stats stats) {
      this.stats = stats;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(USERS_STORE);
    }

    @Override
    public void process(Record<String, String> r) {
      stats.users.incrementAndGet();
      stats.input(false);
      if (r.key() == null) {
        stats.invalidUsers.incrementAndGet();
      } else if (r.value() == null) {
        store.delete(r.key());
      } else if (!Rules.validUser(r.value())) {
        stats.invalidUsers.incrementAndGet();
      } else {
        store.put(r.key(), Rules.regionid(r.value()));
      }
    }
  }

  /** Parses and settles a trade; an invalid one is counted and dropped. */
  static final class Settle implements FixedKeyProcessor<String, String, Settled> {
    private final Options o;
    private final Stats stats;
    private FixedKeyProcessorContext<String, Settled> ctx;
    private KeyValueStore<String, String> users;

    Settle(Options o, Stats stats) {
      this.o = o;
      this.stats = stats;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, Settled> context) {
      ctx = context;
      users = context.getStateStore(USERS_STORE); // global stores need no connecting
    }

    @Override
    public void process(FixedKeyRecord<String, String> r) {
      stats.input(true);
      Rules.Trade t = Rules.parseTrade(r.value());
      if (t == null) {
        stats.invalidTrades.incrementAndGet();
        return;
      }
      // LEFT JOIN users ON userid: the regionid is not needed for counting, only whether the
      // user is there.
      boolean userKnown = !t.userid().isEmpty() && users.get(t.userid()) != null;
      RecordMetadata m = ctx.recordMetadata().orElseThrow();
      boolean sampled = Rules.secSampled(m.topic(), m.partition(), m.offset(), o.flagRate());
      String d = Rules.disposition(t, userKnown, o.threshold(), sampled);
      ctx.forward(r.withValue(new Settled(t.symbol(), d)));
    }
  }
}
