package org.ssl4mis.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    out.reset();
    err.reset();
    return new Main().run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void usageAndExitCodes() {
    assertEquals(2, run());
    assertTrue(out().contains("demo") && out().contains("doctor"));
    assertEquals(0, run("--help"));
    assertEquals(2, run("nonsense"));
    assertTrue(err().contains("unknown command 'nonsense'"), err());
    assertEquals(0, run("demo", "--help"));
    assertTrue(out().contains("--max_iterations") && out().contains("(default: 200)"), out());
  }

  @Test
  void everyCommandHasHelpWithDefaultsAndRejectsABadOptionInOneLine() {
    java.util.Set<String> names = new Main().commandNames();
    assertTrue(names.containsAll(java.util.List.of("train", "test", "prepare", "synth", "check-data", "ckpt", "parity", "demo",
        "doctor", "curves")), names.toString());
    for (String name : names) {
      assertEquals(0, run(name, "--help"), name);
      assertTrue(out().startsWith("usage: ssl4mis " + name), out());
      assertTrue(out().contains("--verbose"), name + ": " + out());
      if (out().contains(" VALUE ")) {
        assertTrue(out().contains("(default: "), name + " shows the defaults of its options: " + out());
      }
      assertEquals(2, run(name, "--no_such_option", "x"), name);
      String[] lines = err().strip().split("\n");
      assertEquals(2, lines.length, name + ": " + err());
      assertEquals("ssl4mis " + name + ": unknown option --no_such_option for '" + name + "'", lines[0]);
      assertTrue(lines[1].startsWith("hint: ssl4mis " + name + " --help"), lines[1]);
      assertFalse(err().contains("\tat "), "no stack trace without --verbose");
    }
  }

  @Test
  void failuresAreOneLineWithAHintAndAStackTraceOnlyWhenVerbose() {
    assertEquals(1, run("curves", "/no/such/snapshot"));
    String[] lines = err().strip().split("\n");
    assertEquals(2, lines.length, err());
    assertTrue(lines[0].startsWith("ssl4mis curves: no snapshot folder"), err());
    assertTrue(lines[1].startsWith("hint: "), err());
    assertEquals(1, run("curves", "/no/such/snapshot", "--verbose"));
    assertTrue(err().contains("\tat org.ssl4mis.cli.CurvesCommand"), err());
    assertEquals(2, run("curves"));
  }

  @Test
  void badOptionsAreOneLineWithAHint() {
    assertEquals(2, run("demo", "--max_iterations", "many"));
    String[] lines = err().strip().split("\n");
    assertEquals(2, lines.length, err());
    assertTrue(lines[0].contains("--max_iterations expects an integer, got 'many'"), err());
    assertTrue(lines[1].startsWith("hint: "));
    assertEquals(2, run("demo", "--no-such-option"));
    assertEquals(2, run("demo", "--cases", "3"));
    assertTrue(err().contains("--cases must be at least 6"), err());
    assertEquals(2, run("demo", "--max-iterations"), "kebab-case aliases work");
    assertTrue(err().contains("needs a value"), err());
  }

  @Test
  void trainRefusesABadValidationSize() {
    assertEquals(2, run("train", "--val_patch_size", "64"));
    assertTrue(err().contains("--val_patch_size expects H,W (two positive integers), got '64'"), err());
    assertEquals(2, run("train", "--val_patch_size", "64,0"));
  }

  @Test
  void doctorPrintsTheRuntime() {
    assertEquals(0, run("doctor"));
    assertTrue(out().contains("libtorch   2.10.0"), out());
    assertTrue(out().contains("hdf5       1.14.3"), out());
  }

  @Test
  void demoTrainsEvaluatesAndSaysWhereEverythingIs(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    assertEquals(0, run("demo", "--out", dir.toString(), "--cases", "6", "--max_iterations", "20", "--batch_size", "4",
        "--patch_size", "64,64", "--quiet"));
    String text = out();
    assertTrue(text.contains("trained 20 iterations"), text);
    assertTrue(text.contains("testing on") && text.contains("Myo"), text);
    assertTrue(text.contains("checkpoint") && text.contains("tensorboard") && text.contains("pictures"), text);
    java.nio.file.Path model = dir.resolve("model/ACDC/Uncertainty_Aware_Mean_Teacher_7_labeled");
    assertTrue(java.nio.file.Files.isRegularFile(model.resolve("unet/training_curves.png")), text);
    assertTrue(java.nio.file.Files.isRegularFile(model.resolve("unet_predictions/metrics.csv")), text);
    try (var files = java.nio.file.Files.list(model.resolve("unet_predictions"))) {
      assertEquals(2, files.filter(f -> f.toString().endsWith("_overlay.png")).count(), "a picture per test case");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void ckptInspectsAndConvertsBothWays(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path unet = org.ssl4mis.testing.SharedData.parity().resolve("UNet.pth");
    assertEquals(0, run("ckpt", "inspect", unet.toString()));
    assertTrue(out().contains("tensors        136"), out());
    assertTrue(out().contains("1,816,726"), out());
    assertTrue(out().contains("encoder.in_conv.conv_conv.0.weight") && out().contains("[16, 1, 3, 3]"), out());
    java.nio.file.Path st = dir.resolve("unet.safetensors");
    assertEquals(0, run("ckpt", "convert", unet.toString(), st.toString()));
    assertTrue(out().contains("136 tensors") && out().contains("_metadata kept"), out());
    assertEquals(0, run("ckpt", "inspect", st.toString(), "--json"));
    var json = (java.util.Map<?, ?>) org.ssl4mis.io.json.Json.parseDocument(out());
    assertEquals(136L, json.get("tensors"));
    assertEquals("safetensors", json.get("format"));
    java.nio.file.Path back = dir.resolve("back.pth");
    assertEquals(0, run("ckpt", "convert", st.toString(), back.toString()));
    assertEquals(2, run("ckpt", "convert", unet.toString(), dir.resolve("x.txt").toString()));
    assertTrue(err().contains("unknown checkpoint extension"), err());
    assertEquals(2, run("ckpt", "inspect", dir.resolve("missing.pth").toString()));
    java.nio.file.Path bad = dir.resolve("bad.pth");
    java.nio.file.Files.writeString(bad, "garbage");
    assertEquals(1, run("ckpt", "inspect", bad.toString()));
    assertTrue(err().strip().split("\n")[0].contains(bad.toString()), err());
  }

  @Test
  void parityChecksAFixtureFolder() {
    assertEquals(0, run("parity", org.ssl4mis.testing.SharedData.parity().toString()), () -> out() + err());
    assertTrue(out().contains("VNet") && out().contains("PASS"), out());
    assertTrue(out().contains("13 of 13 network fixtures pass"), out());
    assertEquals(2, run("parity", "/no/such/folder"));
  }
}
