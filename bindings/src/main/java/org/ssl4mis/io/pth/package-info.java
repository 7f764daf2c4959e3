/**
 * Pure-Java reading and writing of PyTorch {@code .pth} checkpoints ({@code torch.save} files), without
 * libtorch.
 *
 * <p>libtorch's own pickle loader cannot read real {@code torch.save(model.state_dict())} files (it fails
 * on the OrderedDict's {@code _metadata}), so the project reads the format itself: {@link
 * org.ssl4mis.io.pth.PthReader} parses the zip and legacy formats with a restricted unpickler that accepts
 * only what {@code torch.load(weights_only=True)} accepts, and {@link org.ssl4mis.io.pth.PthWriter} writes
 * files {@code torch.load} reads back. Tensors come out as {@link org.ssl4mis.io.pth.RawTensor}: dtype,
 * shape, strides and little-endian bytes, ready to be copied into libtorch or anywhere else.
 */
package org.ssl4mis.io.pth;
