package tradeflow.interop;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.utils.Utils;

/** tradeflow's rules (DESIGN.md section 2), free of Kafka Streams: parsing, validity, disposition. */
public final class Rules {
  public static final String REJECTED = "Rejected";
  public static final String PENDING = "Pending";
  public static final String FLAGGED = "SEC Flagged";
  public static final String COMPLETED = "Completed";

  /** A valid stocktrade value; userid is "" when missing or null. */
  public record Trade(String side, int quantity, String symbol, int price, String userid) {
    public long amount() {
      return (long) quantity * price;
    }
  }

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Rules() {}

  /**
   * Parses a stocktrade value; null if it is invalid: not a JSON object, symbol not a non-empty
   * string, quantity or price not an integer in 1..2^31-1, side not exactly "BUY" or "SELL",
   * userid present but not a string. Field names match case-insensitively (the last of
   * duplicates wins); unknown fields are ignored.
   */
  public static Trade parseTrade(String value) {
    Map<String, JsonNode> f = fields(value);
    if (f == null) return null;
    JsonNode symbol = f.get("symbol");
    JsonNode side = f.get("side");
    JsonNode userid = f.get("userid");
    int quantity = positiveInt(f.get("quantity"));
    int price = positiveInt(f.get("price"));
    if (symbol == null || !symbol.isTextual() || symbol.asText().isEmpty()) return null;
    if (side == null || !side.isTextual()) return null;
    if (!side.asText().equals("BUY") && !side.asText().equals("SELL")) return null;
    if (quantity <= 0 || price <= 0) return null;
    String uid = "";
    if (userid != null && !userid.isNull()) {
      if (!userid.isTextual()) return null;
      uid = userid.asText();
    }
    return new Trade(side.asText(), quantity, symbol.asText(), price, uid);
  }

  /** A users value is valid iff it is a JSON object whose userid is a string. */
  public static boolean validUser(String value) {
    Map<String, JsonNode> f = fields(value);
    return f != null && f.get("userid") != null && f.get("userid").isTextual();
  }

  /** The regionid of a valid users value, "" if absent or not a string. */
  public static String regionid(String value) {
    JsonNode r = fields(value).get("regionid");
    return r != null && r.isTextual() ? r.asText() : "";
  }

  /** Disposition rules in order; userKnown = the trade's userid is non-empty and in users. */
  public static String disposition(
      Trade t, boolean userKnown, long threshold, boolean secSampled) {
    if (t.userid().isEmpty() || !userKnown) return REJECTED;
    if (t.amount() > threshold) return PENDING;
    if (secSampled) return FLAGGED;
    return COMPLETED;
  }

  /**
   * The deterministic SEC inspection sample: murmur2 of "topic/partition/offset" (UTF-8), made
   * positive, taken mod 10^6, below round(rate * 10^6).
   */
  public static boolean secSampled(String topic, int partition, long offset, double rate) {
    String id = String.format(Locale.ROOT, "%s/%d/%d", topic, partition, offset);
    int h = Utils.murmur2(id.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff;
    return (h % 1_000_000) < Math.round(rate * 1_000_000);
  }

  /** Lower-cased field name -> value, or null if value is not one JSON object. */
  private static Map<String, JsonNode> fields(String value) {
    if (value == null) return null;
    JsonNode n;
    try {
      n = JSON.readTree(value);
    } catch (Exception e) {
      return null;
    }
    if (n == null || !n.isObject()) return null;
    Map<String, JsonNode> f = new HashMap<>();
    for (Map.Entry<String, JsonNode> e : n.properties()) {
      f.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue());
    }
    return f;
  }

  /** The value if it is a JSON integer in 1..Integer.MAX_VALUE, else 0. */
  private static int positiveInt(JsonNode n) {
    if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) return 0;
    return Math.max(n.intValue(), 0);
  }
}
