package org.ssl4mis.cli;

import java.io.PrintStream;
import org.ssl4mis.runtime.NativeRuntime;

/** {@code ssl4mis doctor}: what runtime this machine gives the project, in a few lines. */
final class DoctorCommand implements Command {
  @Override
  public String name() {
    return "doctor";
  }

  @Override
  public String summary() {
    return "print Java, libtorch, device, thread and HDF5 status";
  }

  @Override
  public Options options() {
    return new Options(name()).flag("config", "also print libtorch's full build configuration");
  }

  @Override
  public int run(Options o, PrintStream out) {
    NativeRuntime.report().forEach(out::println);
    if (o.getFlag("config")) {
      out.println();
      out.println(NativeRuntime.buildConfig().strip());
    }
    return NativeRuntime.hdf5().loaded() ? 0 : 1;
  }
}
