package org.ssl4mis.io.pth;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ssl4mis.tensor.DType;

/**
 * Writes a checkpoint tree as a protocol 2 pickle the way {@code torch.save} does: tensors through
 * {@code torch._utils._rebuild_tensor_v2} with storage persistent ids, OrderedDicts through
 * {@code collections.OrderedDict} plus a {@code BUILD} of their attributes, containers in batches of 1000.
 * Each distinct {@link StorageRef} gets one key ("0", "1", ... in order of first use); each container and
 * tensor is written once and referred to from the memo afterwards, so sharing (and even cycles) survive.
 * Iterative, so deep trees do not overflow the Java stack.
 */
final class PickleWriter {
  /** The pickle and the storages it refers to; the storage at index i has key {@code String.valueOf(i)}. */
  record Result(byte[] pickle, List<StorageRef> storages) {
  }

  private static final int BATCH = 1000;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final IdentityHashMap<Object, Long> memo = new IdentityHashMap<>();
  private final HashMap<String, Long> stringMemo = new HashMap<>();
  private final HashMap<String, Long> globalMemo = new HashMap<>();
  private long memoSize;
  private final IdentityHashMap<StorageRef, String> storageKeys = new IdentityHashMap<>();
  private final List<StorageRef> storages = new ArrayList<>();
  /** Work still to do, next on top: values to save and opcodes to emit after a container's items. */
  private final Deque<Object> work = new ArrayDeque<>();

  private record Emit(int opcode) {
  }

  /** Ends a tuple whose items were saved; see {@link #finishTuple}. */
  private record FinishTuple(PyTuple tuple) {
  }

  /** Wraps values to save, so that a value which is itself an Emit or FinishTuple cannot be confused. */
  private record Save(Object value) {
  }

  private PickleWriter() {
  }

  /**
   * Pickles {@code root}.
   *
   * @throws IllegalArgumentException when the tree holds a value that has no checkpoint form
   */
  static Result write(Object root) {
    PickleWriter writer = new PickleWriter();
    writer.out.write(0x80);
    writer.out.write(2);
    writer.work.push(new Save(root));
    while (!writer.work.isEmpty()) {
      Object task = writer.work.pop();
      switch (task) {
        case Save s -> writer.save(s.value());
        case Emit e -> writer.out.write(e.opcode());
        case FinishTuple f -> writer.finishTuple(f.tuple());
        default -> throw new IllegalStateException("unknown task " + task);
      }
    }
    writer.out.write('.');
    return new Result(writer.out.toByteArray(), List.copyOf(writer.storages));
  }

  private void save(Object value) {
    switch (value) {
      case null -> out.write('N');
      case Boolean b -> out.write(b ? 0x88 : 0x89);
      case Long l -> writeInt(l);
      case Integer i -> writeInt(i);
      case Short s -> writeInt(s);
      case Byte b -> writeInt(b);
      case BigInteger b -> {
        if (b.bitLength() < 64) {
          writeInt(b.longValue());
        } else {
          writeBigInt(b);
        }
      }
      case Double d -> writeFloat(d);
      case Float f -> writeFloat(f);
      case String s -> writeString(s);
      case DType d -> writeGlobal("torch", d.pythonName());
      case byte[] bytes -> writeBytes(bytes);
      case StorageRef storage -> writeStorageId(storage);
      case RawTensor tensor -> {
        if (!writeMemoGet(tensor)) {
          writeTensor(tensor);
          memoize(tensor);
        }
      }
      case PyTuple tuple -> saveTuple(tuple);
      case Map<?, ?> map -> saveDict(map);
      case List<?> list -> saveList(list);
      default -> throw new IllegalArgumentException("cannot write a value of type " + value.getClass().getName()
          + " to a checkpoint");
    }
  }

  // ---- containers

  private void saveList(List<?> list) {
    if (writeMemoGet(list)) {
      return;
    }
    out.write(']');
    memoize(list);
    scheduleBatches(list, 1, 'a', 'e');
  }

  private void saveDict(Map<?, ?> map) {
    if (writeMemoGet(map)) {
      return;
    }
    PyOrderedDict ordered = map instanceof PyOrderedDict od ? od : null;
    if (ordered != null) {
      writeGlobal("collections", "OrderedDict");
      out.write(')');
      out.write('R');
    } else {
      out.write('}');
    }
    memoize(map);
    // The attributes come after the items, as Python's OrderedDict.__reduce__ orders them.
    if (ordered != null && !ordered.attributes().isEmpty()) {
      work.push(new Emit('b'));
      work.push(new Save(new LinkedHashMap<>(ordered.attributes())));
    }
    List<Object> flat = new ArrayList<>(map.size() * 2);
    for (Map.Entry<?, ?> e : map.entrySet()) {
      checkKey(e.getKey());
      flat.add(e.getKey());
      flat.add(e.getValue());
    }
    scheduleBatches(flat, 2, 's', 'u');
  }

  private static void checkKey(Object key) {
    boolean hashable = PyTuple.isHashableScalar(key) || key instanceof Integer || key instanceof Short
        || key instanceof Byte || key instanceof Float || (key instanceof PyTuple t && t.isHashable());
    if (!hashable) {
      throw new IllegalArgumentException("dict key of type " + key.getClass().getName()
          + " cannot be a Python dict key");
    }
  }

  /**
   * Schedules {@code items} (groups of {@code width}) in batches of {@value #BATCH} groups: one group is
   * followed by {@code single}, more are framed by MARK and {@code multiple}.
   */
  private void scheduleBatches(List<?> items, int width, int single, int multiple) {
    int groups = items.size() / width;
    // Pushed last batch first, so the first batch is done first.
    for (int start = (groups - 1) / BATCH * BATCH; start >= 0 && groups > 0; start -= BATCH) {
      int count = Math.min(BATCH, groups - start);
      work.push(new Emit(count == 1 ? single : multiple));
      for (int i = (start + count) * width - 1; i >= start * width; i--) {
        work.push(new Save(items.get(i)));
      }
      if (count > 1) {
        work.push(new Emit('('));
      }
    }
  }

  private void saveTuple(PyTuple tuple) {
    if (tuple.isEmpty()) {
      out.write(')');
      return;
    }
    if (writeMemoGet(tuple)) {
      return;
    }
    work.push(new FinishTuple(tuple));
    for (int i = tuple.size() - 1; i >= 0; i--) {
      work.push(new Save(tuple.get(i)));
    }
    if (tuple.size() > 3) {
      work.push(new Emit('('));
    }
  }

  /**
   * After a tuple's items: TUPLE (or TUPLE1..3). When saving the items already wrote the tuple (a cycle
   * through a list or dict inside it), drop the items and refer to that copy, as Python's pickler does.
   */
  private void finishTuple(PyTuple tuple) {
    Long index = memo.get(tuple);
    if (index != null) {
      if (tuple.size() > 3) {
        out.write('1');
      } else {
        for (int i = 0; i < tuple.size(); i++) {
          out.write('0');
        }
      }
      writeGet(index);
      return;
    }
    out.write(switch (tuple.size()) {
      case 1 -> 0x85;
      case 2 -> 0x86;
      case 3 -> 0x87;
      default -> 't';
    });
    memoize(tuple);
  }

  // ---- tensors and storages

  /** {@code _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())}, maybe wrapped. */
  private void writeTensor(RawTensor tensor) {
    if (tensor.isParameter()) {
      writeGlobal("torch._utils", "_rebuild_parameter");
      out.write('(');
    }
    writeGlobal("torch._utils", "_rebuild_tensor_v2");
    out.write('(');
    writeStorageId(tensor.storage());
    writeInt(tensor.storageOffset());
    writeIntTuple(tensor.shape());
    writeIntTuple(tensor.strides());
    // A parameter's data is a plain tensor; the flag goes on the parameter.
    out.write(tensor.requiresGrad() && !tensor.isParameter() ? 0x88 : 0x89);
    writeEmptyOrderedDict();
    out.write('t');
    out.write('R');
    if (tensor.isParameter()) {
      out.write(tensor.requiresGrad() ? 0x88 : 0x89);
      writeEmptyOrderedDict();
      out.write('t');
      out.write('R');
    }
  }

  private void writeEmptyOrderedDict() {
    writeGlobal("collections", "OrderedDict");
    out.write(')');
    out.write('R');
  }

  private void writeIntTuple(long[] values) {
    if (values.length == 0) {
      out.write(')');
      return;
    }
    if (values.length > 3) {
      out.write('(');
    }
    for (long v : values) {
      writeInt(v);
    }
    out.write(switch (values.length) {
      case 1 -> 0x85;
      case 2 -> 0x86;
      case 3 -> 0x87;
      default -> 't';
    });
  }

  /** The persistent id {@code ('storage', torch.XStorage, key, 'cpu', numel)} and BINPERSID. */
  private void writeStorageId(StorageRef storage) {
    String key = storageKeys.get(storage);
    if (key == null) {
      key = String.valueOf(storages.size());
      storageKeys.put(storage, key);
      storages.add(storage);
    }
    out.write('(');
    writeString("storage");
    writeGlobal("torch", storage.dtype().storageClass());
    writeString(key);
    // Storages are written from host memory, so they load on the CPU whatever device they came from.
    writeString("cpu");
    writeInt(storage.numel());
    out.write('t');
    out.write('Q');
  }

  // ---- scalars

  private void writeInt(long value) {
    if (value >= 0 && value <= 0xff) {
      out.write('K');
      out.write((int) value);
    } else if (value >= 0 && value <= 0xffff) {
      out.write('M');
      out.write((int) value & 0xff);
      out.write((int) (value >>> 8) & 0xff);
    } else if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
      out.write('J');
      writeLE(value, 4);
    } else {
      writeBigInt(BigInteger.valueOf(value));
    }
  }

  /** LONG1 (or LONG4): the shortest little-endian two's complement form. */
  private void writeBigInt(BigInteger value) {
    byte[] be = value.toByteArray();
    if (be.length <= 0xff) {
      out.write(0x8a);
      out.write(be.length);
    } else {
      out.write(0x8b);
      writeLE(be.length, 4);
    }
    for (int i = be.length - 1; i >= 0; i--) {
      out.write(be[i]);
    }
  }

  private void writeFloat(double value) {
    out.write('G');
    long bits = Double.doubleToRawLongBits(value);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.write((int) (bits >>> shift) & 0xff);
    }
  }

  private void writeString(String value) {
    Long index = stringMemo.get(value);
    if (index != null) {
      writeGet(index);
      return;
    }
    byte[] utf8;
    try {
      ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(value));
      utf8 = new byte[encoded.remaining()];
      encoded.get(utf8);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("string holds an unpaired surrogate and has no UTF-8 form");
    }
    out.write('X');
    writeLE(utf8.length, 4);
    out.writeBytes(utf8);
    stringMemo.put(value, memoSize);
    writePut(memoSize++);
  }

  /** Bytes as protocol 2 writes them: {@code _codecs.encode(latin1_text, 'latin1')}, or {@code bytes()}. */
  private void writeBytes(byte[] bytes) {
    if (writeMemoGet(bytes)) {
      return;
    }
    if (bytes.length == 0) {
      writeGlobal("__builtin__", "bytes");
      out.write(')');
    } else {
      writeGlobal("_codecs", "encode");
      char[] latin1 = new char[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        latin1[i] = (char) Byte.toUnsignedInt(bytes[i]);
      }
      writeString(new String(latin1));
      writeString("latin1");
      out.write(0x86);
    }
    out.write('R');
    memoize(bytes);
  }

  private void writeGlobal(String module, String name) {
    String qualified = module + "\n" + name + "\n";
    Long index = globalMemo.get(qualified);
    if (index != null) {
      writeGet(index);
      return;
    }
    out.write('c');
    out.writeBytes(qualified.getBytes(StandardCharsets.US_ASCII));
    globalMemo.put(qualified, memoSize);
    writePut(memoSize++);
  }

  // ---- memo

  private boolean writeMemoGet(Object value) {
    Long index = memo.get(value);
    if (index == null) {
      return false;
    }
    writeGet(index);
    return true;
  }

  private void memoize(Object value) {
    memo.put(value, memoSize);
    writePut(memoSize++);
  }

  private void writePut(long index) {
    if (index < 256) {
      out.write('q');
      out.write((int) index);
    } else {
      out.write('r');
      writeLE(index, 4);
    }
  }

  private void writeGet(long index) {
    if (index < 256) {
      out.write('h');
      out.write((int) index);
    } else {
      out.write('j');
      writeLE(index, 4);
    }
  }

  private void writeLE(long value, int bytes) {
    for (int i = 0; i < bytes; i++) {
      out.write((int) (value >>> (8 * i)) & 0xff);
    }
  }
}
