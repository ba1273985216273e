using Kiln.Data;

namespace Kiln.Training;

/// <summary>
/// PSNR of an image-to-image network's outputs and, as the baseline they must beat, of its corrupted inputs against
/// the targets: the first target-channel-count channels of an input [C, H, W] are the corrupted image (noisy render,
/// image with holes, noisy digit). With a dataset's <see cref="IDataset.MaskChannel"/> (inpainting) both are also
/// measured over the missing pixels alone, where the network has to invent the content. PSNR = 10 log10(1 / MSE).
/// </summary>
internal sealed class ImageMetrics
{
    readonly int channels, plane, inputChannels;
    readonly int? maskChannel;
    double outSq, inSq, outMaskedSq, inMaskedSq;
    long count, maskedCount;

    ImageMetrics(int channels, int plane, int inputChannels, int? maskChannel) =>
        (this.channels, this.plane, this.inputChannels, this.maskChannel) = (channels, plane, inputChannels, maskChannel);

    /// <summary>The metrics for <paramref name="data"/>, or null when its inputs are not images with the targets' size.</summary>
    public static ImageMetrics? For(IDataset data)
    {
        Shape i = data.InputShape, t = data.TargetShape;
        if (i.Rank != 3 || t.Rank != 3 || i[1] != t[1] || i[2] != t[2] || i[0] < t[0]) return null;
        return new ImageMetrics(t[0], t[1] * t[2], i[0], data.MaskChannel is int m && m >= 0 && m < i[0] ? m : null);
    }

    /// <summary>Adds one example: its input, target and the network's output (shaped like the target).</summary>
    public void Add(ReadOnlySpan<float> input, ReadOnlySpan<float> target, ReadOnlySpan<float> output)
    {
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < plane; p++)
            {
                int k = c * plane + p;
                double dOut = output[k] - target[k], dIn = input[k] - target[k];
                outSq += dOut * dOut;
                inSq += dIn * dIn;
                if (maskChannel is int m && input[m * plane + p] > 0.5f)
                {
                    outMaskedSq += dOut * dOut;
                    inMaskedSq += dIn * dIn;
                    maskedCount++;
                }
            }
        count += (long)channels * plane;
    }

    static double? Psnr(double squared, long n) => n > 0 ? 10 * Math.Log10(n / squared) : null;

    public double? InputPsnrDb => Psnr(inSq, count);
    public double? MaskedPsnrDb => maskChannel != null ? Psnr(outMaskedSq, maskedCount) : null;
    public double? MaskedInputPsnrDb => maskChannel != null ? Psnr(inMaskedSq, maskedCount) : null;
}
