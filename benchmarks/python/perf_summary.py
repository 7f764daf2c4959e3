"""Groups a `perf report` of a WholeRun process into where the CPU time went (benchmarks/profile.sh).

Input: `perf report --no-children --sort comm,dso,sym --stdio` text on stdin (perf's own percentages of all
samples). Output: a Markdown table of shares by category, then the heaviest symbols. Categories:

- convolution kernels (oneDNN): oneDNN's JIT-generated code (anonymous executable memory, perf's `[JIT]`, once
  the JVM's own compiled code has been named by its perf map) and its C++ parts in libtorch (`dnnl::`);
- layout reorders (oneDNN): `reorder` primitives, the copies between PyTorch's layout and oneDNN's blocked one;
- ATen kernels: libtorch's own CPU kernels, split into batch norm, pooling, upsampling, random numbers
  (dropout masks, noise), copies, element-wise arithmetic and the rest;
- OpenMP waiting: libgomp, where idle OpenMP threads spin at barriers while the other thread runs serial code;
- kernel (page faults and zeroing): the Linux kernel clearing and mapping fresh pages for new allocations;
- kernel (other): system calls, scheduling;
- malloc: the C library's or the preloaded allocator's bookkeeping;
- JVM (JIT compiler, GC, interpreter, Java code): libjvm and the JVM's compiled Java code;
- data loading: the loader threads (HDF5, zlib, augmentation in Java);
- other.
"""
import re
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*([0-9.]+)%\s+(\S.*?)\s{2,}(\S.*?)\s{2,}\[(.)\]\s+(.*)$")

PAGE_FAULT = ("clear_page", "page_fault", "handle_mm_fault", "do_anonymous_page", "alloc_pages", "folio",
              "memcg", "lruvec", "unmap", "zap_", "mas_walk", "lock_vma", "get_page_from_freelist",
              "__alloc_frozen_pages", "free_pages", "rmqueue", "free_unref", "release_pages", "lru_")


def category(comm, dso, sym):
    if comm.startswith("ssl4mis-loader") or "hdf5" in dso or "libz." in dso:
        return "data loading"
    if comm.startswith(("C2 Compiler", "C1 Compiler", "GC Thread", "G1 ", "VM Thread", "VM Periodic")):
        return "JVM (JIT compiler, GC, interpreter, Java code)"
    if dso.startswith("[kernel"):
        return "kernel (page faults and zeroing)" if any(k in sym for k in PAGE_FAULT) else "kernel (other)"
    if "libgomp" in dso:
        return "OpenMP waiting (libgomp)"
    if dso.startswith("[JIT]") or "perf-" in dso:
        # Anonymous executable memory: the JVM's compiled Java code (named through its perf map) or oneDNN's
        # generated kernels (left as bare addresses).
        if re.fullmatch(r"0x[0-9a-fA-F]+", sym):
            return "convolution kernels (oneDNN)"
        return "JVM (JIT compiler, GC, interpreter, Java code)"
    if "libjvm" in dso:
        return "JVM (JIT compiler, GC, interpreter, Java code)"
    if "tcmalloc" in dso or "jemalloc" in dso or re.search(
            r"\b(_int_malloc|_int_free|malloc|free|cfree|unlink_chunk|malloc_consolidate|sysmalloc)\b", sym):
        return "malloc"
    if "dnnl" in sym:
        return "layout reorders (oneDNN)" if "reorder" in sym else "convolution kernels (oneDNN)"
    if "libtorch" in dso or "libc10" in dso:
        s = sym.lower()
        for key, name in (("batch_norm", "ATen: batch norm"), ("pool", "ATen: pooling"),
                          ("upsample", "ATen: upsampling"), ("bernoulli", "ATen: random numbers"),
                          ("random", "ATen: random numbers"), ("normal", "ATen: random numbers"),
                          ("copy", "ATen: copies"), ("softmax", "ATen: softmax"),
                          ("vectorized", "ATen: element-wise"), ("_kernel", "ATen: element-wise")):
            if key in s:
                return name
        return "ATen: other"
    if "libc.so" in dso:
        return "C library (memcpy, memset, ...)"
    if "openblas" in dso:
        return "OpenBLAS"
    return "other"


def main():
    shares = defaultdict(float)
    symbols = []
    for line in sys.stdin:
        if line.startswith("#") or not line.strip():
            continue
        m = LINE.match(line.rstrip("\n"))
        if not m:
            continue
        pct, comm, dso, _, sym = float(m.group(1)), m.group(2).strip(), m.group(3).strip(), m.group(4), m.group(5)
        cat = category(comm, dso, sym)
        shares[cat] += pct
        symbols.append((pct, cat, dso, sym))
    total = sum(shares.values())
    print("| Where | share of CPU samples |")
    print("| --- | --- |")
    for cat, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        print("| %s | %.1f %% |" % (cat, 100 * pct / total))
    print()
    print("Heaviest symbols:")
    print()
    print("| share | category | library | symbol |")
    print("| --- | --- | --- | --- |")
    for pct, cat, dso, sym in sorted(symbols, reverse=True)[:15]:
        # ATen's kernels hide in long template names: show the kernel's own name where there is one.
        kernels = re.findall(r"([A-Za-z0-9_]+(?:_kernel|_impl|_channels_last|_contiguous)[A-Za-z0-9_]*)", sym)
        short = kernels[0] if kernels else sym
        short = short if len(short) <= 110 else short[:107] + "..."
        print("| %.1f %% | %s | %s | `%s` |" % (100 * pct / total, cat, dso, short.replace("|", "\\|")))


if __name__ == "__main__":
    main()
