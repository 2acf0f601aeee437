package tradeflow.interop;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * JSON as tradeflow's settlement package reads it: github.com/valyala/fastjson v1.6.10's
 * ValidateBytes, then Parser.ParseBytes (values nest at most {@link #MAX_DEPTH} deep), then the
 * root object's fields with names and strings unescaped by fastjson's unescapeStringBestEffort.
 * A transcription, so that the Kafka Streams peer accepts and decodes exactly what tradeflow
 * does, fastjson's quirks included (marked QUIRK); iterative, since a 64 KiB value can nest
 * 32768 deep.
 */
final class Json {
  /** fastjson.MaxDepth: the root is at depth 1, each value inside a container one deeper. */
  static final int MAX_DEPTH = 300;

  enum Kind {
    OBJECT("object"),
    ARRAY("array"),
    STRING("string"),
    NUMBER("number"),
    TRUE("boolean"),
    FALSE("boolean"),
    NULL("null");

    final String json;

    Kind(String json) {
      this.json = json;
    }
  }

  /**
   * One field of the root object: its name and, for a string, its text, both unescaped; for a
   * number, the number as written.
   */
  record Field(String name, Kind kind, String text) {}

  /** A valid value: its kind and, for an object, its fields in order. */
  record Parsed(Kind kind, List<Field> fields) {}

  /** Why value is not JSON, worded as settlement.syntaxError words it. */
  static final class SyntaxException extends Exception {
    SyntaxException(String reason) {
      super(reason, null, false, false);
    }
  }

  private Json() {}

  private static final String TAIL = "unexpected tail";

  /** Parses value, which must be valid UTF-8. */
  static Parsed parse(byte[] value) throws SyntaxException {
    Scanner s = new Scanner(value);
    String err = s.validate();
    if (err != null) {
      if (isGoSpace(value)) throw new SyntaxException("value is empty, not a JSON object");
      if (err == TAIL) throw new SyntaxException("value has data after the JSON object");
      throw new SyntaxException("value is not a JSON object: invalid JSON: " + err);
    }
    if (s.tooDeep) {
      throw new SyntaxException("value is nested deeper than " + MAX_DEPTH + " levels");
    }
    List<Field> fields = new ArrayList<>();
    if (s.root == Kind.OBJECT) {
      for (int i = 0; i < s.nfields; i++) {
        int[] f = s.fields[i];
        Kind k = Kind.values()[f[2]];
        String text = null;
        if (k == Kind.STRING) text = unescape(value, f[3], f[4]);
        else if (k == Kind.NUMBER) text = new String(value, f[3], f[4] - f[3], StandardCharsets.US_ASCII);
        fields.add(new Field(unescape(value, f[0], f[1]), k, text));
      }
    }
    return new Parsed(s.root, fields);
  }

  /** Go's strings.TrimSpace(value) == "" (unicode.IsSpace), value valid UTF-8. */
  private static boolean isGoSpace(byte[] value) {
    String s = new String(value, StandardCharsets.UTF_8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean space =
          (c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680
              || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
              || c == 0x205F || c == 0x3000;
      if (!space) return false;
    }
    return true;
  }

  /** fastjson's validator (validate.go) with the parser's depth check, in one pass. */
  private static final class Scanner {
    final byte[] b;
    final int n;
    Kind root;
    boolean tooDeep;
    /** Root object fields: key start, key end, kind ordinal, value start, value end. */
    int[][] fields = new int[8][];
    int nfields;

    Scanner(byte[] b) {
      this.b = b;
      this.n = b.length;
    }

    int skipWS(int i) {
      while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r')) i++;
      return i;
    }

    int indexOf(byte c, int from, int to) {
      return Json.indexOf(b, c, from, to);
    }

    static Kind kindOf(byte c) {
      return switch (c) {
        case '{' -> Kind.OBJECT;
        case '[' -> Kind.ARRAY;
        case '"' -> Kind.STRING;
        case 't' -> Kind.TRUE;
        case 'f' -> Kind.FALSE;
        case 'n' -> Kind.NULL;
        default -> Kind.NUMBER;
      };
    }

    private String err; // the error of the last scan* call that returned -1

    /** null if valid, TAIL if a valid value is followed by more than whitespace, else why not. */
    String validate() {
      int pos = skipWS(0);
      if (pos == n) return "cannot parse empty string";
      root = kindOf(b[pos]);
      byte[] stack = new byte[n + 1]; // '{' or '[' per open container
      int sp = 0;
      final int value = 0, after = 1, key = 2;
      int state = value;
      int[] field = null; // the root object's field being read
      while (true) {
        switch (state) {
          case value -> {
            if (pos >= n) return "cannot parse empty string";
            if (sp + 1 > MAX_DEPTH) tooDeep = true;
            byte c = b[pos];
            boolean rootField = sp == 1 && root == Kind.OBJECT;
            if (rootField) {
              field[2] = kindOf(c).ordinal();
              field[3] = pos + (c == '"' ? 1 : 0);
            }
            state = after;
            if (c == '{' || c == '[') {
              byte close = c == '{' ? (byte) '}' : (byte) ']';
              stack[sp++] = c;
              pos = skipWS(pos + 1);
              if (pos >= n) return c == '{' ? "missing '}'" : "missing ']'";
              if (b[pos] == close) {
                sp--;
                pos++;
              } else {
                state = c == '{' ? key : value;
              }
            } else if (c == '"') {
              int end = scanString(pos + 1);
              if (end < 0) return "cannot parse string: " + err;
              pos = end;
              if (rootField) field[4] = end - 1;
            } else if (c == 't' || c == 'f' || c == 'n') {
              String lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
              if (!startsWith(pos, lit)) return "unexpected value found";
              pos += lit.length();
            } else {
              int end = scanNumber(pos);
              if (end < 0) return "cannot parse number: " + err;
              pos = end;
              if (rootField) field[4] = end;
            }
          }
          case after -> {
            if (sp == 0) return skipWS(pos) < n ? TAIL : null;
            boolean object = stack[sp - 1] == '{';
            pos = skipWS(pos);
            if (pos >= n) return object ? "unexpected end of object" : "unexpected end of array";
            byte c = b[pos];
            if (c == ',') {
              pos++;
              if (object) {
                state = key;
              } else {
                pos = skipWS(pos);
                state = value;
              }
            } else if (c == (object ? '}' : ']')) {
              sp--;
              pos++;
            } else {
              return object ? "missing ',' after object value" : "missing ',' after array value";
            }
          }
          default -> { // key
            pos = skipWS(pos);
            if (pos >= n || b[pos] != '"') return "cannot find opening '\"' for object key";
            int end = scanKey(pos + 1);
            if (end < 0) return "cannot parse object key: " + err;
            if (sp == 1 && root == Kind.OBJECT) {
              if (nfields == fields.length) fields = Arrays.copyOf(fields, 2 * nfields);
              field = fields[nfields++] = new int[] {pos + 1, end - 1, 0, 0, 0};
            }
            pos = skipWS(end);
            if (pos >= n || b[pos] != ':') return "missing ':' after object key";
            pos = skipWS(pos + 1);
            state = value;
          }
        }
      }
    }

    boolean startsWith(int pos, String lit) {
      if (n - pos < lit.length()) return false;
      for (int i = 0; i < lit.length(); i++) if (b[pos + i] != lit.charAt(i)) return false;
      return true;
    }

    /** validateKey: from after the opening quote; the index after the closing one, or -1. */
    int scanKey(int p) {
      for (int i = p; i < n; i++) {
        if (b[i] == '"') return checkControl(p, i) ? i + 1 : -1;
        if (b[i] == '\\') return scanString(p);
      }
      err = "missing closing '\"'";
      return -1;
    }

    /** validateString: from after the opening quote; the index after the closing one, or -1. */
    int scanString(int p) {
      int q = indexOf((byte) '"', p, n);
      if (q >= 0 && indexOf((byte) '\\', p, q) < 0) return checkControl(p, q) ? q + 1 : -1;
      int close = rawStringEnd(p);
      if (close < 0) {
        err = "missing closing '\"'";
        return -1;
      }
      int k = p;
      while (true) {
        int bs = indexOf((byte) '\\', k, close);
        if (bs < 0) break;
        if (bs + 1 >= close) {
          err = "trailing backslash";
          return -1;
        }
        byte ch = b[bs + 1];
        k = bs + 2;
        switch (ch) {
          case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> {}
          case 'u' -> {
            if (close - k < 4) {
              err = "too short escape sequence";
              return -1;
            }
            if (hex16(k) < 0) {
              err = "invalid escape sequence";
              return -1;
            }
            k += 4;
          }
          default -> {
            err = "unknown escape sequence \\" + (char) ch;
            return -1;
          }
        }
      }
      // fastjson's validator only looks after the last escape; Go also scans the whole
      // string (settlement.rawControlInString), so every raw control character is refused.
      return checkControl(p, close) ? close + 1 : -1;
    }

    boolean checkControl(int from, int to) {
      for (int i = from; i < to; i++) {
        if ((b[i] & 0xff) < 0x20) {
          err = String.format("string cannot contain control char 0x%02X", b[i]);
          return false;
        }
      }
      return true;
    }

    /** parseRawString: the index of the closing quote (not escaped), or -1. */
    int rawStringEnd(int p) {
      int q = indexOf((byte) '"', p, n);
      if (q < 0) return -1;
      if (q == p || b[q - 1] != '\\') return q;
      int base = p;
      while (true) {
        int i = q - 1;
        while (i > base && b[i - 1] == '\\') i--;
        if ((q - i) % 2 == 0) return q;
        base = q + 1;
        q = indexOf((byte) '"', base, n);
        if (q < 0) return -1;
        if (q == base || b[q - 1] != '\\') return q;
      }
    }

    int hex16(int at) {
      return Json.hex16(b, at);
    }

    /** validateNumber: the index after the number, or -1. */
    int scanNumber(int p) {
      int i = p;
      if (b[i] == '-') {
        i++;
        if (i >= n) {
          err = "missing number after minus";
          return -1;
        }
      }
      int d = i;
      while (i < n && b[i] >= '0' && b[i] <= '9') i++;
      if (i == d) {
        err = "expecting 0..9 digit";
        return -1;
      }
      if (b[d] == '0' && i - d != 1) {
        err = "unexpected number starting from 0";
        return -1;
      }
      if (i >= n) return i;
      if (b[i] == '.') {
        i++;
        int f = i;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
        if (i == f) {
          err = "missing fractional part";
          return -1;
        }
        if (i >= n) return i;
      }
      if (b[i] == 'e' || b[i] == 'E') {
        i++;
        if (i < n && (b[i] == '-' || b[i] == '+')) i++;
        int e = i;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
        if (i == e) {
          err = "missing exponent part";
          return -1;
        }
      }
      return i;
    }
  }

  /** The 4 hex digits at b[at..at+4) (strconv.ParseUint(s, 16, 16)), or -1. */
  static int hex16(byte[] b, int at) {
    if (b.length - at < 4) return -1;
    int x = 0;
    for (int i = at; i < at + 4; i++) {
      int d = Character.digit(b[i], 16);
      if (d < 0 || b[i] > 'f') return -1;
      x = x << 4 | d;
    }
    return x;
  }

  /**
   * fastjson's unescapeStringBestEffort of b[from..to), as a String (the result is valid UTF-8).
   * QUIRK: an escaped surrogate not followed by another \\u escape stays as written ("\\ud800");
   * followed by one, both become one rune, U+FFFD unless they are a high and a low surrogate.
   */
  static String unescape(byte[] b, int from, int to) {
    if (indexOf(b, (byte) '\\', from, to) < 0) {
      return new String(b, from, to - from, StandardCharsets.UTF_8);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
    int i = from;
    while (i < to) {
      byte c = b[i++];
      if (c != '\\') {
        out.write(c);
        continue;
      }
      if (i >= to) break;
      byte ch = b[i++];
      switch (ch) {
        case '"', '\\', '/' -> out.write(ch);
        case 'b' -> out.write('\b');
        case 'f' -> out.write('\f');
        case 'n' -> out.write('\n');
        case 'r' -> out.write('\r');
        case 't' -> out.write('\t');
        case 'u' -> {
          int x = to - i < 4 ? -1 : hex16(b, i);
          if (x < 0) {
            out.write('\\');
            out.write('u');
            break;
          }
          int xs = i;
          i += 4;
          if (x < 0xD800 || x >= 0xE000) {
            writeUtf8(out, x);
            break;
          }
          int x1 = to - i < 6 || b[i] != '\\' || b[i + 1] != 'u' ? -1 : hex16(b, i + 2);
          if (x1 < 0) {
            out.write('\\');
            out.write('u');
            out.write(b, xs, 4);
            break;
          }
          boolean pair = x < 0xDC00 && x1 >= 0xDC00 && x1 < 0xE000;
          writeUtf8(out, pair ? 0x10000 + ((x - 0xD800) << 10) + (x1 - 0xDC00) : 0xFFFD);
          i += 6;
        }
        default -> {
          out.write('\\');
          out.write(ch);
        }
      }
    }
    return new String(out.toByteArray(), StandardCharsets.UTF_8);
  }

  private static void writeUtf8(ByteArrayOutputStream out, int cp) {
    if (cp < 0x80) {
      out.write(cp);
    } else if (cp < 0x800) {
      out.write(0xC0 | cp >> 6);
      out.write(0x80 | cp & 0x3F);
    } else if (cp < 0x10000) {
      out.write(0xE0 | cp >> 12);
      out.write(0x80 | cp >> 6 & 0x3F);
      out.write(0x80 | cp & 0x3F);
    } else {
      out.write(0xF0 | cp >> 18);
      out.write(0x80 | cp >> 12 & 0x3F);
      out.write(0x80 | cp >> 6 & 0x3F);
      out.write(0x80 | cp & 0x3F);
    }
  }

  static int indexOf(byte[] b, byte c, int from, int to) {
    for (int i = from; i < to; i++) if (b[i] == c) return i;
    return -1;
  }
}
