package tradeflow.interop;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;

/**
 * tradeflow's rules (README.md, "Data flow": formats and rules), free of Kafka Streams: parsing, validity, disposition.
 *
 * <p>Validity is that of tradeflow's Go decoder, input by input: settlement/trade.go, which
 * validates with github.com/valyala/fastjson (v1.6.10) and then parses with it. RulesTest runs
 * the cases of settlement/corpus_test.go. No JSON library here would agree on every input (depth
 * limit, how escapes decode, where fastjson's validator is lenient), so {@link Json} is a
 * transcription of what fastjson does.
 */
public final class Rules {
  public static final String REJECTED = "Rejected";
  public static final String PENDING = "Pending";
  public static final String FLAGGED = "SEC Flagged";
  public static final String COMPLETED = "Completed";

  /** An input record's value above this many bytes is invalid (Go: MaxValueBytes). */
  public static final int MAX_VALUE_BYTES = 64 << 10;

  /** A valid stocktrade value; account and userid are "" when missing or null. */
  public record Trade(
      String side, int quantity, String symbol, int price, String account, String userid) {
    public long amount() {
      return (long) quantity * price;
    }
  }

  /** A valid users value; strings are "" and registertime 0 when missing or null. */
  public record User(long registertime, String userid, String regionid, String gender) {}

  /** Why a value is invalid: the message is the reason Go writes to the dead-letter header. */
  public static final class InvalidException extends Exception {
    InvalidException(String reason) {
      super(reason, null, false, false);
    }
  }

  private static final Set<String> TRADE_FIELDS =
      Set.of("side", "quantity", "symbol", "price", "account", "userid");
  private static final Set<String> USER_FIELDS =
      Set.of("registertime", "userid", "regionid", "gender");

  private Rules() {}

  /**
   * Parses a stocktrade value as Go's settlement.ParseTrade does: one JSON object (only
   * whitespace after it), field names matched case-insensitively and each at most once, symbol a
   * non-empty string, side exactly "BUY" or "SELL", quantity and price JSON integers in
   * 1..2^31-1, account and userid strings or null when present; unknown fields are ignored.
   */
  public static Trade parseTrade(byte[] value) throws InvalidException {
    Map<String, Json.Field> f = objectFields(value, TRADE_FIELDS);
    String symbol = stringField(f, "symbol", true);
    if (symbol.isEmpty()) throw invalid("field symbol is empty");
    String side = stringField(f, "side", true);
    if (!side.equals("BUY") && !side.equals("SELL")) {
      throw invalid("field side is " + goQuote(side) + ", want BUY or SELL");
    }
    int quantity = positiveInt32(f, "quantity");
    int price = positiveInt32(f, "price");
    String account = stringField(f, "account", false);
    String userid = stringField(f, "userid", false);
    return new Trade(side, quantity, symbol, price, account, userid);
  }

  /** parseTrade, or null when the value is invalid. */
  public static Trade tradeOrNull(byte[] value) {
    try {
      return parseTrade(value);
    } catch (InvalidException e) {
      return null;
    }
  }

  /**
   * Parses a users value (not a tombstone) as Go's settlement.ParseUser does: userid a string;
   * regionid and gender strings, registertime a 64-bit integer, each when present and not null.
   */
  public static User parseUser(byte[] value) throws InvalidException {
    Map<String, Json.Field> f = objectFields(value, USER_FIELDS);
    String userid = stringField(f, "userid", true);
    String regionid = stringField(f, "regionid", false);
    String gender = stringField(f, "gender", false);
    long registertime = 0;
    Json.Field rt = f.get("registertime");
    if (rt != null && rt.kind() != Json.Kind.NULL) registertime = int64(rt, "registertime");
    return new User(registertime, userid, regionid, gender);
  }

  /** parseUser, or null when the value is invalid. */
  public static User userOrNull(byte[] value) {
    try {
      return parseUser(value);
    } catch (InvalidException e) {
      return null;
    }
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

  private static InvalidException invalid(String reason) {
    return new InvalidException(reason);
  }

  /**
   * The fields of value, which must be one JSON object, that are named in keep, by lower-cased
   * name. As Go's parseObject: null, size, UTF-8, JSON (fastjson), the root's type, then names
   * that appear more than once in any case.
   */
  private static Map<String, Json.Field> objectFields(byte[] value, Set<String> keep)
      throws InvalidException {
    if (value == null) throw invalid("value is null");
    if (value.length > MAX_VALUE_BYTES) {
      throw invalid(
          "value is " + value.length + " bytes, more than the limit of " + MAX_VALUE_BYTES);
    }
    if (!validUtf8(value)) throw invalid("value is not valid UTF-8");
    Json.Parsed p;
    try {
      p = Json.parse(value);
    } catch (Json.SyntaxException e) {
      throw invalid(e.getMessage());
    }
    if (p.kind() == Json.Kind.NULL) throw invalid("value is JSON null, not an object");
    if (p.kind() != Json.Kind.OBJECT) {
      throw invalid("value is not a JSON object but a JSON " + p.kind().json);
    }
    Set<String> names = new HashSet<>();
    String dup = null;
    Map<String, Json.Field> fields = new HashMap<>();
    for (Json.Field f : p.fields()) {
      String name = goLower(f.name());
      if (!names.add(name) && dup == null) dup = name;
      if (keep.contains(name)) fields.put(name, f);
    }
    if (dup != null) throw invalid("field " + dup + " appears more than once");
    return fields;
  }

  /**
   * Go's utf8.Valid: strict UTF-8, no overlong forms, surrogates or code points above U+10FFFF
   * (Java's decoder refuses the same).
   */
  static boolean validUtf8(byte[] value) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(value));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
  /**
   * Go's strings.ToLower: the simple lower-case mapping of each code point. Java's
   * String.toLowerCase is context-sensitive (final sigma, U+0130) and Java 17 knows Unicode 13,
   * where Go 1.2x uses 15.0: the case pairs Unicode 14 added are listed here.
   */
  static String goLower(String s) {
    boolean ascii = true;
    for (int i = 0; i < s.length() && ascii; i++) ascii = s.charAt(i) < 0x80;
    if (ascii) return s.toLowerCase(Locale.ROOT);
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints().map(Rules::goLowerCodePoint).forEach(b::appendCodePoint);
    return b.toString();
  }

  static int goLowerCodePoint(int c) {
    if (c == 0x2C2F) return 0x2C5F;
    if (c == 0xA7C0 || c == 0xA7D0 || c == 0xA7D6 || c == 0xA7D8) return c + 1;
    if (c >= 0x10570 && c <= 0x10595 && c != 0x1057B && c != 0x1058B && c != 0x10593) {
      return c + 0x27;
    }
    return Character.toLowerCase(c);
  }

  private static String stringField(Map<String, Json.Field> f, String name, boolean required)
      throws InvalidException {
    Json.Field v = f.get(name);
    if (v == null || v.kind() == Json.Kind.NULL) {
      if (required) throw invalid("field " + name + " is missing");
      return "";
    }
    if (v.kind() != Json.Kind.STRING) throw invalid("field " + name + " is not a string");
    return v.text();
  }

  /**
   * fastjson's Value.Int64 as Go's int64Field reads it: digits (and a minus) that do not fit are
   * out of range; anything else (1.5, 1e3) is not an integer.
   */
  private static long int64(Json.Field v, String name) throws InvalidException {
    if (v.kind() != Json.Kind.NUMBER) throw invalid("field " + name + " is not a number");
    String raw = v.text();
    try {
      return Long.parseLong(raw);
    } catch (NumberFormatException e) {
      if (raw.chars().allMatch(c -> c == '-' || (c >= '0' && c <= '9'))) {
        throw invalid("field " + name + " is out of range");
      }
      throw invalid("field " + name + " is not an integer: " + raw);
    }
  }

  private static int positiveInt32(Map<String, Json.Field> f, String name) throws InvalidException {
    Json.Field v = f.get(name);
    if (v == null || v.kind() == Json.Kind.NULL) throw invalid("field " + name + " is missing");
    long n = int64(v, name);
    if (n <= 0 || n > Integer.MAX_VALUE) {
      throw invalid("field " + name + " is " + n + ", want 1.." + Integer.MAX_VALUE);
    }
    return (int) n;
  }

  /** Roughly Go's %q, for reasons. */
  private static String goQuote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) b.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
