package org.ssl4mis.io.json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The project's one small, strict JSON reader and writer (RFC 8259 syntax): safetensors headers, fixture
 * manifests, machine-readable CLI output.
 *
 * <p>Values read are {@link LinkedHashMap} (objects, in text order, duplicate keys refused), {@link ArrayList}
 * (arrays), {@link String} and {@link Long} (integers). Numbers with a fraction or an exponent are refused
 * unless {@code allowFractions} (then {@link Double}); integers outside the range of {@code long} are refused.
 * The literals {@code true}, {@code false} and {@code null} are refused unless {@code allowLiterals} (then
 * {@link Boolean} and {@code null}). Nesting is limited to {@link #MAX_DEPTH} levels, so hostile input cannot
 * exhaust the stack; parsing is linear in the text.
 */
public final class Json {
  /** Deepest nesting of arrays and objects accepted. */
  public static final int MAX_DEPTH = 64;

  /** The text is not JSON this reader accepts; the message says what and where (character index). */
  public static final class SyntaxException extends Exception {
    private static final long serialVersionUID = 1L;

    SyntaxException(String message) {
      super(message);
    }
  }

  private final String text;
  private final boolean allowLiterals;
  private final boolean allowFractions;
  private int pos;

  private Json(String text, boolean allowLiterals, boolean allowFractions) {
    this.text = text;
    this.allowLiterals = allowLiterals;
    this.allowFractions = allowFractions;
  }

  /** Parses any JSON document: literals allowed, numbers with fractions or exponents read as doubles. */
  public static Object parseDocument(String text) throws SyntaxException {
    return parse(text, true, true);
  }

  /**
   * Parses {@code text}, which must hold exactly one JSON value, optionally surrounded by whitespace.
   *
   * @param allowLiterals whether {@code true}, {@code false} and {@code null} are accepted
   */
  public static Object parse(String text, boolean allowLiterals) throws SyntaxException {
    return parse(text, allowLiterals, false);
  }

  /**
   * Parses {@code text} with both restrictions chosen.
   *
   * @param allowFractions whether numbers with a fraction or exponent are accepted (as {@link Double})
   */
  public static Object parse(String text, boolean allowLiterals, boolean allowFractions) throws SyntaxException {
    Json parser = new Json(text, allowLiterals, allowFractions);
    parser.skipWhitespace();
    Object value = parser.value(1);
    parser.skipWhitespace();
    if (parser.pos < text.length()) {
      throw parser.error("unexpected " + parser.describeCurrent() + " after the end of the JSON value");
    }
    return value;
  }

  private Object value(int depth) throws SyntaxException {
    if (pos >= text.length()) {
      throw error("unexpected end of text, expected a value");
    }
    char c = text.charAt(pos);
    return switch (c) {
      case '{' -> object(depth);
      case '[' -> array(depth);
      case '"' -> string();
      case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> integer();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", null);
      default -> throw error("unexpected " + describeCurrent() + ", expected a value");
    };
  }

  private Map<String, Object> object(int depth) throws SyntaxException {
    checkDepth(depth);
    int start = pos;
    pos++; // '{'
    Map<String, Object> map = new LinkedHashMap<>();
    skipWhitespace();
    if (peekIs('}')) {
      pos++;
      return map;
    }
    while (true) {
      skipWhitespace();
      if (!peekIs('"')) {
        throw error("expected a string key in the object opened at character " + start + ", found " + describeCurrent());
      }
      int keyPos = pos;
      String key = string();
      skipWhitespace();
      expect(':');
      skipWhitespace();
      Object value = value(depth + 1);
      if (map.containsKey(key)) {
        throw new SyntaxException("duplicate key " + quote(key) + " at character " + keyPos);
      }
      map.put(key, value);
      skipWhitespace();
      if (peekIs(',')) {
        pos++;
      } else if (peekIs('}')) {
        pos++;
        return map;
      } else {
        throw error("expected ',' or '}' in the object opened at character " + start + ", found " + describeCurrent());
      }
    }
  }

  private List<Object> array(int depth) throws SyntaxException {
    checkDepth(depth);
    int start = pos;
    pos++; // '['
    List<Object> list = new ArrayList<>();
    skipWhitespace();
    if (peekIs(']')) {
      pos++;
      return list;
    }
    while (true) {
      skipWhitespace();
      list.add(value(depth + 1));
      skipWhitespace();
      if (peekIs(',')) {
        pos++;
      } else if (peekIs(']')) {
        pos++;
        return list;
      } else {
        throw error("expected ',' or ']' in the array opened at character " + start + ", found " + describeCurrent());
      }
    }
  }

  private void checkDepth(int depth) throws SyntaxException {
    if (depth > MAX_DEPTH) {
      throw error("arrays and objects nest deeper than " + MAX_DEPTH + " levels");
    }
  }

  private String string() throws SyntaxException {
    int start = pos;
    pos++; // '"'
    StringBuilder out = null;
    int runStart = pos;
    while (true) {
      if (pos >= text.length()) {
        throw new SyntaxException("unterminated string starting at character " + start);
      }
      char c = text.charAt(pos);
      if (c == '"') {
        String result = out == null ? text.substring(runStart, pos) : out.append(text, runStart, pos).toString();
        pos++;
        return result;
      }
      if (c < 0x20) {
        throw error("unescaped control character U+" + String.format("%04X", (int) c) + " in a string");
      }
      if (c != '\\') {
        pos++;
        continue;
      }
      if (out == null) {
        out = new StringBuilder();
      }
      out.append(text, runStart, pos);
      int escapePos = pos;
      pos++;
      if (pos >= text.length()) {
        throw new SyntaxException("unterminated string starting at character " + start);
      }
      char e = text.charAt(pos++);
      switch (e) {
        case '"' -> out.append('"');
        case '\\' -> out.append('\\');
        case '/' -> out.append('/');
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'n' -> out.append('\n');
        case 'r' -> out.append('\r');
        case 't' -> out.append('\t');
        case 'u' -> {
          char unit = hex4(escapePos);
          if (Character.isHighSurrogate(unit)) {
            if (pos + 1 < text.length() && text.charAt(pos) == '\\' && text.charAt(pos + 1) == 'u') {
              int lowPos = pos;
              pos += 2;
              char low = hex4(lowPos);
              if (!Character.isLowSurrogate(low)) {
                throw new SyntaxException("escape at character " + escapePos + " is a high surrogate not followed by"
                    + " a low one");
              }
              out.append(unit).append(low);
            } else {
              throw new SyntaxException("escape at character " + escapePos + " is a lone high surrogate");
            }
          } else if (Character.isLowSurrogate(unit)) {
            throw new SyntaxException("escape at character " + escapePos + " is a lone low surrogate");
          } else {
            out.append(unit);
          }
        }
        default -> throw new SyntaxException("invalid escape '\\" + printable(e) + "' at character " + escapePos);
      }
      runStart = pos;
    }
  }

  /** The four hex digits after {@code \\u} (pos is on the first). */
  private char hex4(int escapePos) throws SyntaxException {
    if (pos + 4 > text.length()) {
      throw new SyntaxException("truncated \\u escape at character " + escapePos);
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(text.charAt(pos + i), 16);
      if (d < 0 || text.charAt(pos + i) > 'f') {
        throw new SyntaxException("invalid \\u escape at character " + escapePos);
      }
      v = v * 16 + d;
    }
    pos += 4;
    return (char) v;
  }

  private Object integer() throws SyntaxException {
    int start = pos;
    boolean negative = peekIs('-');
    if (negative) {
      pos++;
    }
    if (pos >= text.length() || !isDigit(text.charAt(pos))) {
      throw error("expected a digit");
    }
    if (text.charAt(pos) == '0' && pos + 1 < text.length() && isDigit(text.charAt(pos + 1))) {
      throw new SyntaxException("number with a leading zero at character " + start);
    }
    long value = 0;
    boolean overflow = false;
    while (pos < text.length() && isDigit(text.charAt(pos))) {
      int digit = text.charAt(pos) - '0';
      // Accumulate negatively, so that Long.MIN_VALUE fits.
      if (value < (Long.MIN_VALUE + digit) / 10) {
        overflow = true;
      } else {
        value = value * 10 - digit;
      }
      pos++;
    }
    if (pos < text.length() && (text.charAt(pos) == '.' || text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
      if (!allowFractions) {
        throw new SyntaxException("number with a fraction or exponent at character " + start
            + "; only integers are accepted");
      }
      return fraction(start);
    }
    if (overflow || (!negative && value == Long.MIN_VALUE)) {
      throw new SyntaxException("integer " + abbreviate(text.substring(start, pos)) + " at character " + start
          + " is out of the 64-bit range");
    }
    return negative ? value : -value;
  }

  /** The rest of a number with a fraction and/or exponent, after its integer digits. */
  private Double fraction(int start) throws SyntaxException {
    if (peekIs('.')) {
      pos++;
      if (pos >= text.length() || !isDigit(text.charAt(pos))) {
        throw error("expected a digit after the decimal point");
      }
      while (pos < text.length() && isDigit(text.charAt(pos))) {
        pos++;
      }
    }
    if (peekIs('e') || peekIs('E')) {
      pos++;
      if (peekIs('+') || peekIs('-')) {
        pos++;
      }
      if (pos >= text.length() || !isDigit(text.charAt(pos))) {
        throw error("expected a digit in the exponent");
      }
      while (pos < text.length() && isDigit(text.charAt(pos))) {
        pos++;
      }
    }
    return Double.parseDouble(text.substring(start, pos));
  }

  private Object literal(String word, Object value) throws SyntaxException {
    if (!text.startsWith(word, pos)) {
      throw error("unexpected " + describeCurrent() + ", expected a value");
    }
    if (!allowLiterals) {
      throw error("the literal '" + word + "' is not accepted here");
    }
    pos += word.length();
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private boolean peekIs(char c) {
    return pos < text.length() && text.charAt(pos) == c;
  }

  private void expect(char c) throws SyntaxException {
    if (!peekIs(c)) {
      throw error("expected '" + c + "', found " + describeCurrent());
    }
    pos++;
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  private String describeCurrent() {
    return pos >= text.length() ? "end of text" : "'" + printable(text.charAt(pos)) + "'";
  }

  private SyntaxException error(String message) {
    return new SyntaxException(message + " at character " + pos);
  }

  private static String printable(char c) {
    return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c);
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 37) + "...";
  }

  // ---------------------------------------------------------------------------------------------- writing

  /**
   * The compact JSON text of {@code value}: a {@link Map} with string keys, {@link List}, {@link String},
   * {@link Long}, {@link Integer}, finite {@link Double} or {@link Float}, {@link Boolean} or {@code null}, nested at most {@link #MAX_DEPTH} levels.
   *
   * @throws IllegalArgumentException for any other value, a non-string key, or a string with an unpaired
   *     surrogate (which has no UTF-8 form)
   */
  public static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out, 1);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out, int depth) {
    switch (value) {
      case null -> out.append("null");
      case String s -> quote(s, out);
      case Long l -> out.append(l.longValue());
      case Integer i -> out.append(i.intValue());
      case Boolean b -> out.append(b.booleanValue());
      case Double d -> {
        if (!Double.isFinite(d)) {
          throw new IllegalArgumentException("JSON has no form for " + d);
        }
        out.append(d.doubleValue());
      }
      case Float f -> write(f.doubleValue(), out, depth);
      case Map<?, ?> map -> {
        checkWriteDepth(depth);
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : map.entrySet()) {
          if (!(e.getKey() instanceof String key)) {
            throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
          }
          if (!first) {
            out.append(',');
          }
          first = false;
          quote(key, out);
          out.append(':');
          write(e.getValue(), out, depth + 1);
        }
        out.append('}');
      }
      case List<?> list -> {
        checkWriteDepth(depth);
        out.append('[');
        for (int i = 0; i < list.size(); i++) {
          if (i > 0) {
            out.append(',');
          }
          write(list.get(i), out, depth + 1);
        }
        out.append(']');
      }
      default -> throw new IllegalArgumentException("a " + value.getClass().getName() + " has no JSON form here");
    }
  }

  private static void checkWriteDepth(int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("arrays and objects nest deeper than " + MAX_DEPTH + " levels");
    }
  }

  /** The JSON string literal of {@code s}, quotes included. */
  public static String quote(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2);
    quote(s, out);
    return out.toString();
  }

  /**
   * Appends the JSON string literal of {@code s}: quotes, backslashes and control characters escaped (as
   * serde_json does), everything else (non-ASCII included) as is.
   */
  public static void quote(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
            out.append(c).append(s.charAt(++i));
          } else if (Character.isSurrogate(c)) {
            throw new IllegalArgumentException("string has an unpaired surrogate U+" + String.format("%04X", (int) c)
                + " at index " + i + ", which has no UTF-8 form");
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
