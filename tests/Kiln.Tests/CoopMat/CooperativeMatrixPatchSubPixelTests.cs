using Kiln.Graph;
using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The sub-pixel decoder convolution on KHR cooperative matrices (<see cref="Conv2dCoopMatPatchSubPixel"/>,
/// conv2d.fwd_coopmat_patch's .subpixel variant): a 3x3 conv (and ReLU) over Concat(Upsample(a, 2x), b), either order,
/// at Fp16 with it named, stages a's patch at its own resolution for each phase's 2x2 taps and b's stride-2 patch for its
/// 3x3. Its output agrees with the unfused plan's at Fp32 (the plain kernels over the written upsample and
/// concatenation: an independent path) within <see cref="Tolerances.F16Storage"/> of the largest value, in both layouts,
/// for channel counts off the reduction step (and a's wider or narrower than b's), Cout off the channel tile, odd small
/// sizes (every edge of every phase), several pixel tiles and images.
/// </summary>
public sealed class CooperativeMatrixPatchSubPixelTests : CooperativeMatrixTest
{
    [TestCaseSource(typeof(TensorCoreSubPixelChecks), nameof(TensorCoreSubPixelChecks.DecoderShapes))]
    public void Decoder_MatchesTheUnfusedF32Plan(int lowChannels, int skipChannels, int cout, bool upFirst, int n, int h, int w) =>
        TensorCoreSubPixelChecks.DecoderMatchesTheUnfusedF32Plan(
            layout => layout == TensorLayout.Nhwc ? nameof(Conv2dCoopMatPatchSubPixelNhwc) : nameof(Conv2dCoopMatPatchSubPixel),
            layout => $"conv2d/conv2d.fwd_coopmat_patch{(layout == TensorLayout.Nhwc ? ".nhwc" : "")}.subpixel.f16",
            lowChannels, skipChannels, cout, upFirst, n, h, w);

    /// <summary>
    /// Where the layer is not a decoder's 3x3 over a 2x upsample (a 3x upsample, a 5x5 kernel, both inputs upsampled) the
    /// entry offers nothing, and the same names run the patch kernel's .concat variant.
    /// </summary>
    [TestCaseSource(typeof(TensorCoreSubPixelChecks), nameof(TensorCoreSubPixelChecks.OtherShapes))]
    public void OtherShapes_TakeTheConcatKernel(int firstScale, int secondScale, int kernel) =>
        TensorCoreSubPixelChecks.OtherShapesTakeTheConcatKernel(Context.KernelDevice, new[] { nameof(Conv2dCoopMatPatchSubPixel), nameof(Conv2dCoopMatPatch) },
            "conv2d/conv2d.fwd_coopmat_patch.concat.f16", firstScale, secondScale, kernel);

    /// <summary>
    /// The sub-pixel weight gradient's 4x4 stride-2 convolution (<see cref="SubPixelGradients.EmitWeight"/>) on the patch
    /// weight-gradient kernel, in two blocks of 2x4 taps: a training step's loss and gradients agree with the unfused Fp32
    /// plan within the f16 tolerance, a's channels on and off the 16-channel tile, with a split over the pixels.
    /// </summary>
    [TestCase(16, 8, 2, 6, 7, false)]
    [TestCase(20, 12, 2, 12, 20, true)]
    public void Training_SubPixelWeightGradientInTapBlocks_MatchesTheUnfusedF32Plan(int lowChannels, int skipChannels, int n, int h, int w, bool split)
    {
        var net = SubPixelConvTests.Decoder(lowChannels, skipChannels, 24, true, out var y);
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape>
        {
            ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, 2 * h, 2 * w), ["target"] = new(n, 24, 2 * h, 2 * w),
        };
        var fused = Graph.ConcatConvFusionTests.Train(net, shapes, true, Precision.Fp16,
            string.Join(",", nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch)), out var plan);
        var f32 = Graph.ConcatConvFusionTests.Train(net, shapes, false, Precision.Fp32, null, out _);
        var low = plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/conv2d.bwd_weight", StringComparison.Ordinal) && d.Label.EndsWith(".low", StringComparison.Ordinal)).ToList();
        Assert.That(low.Select(d => d.Kernel), Is.EqualTo(new[] { "conv2d/conv2d.bwd_weight_coopmat_patch.f16" }),
            string.Join(", ", plan.Dispatches.Select(d => $"{d.Label}:{d.Kernel}")));
        Assert.That(low[0].Groups, Does.EndWith(split ? "x4" : "x2"), "two tap blocks, by two splits where the pixels split");
        Assert.That(plan.Dispatches.Any(d => d.Label == "conv.bwd_weight.low.sum"), Is.EqualTo(split));
        foreach (var (name, values) in f32) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }

    /// <summary>
    /// In a training plan the forward runs by phase too, beside the sub-pixel gradients; loss and gradients agree with the
    /// unfused Fp32 plan within the f16 tolerance.
    /// </summary>
    [Test]
    public void Training_ForwardByPhase_MatchesTheUnfusedF32Plan() =>
        TensorCoreSubPixelChecks.TrainingForwardByPhaseMatchesTheUnfusedF32Plan(
            string.Join(",", nameof(Conv2dCoopMatPatchSubPixel), nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch)),
            "conv2d/conv2d.fwd_coopmat_patch.subpixel.f16");
}
