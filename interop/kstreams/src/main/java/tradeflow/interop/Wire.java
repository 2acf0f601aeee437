package tradeflow.interop;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Protobuf wire encoding of UserTrade and TradeSettlement (proto/user_trade.proto,
 * proto/trade_settlement.proto), written by hand so that the peer, with --settlement-topics,
 * writes what tradeflow writes to user_trades and trade-settlements, at the same cost per trade,
 * without a protobuf dependency. Fields equal to their default are left out, as proto3 does.
 */
final class Wire {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

  private Wire() {}

  static byte[] userTrade(
      Rules.Trade t, String region, long timestamp, int partition, long offset) {
    Wire w = new Wire();
    w.string(1, t.userid());
    w.string(2, region);
    w.varint(3, t.quantity());
    w.string(4, t.symbol());
    w.varint(5, t.price());
    w.string(6, t.account());
    w.string(7, t.side());
    w.varint(8, timestamp);
    w.varint(9, partition);
    w.varint(10, offset);
    return w.out.toByteArray();
  }

  static byte[] settlement(
      Rules.Trade t, String disposition, String reason, long timestamp, int partition, long offset) {
    Wire w = new Wire();
    w.string(1, t.userid());
    w.string(2, t.symbol());
    w.fixed64(3, Double.doubleToRawLongBits((double) t.amount()));
    w.string(4, disposition);
    w.string(5, reason);
    w.varint(6, timestamp);
    w.varint(7, partition);
    w.varint(8, offset);
    return w.out.toByteArray();
  }

  private void tag(int field, int type) {
    raw((long) field << 3 | type);
  }

  private void raw(long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) (v & 0x7f | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private void varint(int field, long v) {
    if (v != 0) {
      tag(field, 0);
      raw(v);
    }
  }

  private void string(int field, String s) {
    if (s != null && !s.isEmpty()) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      tag(field, 2);
      raw(b.length);
      out.write(b, 0, b.length);
    }
  }

  private void fixed64(int field, long bits) {
    if (bits != 0) {
      tag(field, 1);
      for (int i = 0; i < 8; i++) out.write((int) (bits >>> (8 * i)));
    }
  }
}
