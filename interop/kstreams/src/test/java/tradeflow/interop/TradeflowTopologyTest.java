package tradeflow.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TradeflowTopologyTest {
  static final long T = 1_700_000_040_000L; // a minute boundary

  static String trade(int quantity, int price, String userid) {
    return "{\"side\":\"BUY\",\"quantity\":" + quantity + ",\"symbol\":\"ZVV\",\"price\":" + price
        + ",\"account\":\"XYZ789\"" + (userid == null ? "" : ",\"userid\":\"" + userid + "\"")
        + "}";
  }

  static String user(String userid) {
    return "{\"registertime\":1500000000000,\"userid\":\"" + userid
        + "\",\"regionid\":\"Region_1\",\"gender\":\"FEMALE\"}";
  }

  @TempDir Path stateDir;

  @Test
  void dispositionsAndWindowCounts() {
    TradeflowTopology.Stats stats = new TradeflowTopology.Stats();
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    try (TopologyTestDriver d =
        new TopologyTestDriver(
            TradeflowTopology.build(TradeflowTopology.Options.defaults(), stats, p), p)) {
      TestInputTopic<String, String> users =
          d.createInputTopic("users", new StringSerializer(), new StringSerializer());
      users.pipeInput("User_1", user("User_1"));
      users.pipeInput("User_2", user("User_2"));
      users.pipeInput("User_3", user("User_3"));
      users.pipeInput("User_2", (String) null); // tombstone: deleted
      users.pipeInput("User_3", "not json"); // invalid: User_3 stays
      users.pipeInput("User_4", "{\"userid\":4}"); // invalid: User_4 never there
      users.pipeInput("", user("User_5")); // invalid: an empty key
      users.pipeInput(null, user("User_5")); // invalid: no key
      users.pipeInput("User_6", "{\"userid\":\"User_6\",\"regionid\":null}"); // valid
      users.pipeInput("User_7", user("User_7"));
      users.pipeInput("User_7", "{\"userid\":\"User_7\",\"UserId\":\"x\"}"); // invalid: User_7 stays

      TestInputTopic<String, String> trades =
          d.createInputTopic("stocktrade", new StringSerializer(), new StringSerializer());
      // All in partition 0; offsets 4, 8, 9, 10 fall in the 30 % SEC sample (RulesTest).
      trades.pipeInput("ZVV", // 0: Completed; field names in any case
          "{\"SIDE\":\"SELL\",\"Quantity\":10,\"SYMBOL\":\"ZVV\",\"Price\":100,\"UserID\":\"User_1\"}",
          Instant.ofEpochMilli(T));
      trades.pipeInput("ZVV", trade(10, 100, null), Instant.ofEpochMilli(T + 1)); // 1: Rejected
      trades.pipeInput("ZVV", trade(10, 100, "User_2"), Instant.ofEpochMilli(T + 2)); // 2: Rejected
      trades.pipeInput("ZVV", trade(1000, 101, "User_1"), Instant.ofEpochMilli(T + 3)); // 3: Pending
      trades.pipeInput("ZVV", trade(1, 1, "User_1"), Instant.ofEpochMilli(T + 4)); // 4: SEC Flagged
      trades.pipeInput("ZVV", trade(1000, 100, "User_3"), Instant.ofEpochMilli(T + 5)); // 5: Completed
      trades.pipeInput("ZVV", "not json", Instant.ofEpochMilli(T + 6)); // 6: invalid, skipped
      trades.pipeInput("ZVV", trade(1, 1, "User_4"), Instant.ofEpochMilli(T + 7)); // 7: Rejected
      trades.pipeInput("ZVV", trade(100000, 100000, "User_1"), Instant.ofEpochMilli(T + 8)); // 8: Pending
      trades.pipeInput("ZVV", trade(1, 1, "User_1"), Instant.ofEpochMilli(T + 60_000)); // 9: next window
      trades.pipeInput("ZVV", trade(1, 1, "User_1"), Instant.ofEpochMilli(T - 7_200_000)); // 10: too late
      trades.pipeInput("WRONG", trade(1, 1, "User_1"), Instant.ofEpochMilli(T + 11)); // 11: re-keyed
      trades.pipeInput("ZVV", // 12: counted under its value's symbol, as tradeflow does
          trade(1, 1, "User_1").replace("ZVV", "ABC"), Instant.ofEpochMilli(T + 12));
      trades.pipeInput(null, trade(1, 1, "User_1"), Instant.ofEpochMilli(T + 13)); // 13: no key
      trades.pipeInput("", trade(1, 1, "User_1"), Instant.ofEpochMilli(T + 14)); // 14: empty key
      trades.pipeInput("ZVV", "{\"side\":\"BUY\",\"quantity\":\"1\",\"symbol\":\"ZVV\",\"price\":1}",
          Instant.ofEpochMilli(T + 15)); // 15: a quoted number
      trades.pipeInput("ZVV", (String) null, Instant.ofEpochMilli(T + 16)); // 16: no value
      trades.pipeInput("ZVV", trade(1, 1, "User_5"), Instant.ofEpochMilli(T + 17)); // 17: bad key
      trades.pipeInput("ZVV", trade(1, 1, "User_6"), Instant.ofEpochMilli(T + 18)); // 18: SEC Flagged

      Map<String, String> got =
          new TreeMap<>(
              d.createOutputTopic(
                      "kstreams-counts", new StringDeserializer(), new StringDeserializer())
                  .readKeyValuesToMap());
      Map<String, String> want = new TreeMap<>();
      want.put("ZVV@" + T + "@Completed", "3"); // offsets 0, 5, 11
      want.put("ZVV@" + T + "@Rejected", "4"); // 1, 2, 7, 17
      want.put("ZVV@" + T + "@Pending", "2"); // 3, 8
      want.put("ZVV@" + T + "@SEC Flagged", "2"); // 4, 18 (User_6 is known)
      want.put("ZVV@" + (T + 60_000) + "@SEC Flagged", "1"); // 9
      want.put("ABC@" + T + "@Completed", "1"); // 12
      assertEquals(want, got);
      assertEquals(19, stats.trades.get());
      assertEquals(5, stats.invalidTrades.get()); // 6, 13, 14, 15, 16
      assertEquals(11, stats.users.get());
      assertEquals(5, stats.invalidUsers.get());
    }
  }
}
