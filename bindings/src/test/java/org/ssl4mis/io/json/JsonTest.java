package org.ssl4mis.io.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The strict JSON codec of the safetensors header. */
@Timeout(30)
class JsonTest {
  private static Object parse(String text) throws Json.SyntaxException {
    return Json.parse(text, false);
  }

  private static String error(String text, boolean literals) {
    return assertThrows(Json.SyntaxException.class, () -> Json.parse(text, literals), text).getMessage();
  }

  @Test
  void parsesObjectsArraysStringsAndIntegersInOrder() throws Exception {
    Object v = parse(" {\"b\": [1, -2, 0, 9223372036854775807, -9223372036854775808], \"a\": {\"x\": \"y\"}, \"\": []}\n");
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("b", List.of(1L, -2L, 0L, Long.MAX_VALUE, Long.MIN_VALUE));
    expected.put("a", Map.of("x", "y"));
    expected.put("", List.of());
    assertEquals(expected, v);
    assertEquals(List.of("b", "a", ""), new ArrayList<>(((Map<?, ?>) v).keySet()));
    assertEquals(0L, parse("-0"));
  }

  @Test
  void stringEscapes() throws Exception {
    assertEquals("\"\\/\b\f\n\r\t\u0000\u00e9\uD83D\uDE00", parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00E9\\ud83d\\uDE00\""));
    assertEquals("\u00e9\uD83D\uDE00 raw", parse("\"\u00e9\uD83D\uDE00 raw\""));
    assertTrue(error("\"\\ud83d\"", false).contains("lone high surrogate"));
    assertTrue(error("\"\\ud83d\\u0041\"", false).contains("not followed by a low one"));
    assertTrue(error("\"\\ude00\"", false).contains("lone low surrogate"));
    assertTrue(error("\"\\u00\"", false).contains("\\u escape"));
    assertTrue(error("\"\\u\uff10\uff10\uff10\uff10\"", false).contains("invalid \\u escape"), "only ASCII hex digits");
    assertTrue(error("\"\\'\"", false).contains("invalid escape"));
    assertTrue(error("\"a\tb\"", false).contains("control character U+0009"));
    assertTrue(error("\"abc", false).contains("unterminated string"));
  }

  @Test
  void refusesWhatIsNotStrictIntegerJson() {
    assertTrue(error("1.5", false).contains("fraction or exponent"));
    assertTrue(error("1e3", false).contains("fraction or exponent"));
    assertTrue(error("01", false).contains("leading zero"));
    assertTrue(error("-", false).contains("expected a digit"));
    assertTrue(error("+1", false).contains("unexpected '+'"));
    assertTrue(error("9223372036854775808", false).contains("64-bit range"));
    assertTrue(error("-9223372036854775809", false).contains("64-bit range"));
    assertTrue(error("true", false).contains("literal 'true'"));
    assertTrue(error("tru", true).contains("unexpected 't'"));
    assertTrue(error("", false).contains("end of text"));
    assertTrue(error("[1,]", false).contains("unexpected ']'"));
    assertTrue(error("[1 2]", false).contains("expected ',' or ']'"));
    assertTrue(error("{\"a\":1,\"a\":2}", false).contains("duplicate key \"a\""));
    assertTrue(error("{\"a\":1} 2", false).contains("after the end"));
    assertTrue(error("[".repeat(65) + "]".repeat(65), false).contains("deeper than 64"));
  }

  @Test
  void literalsWhenAllowed() throws Exception {
    assertEquals(Arrays.asList(true, false, null), Json.parse("[true,false,null]", true));
    assertEquals(List.of(List.of()), parse("[".repeat(1) + "[]" + "]"));
    parse("[".repeat(64) + "]".repeat(64));
  }

  @Test
  void writesCompactJsonThatReadsBack() throws Exception {
    Map<String, Object> value = new LinkedHashMap<>();
    value.put("k\"\\\n\u0001\u00e9\uD83D\uDE00", List.of(1L, -2, Long.MIN_VALUE));
    value.put("n", Arrays.asList(null, true, Map.of()));
    assertEquals("{\"k\\\"\\\\\\n\\u0001\u00e9\uD83D\uDE00\":[1,-2,-9223372036854775808],\"n\":[null,true,{}]}",
        Json.write(value));
    assertEquals(value.toString(), Json.parse(Json.write(value), true).toString());
    assertThrows(IllegalArgumentException.class, () -> Json.write(Double.POSITIVE_INFINITY));
    assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
    assertThrows(IllegalArgumentException.class, () -> Json.write("\uDE00"));
  }

  @Test
  void randomStringsRoundTrip() throws Exception {
    Random random = new Random(42);
    for (int i = 0; i < 2000; i++) {
      StringBuilder s = new StringBuilder();
      int length = random.nextInt(20);
      while (s.length() < length) {
        int cp = switch (random.nextInt(4)) {
          case 0 -> random.nextInt(0x80);
          case 1 -> random.nextInt(0x800);
          case 2 -> 0x10000 + random.nextInt(0x10000);
          default -> random.nextInt(0xd800);
        };
        s.appendCodePoint(cp);
      }
      assertEquals(s.toString(), parse(Json.quote(s.toString())));
    }
  }

  @Test
  void documentsWithFractionsAndLiteralsParseWhenAllowed() throws Exception {
    Object doc = Json.parseDocument("{\"tol\": 1e-05, \"mean\": -0.0068914, \"ok\": true, \"n\": 136, \"x\": null}");
    java.util.Map<?, ?> m = (java.util.Map<?, ?>) doc;
    assertEquals(1e-05, m.get("tol"));
    assertEquals(-0.0068914, m.get("mean"));
    assertEquals(Boolean.TRUE, m.get("ok"));
    assertEquals(136L, m.get("n"));
    assertTrue(m.containsKey("x") && m.get("x") == null);
    assertThrows(Json.SyntaxException.class, () -> Json.parseDocument("1."));
    assertThrows(Json.SyntaxException.class, () -> Json.parseDocument("1e"));
    assertEquals("[0.5,2]", Json.write(java.util.List.of(0.5, 2L)));
    assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
  }
}
