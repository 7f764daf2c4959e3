package org.ssl4mis.io.pth;

import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.ssl4mis.tensor.DType;

/**
 * The canonical text description of a checkpoint tree that {@code pth/pth_tool.py} also writes, so a Java
 * tree and a Python object compare as strings: one line per value in pre-order, floats as IEEE bits,
 * strings and bytes as hex, tensors with their layout, storage identity and a SHA-256 of their elements.
 *
 * <p>Iterative; a container met again while it is being described (a cycle) is written as {@code cycle}.
 */
final class TreeDescription {
  private TreeDescription() {
  }

  private record AttrName(String name) {
  }

  private record Leave(Object container) {
  }

  static String of(Object root) {
    StringBuilder out = new StringBuilder();
    IdentityHashMap<StorageRef, Integer> storages = new IdentityHashMap<>();
    IdentityHashMap<Object, Boolean> open = new IdentityHashMap<>();
    Deque<Object> pending = new ArrayDeque<>();
    pending.push(new Object[] {root});
    while (!pending.isEmpty()) {
      Object task = pending.pop();
      if (task instanceof Leave leave) {
        open.remove(leave.container());
        continue;
      }
      if (task instanceof AttrName attr) {
        out.append("attr ").append(hex(attr.name().getBytes(StandardCharsets.UTF_8))).append('\n');
        continue;
      }
      Object item = ((Object[]) task)[0];
      List<Object> children = new ArrayList<>();
      if ((item instanceof Map<?, ?> || item instanceof List<?>) && open.containsKey(item)) {
        out.append("cycle\n");
        continue;
      }
      switch (item) {
        case null -> out.append("none");
        case Boolean b -> out.append("bool ").append(b ? 1 : 0);
        case Long l -> out.append("int ").append(l);
        case BigInteger b -> out.append("int ").append(b);
        case Double d -> out.append("float ").append(String.format("%016x", Double.doubleToRawLongBits(d)));
        case String s -> out.append("str ").append(hex(s.getBytes(StandardCharsets.UTF_8)));
        case byte[] bytes -> out.append("bytes ").append(hex(bytes));
        case DType d -> out.append("dtype ").append(d.pythonName());
        case RawTensor t -> out.append(tensor(t, storages));
        case StorageRef s -> out.append("storage ").append(s.dtype().pythonName()).append(" storage=")
            .append(storages.computeIfAbsent(s, x -> storages.size())).append(" numel=").append(s.numel())
            .append(" sha256=").append(sha256(s.bytes()));
        case PyOrderedDict od -> {
          out.append("odict ").append(od.size()).append(" attrs ").append(od.attributes().size());
          od.forEach((k, v) -> {
            children.add(new Object[] {k});
            children.add(new Object[] {v});
          });
          od.attributes().forEach((k, v) -> {
            children.add(new AttrName(k));
            children.add(new Object[] {v});
          });
        }
        case Map<?, ?> map -> {
          out.append("dict ").append(map.size());
          map.forEach((k, v) -> {
            children.add(new Object[] {k});
            children.add(new Object[] {v});
          });
        }
        case PyTuple tuple -> {
          out.append("tuple ").append(tuple.size());
          tuple.forEach(v -> children.add(new Object[] {v}));
        }
        case List<?> list -> {
          out.append("list ").append(list.size());
          list.forEach(v -> children.add(new Object[] {v}));
        }
        default -> throw new IllegalArgumentException("cannot describe " + item.getClass());
      }
      out.append('\n');
      if (item instanceof Map<?, ?> || item instanceof List<?>) {
        open.put(item, Boolean.TRUE);
        pending.push(new Leave(item));
      }
      for (int i = children.size() - 1; i >= 0; i--) {
        pending.push(children.get(i));
      }
    }
    return out.toString();
  }

  private static String tensor(RawTensor t, IdentityHashMap<StorageRef, Integer> storages) {
    int index = storages.computeIfAbsent(t.storage(), s -> storages.size());
    return "tensor " + t.dtype().pythonName() + " shape=" + join(t.shape()) + " stride=" + join(t.strides())
        + " offset=" + t.storageOffset() + " grad=" + (t.requiresGrad() ? 1 : 0) + " param="
        + (t.isParameter() ? 1 : 0) + " storage=" + index + " numel=" + t.storage().numel() + " sha256="
        + sha256(t.contiguousBytes());
  }

  private static String join(long[] values) {
    return LongStream.of(values).mapToObj(Long::toString).collect(Collectors.joining(","));
  }

  static String sha256(MemorySegment bytes) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (long at = 0; at < bytes.byteSize(); at += 1 << 30) {
        digest.update(bytes.asSlice(at, Math.min(bytes.byteSize() - at, 1 << 30)).asByteBuffer());
      }
      return hex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
