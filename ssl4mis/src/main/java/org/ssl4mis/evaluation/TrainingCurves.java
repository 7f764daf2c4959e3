package org.ssl4mis.evaluation;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.ssl4mis.train.tensorboard.EventFileReader;

/**
 * A PNG of a training run's curves: losses, learning rate, validation Dice and validation HD95 (and any other
 * scalar the run logged), one panel each, against the iteration.
 *
 * <p>The values come from the TensorBoard event files in {@code {snapshot}/log} (every scalar tag the trainer
 * writes: {@code loss/loss}, {@code info/lr}, {@code info/val_mean_dice}, ...); without event files, from the
 * {@code iteration N : name : value, ...} lines of {@code {snapshot}/log.txt} (which has no learning rate).
 * When a run was resumed, a step logged twice keeps its last value.
 */
public final class TrainingCurves {
  /** The picture's name in a snapshot folder unless told otherwise. */
  public static final String DEFAULT_FILE = "training_curves.png";

  private static final int PANEL_W = 520;
  private static final int PANEL_H = 300;
  private static final Color[] SERIES_COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
      new Color(214, 39, 40), new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194),
      new Color(127, 127, 127)};
  private static final String DICE_PANEL = "validation Dice";
  private static final Pattern LOG_LINE = Pattern.compile("iteration (\\d+) : (.*)");

  private TrainingCurves() {}

  /** One panel: a title and its series (tag to step-sorted points). */
  record Panel(String title, Map<String, TreeMap<Long, Double>> series) {}

  /**
   * Draws the curves of the run in {@code snapshotDir} into {@code snapshotDir/training_curves.png} (the call a
   * trainer makes at the end of a run).
   *
   * @return the picture
   */
  public static Path write(Path snapshotDir) throws IOException {
    Path png = snapshotDir.resolve(DEFAULT_FILE);
    write(snapshotDir, png);
    return png;
  }

  /**
   * Draws the curves of the run in {@code snapshotDir} into {@code png}.
   *
   * @return the tags drawn
   * @throws IOException when the folder has neither event files nor a {@code log.txt} with values
   */
  public static List<String> write(Path snapshotDir, Path png) throws IOException {
    Map<String, TreeMap<Long, Double>> scalars = read(snapshotDir);
    if (scalars.isEmpty()) {
      throw new IOException("no training values in " + snapshotDir + " (neither TensorBoard event files in log/ nor"
          + " 'iteration N : ...' lines in log.txt)");
    }
    List<Panel> panels = panels(scalars);
    draw(panels, snapshotDir.toAbsolutePath().normalize().toString(), png);
    return List.copyOf(scalars.keySet());
  }

  /** The scalars of a run, tag to step-sorted values: from the event files, else from log.txt. */
  static Map<String, TreeMap<Long, Double>> read(Path snapshotDir) throws IOException {
    if (!Files.isDirectory(snapshotDir)) {
      throw new IOException("no snapshot folder " + snapshotDir);
    }
    Map<String, TreeMap<Long, Double>> scalars = new TreeMap<>();
    Path logDir = snapshotDir.resolve("log");
    if (Files.isDirectory(logDir)) {
      for (Path file : EventFileReader.eventFiles(logDir)) {
        for (EventFileReader.Event e : EventFileReader.read(file).events()) {
          for (EventFileReader.Scalar s : e.scalars()) {
            scalars.computeIfAbsent(s.tag(), t -> new TreeMap<>()).put(e.step(), (double) s.value());
          }
        }
      }
    }
    Path logTxt = snapshotDir.resolve("log.txt");
    if (scalars.isEmpty() && Files.isRegularFile(logTxt)) {
      for (String line : Files.readAllLines(logTxt)) {
        Matcher m = LOG_LINE.matcher(line);
        if (!m.find()) {
          continue;
        }
        long step = Long.parseLong(m.group(1));
        // "loss : 0.5, loss_ce: 0.4, loss_dice: 0.6" or "mean_dice : 0.8 mean_hd95 : 3.1"
        Matcher kv = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*:\\s*(-?[0-9.]+(?:[eE][-+]?\\d+)?|nan|inf)").matcher(m.group(2));
        while (kv.find()) {
          double v = Double.parseDouble(kv.group(2).replace("inf", "Infinity").replace("nan", "NaN"));
          scalars.computeIfAbsent(kv.group(1), t -> new TreeMap<>()).put(step, v);
        }
      }
    }
    return scalars;
  }

  /** Tags grouped into panels: losses, learning rate, Dice, HD95, then the rest one panel each. */
  static List<Panel> panels(Map<String, TreeMap<Long, Double>> scalars) {
    Map<String, Map<String, TreeMap<Long, Double>>> groups = new LinkedHashMap<>();
    for (String title : List.of("losses", "learning rate", DICE_PANEL, "validation HD95")) {
      groups.put(title, new TreeMap<>());
    }
    for (Map.Entry<String, TreeMap<Long, Double>> e : scalars.entrySet()) {
      String tag = e.getKey();
      String name = tag.substring(tag.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
      String title = name.contains("hd95") ? "validation HD95"
          : name.contains("dice") && (name.contains("val") || name.contains("mean") || name.contains("score")) ? DICE_PANEL
          : name.contains("loss") ? "losses"
          : name.equals("lr") ? "learning rate"
          : tag;
      groups.computeIfAbsent(title, t -> new TreeMap<>()).put(tag, e.getValue());
    }
    List<Panel> panels = new ArrayList<>();
    groups.forEach((title, series) -> {
      if (!series.isEmpty()) {
        panels.add(new Panel(title, series));
      }
    });
    return panels;
  }

  private static void draw(List<Panel> panels, String subtitle, Path png) throws IOException {
    System.setProperty("java.awt.headless", "true");
    int columns = panels.size() == 1 ? 1 : 2;
    int rows = Math.ceilDiv(panels.size(), columns);
    int header = 30;
    BufferedImage image = new BufferedImage(columns * PANEL_W, header + rows * PANEL_H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, image.getWidth(), image.getHeight());
      g.setColor(Color.DARK_GRAY);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.drawString("training curves of " + subtitle, 10, 19);
      for (int i = 0; i < panels.size(); i++) {
        drawPanel(g, panels.get(i), (i % columns) * PANEL_W, header + (i / columns) * PANEL_H);
      }
    } finally {
      g.dispose();
    }
    if (png.toAbsolutePath().getParent() != null) {
      Files.createDirectories(png.toAbsolutePath().getParent());
    }
    if (!ImageIO.write(image, "png", png.toFile())) {
      throw new IOException("no PNG writer in this JDK for " + png);
    }
  }

  private static void drawPanel(Graphics2D g, Panel panel, int ox, int oy) {
    int left = ox + 62;
    int right = ox + PANEL_W - 16;
    int top = oy + 28;
    int bottom = oy + PANEL_H - 40;
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    for (TreeMap<Long, Double> s : panel.series().values()) {
      for (Map.Entry<Long, Double> p : s.entrySet()) {
        if (Double.isFinite(p.getValue())) {
          minX = Math.min(minX, p.getKey());
          maxX = Math.max(maxX, p.getKey());
          minY = Math.min(minY, p.getValue());
          maxY = Math.max(maxY, p.getValue());
        }
      }
    }
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
    g.setColor(Color.BLACK);
    g.drawString(panel.title(), left, oy + 18);
    if (minX > maxX) {
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.drawString("no finite values", left + 10, (top + bottom) / 2);
      return;
    }
    if (maxX == minX) {
      maxX = minX + 1;
    }
    if (panel.title().equals(DICE_PANEL)) {
      // Dice is read against its whole range
      minY = Math.min(minY, 0);
      maxY = Math.max(maxY, 1);
    } else if (maxY == minY) {
      double pad = maxY == 0 ? 1 : Math.abs(maxY) * 0.1;
      minY -= pad;
      maxY += pad;
    }
    double[] yTicks = ticks(minY, maxY, 5);
    double[] xTicks = ticks(minX, maxX, 5);
    minY = Math.min(minY, yTicks[0]);
    maxY = Math.max(maxY, yTicks[yTicks.length - 1]);
    final double x0 = minX;
    final double xSpan = maxX - minX;
    final double y0 = minY;
    final double ySpan = maxY - minY;
    java.util.function.DoubleUnaryOperator px = v -> left + (v - x0) / xSpan * (right - left);
    java.util.function.DoubleUnaryOperator py = v -> bottom - (v - y0) / ySpan * (bottom - top);

    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    FontMetrics fm = g.getFontMetrics();
    for (double t : yTicks) {
      int y = (int) Math.round(py.applyAsDouble(t));
      if (y < top - 1 || y > bottom + 1) {
        continue;
      }
      g.setColor(new Color(230, 230, 230));
      g.drawLine(left, y, right, y);
      g.setColor(Color.DARK_GRAY);
      String label = tickLabel(t, yTicks);
      g.drawString(label, left - 6 - fm.stringWidth(label), y + 4);
    }
    for (double t : xTicks) {
      int x = (int) Math.round(px.applyAsDouble(t));
      if (x < left - 1 || x > right + 1) {
        continue;
      }
      g.setColor(new Color(230, 230, 230));
      g.drawLine(x, top, x, bottom);
      g.setColor(Color.DARK_GRAY);
      String label = tickLabel(t, xTicks);
      g.drawString(label, x - fm.stringWidth(label) / 2, bottom + 15);
    }
    g.setColor(Color.GRAY);
    g.drawRect(left, top, right - left, bottom - top);
    g.setColor(Color.DARK_GRAY);
    g.drawString("iteration", (left + right) / 2 - fm.stringWidth("iteration") / 2, bottom + 30);

    int k = 0;
    int legendY = top + 14;
    java.awt.Shape clip = g.getClip();
    for (Map.Entry<String, TreeMap<Long, Double>> s : panel.series().entrySet()) {
      Color color = SERIES_COLORS[k++ % SERIES_COLORS.length];
      List<double[]> points = new ArrayList<>();
      s.getValue().forEach((step, v) -> {
        if (Double.isFinite(v)) {
          points.add(new double[] {step, v});
        }
      });
      g.setClip(left, top, right - left + 1, bottom - top + 1);
      boolean noisy = points.size() > 60;
      if (noisy) {
        // raw values faint, a moving average on top (TensorBoard's smoothing shows the same trend)
        g.setColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 60));
        g.setStroke(new BasicStroke(1f));
        g.draw(line(points, px, py));
        g.setColor(color);
        g.setStroke(new BasicStroke(1.8f));
        g.draw(line(movingAverage(points, Math.max(3, points.size() / 50)), px, py));
      } else {
        g.setColor(color);
        g.setStroke(new BasicStroke(1.8f));
        g.draw(line(points, px, py));
        for (double[] p : points) {
          g.fillOval((int) Math.round(px.applyAsDouble(p[0])) - 3, (int) Math.round(py.applyAsDouble(p[1])) - 3, 6, 6);
        }
      }
      g.setClip(clip);
      g.setStroke(new BasicStroke(1f));
      String label = s.getKey() + (points.isEmpty() ? "" : String.format(Locale.ROOT, " (last %.4g)", points.getLast()[1]));
      g.setColor(new Color(255, 255, 255, 210));
      g.fillRect(right - 8 - fm.stringWidth(label) - 22, legendY - 11, fm.stringWidth(label) + 26, 15);
      g.setColor(color);
      g.fillRect(right - 8 - fm.stringWidth(label) - 18, legendY - 6, 12, 4);
      g.setColor(Color.DARK_GRAY);
      g.drawString(label, right - 4 - fm.stringWidth(label), legendY);
      legendY += 15;
    }
  }

  private static Path2D line(List<double[]> points, java.util.function.DoubleUnaryOperator px,
      java.util.function.DoubleUnaryOperator py) {
    Path2D.Double path = new Path2D.Double();
    boolean first = true;
    for (double[] p : points) {
      double x = px.applyAsDouble(p[0]);
      double y = py.applyAsDouble(p[1]);
      if (first) {
        path.moveTo(x, y);
        first = false;
      } else {
        path.lineTo(x, y);
      }
    }
    return path;
  }

  /** Centred moving average over {@code window} points (shorter at the ends). */
  static List<double[]> movingAverage(List<double[]> points, int window) {
    List<double[]> out = new ArrayList<>(points.size());
    int half = window / 2;
    for (int i = 0; i < points.size(); i++) {
      int from = Math.max(0, i - half);
      int to = Math.min(points.size() - 1, i + half);
      double sum = 0;
      for (int j = from; j <= to; j++) {
        sum += points.get(j)[1];
      }
      out.add(new double[] {points.get(i)[0], sum / (to - from + 1)});
    }
    return out;
  }

  /** About {@code n} round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
  static double[] ticks(double lo, double hi, int n) {
    double raw = (hi - lo) / n;
    double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    double step = magnitude;
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * magnitude >= raw) {
        step = m * magnitude;
        break;
      }
    }
    double start = Math.floor(lo / step) * step;
    double end = Math.ceil(hi / step) * step;
    int count = (int) Math.round((end - start) / step) + 1;
    double[] out = new double[count];
    for (int i = 0; i < count; i++) {
      out[i] = start + i * step;
    }
    return out;
  }

  private static String tickLabel(double v, double[] ticks) {
    double step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
    if (Math.abs(v) < step * 1e-9) {
      return "0";
    }
    if (step >= 1 && Math.abs(v) < 1e6) {
      return String.format(Locale.ROOT, "%d", Math.round(v));
    }
    if (step < 1e-3 || Math.abs(v) >= 1e6) {
      return String.format(Locale.ROOT, "%.1e", v);
    }
    int decimals = (int) Math.ceil(-Math.log10(step) - 1e-9);
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }
}
