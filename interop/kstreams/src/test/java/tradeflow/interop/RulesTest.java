package tradeflow.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RulesTest {
  @Test
  void parsesTradeCaseInsensitively() {
    Rules.Trade t =
        Rules.parseTrade(
            "{\"SIDE\":\"SELL\",\"Quantity\":7,\"symbol\":\"ZVV\",\"PRICE\":12,"
                + "\"account\":\"ABC123\",\"UserId\":\"User_1\",\"extra\":[1]}");
    assertEquals(new Rules.Trade("SELL", 7, "ZVV", 12, "User_1"), t);
  }

  @Test
  void missingOrNullUseridIsValidAndEmpty() {
    String base = "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1";
    assertEquals("", Rules.parseTrade(base + "}").userid());
    assertEquals("", Rules.parseTrade(base + ",\"userid\":null}").userid());
    assertEquals("", Rules.parseTrade(base + ",\"userid\":\"\"}").userid());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "[1,2]",
        "\"a string\"",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1} trailing",
        "{\"side\":\"buy\",\"quantity\":1,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"HOLD\",\"quantity\":1,\"symbol\":\"A\",\"price\":1}",
        "{\"quantity\":1,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":0,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":-3,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":2147483648,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":1.5,\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":\"1\",\"symbol\":\"A\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"\",\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":5,\"price\":1}",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":0}",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\"}",
        "{\"side\":\"BUY\",\"quantity\":1,\"symbol\":\"A\",\"price\":1,\"userid\":5}",
      })
  void rejectsInvalidTrades(String value) {
    assertNull(Rules.parseTrade(value), value);
  }

  @Test
  void acceptsInt32Max() {
    assertNotNull(
        Rules.parseTrade(
            "{\"side\":\"BUY\",\"quantity\":2147483647,\"symbol\":\"A\",\"price\":2147483647}"));
  }

  @Test
  void usersValidity() {
    assertTrue(Rules.validUser("{\"registertime\":1,\"USERID\":\"User_1\",\"regionid\":\"R\"}"));
    assertFalse(Rules.validUser("{\"userid\":1}"));
    assertFalse(Rules.validUser("{\"regionid\":\"R\"}"));
    assertFalse(Rules.validUser("nope"));
    assertFalse(Rules.validUser(null));
  }

  @Test
  void dispositionOrder() {
    Rules.Trade small = new Rules.Trade("BUY", 1000, "A", 100, "U"); // amount 100000
    Rules.Trade big = new Rules.Trade("BUY", 1000, "A", 101, "U"); // 101000
    Rules.Trade huge = new Rules.Trade("BUY", 100000, "A", 100000, "U"); // 10^10, no overflow
    Rules.Trade anon = new Rules.Trade("BUY", 1000, "A", 101, "");
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
