package org.ssl4mis.io.pth;

import java.math.BigInteger;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.Collection;
import java.util.RandomAccess;
import org.ssl4mis.tensor.DType;

/**
 * An immutable Python tuple, kept apart from lists so that a checkpoint written back has tuples where it
 * had them. May hold {@code null} (None).
 *
 * <p>As in Python, a tuple equals only another tuple with equal elements, never a list; so, unlike other
 * {@link java.util.List}s, {@code PyTuple.of(1L).equals(List.of(1L))} is false. Tuples of scalars (and of such
 * tuples) are dict keys in checkpoints; they order among themselves ({@link #compareTo}) so that maps with many
 * colliding tuple keys stay fast.
 */
public final class PyTuple extends AbstractList<Object> implements RandomAccess, Comparable<PyTuple> {
  private static final PyTuple EMPTY = new PyTuple(new Object[0]);

  private final Object[] items;
  // Computed once from the elements (nested tuples have theirs already), so hashing never recurses.
  private final boolean hashable;
  private final int hash;
  private final int depth;

  private PyTuple(Object[] items) {
    this.items = items;
    boolean allHashable = true;
    int h = 1;
    int maxDepth = 0;
    for (Object item : items) {
      if (item instanceof PyTuple tuple) {
        allHashable &= tuple.hashable;
        maxDepth = Math.max(maxDepth, tuple.depth);
      } else {
        allHashable &= isHashableScalar(item);
      }
      h = 31 * h + (allHashable && item != null ? item.hashCode() : 0);
    }
    this.hashable = allHashable;
    this.hash = h;
    this.depth = maxDepth + 1;
  }

  /** Whether Python can hash the value: None, bool, int, float, str or a dtype. */
  static boolean isHashableScalar(Object value) {
    return value == null || value instanceof String || value instanceof Long || value instanceof BigInteger
        || value instanceof Double || value instanceof Boolean || value instanceof DType;
  }

  /** A tuple of the given elements (copied). */
  public static PyTuple of(Object... items) {
    return items.length == 0 ? EMPTY : new PyTuple(items.clone());
  }

  /** A tuple of the elements of {@code items}, in iteration order. */
  public static PyTuple copyOf(Collection<?> items) {
    return items.isEmpty() ? EMPTY : new PyTuple(items.toArray());
  }

  /** Whether Python could use this tuple as a dict key: it holds only scalars and such tuples. */
  boolean isHashable() {
    return hashable;
  }

  /** Nesting depth: 1 for a tuple without tuples inside. */
  int depth() {
    return depth;
  }

  @Override
  public Object get(int index) {
    return items[index];
  }

  @Override
  public int size() {
    return items.length;
  }

  @Override
  public Object[] toArray() {
    return items.clone();
  }

  @Override
  public int hashCode() {
    return hashable ? hash : Arrays.hashCode(items);
  }

  @Override
  public boolean equals(Object other) {
    if (other == this) {
      return true;
    }
    if (!(other instanceof PyTuple tuple) || items.length != tuple.items.length
        || (hashable && tuple.hashable && hash != tuple.hash)) {
      return false;
    }
    return Arrays.equals(items, tuple.items);
  }

  /**
   * Orders tuples of scalars element by element (None, then bools, ints, floats, strings, dtypes, tuples), a
   * total order consistent with {@link #equals}. Tuples holding other values (lists, tensors) compare as
   * equal, which keeps hash maps correct, though slower, for them.
   */
  @Override
  public int compareTo(PyTuple other) {
    if (!hashable || !other.hashable) {
      return 0;
    }
    for (int i = 0; i < Math.min(items.length, other.items.length); i++) {
      int c = compareScalars(items[i], other.items[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(items.length, other.items.length);
  }

  private static int compareScalars(Object a, Object b) {
    int rank = Integer.compare(rank(a), rank(b));
    if (rank != 0 || a == null) {
      return rank;
    }
    return switch (a) {
      case Boolean x -> Boolean.compare(x, (Boolean) b);
      case Long x -> Long.compare(x, (Long) b);
      case BigInteger x -> x.compareTo((BigInteger) b);
      case Double x -> Double.compare(x, (Double) b);
      case String x -> x.compareTo((String) b);
      case DType x -> x.compareTo((DType) b);
      case PyTuple x -> x.compareTo((PyTuple) b);
      default -> 0;
    };
  }

  private static int rank(Object value) {
    return switch (value) {
      case null -> 0;
      case Boolean _ -> 1;
      case Long _ -> 2;
      case BigInteger _ -> 3;
      case Double _ -> 4;
      case String _ -> 5;
      case DType _ -> 6;
      case PyTuple _ -> 7;
      default -> 8;
    };
  }

  @Override
  public String toString() {
    String list = super.toString();
    return "(" + list.substring(1, list.length() - 1) + (items.length == 1 ? ",)" : ")");
  }
}
