/**
 * FixMatch's augmentations as SSL4MIS's {@code train_fixmatch_cta.py} and {@code train_fixmatch_standard_augs.py}
 * use them, on 2-D slices.
 *
 * <ul>
 *   <li>{@link org.ssl4mis.data.fixmatch.Pil}: the Pillow 9.4 operations behind CTAugment on 8-bit grayscale
 *       images ({@link org.ssl4mis.data.fixmatch.GrayImage}), bit-equal to Pillow.</li>
 *   <li>{@link org.ssl4mis.data.fixmatch.CtaOp}: {@code ctaugment.py}'s op table, argument bins and the mapping
 *       of arguments to Pillow calls.</li>
 *   <li>{@link org.ssl4mis.data.fixmatch.CTAugment}: the policy object (rates, {@code policy},
 *       {@code update_rates}, {@code stats}).</li>
 *   <li>{@link org.ssl4mis.data.fixmatch.CTATransform} and
 *       {@link org.ssl4mis.data.fixmatch.WeakStrongAugment}: the two dataset transforms, producing
 *       {@link org.ssl4mis.data.fixmatch.FixMatchSample}s; {@link org.ssl4mis.data.fixmatch.ColorJitter} is
 *       torchvision's jitter for the latter.</li>
 * </ul>
 *
 * <p>Randomness comes from one {@link java.util.SplittableRandom} per call, drawn in the reference's order; the
 * streams are Java's, not Python's, NumPy's or PyTorch's, so the same seed does not give the reference's draws,
 * but given the draws (op choices, arguments, factors, positions) the results are the reference's.
 */
package org.ssl4mis.data.fixmatch;
