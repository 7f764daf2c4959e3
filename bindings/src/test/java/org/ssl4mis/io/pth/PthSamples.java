package org.ssl4mis.io.pth;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.ssl4mis.tensor.DType;

/** Checkpoint trees built in Java for the tests, and a writer of the legacy format (which Java never writes). */
final class PthSamples {
  private PthSamples() {
  }

  /** A contiguous tensor of seeded random, valid values of {@code dtype}. */
  static RawTensor randomTensor(DType dtype, Random random, long... shape) {
    long count = 1;
    for (long s : shape) {
      count *= s;
    }
    ByteBuffer bytes = ByteBuffer.allocate((int) count * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    for (long i = 0; i < count; i++) {
      switch (dtype) {
        case FLOAT32 -> bytes.putFloat((float) random.nextGaussian());
        case FLOAT64 -> bytes.putDouble(random.nextGaussian());
        case FLOAT16 -> bytes.putShort(Float.floatToFloat16((float) random.nextGaussian()));
        case BFLOAT16 -> bytes.putShort((short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16));
        case UINT8, INT8 -> bytes.put((byte) random.nextInt());
        case INT16 -> bytes.putShort((short) random.nextInt());
        case INT32 -> bytes.putInt(random.nextInt());
        case INT64 -> bytes.putLong(random.nextLong());
        case BOOL -> bytes.put((byte) (random.nextBoolean() ? 1 : 0));
      }
    }
    return RawTensor.of(dtype, shape, bytes.array());
  }

  /** Every dtype as a 3x5 matrix, a 0-dim scalar and an empty 0x4 tensor. */
  static PyOrderedDict allDtypes() {
    Random random = new Random(11);
    PyOrderedDict dict = new PyOrderedDict();
    for (DType d : DType.values()) {
      dict.put(d.pythonName(), randomTensor(d, random, 3, 5));
      dict.put(d.pythonName() + "_scalar", randomTensor(d, random));
      dict.put(d.pythonName() + "_empty", randomTensor(d, random, 0, 4));
    }
    return dict;
  }

  /** Views sharing storages: t, t[1:, ::2], t.t(), a row, an element, an expanded vector, 3-d permutations. */
  static PyOrderedDict views() {
    Random random = new Random(12);
    RawTensor t = randomTensor(DType.FLOAT32, random, 4, 6);
    StorageRef s = t.storage();
    RawTensor cube = randomTensor(DType.INT64, random, 3, 4, 5);
    StorageRef c = cube.storage();
    RawTensor vector = randomTensor(DType.FLOAT64, random, 3);
    PyOrderedDict dict = new PyOrderedDict();
    dict.put("t", t);
    dict.put("rows_from_1_every_2nd_col", new RawTensor(s, new long[] {3, 3}, new long[] {6, 2}, 6, false, false));
    dict.put("transposed", new RawTensor(s, new long[] {6, 4}, new long[] {1, 6}, 0, false, false));
    dict.put("row", new RawTensor(s, new long[] {6}, new long[] {1}, 12, false, false));
    dict.put("element", new RawTensor(s, new long[] {}, new long[] {}, 9, false, false));
    dict.put("expanded", new RawTensor(vector.storage(), new long[] {4, 3}, new long[] {0, 1}, 0, false, false));
    dict.put("cube", cube);
    dict.put("permuted", new RawTensor(c, new long[] {5, 3, 4}, new long[] {1, 20, 5}, 0, false, false));
    dict.put("narrowed", new RawTensor(c, new long[] {3, 2, 3}, new long[] {20, 5, 1}, 7, false, false));
    dict.put("same_tensor_again", t);
    return dict;
  }

  /** A module state dict with {@code _metadata}, as {@code model.state_dict()} returns it. No floats. */
  static PyOrderedDict stateDict(long seed) {
    Random random = new Random(seed);
    PyOrderedDict sd = new PyOrderedDict();
    sd.put("conv.weight", randomTensor(DType.FLOAT32, random, 4, 1, 3, 3));
    sd.put("conv.bias", randomTensor(DType.FLOAT32, random, 4));
    sd.put("bn.weight", randomTensor(DType.FLOAT32, random, 4));
    sd.put("bn.bias", randomTensor(DType.FLOAT32, random, 4));
    sd.put("bn.running_mean", randomTensor(DType.FLOAT32, random, 4));
    sd.put("bn.running_var", randomTensor(DType.FLOAT32, random, 4));
    sd.put("bn.num_batches_tracked", RawTensor.of(DType.INT64, new long[] {},
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(7).array()));
    PyOrderedDict metadata = new PyOrderedDict();
    metadata.put("", mapOf("version", 1L));
    metadata.put("conv", mapOf("version", 1L));
    metadata.put("bn", mapOf("version", 2L));
    sd.setMetadata(metadata);
    return sd;
  }

  /** A training checkpoint: model, parameters, optimizer state with int keys, epoch and arguments. */
  static Map<Object, Object> nested() {
    Random random = new Random(13);
    PyOrderedDict model = stateDict(14);
    PyOrderedDict parameters = new PyOrderedDict();
    parameters.put("conv.weight", ((RawTensor) model.get("conv.weight")).withFlags(true, true));
    parameters.put("frozen", randomTensor(DType.FLOAT32, random, 2).withFlags(false, true));
    Map<Object, Object> state = new LinkedHashMap<>();
    state.put(0L, mapOf("momentum_buffer", randomTensor(DType.FLOAT32, random, 4, 1, 3, 3)));
    state.put(1L, mapOf("momentum_buffer", randomTensor(DType.FLOAT32, random, 4)));
    Map<Object, Object> group = new LinkedHashMap<>();
    group.put("lr", 0.01);
    group.put("momentum", 0.9);
    group.put("nesterov", false);
    group.put("params", new ArrayList<>(List.of(0L, 1L)));
    Map<Object, Object> optimizer = new LinkedHashMap<>();
    optimizer.put("state", state);
    optimizer.put("param_groups", new ArrayList<>(List.of(group)));
    Map<Object, Object> args = new LinkedHashMap<>();
    args.put("name", "unet \u00e9\u6f22 \ud83d\ude00");
    args.put("flags", PyTuple.of(true, false, null));
    args.put("big", BigInteger.TWO.pow(70));
    args.put("negative_big", BigInteger.TWO.pow(65).negate().add(BigInteger.ONE));
    args.put("negative", -5L);
    args.put("int32_min", (long) Integer.MIN_VALUE);
    args.put("int64_max", Long.MAX_VALUE);
    args.put("int64_min", Long.MIN_VALUE);
    args.put("bytes", new byte[] {0, -1, 'a', 'b', 'c'});
    args.put("empty_bytes", new byte[0]);
    args.put("dtype", DType.BFLOAT16);
    args.put("nested", new ArrayList<>(List.of(new ArrayList<>(List.of(1L, PyTuple.of(2L, 3.5))),
        new LinkedHashMap<>())));
    args.put("empty", PyTuple.of(PyTuple.of(), new ArrayList<>(), new LinkedHashMap<>()));
    args.put("float_specials", new ArrayList<>(List.of(Double.POSITIVE_INFINITY, -0.0, 1e-300, Double.NaN)));
    args.put("long_tuple", PyTuple.of(1L, 2L, 3L, 4L, 5L));
    List<Object> many = new ArrayList<>();
    for (long i = 0; i < 2500; i++) {
      many.add(i * 1000);
    }
    args.put("batched_list", many);
    Map<Object, Object> checkpoint = new LinkedHashMap<>();
    checkpoint.put("model", model);
    checkpoint.put("parameters", parameters);
    checkpoint.put("optimizer", optimizer);
    checkpoint.put("epoch", 3L);
    checkpoint.put("args", args);
    checkpoint.put(7L, "int key");
    checkpoint.put(PyTuple.of(1L, "a"), "tuple key");
    checkpoint.put("storage_alone", randomTensor(DType.INT16, random, 3).storage());
    return checkpoint;
  }

  static Map<Object, Object> mapOf(Object... keysAndValues) {
    Map<Object, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }

  /** The tree as a legacy ({@code _use_new_zipfile_serialization=False}) file, laid out as PyTorch does. */
  static byte[] legacyBytes(Object root) {
    PickleWriter.Result main = PickleWriter.write(root);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] magic = {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
        (byte) 0xa8, 0x50, 0x19, '.'};
    out.writeBytes(magic);
    out.writeBytes(new byte[] {(byte) 0x80, 2, 'M', (byte) 0xe9, 0x03, '.'});
    out.writeBytes(PickleWriter.write(mapOf("protocol_version", 1001L, "little_endian", true, "type_sizes",
        mapOf("short", 2L, "int", 4L, "long", 4L))).pickle());
    out.writeBytes(main.pickle());
    List<Object> keys = new ArrayList<>();
    for (int i = 0; i < main.storages().size(); i++) {
      keys.add(String.valueOf(i));
    }
    out.writeBytes(PickleWriter.write(keys).pickle());
    for (StorageRef storage : main.storages()) {
      out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(storage.numel()).array());
      out.writeBytes(storage.toByteArray());
    }
    return out.toByteArray();
  }

  /** A zip checkpoint whose data.pkl is {@code pickle} and whose storages are the given entries. */
  static byte[] zipWithPickle(String archive, byte[] pickle, Map<String, byte[]> storages) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try {
      ZipWriter zip = new ZipWriter(java.nio.channels.Channels.newChannel(bytes), false);
      zip.add(archive + "/data.pkl", pickle);
      for (Map.Entry<String, byte[]> e : storages.entrySet()) {
        zip.add(archive + "/data/" + e.getKey(), MemorySegment.ofArray(e.getValue()));
      }
      zip.add(archive + "/version", "3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      zip.finish();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    return bytes.toByteArray();
  }
}
