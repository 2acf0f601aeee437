package tradeflow.interop;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The decoder corpus of tradeflow's Go implementation (settlement/corpus_test.go), case by case:
 * the same bytes, the same outcome (the same trade or user, or an error whose reason contains
 * the same text). Keep the two in step: a case added there belongs here too. The cases of
 * TRADES_MORE and USERS_MORE were checked against settlement.ParseTrade / ParseUser as well.
 */
class RulesTest {
  static final int MAX = Rules.MAX_VALUE_BYTES;

  /** One value and what the parser must make of it: want, or an error containing wantErr. */
  record Case(String name, byte[] value, Object want, String wantErr) {}

  static Case ok(String name, byte[] value, Object want) {
    return new Case(name, value, want, "");
  }

  static Case bad(String name, byte[] value, String wantErr) {
    return new Case(name, value, null, wantErr);
  }

  /** Bytes of s, one byte per char (all chars below 0x100): raw bytes such as "\u00ff" stay. */
  static byte[] b(String s) {
    for (char c : s.toCharArray()) {
      if (c > 0xff) throw new IllegalArgumentException("use u8() for " + s);
    }
    return s.getBytes(ISO_8859_1);
  }

  /** UTF-8 of s. */
  static byte[] u8(String s) {
    return s.getBytes(UTF_8);
  }

  static byte[] cat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) n += p.length;
    byte[] out = new byte[n];
    int i = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, i, p.length);
      i += p.length;
    }
    return out;
  }

  static final String[][] BASE = {
    {"side", "\"BUY\""}, {"quantity", "1934"}, {"symbol", "\"ZVZZT\""},
    {"price", "974"}, {"account", "\"XYZ789\""}, {"userid", "\"User_5\""},
  };

  /**
   * Go's trade(fields): a Datagen-shaped stocktrade value with fields overridden or removed
   * (fields maps a name to its raw JSON text, "" removes it); other names follow, sorted.
   * Pairs: name, text, name, text...
   */
  static byte[] trade(String... kv) {
    Map<String, String> fields = new TreeMap<>(); // sorted as Go's slices.Sort (ASCII names)
    for (int i = 0; i < kv.length; i += 2) fields.put(kv[i], kv[i + 1]);
    StringBuilder s = new StringBuilder("{");
    List<String> parts = new ArrayList<>();
    for (String[] f : BASE) {
      String v = fields.getOrDefault(f[0], f[1]);
      if (!v.isEmpty()) parts.add("\"" + f[0] + "\":" + v);
    }
    for (Map.Entry<String, String> e : fields.entrySet()) {
      boolean known = false;
      for (String[] f : BASE) known |= f[0].equals(e.getKey());
      if (!known && !e.getValue().isEmpty()) parts.add("\"" + e.getKey() + "\":" + e.getValue());
    }
    s.append(String.join(",", parts)).append('}');
    return b(s.toString());
  }

  static String str(byte[] v) {
    return new String(v, ISO_8859_1);
  }

  static final Rules.Trade DATAGEN =
      new Rules.Trade("BUY", 1934, "ZVZZT", 974, "XYZ789", "User_5");

  static Rules.Trade t(String side, int q, String sym, int p, String account, String userid) {
    return new Rules.Trade(side, q, sym, p, account, userid);
  }

  static String nested(int depth) {
    return "[".repeat(depth) + "]".repeat(depth);
  }

  /** A valid trade padded with an unknown string field to exactly n bytes. */
  static byte[] padTo(int n) {
    int len = trade("pad", "\"\"").length;
    return trade("pad", "\"" + "x".repeat(n - len) + "\"");
  }

  static final List<Case> TRADES =
      List.of(
          // Valid.
          ok("datagen", trade(), DATAGEN),
          ok("sell", trade("side", "\"SELL\""), t("SELL", 1934, "ZVZZT", 974, "XYZ789", "User_5")),
          ok(
              "field names in any case",
              b(
                  "{\"SIDE\":\"BUY\",\"Quantity\":1934,\"sYmBoL\":\"ZVZZT\",\"PRICE\":974,"
                      + "\"Account\":\"XYZ789\",\"UserId\":\"User_5\"}"),
              DATAGEN),
          ok(
              "unknown fields ignored",
              trade("extra", "{\"a\":[1,2,{\"b\":null}]}", "ts", "1.5e300", "flag", "true"),
              DATAGEN),
          ok("userid missing", trade("userid", ""), t("BUY", 1934, "ZVZZT", 974, "XYZ789", "")),
          ok("userid empty", trade("userid", "\"\""), t("BUY", 1934, "ZVZZT", 974, "XYZ789", "")),
          ok("userid null", trade("userid", "null"), t("BUY", 1934, "ZVZZT", 974, "XYZ789", "")),
          ok("account missing", trade("account", ""), t("BUY", 1934, "ZVZZT", 974, "", "User_5")),
          ok("account null", trade("account", "null"), t("BUY", 1934, "ZVZZT", 974, "", "User_5")),
          ok(
              "max int32 quantity and price",
              trade("quantity", "2147483647", "price", "2147483647"),
              t("BUY", Integer.MAX_VALUE, "ZVZZT", Integer.MAX_VALUE, "XYZ789", "User_5")),
          ok(
              "quantity and price 1",
              trade("quantity", "1", "price", "1"),
              t("BUY", 1, "ZVZZT", 1, "XYZ789", "User_5")),
          ok("whitespace around", b(" \t\r\n" + str(trade()) + " \n"), DATAGEN),
          ok(
              "escaped strings",
              trade("symbol", "\"Z\\u0056V\"", "userid", "\"User_\\u00e9\""),
              t("BUY", 1934, "ZVV", 974, "XYZ789", "User_\u00e9")),
          ok("symbol with @", trade("symbol", "\"A@B\""), t("BUY", 1934, "A@B", 974, "XYZ789", "User_5")),
          ok("unknown field nested 100 deep", trade("deep", nested(100)), DATAGEN),
          ok("exactly MaxValueBytes", padTo(MAX), DATAGEN),

          // Not one JSON object.
          bad("nil value", null, "value is null"),
          bad("empty value", new byte[0], "value is empty, not a JSON object"),
          bad("not JSON", b("not json"), "not a JSON object"),
          bad("JSON array", b("[1,2]"), "not a JSON object but a JSON array"),
          bad(
              "JSON array of the object",
              b("[" + str(trade()) + "]"),
              "not a JSON object but a JSON array"),
          bad("JSON null", b("null"), "JSON null"),
          bad("JSON string", b("\"ZVV\""), "not a JSON object but a JSON string"),
          bad("JSON number", b("42"), "not a JSON object but a JSON number"),
          bad("JSON true", b("true"), "not a JSON object but a JSON boolean"),
          bad("truncated", java.util.Arrays.copyOf(trade(), 20), "not a JSON object"),
          bad(
              "trailing comma",
              b("{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1,}"),
              "not a JSON object"),
          bad("single quotes", b("{'side':'BUY'}"), "not a JSON object"),
          bad("trailing text", b(str(trade()) + " trailing"), "data after the JSON object"),
          bad("two objects", b(str(trade()) + str(trade())), "data after the JSON object"),
          bad("trailing brace", b(str(trade()) + "}"), "data after the JSON object"),
          bad("trailing bracket", b(str(trade()) + "]"), "data after the JSON object"),
          bad("invalid UTF-8", trade("symbol", "\"Z\u00ffV\""), "not valid UTF-8"),
          bad("invalid UTF-8 in unknown field", trade("x", "\"\u00c3\u0028\""), "not valid UTF-8"),
          bad("over MaxValueBytes", padTo(MAX + 1), "more than the limit"),
          bad(
              "huge",
              trade("pad", "\"" + "A".repeat(2 * MAX) + "\""),
              "value is 131177 bytes, more than the limit of 65536"),
          bad(
              "nested beyond the decoder's depth",
              trade("deep", nested(20000)),
              "nested deeper than 300 levels"),
          bad(
              "duplicate keys differing in case",
              trade("SYMBOL", "\"OTHER\""),
              "field symbol appears more than once"),
          bad(
              "duplicate keys",
              b("{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1,\"quantity\":1000000}"),
              "field quantity appears more than once"),

          // symbol.
          bad("symbol missing", trade("symbol", ""), "field symbol is missing"),
          bad("symbol null", trade("symbol", "null"), "field symbol is missing"),
          bad("symbol empty", trade("symbol", "\"\""), "field symbol is empty"),
          bad("symbol a number", trade("symbol", "5"), "field symbol is not a string"),
          bad("symbol an object", trade("symbol", "{\"s\":\"A\"}"), "field symbol is not a string"),

          // side.
          bad("side lower-case", trade("side", "\"buy\""), "field side is \"buy\", want BUY or SELL"),
          bad("side unknown", trade("side", "\"HOLD\""), "field side is \"HOLD\""),
          bad("side padded", trade("side", "\" BUY\""), "field side is \" BUY\""),
          bad("side missing", trade("side", ""), "field side is missing"),
          bad("side a bool", trade("side", "true"), "field side is not a string"),

          // quantity.
          bad("quantity 0", trade("quantity", "0"), "field quantity is 0, want 1..2147483647"),
          bad("quantity -0", trade("quantity", "-0"), "field quantity is 0"),
          bad("quantity negative", trade("quantity", "-3"), "field quantity is -3"),
          bad("quantity float", trade("quantity", "1.5"), "field quantity is not an integer: 1.5"),
          bad("quantity integral float", trade("quantity", "10.0"), "field quantity is not an integer"),
          bad("quantity exponent", trade("quantity", "1e3"), "field quantity is not an integer: 1e3"),
          bad(
              "quantity beyond int32",
              trade("quantity", "2147483648"),
              "field quantity is 2147483648, want 1..2147483647"),
          bad(
              "quantity beyond int64",
              trade("quantity", "9223372036854775808"),
              "field quantity is out of range"),
          bad(
              "quantity below int64",
              trade("quantity", "-9223372036854775809"),
              "field quantity is out of range"),
          bad("quantity a string", trade("quantity", "\"10\""), "field quantity is not a number"),
          bad("quantity a bool", trade("quantity", "true"), "field quantity is not a number"),
          bad("quantity an array", trade("quantity", "[10]"), "field quantity is not a number"),
          bad("quantity missing", trade("quantity", ""), "field quantity is missing"),
          bad("quantity null", trade("quantity", "null"), "field quantity is missing"),

          // price.
          bad("price 0", trade("price", "0"), "field price is 0"),
          bad("price negative", trade("price", "-974"), "field price is -974"),
          bad("price beyond int32", trade("price", "4294967296"), "field price is 4294967296"),
          bad("price an object", trade("price", "{}"), "field price is not a number"),
          bad("price a string", trade("price", "\"974\""), "field price is not a number"),
          bad("price missing", trade("price", ""), "field price is missing"),

          // account, userid.
          bad("account an array", trade("account", "[\"XYZ789\"]"), "field account is not a string"),
          bad("userid a number", trade("userid", "5"), "field userid is not a string"),
          bad("userid a bool", trade("userid", "false"), "field userid is not a string"));

  /**
   * Beyond corpus_test.go: where a JSON library would likely differ from fastjson as tradeflow
   * uses it (settlement/trade.go). Each outcome was checked against settlement.ParseTrade.
   */
  static final List<Case> TRADES_MORE =
      List.of(
          // fastjson parses 300 levels deep: the root object is level 1, each value one deeper.
          ok("unknown field nested 299 deep", trade("deep", nested(299)), DATAGEN),
          bad("unknown field nested 300 deep", trade("deep", nested(300)), "nested deeper than 300 levels"),
          ok("number at level 300", trade("deep", "[".repeat(298) + "1" + "]".repeat(298)), DATAGEN),
          bad("number at level 301", trade("deep", "[".repeat(299) + "1" + "]".repeat(299)), "nested deeper than 300 levels"),
          ok("objects to level 300", trade("deep", "{\"a\":".repeat(298) + "1" + "}".repeat(298)), DATAGEN),
          bad("objects to level 301", trade("deep", "{\"a\":".repeat(299) + "1" + "}".repeat(299)), "nested deeper than 300 levels"),
          bad("deep array at the root", b(nested(400)), "nested deeper than 300 levels"),
          // No limit on the length of numbers or names.
          ok("unknown number of 5000 digits", trade("n", "1".repeat(5000)), DATAGEN),
          ok("unknown name of 60000 bytes", trade("n".repeat(60000), "1"), DATAGEN),
          bad("quantity of 5000 digits", trade("quantity", "1".repeat(5000)), "field quantity is out of range"),
          ok("unknown fraction of 5000 digits", trade("n", "0." + "1".repeat(5000)), DATAGEN),
          ok("huge exponent", trade("n", "1e999999"), DATAGEN),
          // Only UTF-8 JSON text: no byte order mark, no other encoding.
          bad("byte order mark", b("\u00ef\u00bb\u00bf" + str(trade())), "not a JSON object"),
          bad("UTF-16", "{\"symbol\":\"A\"}".getBytes(java.nio.charset.StandardCharsets.UTF_16BE), "not a JSON object"),
          // utf8.Valid: no surrogates, overlong forms or code points above U+10FFFF.
          bad("UTF-8 surrogate", trade("x", "\"\u00ed\u00a0\u0080\""), "not valid UTF-8"),
          bad("overlong UTF-8", trade("x", "\"\u00c0\u00af\""), "not valid UTF-8"),
          bad("UTF-8 above U+10FFFF", trade("x", "\"\u00f4\u0090\u0080\u0080\""), "not valid UTF-8"),
          ok("4-byte UTF-8", cat(b("{\"x\":\""), u8("\uD83D\uDE00"), b("\"," + str(trade()).substring(1))), DATAGEN),
          ok("escaped surrogate pair", trade("symbol", "\"\\ud83d\\ude00\""), t("BUY", 1934, "\uD83D\uDE00", 974, "XYZ789", "User_5")),
          // fastjson's unescaping: a lone escaped surrogate stays as written; one followed by
          // another \\u escape takes it along, both becoming U+FFFD unless they pair.
          ok("lone surrogate escape stays", trade("symbol", "\"A\\uD800\""), t("BUY", 1934, "A\\uD800", 974, "XYZ789", "User_5")),
          ok("high, high, low", trade("symbol", "\"\\ud83d\\ud83d\\ude00\""), t("BUY", 1934, "\uFFFD\\ude00", 974, "XYZ789", "User_5")),
          ok("low surrogate swallows the next escape", trade("symbol", "\"A\\udc00\\u0041B\""), t("BUY", 1934, "A\uFFFDB", 974, "XYZ789", "User_5")),
          ok("escaped NUL", trade("symbol", "\"A\\u0000\""), t("BUY", 1934, "A\u0000", 974, "XYZ789", "User_5")),
          ok("lone surrogate names are distinct", b("{\"\\ud800\":1,\"\\udc00\":2," + str(trade()).substring(1)), DATAGEN),
          bad("lone surrogate names differing in case", b("{\"\\uD800\":1,\"\\ud800\":2}"), "field \\ud800 appears more than once"),
          bad("empty name twice", b("{\"\":1,\"\":2," + str(trade()).substring(1)), "field  appears more than once"),
          bad("empty name twice, then a duplicate", b("{\"\":1,\"\":2,\"a\":1,\"A\":2}"), "field  appears more than once"),
          bad("escaped name", b(str(trade()).replace("}", ",\"\\u0073ymbol\":\"B\"}")), "field symbol appears more than once"),
          // A raw control character anywhere in a string or a name is refused (fastjson's
          // validator alone would look only after the last escape; Go scans it all).
          bad("control character before an escape", trade("symbol", "\"A\u0001\\n\""), "control char"),
          bad("control character after an escape", trade("symbol", "\"A\\n\u0001\""), "control char"),
          bad("control character", trade("x", "\"a\tb\""), "control char"),
          bad("control character in a name before an escape", b("{\"\u0001\\n\":1," + str(trade()).substring(1)), "control char"),
          bad("control character in a name", b("{\"\u0001\":1," + str(trade()).substring(1)), "control char"),
          // Names lower-case code point by code point (Go's strings.ToLower, Unicode 15).
          ok("capital I with dot matches userid", u8(str(trade("userid", "")).replace("}", ",\"userİd\":\"U\"}")), t("BUY", 1934, "ZVZZT", 974, "XYZ789", "U")),
          bad("final sigma lower-cases to sigma", u8("{\"ΑΣ\":1,\"ασ\":2}"), "field ασ appears more than once"),
          bad("Unicode 14 case pair", u8("{\"\u2C2F\":1,\"\u2C5F\":2}"), "appears more than once"),
          bad("Unicode 14 case pair, supplementary", u8("{\"\uD801\uDD70\":1,\"\uD801\uDD97\":2}"), "appears more than once"),
          bad("Kelvin sign lower-cases to k", u8("{\"\u212A\":1,\"k\":2}"), "field k appears more than once"),
          // Strict JSON syntax.
          bad("leading zero", trade("n", "01"), "not a JSON object"),
          bad("leading plus", trade("n", "+1"), "not a JSON object"),
          bad("NaN", trade("n", "NaN"), "not a JSON object"),
          bad("nan at the root", b("nan"), "not a JSON object"),
          bad("bare decimal point", trade("n", "1."), "not a JSON object"),
          bad("bare exponent", trade("n", "1e"), "not a JSON object"),
          bad("comment", b("{/*c*/" + str(trade()).substring(1)), "not a JSON object"),
          bad("unquoted name", b("{side:\"BUY\"}"), "not a JSON object"),
          bad("unknown escape", trade("x", "\"\\x41\""), "not a JSON object"),
          bad("short unicode escape", trade("x", "\"\\u12\""), "not a JSON object"),
          bad("missing comma", b("{\"side\":\"BUY\" \"quantity\":1}"), "not a JSON object"),
          bad("trailing comma in an array", trade("x", "[1,]"), "not a JSON object"),
          bad("literal with a tail", trade("x", "truex"), "not a JSON object"),
          bad("form feed after the object", b(str(trade()) + "\f"), "data after the JSON object"),
          bad("form feed alone", b("\f"), "value is empty, not a JSON object"),
          bad("no-break space alone", u8("\u00a0"), "value is empty, not a JSON object"),
          bad("literal with a tail at the root", b("nullx"), "data after the JSON object"),
          bad("array with a tail", b("[1] x"), "data after the JSON object"),
          ok("whitespace everywhere", b("{ \"side\" :\t\"BUY\" ,\n\"quantity\"\r: 1 , \"symbol\":\"A\",\"price\":1 }"), t("BUY", 1, "A", 1, "", "")),
          ok("-0 in an unknown field", trade("n", "-0.0e-0"), DATAGEN),
          bad("quantity 1E3", trade("quantity", "1E3"), "field quantity is not an integer: 1E3"),
          bad("quantity -0.0", trade("quantity", "-0.0"), "field quantity is not an integer: -0.0"),
          bad("quantity 19 digits and a fraction", trade("quantity", "1234567890123456789.5"), "field quantity is not an integer"),
          ok("min int64 in an unknown field", trade("n", "-9223372036854775808"), DATAGEN),
          bad("quantity min int64", trade("quantity", "-9223372036854775808"), "field quantity is -9223372036854775808"));

  static final List<Case> USERS =
      List.of(
          // Valid.
          ok(
              "datagen",
              b("{\"registertime\":1493819720340,\"userid\":\"User_2\",\"regionid\":\"Region_5\",\"gender\":\"FEMALE\"}"),
              new Rules.User(1493819720340L, "User_2", "Region_5", "FEMALE")),
          ok(
              "field names in any case",
              b("{\"RegisterTime\":1,\"USERID\":\"User_1\",\"RegionId\":\"Region_1\",\"GENDER\":\"MALE\"}"),
              new Rules.User(1, "User_1", "Region_1", "MALE")),
          ok("userid only", b("{\"userid\":\"User_3\"}"), new Rules.User(0, "User_3", "", "")),
          ok("userid empty", b("{\"userid\":\"\"}"), new Rules.User(0, "", "", "")),
          ok(
              "optional fields null",
              b("{\"registertime\":null,\"userid\":\"User_4\",\"regionid\":null,\"gender\":null}"),
              new Rules.User(0, "User_4", "", "")),
          ok(
              "unknown fields ignored",
              b("{\"userid\":\"User_5\",\"interests\":[\"a\",\"b\"],\"contactinfo\":{\"phone\":\"1\"}}"),
              new Rules.User(0, "User_5", "", "")),
          ok(
              "negative registertime",
              b("{\"userid\":\"User_6\",\"registertime\":-1}"),
              new Rules.User(-1, "User_6", "", "")),
          ok(
              "max int64 registertime",
              b("{\"userid\":\"User_7\",\"registertime\":9223372036854775807}"),
              new Rules.User(Long.MAX_VALUE, "User_7", "", "")),

          // Bad.
          bad("nil value", null, "value is null"),
          bad("empty value", new byte[0], "value is empty, not a JSON object"),
          bad("not JSON", b("User_1"), "not a JSON object"),
          bad("JSON array", b("[{\"userid\":\"User_1\"}]"), "not a JSON object but a JSON array"),
          bad("JSON null", b("null"), "JSON null"),
          bad("trailing data", b("{\"userid\":\"User_1\"} x"), "data after the JSON object"),
          bad("trailing brace", b("{\"userid\":\"User_1\"}}"), "data after the JSON object"),
          bad("invalid UTF-8", b("{\"userid\":\"User_\u00ff\"}"), "not valid UTF-8"),
          bad("over MaxValueBytes", b("{\"userid\":\"" + "u".repeat(MAX) + "\"}"), "more than the limit"),
          bad(
              "nested beyond the decoder's depth",
              b("{\"userid\":\"User_1\",\"x\":" + nested(20000) + "}"),
              "nested deeper than 300 levels"),
          bad(
              "duplicate keys differing in case",
              b("{\"userid\":\"User_1\",\"UserID\":\"User_2\"}"),
              "field userid appears more than once"),
          bad(
              "duplicate keys",
              b("{\"userid\":\"User_1\",\"userid\":\"User_2\"}"),
              "field userid appears more than once"),
          bad("userid missing", b("{\"regionid\":\"Region_1\"}"), "field userid is missing"),
          bad("userid null", b("{\"userid\":null}"), "field userid is missing"),
          bad("userid a number", b("{\"userid\":1}"), "field userid is not a string"),
          bad("regionid a number", b("{\"userid\":\"User_1\",\"regionid\":5}"), "field regionid is not a string"),
          bad("gender a bool", b("{\"userid\":\"User_1\",\"gender\":true}"), "field gender is not a string"),
          bad(
              "registertime a string",
              b("{\"userid\":\"User_1\",\"registertime\":\"1493819720340\"}"),
              "field registertime is not a number"),
          bad(
              "registertime a float",
              b("{\"userid\":\"User_1\",\"registertime\":1.5}"),
              "field registertime is not an integer"),
          bad(
              "registertime beyond int64",
              b("{\"userid\":\"User_1\",\"registertime\":9223372036854775808}"),
              "field registertime is out of range"));

  /** Beyond corpus_test.go; each outcome was checked against settlement.ParseUser. */
  static final List<Case> USERS_MORE =
      List.of(
          ok("registertime min int64", b("{\"userid\":\"U\",\"registertime\":-9223372036854775808}"), new Rules.User(Long.MIN_VALUE, "U", "", "")),
          bad("registertime exponent", b("{\"userid\":\"U\",\"registertime\":1e3}"), "field registertime is not an integer: 1e3"),
          bad("registertime a bool", b("{\"userid\":\"U\",\"registertime\":true}"), "field registertime is not a number"),
          ok("userid a lone surrogate escape", b("{\"userid\":\"\\udc00\"}"), new Rules.User(0, "\\udc00", "", "")),
          ok("unknown field nested 299 deep", b("{\"userid\":\"U\",\"x\":" + nested(299) + "}"), new Rules.User(0, "U", "", "")),
          bad("unknown field nested 300 deep", b("{\"userid\":\"U\",\"x\":" + nested(300) + "}"), "nested deeper than 300 levels"));

  @FunctionalInterface
  interface Parser {
    Object parse(byte[] value) throws Rules.InvalidException;
  }

  static Stream<DynamicTest> run(List<Case> cases, Parser parser) {
    return cases.stream()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.name(),
                    () -> {
                      if (c.wantErr().isEmpty()) {
                        try {
                          assertEquals(c.want(), parser.parse(c.value()));
                        } catch (Rules.InvalidException e) {
                          fail("unexpected error: " + e.getMessage());
                        }
                        return;
                      }
                      Rules.InvalidException e =
                          assertThrows(Rules.InvalidException.class, () -> parser.parse(c.value()));
                      assertTrue(
                          e.getMessage().contains(c.wantErr()),
                          () -> "error \"" + e.getMessage() + "\" does not contain \"" + c.wantErr() + "\"");
                    }));
  }

  @TestFactory
  Stream<DynamicTest> tradeCorpus() {
    assertEquals(72, TRADES.size(), "cases of tradeCorpus in settlement/corpus_test.go");
    assertTrue(TRADES.stream().filter(c -> !c.wantErr().isEmpty()).count() >= 20);
    return run(TRADES, Rules::parseTrade);
  }

  @TestFactory
  Stream<DynamicTest> tradeBeyondCorpus() {
    return run(TRADES_MORE, Rules::parseTrade);
  }

  @TestFactory
  Stream<DynamicTest> userCorpus() {
    assertEquals(28, USERS.size(), "cases of userCorpus in settlement/corpus_test.go");
    return run(USERS, Rules::parseUser);
  }

  @TestFactory
  Stream<DynamicTest> userBeyondCorpus() {
    return run(USERS_MORE, Rules::parseUser);
  }

  /** The corpus builder makes the same bytes as Go's (the "huge" case checks the length too). */
  @Test
  void builderMatchesGo() {
    assertEquals(
        "{\"side\":\"BUY\",\"quantity\":1934,\"symbol\":\"ZVZZT\",\"price\":974,"
            + "\"account\":\"XYZ789\",\"userid\":\"User_5\"}",
        str(trade()));
    assertEquals(
        "{\"quantity\":1934,\"symbol\":\"ZVZZT\",\"price\":974,\"account\":\"XYZ789\","
            + "\"userid\":\"User_5\",\"SIDE\":\"X\",\"extra\":1}",
        str(trade("side", "", "extra", "1", "SIDE", "\"X\"")));
    assertEquals(MAX, padTo(MAX).length);
  }

  @Test
  void dispositionOrder() {
    Rules.Trade small = t("BUY", 1000, "A", 100, "", "U"); // amount 100000
    Rules.Trade big = t("BUY", 1000, "A", 101, "", "U"); // 101000
    Rules.Trade huge = t("BUY", 100000, "A", 100000, "", "U"); // 10^10, no overflow
    Rules.Trade anon = t("BUY", 1000, "A", 101, "", "");
    assertEquals(Rules.REJECTED, Rules.disposition(anon, true, 100_000, true));
    assertEquals(Rules.REJECTED, Rules.disposition(big, false, 100_000, true));
    assertEquals(Rules.PENDING, Rules.disposition(big, true, 100_000, true));
    assertEquals(Rules.PENDING, Rules.disposition(huge, true, 100_000, false));
    assertEquals(Rules.FLAGGED, Rules.disposition(small, true, 100_000, true));
    assertEquals(Rules.COMPLETED, Rules.disposition(small, true, 100_000, false));
  }

  /** Vectors to share with other implementations: murmur2("topic/partition/offset"). */
  @Test
  void secSampleVectors() {
    // stocktrade/0/N for N = 0..13 at rate 0.30: h % 10^6 < 300000 only for 4, 8, 9, 10
    // (e.g. stocktrade/0/4: h = 2147207862, h % 10^6 = 207862).
    for (int n = 0; n <= 13; n++) {
      boolean want = n == 4 || n == 8 || n == 9 || n == 10;
      assertEquals(want, Rules.secSampled("stocktrade", 0, n, 0.30), "offset " + n);
    }
    // stocktrade/5/123456789: h = 617770898, h % 10^6 = 770898
    assertFalse(Rules.secSampled("stocktrade", 5, 123456789, 0.770898));
    assertTrue(Rules.secSampled("stocktrade", 5, 123456789, 0.770899));
    assertFalse(Rules.secSampled("stocktrade", 0, 4, 0.0));
    assertTrue(Rules.secSampled("stocktrade", 0, 0, 1.0));
  }
}
