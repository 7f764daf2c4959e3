package org.ssl4mis.train.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The little of the protocol buffer wire format that event files need: varints, 32- and 64-bit fixed values and
 * length-delimited fields, written in field-number order with proto3 defaults left out by the callers.
 */
final class Protobuf {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LENGTH_DELIMITED = 2;
  static final int START_GROUP = 3;
  static final int END_GROUP = 4;
  static final int FIXED32 = 5;

  private Protobuf() {}

  /** Thrown by {@link Reader} on bytes that are not a well-formed message. */
  static final class MalformedException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    MalformedException(String message) {
      super(message);
    }
  }

  /** Builds one message. */
  static final class Writer {
    private final ByteArrayOutputStream out;

    Writer() {
      this(64);
    }

    Writer(int sizeHint) {
      out = new ByteArrayOutputStream(sizeHint);
    }

    private void key(int field, int wireType) {
      rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(long v) {
      while ((v & ~0x7FL) != 0) {
        out.write((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      out.write((int) v);
    }

    private void rawFixed(long bits, int bytes) {
      for (int i = 0; i < bytes; i++) {
        out.write((int) (bits >>> (8 * i)) & 0xFF);
      }
    }

    /** int32, int64, uint32, uint64 and enum fields (negative int32s take ten bytes, as in protobuf). */
    Writer varint(int field, long value) {
      key(field, VARINT);
      rawVarint(value);
      return this;
    }

    Writer fixedDouble(int field, double value) {
      key(field, FIXED64);
      rawFixed(Double.doubleToRawLongBits(value), 8);
      return this;
    }

    Writer fixedFloat(int field, float value) {
      key(field, FIXED32);
      rawFixed(Float.floatToRawIntBits(value) & 0xFFFFFFFFL, 4);
      return this;
    }

    Writer bytes(int field, byte[] value) {
      key(field, LENGTH_DELIMITED);
      rawVarint(value.length);
      out.writeBytes(value);
      return this;
    }

    Writer string(int field, String value) {
      return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Writer message(int field, Writer nested) {
      return bytes(field, nested.toByteArray());
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  /** Reads the fields of one message in order. */
  static final class Reader {
    private final byte[] buf;
    private int pos;
    private final int end;
    private int lastWireType = -1;

    Reader(byte[] buf) {
      this(buf, 0, buf.length);
    }

    private Reader(byte[] buf, int from, int to) {
      this.buf = buf;
      this.pos = from;
      this.end = to;
    }

    boolean hasMore() {
      return pos < end;
    }

    /** The next field's number; its wire type is then {@link #wireType()}. */
    int nextField() {
      long key = rawVarint();
      int wireType = (int) (key & 7);
      long field = key >>> 3;
      if (field <= 0 || field > 0x1FFFFFFF) {
        throw new MalformedException("field number " + field + " at byte " + (pos - 1));
      }
      lastWireType = wireType;
      return (int) field;
    }

    int wireType() {
      return lastWireType;
    }

    private void expect(int wireType, String what) {
      if (lastWireType != wireType) {
        throw new MalformedException(what + " has wire type " + lastWireType + ", expected " + wireType);
      }
    }

    private long rawVarint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw new MalformedException("varint runs past the end of the message");
        }
        byte b = buf[pos++];
        v |= (long) (b & 0x7F) << shift;
        if (b >= 0) {
          return v;
        }
      }
      throw new MalformedException("varint longer than ten bytes");
    }

    private long rawFixed(int bytes) {
      if (end - pos < bytes) {
        throw new MalformedException("fixed" + (8 * bytes) + " runs past the end of the message");
      }
      long v = 0;
      for (int i = bytes - 1; i >= 0; i--) {
        v = (v << 8) | (buf[pos + i] & 0xFF);
      }
      pos += bytes;
      return v;
    }

    long varint(String what) {
      expect(VARINT, what);
      return rawVarint();
    }

    double fixedDouble(String what) {
      expect(FIXED64, what);
      return Double.longBitsToDouble(rawFixed(8));
    }

    float fixedFloat(String what) {
      expect(FIXED32, what);
      return Float.intBitsToFloat((int) rawFixed(4));
    }

    /** A fixed32 after its key (for packed and unpacked repeated floats). */
    float rawFloat() {
      return Float.intBitsToFloat((int) rawFixed(4));
    }

    double rawDouble() {
      return Double.longBitsToDouble(rawFixed(8));
    }

    byte[] bytes(String what) {
      expect(LENGTH_DELIMITED, what);
      int length = lengthPrefix();
      byte[] out = new byte[length];
      System.arraycopy(buf, pos, out, 0, length);
      pos += length;
      return out;
    }

    String string(String what) {
      return new String(bytes(what), StandardCharsets.UTF_8);
    }

    Reader message(String what) {
      expect(LENGTH_DELIMITED, what);
      int length = lengthPrefix();
      Reader nested = new Reader(buf, pos, pos + length);
      pos += length;
      return nested;
    }

    private int lengthPrefix() {
      long length = rawVarint();
      if (length < 0 || length > end - pos) {
        throw new MalformedException("length " + length + " runs past the end of the message (" + (end - pos)
            + " bytes left)");
      }
      return (int) length;
    }

    /** Skips the value of the field just read. */
    void skip() {
      switch (lastWireType) {
        case VARINT -> rawVarint();
        case FIXED64 -> rawFixed(8);
        case FIXED32 -> rawFixed(4);
        case LENGTH_DELIMITED -> {
          int length = lengthPrefix(); // moves pos past the prefix: read it before adding
          pos += length;
        }
        case START_GROUP -> {
          while (true) {
            if (!hasMore()) {
              throw new MalformedException("group runs past the end of the message");
            }
            nextField();
            if (lastWireType == END_GROUP) {
              break;
            }
            skip();
          }
        }
        default -> throw new MalformedException("wire type " + lastWireType + " is not valid here");
      }
    }
  }
}
