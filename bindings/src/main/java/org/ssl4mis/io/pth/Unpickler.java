package org.ssl4mis.io.pth;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ssl4mis.io.pth.TorchGlobals.Callable;
import org.ssl4mis.io.pth.TorchGlobals.StorageType;
import org.ssl4mis.tensor.DType;

/**
 * A restricted unpickler for the pickles {@code torch.save} writes (protocols 2 to 5). It builds plain Java
 * values (see {@link PthReader}) and understands only the globals of {@link TorchGlobals}; it never runs
 * code. It is iterative, checks every length against the input before reading or allocating, and reports
 * every problem as {@link Malformed}.
 */
final class Unpickler {
  /** Resolves a persistent id (a tuple such as {@code ('storage', FloatStorage, '0', 'cpu', 16)}). */
  interface PersistentLoader {
    Object load(Object pid);
  }

  // Opcodes, named as in Python's pickle module.
  private static final int MARK = '(';
  private static final int STOP = '.';
  private static final int POP = '0';
  private static final int POP_MARK = '1';
  private static final int DUP = '2';
  private static final int BININT = 'J';
  private static final int BININT1 = 'K';
  private static final int BININT2 = 'M';
  private static final int NONE = 'N';
  private static final int BINPERSID = 'Q';
  private static final int REDUCE = 'R';
  private static final int BINSTRING = 'T';
  private static final int SHORT_BINSTRING = 'U';
  private static final int BINUNICODE = 'X';
  private static final int APPEND = 'a';
  private static final int BUILD = 'b';
  private static final int GLOBAL = 'c';
  private static final int DICT = 'd';
  private static final int EMPTY_DICT = '}';
  private static final int APPENDS = 'e';
  private static final int BINGET = 'h';
  private static final int LONG_BINGET = 'j';
  private static final int LIST = 'l';
  private static final int EMPTY_LIST = ']';
  private static final int BINPUT = 'q';
  private static final int LONG_BINPUT = 'r';
  private static final int SETITEM = 's';
  private static final int TUPLE = 't';
  private static final int EMPTY_TUPLE = ')';
  private static final int SETITEMS = 'u';
  private static final int BINFLOAT = 'G';
  private static final int PROTO = 0x80;
  private static final int NEWOBJ = 0x81;
  private static final int TUPLE1 = 0x85;
  private static final int TUPLE2 = 0x86;
  private static final int TUPLE3 = 0x87;
  private static final int NEWTRUE = 0x88;
  private static final int NEWFALSE = 0x89;
  private static final int LONG1 = 0x8a;
  private static final int LONG4 = 0x8b;
  private static final int BINBYTES = 'B';
  private static final int SHORT_BINBYTES = 'C';
  private static final int SHORT_BINUNICODE = 0x8c;
  private static final int BINUNICODE8 = 0x8d;
  private static final int BINBYTES8 = 0x8e;
  private static final int NEWOBJ_EX = 0x92;
  private static final int STACK_GLOBAL = 0x93;
  private static final int MEMOIZE = 0x94;
  private static final int FRAME = 0x95;
  private static final int BYTEARRAY8 = 0x96;

  private static final int HIGHEST_PROTOCOL = 5;
  /** Longest module or name line of a GLOBAL opcode. */
  private static final int MAX_GLOBAL_LINE = 1024;
  /** Deepest tuple nesting accepted in a dict key; bounds the recursion of tuple equality. */
  private static final int MAX_KEY_DEPTH = 32;
  /** Java arrays (strings, bytes) cannot be longer than this. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 16;

  private final MemorySegment data;
  private final long end;
  private final PersistentLoader persistentLoader;
  private long pos;
  private final ArrayList<Object> stack = new ArrayList<>();
  private int[] marks = new int[16];
  private int markCount;
  private final HashMap<Long, Object> memo = new HashMap<>();
  private boolean inPersistentLoader;

  /**
   * @param data the bytes holding the pickle
   * @param start offset of its first opcode
   * @param end offset the pickle must not read past
   */
  Unpickler(MemorySegment data, long start, long end, PersistentLoader persistentLoader) {
    this.data = data;
    this.pos = start;
    this.end = end;
    this.persistentLoader = persistentLoader;
  }

  /** Offset just past the STOP opcode once {@link #load()} has returned. */
  long position() {
    return pos;
  }

  /** Runs the pickle to its STOP opcode and returns the object it built. */
  Object load() {
    while (true) {
      long opcodeAt = pos;
      int op = readU8("an opcode");
      try {
        if (op == STOP) {
          Object result = pop();
          checkResult(result);
          return result;
        }
        execute(op);
      } catch (Malformed e) {
        if (inPersistentLoader) {
          // The loader's messages name the storage and stand on their own.
          inPersistentLoader = false;
          throw e;
        }
        throw new Malformed("pickle opcode " + opcodeName(op) + " at offset " + opcodeAt + ": " + e.getMessage(),
            e.getCause());
      }
    }
  }

  private void execute(int op) {
    switch (op) {
      case PROTO -> {
        int version = readU8("the protocol version");
        if (version > HIGHEST_PROTOCOL) {
          throw new Malformed("unsupported pickle protocol " + version);
        }
      }
      case FRAME -> {
        // Frames only group opcodes for buffered reading; the length just has to fit.
        long length = readU64("the frame length");
        if (length < 0 || length > end - pos) {
          throw new Malformed("frame of " + Long.toUnsignedString(length) + " bytes runs past the end");
        }
      }
      case MARK -> pushMark();
      case POP -> {
        if (stack.size() > currentMarkBase()) {
          pop();
        } else {
          popMark();
        }
      }
      case POP_MARK -> popMark();
      case DUP -> push(peek());
      case NONE -> push(null);
      case NEWTRUE -> push(Boolean.TRUE);
      case NEWFALSE -> push(Boolean.FALSE);
      case BININT -> push((long) readInt32LE());
      case BININT1 -> push((long) readU8("an int"));
      case BININT2 -> push((long) (readU8("an int") | (readU8("an int") << 8)));
      case LONG1 -> push(readLong(readU8("a long's length")));
      case LONG4 -> {
        long length = readInt32LE();
        if (length < 0) {
          throw new Malformed("negative long length " + length);
        }
        push(readLong(length));
      }
      case BINFLOAT -> push(Double.longBitsToDouble(readRaw64(ByteOrder.BIG_ENDIAN, "a float")));
      case BINUNICODE -> push(readUtf8(readU32()));
      case SHORT_BINUNICODE -> push(readUtf8(readU8("a string length")));
      case BINUNICODE8 -> push(readUtf8(readU64("a string length")));
      // Python 2 strings; torch.load decodes them as UTF-8.
      case BINSTRING -> push(readUtf8(readInt32LE()));
      case SHORT_BINSTRING -> push(readUtf8(readU8("a string length")));
      case BINBYTES -> push(readBytes(readU32()));
      case SHORT_BINBYTES -> push(readBytes(readU8("a bytes length")));
      case BINBYTES8, BYTEARRAY8 -> push(readBytes(readU64("a bytes length")));
      case EMPTY_TUPLE -> push(PyTuple.of());
      case TUPLE -> push(PyTuple.copyOf(popMark()));
      case TUPLE1 -> push(PyTuple.of(pop()));
      case TUPLE2 -> {
        Object b = pop();
        Object a = pop();
        push(PyTuple.of(a, b));
      }
      case TUPLE3 -> {
        Object c = pop();
        Object b = pop();
        Object a = pop();
        push(PyTuple.of(a, b, c));
      }
      case EMPTY_LIST -> push(new ArrayList<>());
      case LIST -> push(new ArrayList<>(popMark()));
      case APPEND -> {
        Object item = pop();
        listOnTop().add(item);
      }
      case APPENDS -> {
        List<Object> items = popMark();
        listOnTop().addAll(items);
      }
      case EMPTY_DICT -> push(new LinkedHashMap<>());
      case DICT -> {
        List<Object> items = popMark();
        Map<Object, Object> dict = new LinkedHashMap<>();
        putPairs(dict, items);
        push(dict);
      }
      case SETITEM -> {
        Object value = pop();
        Object key = pop();
        dictOnTop().put(checkKey(key), value);
      }
      case SETITEMS -> {
        List<Object> items = popMark();
        putPairs(dictOnTop(), items);
      }
      case BINPUT -> memo.put((long) readU8("a memo index"), peek());
      case LONG_BINPUT -> memo.put(readU32(), peek());
      case MEMOIZE -> memo.put((long) memo.size(), peek());
      case BINGET -> push(memoGet(readU8("a memo index")));
      case LONG_BINGET -> push(memoGet(readU32()));
      case GLOBAL -> {
        String module = readLine();
        String name = readLine();
        push(TorchGlobals.resolve(module, name));
      }
      case STACK_GLOBAL -> {
        Object name = pop();
        Object module = pop();
        if (!(module instanceof String m) || !(name instanceof String n)) {
          throw new Malformed("STACK_GLOBAL needs two strings, got " + typeName(module) + " and " + typeName(name));
        }
        push(TorchGlobals.resolve(m, n));
      }
      case REDUCE -> {
        Object args = pop();
        Object callable = pop();
        push(call(callable, tupleArgs(args, callable)));
      }
      case NEWOBJ -> {
        Object args = pop();
        Object cls = pop();
        push(instantiate(cls, tupleArgs(args, cls)));
      }
      case NEWOBJ_EX -> {
        Object kwargs = pop();
        Object args = pop();
        Object cls = pop();
        if (!(kwargs instanceof Map<?, ?> map) || !map.isEmpty()) {
          throw new Malformed("keyword arguments are not supported");
        }
        push(instantiate(cls, tupleArgs(args, cls)));
      }
      case BUILD -> {
        Object state = pop();
        build(peek(), state);
      }
      case BINPERSID -> {
        Object pid = pop();
        inPersistentLoader = true;
        Object loaded = persistentLoader.load(pid);
        inPersistentLoader = false;
        push(loaded);
      }
      default -> throw new Malformed("unsupported pickle opcode " + opcodeName(op));
    }
  }

  // ---- stack, marks and memo

  private void push(Object value) {
    stack.add(value);
  }

  private Object pop() {
    if (stack.size() <= currentMarkBase()) {
      throw new Malformed(stack.isEmpty() ? "stack underflow" : "stack underflow (a value is missing before the mark)");
    }
    return stack.removeLast();
  }

  private Object peek() {
    if (stack.size() <= currentMarkBase()) {
      throw new Malformed("stack underflow");
    }
    return stack.getLast();
  }

  private int currentMarkBase() {
    return markCount == 0 ? 0 : marks[markCount - 1];
  }

  private void pushMark() {
    if (markCount == marks.length) {
      marks = Arrays.copyOf(marks, marks.length * 2);
    }
    marks[markCount++] = stack.size();
  }

  /** Pops everything above the last mark, and the mark. */
  private List<Object> popMark() {
    if (markCount == 0) {
      throw new Malformed("no mark on the stack");
    }
    int base = marks[--markCount];
    List<Object> top = stack.subList(base, stack.size());
    List<Object> items = new ArrayList<>(top);
    top.clear();
    return items;
  }

  private Object memoGet(long index) {
    Object value = memo.get(index);
    if (value == null && !memo.containsKey(index)) {
      throw new Malformed("memo index " + index + " was never stored");
    }
    return value;
  }

  @SuppressWarnings("unchecked")
  private List<Object> listOnTop() {
    Object top = peek();
    if (!(top instanceof ArrayList<?>)) {
      throw new Malformed("can only append to a list, not to " + typeName(top));
    }
    return (List<Object>) top;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> dictOnTop() {
    Object top = peek();
    if (!(top instanceof LinkedHashMap<?, ?>)) {
      throw new Malformed("can only set items of a dict, not of " + typeName(top));
    }
    return (Map<Object, Object>) top;
  }

  private static void putPairs(Map<Object, Object> dict, List<Object> items) {
    if (items.size() % 2 != 0) {
      throw new Malformed("odd number of items (" + items.size() + ") for key/value pairs");
    }
    for (int i = 0; i < items.size(); i += 2) {
      dict.put(checkKey(items.get(i)), items.get(i + 1));
    }
  }

  /** Python only hashes immutable values; anything else as a key is a corrupt pickle. */
  private static Object checkKey(Object key) {
    if (PyTuple.isHashableScalar(key)) {
      return key;
    }
    if (key instanceof PyTuple tuple && tuple.isHashable()) {
      if (tuple.depth() > MAX_KEY_DEPTH) {
        throw new Malformed("dict key tuple nested deeper than " + MAX_KEY_DEPTH);
      }
      return key;
    }
    throw new Malformed("unhashable dict key of type " + typeName(key));
  }

  // ---- reading the input

  private void require(long count, String what) {
    if (count < 0 || count > end - pos) {
      throw new Malformed("truncated pickle: " + what + " needs " + (count < 0 ? Long.toUnsignedString(count) : count)
          + " bytes at offset " + pos + " but " + (end - pos) + " remain");
    }
  }

  private int readU8(String what) {
    require(1, what);
    return Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, pos++));
  }

  private int readInt32LE() {
    require(4, "a 4-byte integer");
    int value = data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos);
    pos += 4;
    return value;
  }

  private long readU32() {
    return Integer.toUnsignedLong(readInt32LE());
  }

  private long readRaw64(ByteOrder order, String what) {
    require(8, what);
    long value = data.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order), pos);
    pos += 8;
    return value;
  }

  /** An unsigned 64-bit length; values beyond Long.MAX_VALUE come back negative and fail the bounds checks. */
  private long readU64(String what) {
    return readRaw64(ByteOrder.LITTLE_ENDIAN, what);
  }

  private byte[] readBytes(long length) {
    require(length, "a bytes value");
    if (length > MAX_ARRAY) {
      throw new Malformed("value of " + length + " bytes is too long");
    }
    byte[] bytes = data.asSlice(pos, length).toArray(ValueLayout.JAVA_BYTE);
    pos += length;
    return bytes;
  }

  private String readUtf8(long length) {
    byte[] bytes = readBytes(length);
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new Malformed("string of " + length + " bytes is not valid UTF-8");
    }
  }

  /** A little-endian two's complement integer of {@code length} bytes (LONG1, LONG4). */
  private Object readLong(long length) {
    byte[] le = readBytes(length);
    if (le.length == 0) {
      return 0L;
    }
    byte[] be = new byte[le.length];
    for (int i = 0; i < le.length; i++) {
      be[i] = le[le.length - 1 - i];
    }
    BigInteger value = new BigInteger(be);
    return value.bitLength() < 64 ? (Object) value.longValue() : value;
  }

  /** A newline-terminated line of a GLOBAL opcode. */
  private String readLine() {
    long limit = Math.min(end, pos + MAX_GLOBAL_LINE);
    for (long i = pos; i < limit; i++) {
      if (data.get(ValueLayout.JAVA_BYTE, i) == '\n') {
        String line = readUtf8(i - pos);
        pos++;
        return line;
      }
    }
    throw new Malformed("GLOBAL name not terminated within " + MAX_GLOBAL_LINE + " bytes");
  }

  // ---- calls: only the allowed globals, interpreted here

  private static PyTuple tupleArgs(Object args, Object callable) {
    if (!(args instanceof PyTuple tuple)) {
      throw new Malformed("arguments of " + typeName(callable) + " must be a tuple, not " + typeName(args));
    }
    return tuple;
  }

  private Object call(Object callable, PyTuple args) {
    if (!(callable instanceof Callable c)) {
      throw new Malformed("cannot call " + typeName(callable));
    }
    return switch (c) {
      case ORDERED_DICT -> newOrderedDict(args);
      case REBUILD_TENSOR -> {
        expectArgs(c, args, 4, 4);
        yield rebuildTensor(args, false, null);
      }
      case REBUILD_TENSOR_V2 -> {
        expectArgs(c, args, 6, 7);
        Object hooks = args.get(5);
        if (!(hooks instanceof Map<?, ?>)) {
          throw new Malformed("backward hooks must be a dict, not " + typeName(hooks));
        }
        if (args.size() == 7 && !isEmptyState(args.get(6))) {
          throw new Malformed("tensor metadata (conjugate/negative bits) is not supported");
        }
        yield rebuildTensor(args, true, args.get(4));
      }
      case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
        int count = c == Callable.REBUILD_PARAMETER ? 3 : 4;
        expectArgs(c, args, count, count);
        if (count == 4 && !isEmptyState(args.get(3))) {
          throw new Malformed("parameters with Python attributes are not supported");
        }
        RawTensor data = tensorArg(args.get(0), c);
        yield data.withFlags(booleanArg(args.get(1), "requires_grad"), true);
      }
      case REBUILD_FROM_TYPE_V2 -> {
        expectArgs(c, args, 4, 4);
        if (!(args.get(0) instanceof Callable func) || !func.rebuildsTensor()) {
          throw new Malformed("_rebuild_from_type_v2 must rebuild a tensor, not call " + typeName(args.get(0)));
        }
        Object type = args.get(1);
        if (type != Callable.TENSOR_CLASS && type != Callable.PARAMETER_CLASS) {
          throw new Malformed("tensor subclass " + typeName(type) + " is not supported");
        }
        if (!isEmptyState(args.get(3))) {
          throw new Malformed("tensors with Python attributes are not supported");
        }
        RawTensor tensor = tensorArg(call(func, tupleArgs(args.get(2), func)), func);
        yield type == Callable.PARAMETER_CLASS ? tensor.withFlags(tensor.requiresGrad(), true) : tensor;
      }
      case SIZE -> {
        expectArgs(c, args, 1, 1);
        if (!(args.get(0) instanceof List<?> sizes)) {
          throw new Malformed("torch.Size needs a tuple of ints, not " + typeName(args.get(0)));
        }
        for (Object s : sizes) {
          if (!(s instanceof Long)) {
            throw new Malformed("torch.Size needs ints, not " + typeName(s));
          }
        }
        yield PyTuple.copyOf(sizes);
      }
      case CODECS_ENCODE -> {
        expectArgs(c, args, 2, 2);
        if (!(args.get(0) instanceof String text) || !(args.get(1) instanceof String encoding)
            || !(encoding.equals("latin1") || encoding.equals("latin-1"))) {
          throw new Malformed("_codecs.encode is only allowed as encode(str, 'latin1')");
        }
        byte[] bytes = new byte[text.length()];
        for (int i = 0; i < bytes.length; i++) {
          char ch = text.charAt(i);
          if (ch > 0xff) {
            throw new Malformed("text for latin1 bytes holds character U+" + Integer.toHexString(ch));
          }
          bytes[i] = (byte) ch;
        }
        yield bytes;
      }
      case BYTES -> {
        expectArgs(c, args, 0, 0);
        yield new byte[0];
      }
      case TENSOR_CLASS, PARAMETER_CLASS -> throw new Malformed("cannot call " + c.qualifiedName);
    };
  }

  /** NEWOBJ: {@code cls.__new__(cls, *args)}, for an OrderedDict or a Parameter. */
  private Object instantiate(Object cls, PyTuple args) {
    if (cls == Callable.ORDERED_DICT && args.isEmpty()) {
      return new PyOrderedDict();
    }
    if (cls == Callable.PARAMETER_CLASS) {
      expectArgs(Callable.PARAMETER_CLASS, args, 1, 2);
      RawTensor data = tensorArg(args.get(0), cls);
      boolean requiresGrad = args.size() < 2 || booleanArg(args.get(1), "requires_grad");
      return data.withFlags(requiresGrad, true);
    }
    throw new Malformed("cannot instantiate " + typeName(cls));
  }

  private static PyOrderedDict newOrderedDict(PyTuple args) {
    expectArgs(Callable.ORDERED_DICT, args, 0, 1);
    PyOrderedDict dict = new PyOrderedDict();
    if (args.isEmpty()) {
      return dict;
    }
    Object source = args.get(0);
    if (source instanceof Map<?, ?> map) {
      map.forEach((k, v) -> dict.put(checkKey(k), v));
    } else if (source instanceof List<?> pairs) {
      for (Object pair : pairs) {
        if (!(pair instanceof List<?> kv) || kv.size() != 2) {
          throw new Malformed("OrderedDict items must be (key, value) pairs, not " + typeName(pair));
        }
        dict.put(checkKey(kv.get(0)), kv.get(1));
      }
    } else {
      throw new Malformed("OrderedDict cannot be built from " + typeName(source));
    }
    return dict;
  }

  /** BUILD: sets the state of the object on top; only an OrderedDict's attributes are meaningful. */
  private static void build(Object target, Object state) {
    if (target instanceof PyOrderedDict dict) {
      Object slotState = null;
      Object dictState = state;
      if (state instanceof PyTuple tuple && tuple.size() == 2) {
        dictState = tuple.get(0);
        slotState = tuple.get(1);
      }
      setAttributes(dict, dictState);
      setAttributes(dict, slotState);
    } else if (target instanceof RawTensor) {
      if (!isEmptyState(state)) {
        throw new Malformed("tensors with Python attributes are not supported");
      }
    } else {
      throw new Malformed("can only set the state of an OrderedDict or a tensor, not of " + typeName(target));
    }
  }

  private static void setAttributes(PyOrderedDict dict, Object state) {
    if (state == null) {
      return;
    }
    if (!(state instanceof Map<?, ?> map)) {
      throw new Malformed("OrderedDict state must be a dict, not " + typeName(state));
    }
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new Malformed("attribute names must be strings, not " + typeName(e.getKey()));
      }
      dict.attributes().put(name, e.getValue());
    }
  }

  private static boolean isEmptyState(Object state) {
    return state == null || (state instanceof Map<?, ?> m && m.isEmpty())
        || (state instanceof PyTuple t && t.isEmpty());
  }

  private static void expectArgs(Object callable, PyTuple args, int min, int max) {
    if (args.size() < min || args.size() > max) {
      String expected = min == max ? String.valueOf(min) : min + " to " + max;
      throw new Malformed(typeName(callable) + " takes " + expected + " arguments, got " + args.size());
    }
  }

  private static RawTensor tensorArg(Object value, Object callable) {
    if (!(value instanceof RawTensor tensor)) {
      throw new Malformed(typeName(callable) + " needs a tensor, not " + typeName(value));
    }
    return tensor;
  }

  private static boolean booleanArg(Object value, String what) {
    if (!(value instanceof Boolean b)) {
      throw new Malformed(what + " must be a bool, not " + typeName(value));
    }
    return b;
  }

  /** {@code _rebuild_tensor(storage, offset, size, stride)}, plus requires_grad for v2. */
  private static RawTensor rebuildTensor(PyTuple args, boolean v2, Object requiresGrad) {
    if (!(args.get(0) instanceof StorageRef storage)) {
      throw new Malformed("a tensor must be built on a storage, not on " + typeName(args.get(0)));
    }
    if (!(args.get(1) instanceof Long offset)) {
      throw new Malformed("storage offset must be an int, not " + typeName(args.get(1)));
    }
    long[] shape = longs(args.get(2), "size");
    long[] strides = longs(args.get(3), "stride");
    boolean grad = v2 && booleanArg(requiresGrad, "requires_grad");
    try {
      return new RawTensor(storage, shape, strides, offset, grad, false);
    } catch (IllegalArgumentException e) {
      throw new Malformed("tensor on storage '" + storage.key() + "': " + e.getMessage());
    }
  }

  private static long[] longs(Object value, String what) {
    if (!(value instanceof List<?> list)) {
      throw new Malformed("tensor " + what + " must be a tuple, not " + typeName(value));
    }
    if (list.size() > RawTensor.MAX_RANK) {
      throw new Malformed("tensor " + what + " has " + list.size() + " dimensions; at most " + RawTensor.MAX_RANK
          + " are supported");
    }
    long[] result = new long[list.size()];
    for (int i = 0; i < result.length; i++) {
      if (!(list.get(i) instanceof Long l)) {
        throw new Malformed("tensor " + what + " holds " + typeName(list.get(i)) + " instead of an int");
      }
      result[i] = l;
    }
    return result;
  }

  // ---- the result

  /**
   * Rejects results that still hold markers (an allowed global used as a value, not called). Iterative,
   * and visits each container once, so shared and cyclic structures are fine.
   */
  private static void checkResult(Object root) {
    IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
    ArrayList<Object> pending = new ArrayList<>();
    pending.add(root);
    while (!pending.isEmpty()) {
      Object value = pending.removeLast();
      if (value instanceof Callable || value instanceof StorageType) {
        throw new Malformed("the checkpoint holds " + typeName(value) + " as a value");
      }
      if (!(value instanceof Map<?, ?> || value instanceof List<?>) || seen.put(value, Boolean.TRUE) != null) {
        continue;
      }
      if (value instanceof Map<?, ?> map) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
          pending.add(e.getKey());
          pending.add(e.getValue());
        }
        if (value instanceof PyOrderedDict od) {
          pending.addAll(od.attributes().values());
        }
      } else {
        pending.addAll((List<?>) value);
      }
    }
  }

  /** A Python-style name of a value's type, for messages (never the value itself). */
  static String typeName(Object value) {
    return switch (value) {
      case null -> "None";
      case PyOrderedDict _ -> "OrderedDict";
      case Map<?, ?> _ -> "dict";
      case PyTuple _ -> "tuple";
      case List<?> _ -> "list";
      case String _ -> "str";
      case Long _ -> "int";
      case BigInteger _ -> "int";
      case Double _ -> "float";
      case Boolean _ -> "bool";
      case byte[] _ -> "bytes";
      case RawTensor _ -> "tensor";
      case StorageRef _ -> "storage";
      case DType d -> "dtype torch." + d.pythonName();
      case Callable c -> "global " + c.qualifiedName;
      case StorageType s -> "global " + s.qualifiedName();
      default -> value.getClass().getSimpleName();
    };
  }

  private static String opcodeName(int op) {
    return op >= 0x20 && op < 0x7f ? String.format("'%c' (0x%02x)", (char) op, op) : String.format("0x%02x", op);
  }
}
