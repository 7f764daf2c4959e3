package org.ssl4mis.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Options of one subcommand: declared with a default and a description, parsed from {@code --name value},
 * {@code --name=value} or a bare {@code --flag}. Names are the reference scripts' Python names
 * ({@code --max_iterations}); the kebab-case spelling ({@code --max-iterations}) is accepted too.
 */
public final class Options {
  private record Spec(String name, String defaultValue, String description, boolean flag) {}

  private final String command;
  private final Map<String, Spec> specs = new LinkedHashMap<>();
  private final Map<String, String> values = new LinkedHashMap<>();
  private final List<String> positional = new ArrayList<>();

  public Options(String command) {
    this.command = command;
  }

  /** Declares {@code --name VALUE} with a default (null: required unless given). */
  public Options option(String name, String defaultValue, String description) {
    specs.put(name, new Spec(name, defaultValue, description, false));
    return this;
  }

  /** Declares a boolean {@code --name} (false unless given; {@code --name=false} also works). */
  public Options flag(String name, String description) {
    specs.put(name, new Spec(name, "false", description, true));
    return this;
  }

  public Options parse(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        positional.add(a);
        continue;
      }
      String body = a.substring(2);
      String value = null;
      int eq = body.indexOf('=');
      if (eq >= 0) {
        value = body.substring(eq + 1);
        body = body.substring(0, eq);
      }
      String name = body.replace('-', '_');
      Spec spec = specs.get(name);
      if (spec == null) {
        throw new UsageException("unknown option --" + body + " for '" + command + "'",
            "ssl4mis " + command + " --help lists its options");
      }
      if (spec.flag()) {
        values.put(name, value == null ? "true" : checkBoolean(name, value));
      } else {
        if (value == null) {
          if (i + 1 >= args.size()) {
            throw new UsageException("option --" + body + " needs a value", "ssl4mis " + command + " --help");
          }
          value = args.get(++i);
        }
        values.put(name, value);
      }
    }
    return this;
  }

  public String get(String name) {
    Spec spec = spec(name);
    String v = values.getOrDefault(name, spec.defaultValue());
    if (v == null) {
      throw new UsageException("missing --" + name + " (" + spec.description() + ")", "ssl4mis " + command + " --help");
    }
    return v;
  }

  public boolean isSet(String name) {
    spec(name);
    return values.containsKey(name);
  }

  public int getInt(String name) {
    String v = get(name);
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " expects an integer, got '" + v + "'", "ssl4mis " + command + " --help");
    }
  }

  public long getLong(String name) {
    String v = get(name);
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " expects an integer, got '" + v + "'", "ssl4mis " + command + " --help");
    }
  }

  public double getDouble(String name) {
    String v = get(name);
    try {
      return Double.parseDouble(v.strip());
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " expects a number, got '" + v + "'", "ssl4mis " + command + " --help");
    }
  }

  public boolean getFlag(String name) {
    return Boolean.parseBoolean(get(name));
  }

  public List<String> positional() {
    return List.copyOf(positional);
  }

  /** One line per option: name, default, description. */
  public String help() {
    StringBuilder sb = new StringBuilder();
    for (Spec s : specs.values()) {
      String left = "  --" + s.name() + (s.flag() ? "" : " VALUE");
      sb.append(String.format(Locale.ROOT, "%-28s %s", left, s.description()));
      if (!s.flag() && s.defaultValue() != null) {
        sb.append(" (default: ").append(s.defaultValue()).append(')');
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private Spec spec(String name) {
    Spec s = specs.get(name);
    if (s == null) {
      throw new IllegalStateException("option --" + name + " was never declared for " + command);
    }
    return s;
  }

  private String checkBoolean(String name, String v) {
    String s = v.toLowerCase(Locale.ROOT);
    if (!s.equals("true") && !s.equals("false")) {
      throw new UsageException("--" + name + " is true or false, got '" + v + "'", "ssl4mis " + command + " --help");
    }
    return s;
  }
}
