/**
 * Pure-Java reading and writing of <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * files, and conversion of state dicts between them and PyTorch {@code .pth} checkpoints.
 *
 * <p>{@link org.ssl4mis.io.safetensors.Safetensors} reads and writes the format (with a small strict JSON
 * codec of its own for the header; the project has no JSON library), checking every declared size and offset
 * against the file; {@link org.ssl4mis.io.safetensors.CheckpointConversion} converts with
 * {@link org.ssl4mis.io.pth.PthReader} and {@link org.ssl4mis.io.pth.PthWriter}. Tensors are
 * {@link org.ssl4mis.io.pth.RawTensor}s, and malformed input gives
 * {@link org.ssl4mis.io.pth.CheckpointFormatException}, as for {@code .pth} files.
 */
package org.ssl4mis.io.safetensors;
