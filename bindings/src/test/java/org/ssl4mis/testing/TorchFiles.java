package org.ssl4mis.testing;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.ssl4mis.tensor.DType;
import org.ssl4mis.tensor.Tensors;

/**
 * Reads the tensors of a {@code torch.save} file through the real {@code torch.load} of the Python reference:
 * Python writes each tensor's raw bytes, Java maps them into tensors. An independent path from the
 * project's own Java reader, so tests can check one against the other.
 */
public final class TorchFiles {
  private TorchFiles() {}

  private static final String DUMP = """
      import sys, os, torch
      src, out = sys.argv[1], sys.argv[2]
      obj = torch.load(src, map_location='cpu')
      lines = []
      def visit(prefix, v):
          if isinstance(v, torch.Tensor):
              t = v.detach().contiguous()
              name = '%05d.bin' % len(lines)
              with open(os.path.join(out, name), 'wb') as f:
                  f.write(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
              lines.append('\\t'.join([prefix, str(t.dtype).replace('torch.', ''), ','.join(str(s) for s in t.shape), name]))
          elif isinstance(v, dict):
              for k, x in v.items():
                  visit(prefix + '.' + str(k) if prefix else str(k), x)
          elif isinstance(v, (list, tuple)):
              for i, x in enumerate(v):
                  visit(prefix + '.' + str(i) if prefix else str(i), x)
      visit('', obj)
      with open(os.path.join(out, 'index.tsv'), 'w') as f:
          f.write('\\n'.join(lines))
      """;

  /**
   * Every tensor in the file, keyed by its path in the saved object (dict keys and list indices joined
   * with dots, as state-dict keys are), in file order. Skips (fails on CI) without python3-torch.
   */
  public static Map<String, Tensor> load(Path file) throws IOException {
    Path dir = Files.createTempDirectory("torch-dump");
    try {
      PythonReference.run(DUMP, Duration.ofMinutes(5), file.toString(), dir.toString());
      Map<String, Tensor> out = new LinkedHashMap<>();
      List<String> lines = Files.readAllLines(dir.resolve("index.tsv"));
      for (String line : lines) {
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.split("\t", -1);
        DType dtype = DType.parse(f[1]);
        long[] shape = f[2].isEmpty() ? new long[0] : Arrays.stream(f[2].split(",")).mapToLong(Long::parseLong).toArray();
        try (FileChannel ch = FileChannel.open(dir.resolve(f[3]), StandardOpenOption.READ);
            Arena arena = Arena.ofConfined()) {
          MemorySegment bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
          out.put(f[0], Tensors.fromSegment(bytes, dtype, shape));
        }
      }
      return out;
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }
}
