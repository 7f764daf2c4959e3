package org.ssl4mis.runtime;

import static org.junit.jupiter.api.Assertions.*;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class NativeRuntimeTest {

  @Test
  void reportsVersionsAndDevices() {
    assertEquals("2.10.0", NativeRuntime.torchVersion());
    assertEquals("1.5.13", NativeRuntime.javacppVersion());
    assertEquals("2.10.0-1.5.13", NativeRuntime.presetVersion("pytorch"));
    assertEquals(Device.CPU, NativeRuntime.devices().get(0));
    assertEquals(NativeRuntime.cudaDeviceCount() + 1, NativeRuntime.devices().size());
    assertEquals(NativeRuntime.cudaDeviceCount() == 0, NativeRuntime.cudaUnavailableReason().isPresent());
    assertTrue(NativeRuntime.report().stream().anyMatch(l -> l.startsWith("libtorch   2.10.0")));
  }

  @Test
  void hdf5LoadsQuietly() {
    NativeRuntime.Hdf5Status h = NativeRuntime.hdf5();
    assertTrue(h.loaded(), h.detail());
    assertEquals("1.14.3", h.version());
    assertDoesNotThrow(NativeRuntime::requireHdf5);
  }

  @Test
  void devicesParseAndResolve() {
    assertEquals(Device.CPU, Device.parse(" CPU "));
    assertEquals(Device.cuda(0), Device.parse("cuda"));
    assertEquals(Device.cuda(3), Device.parse("cuda:3"));
    assertEquals("cuda:3", Device.cuda(3).toString());
    for (String bad : new String[] {"", "tpu", "cuda:", "cuda:-1", "cuda:x", "cpu:0"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad));
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
    }
    assertEquals(Device.CPU, NativeRuntime.resolve("cpu"));
    assertEquals(NativeRuntime.cudaDeviceCount() > 0 ? Device.cuda(0) : Device.CPU, NativeRuntime.resolveAuto("auto"));
    if (NativeRuntime.cudaDeviceCount() == 0) {
      var e = assertThrows(IllegalArgumentException.class, () -> NativeRuntime.resolve("cuda:0"));
      assertTrue(e.getMessage().contains("not available"), e.getMessage());
    }
  }

  @Test
  void seedingRepeatsLibtorchAndJavaStreams() {
    NativeRuntime.seed(42);
    float a = torch.randn(1).item_float();
    long ja = NativeRuntime.random("loader").nextLong();
    long jb = NativeRuntime.random("augment").nextLong();
    NativeRuntime.seed(42);
    assertEquals(a, torch.randn(1).item_float());
    assertEquals(ja, NativeRuntime.random("loader").nextLong());
    assertNotEquals(ja, jb, "streams with different purposes differ");
    assertEquals(42L, NativeRuntime.currentSeed().orElseThrow());
  }

  @Test
  void threadsAndDeterminismCanBeSet() {
    int before = NativeRuntime.threads();
    try {
      NativeRuntime.setThreads(1);
      assertEquals(1, NativeRuntime.threads());
      assertThrows(IllegalArgumentException.class, () -> NativeRuntime.setThreads(0));
    } finally {
      NativeRuntime.setThreads(before);
    }
    NativeRuntime.setDeterministic(true);
    assertTrue(NativeRuntime.isDeterministic());
    Tensor t = torch.ones(3);
    assertEquals(3f, t.sum().item_float());
    NativeRuntime.setDeterministic(false);
    assertFalse(NativeRuntime.isDeterministic());
  }
}
