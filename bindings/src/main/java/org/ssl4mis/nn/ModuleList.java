package org.ssl4mis.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.pytorch.Module;

/**
 * A list of child modules named {@code 0}, {@code 1}, ... as {@code nn.ModuleList} names them, keeping
 * each child's Java type (libtorch's {@code ModuleListImpl} returns plain {@link Module}s).
 */
public final class ModuleList<M extends Module> extends JModule implements Iterable<M> {
  private final List<M> items = new ArrayList<>();

  @SafeVarargs
  public ModuleList(M... modules) {
    for (M m : modules) {
      add(m);
    }
  }

  public ModuleList<M> add(M m) {
    register(Integer.toString(items.size()), m);
    items.add(m);
    return this;
  }

  public M get(int index) {
    return items.get(index);
  }

  public int size() {
    return items.size();
  }

  public List<M> asList() {
    return Collections.unmodifiableList(items);
  }

  @Override
  public Iterator<M> iterator() {
    return asList().iterator();
  }
}
