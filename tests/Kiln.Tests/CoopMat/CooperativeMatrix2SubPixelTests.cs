using Kiln.Graph;
using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The sub-pixel decoder convolution (<see cref="Conv2dCoopMat2SubPixel"/>, conv2d.fwd_coopmat2's .subpixel variant): a
/// 3x3 conv (and ReLU) over Concat(Upsample(a, 2x), b), either order, at Fp16 with it named, computes each output phase
/// from a's 2x2 taps with summed weights. Its output agrees with the unfused plan's at Fp32 (the plain kernels over the
/// written upsample and concatenation: an independent path) within <see cref="Tolerances.F16Storage"/> of the largest
/// value, in both layouts, for channel counts off the reduction step, Cout off the channel tile, odd small sizes (every
/// edge of every phase), images that meet inside a pixel tile. On Mesa 26's lavapipe this is its .subgroup form.
/// </summary>
public sealed class CooperativeMatrix2SubPixelTests : CooperativeMatrixTest
{
    [SetUp]
    public void RequireCooperativeMatrix2()
    {
        if (Context.KernelDevice.CooperativeMatrix2) return;
        Assert.Fail($"{Context.Info.Name} has no VK_NV_cooperative_matrix2: tools/coopmat-lavapipe.sh test runs these tests on Mesa 26's lavapipe.");
    }

    static string Form => Context.KernelDevice.CooperativeMatrix2WorkgroupScope ? "" : ".subgroup";

    [TestCaseSource(typeof(TensorCoreSubPixelChecks), nameof(TensorCoreSubPixelChecks.DecoderShapes))]
    public void Decoder_MatchesTheUnfusedF32Plan(int lowChannels, int skipChannels, int cout, bool upFirst, int n, int h, int w) =>
        TensorCoreSubPixelChecks.DecoderMatchesTheUnfusedF32Plan(
            layout => layout == TensorLayout.Nhwc ? nameof(Conv2dCoopMat2SubPixelNhwc) : nameof(Conv2dCoopMat2SubPixel),
            layout => $"conv2d/conv2d.fwd_coopmat2{Form}{(layout == TensorLayout.Nhwc ? ".nhwc" : "")}.subpixel.f16",
            lowChannels, skipChannels, cout, upFirst, n, h, w);

    /// <summary>
    /// Where the layer is not a decoder's 3x3 over a 2x upsample (a 3x upsample, a 5x5 kernel, both inputs upsampled) the
    /// entry offers nothing, and the same names run the .concat kernel.
    /// </summary>
    [TestCaseSource(typeof(TensorCoreSubPixelChecks), nameof(TensorCoreSubPixelChecks.OtherShapes))]
    public void OtherShapes_TakeTheConcatKernel(int firstScale, int secondScale, int kernel) =>
        TensorCoreSubPixelChecks.OtherShapesTakeTheConcatKernel(Context.KernelDevice, new[] { nameof(Conv2dCoopMat2SubPixel), nameof(Conv2dCoopMat2) },
            $"conv2d/conv2d.fwd_coopmat2{Form}.concat.f16", firstScale, secondScale, kernel);

    /// <summary>
    /// In a training plan the forward runs by phase too; the gradients see its output, and loss and gradients agree with
    /// the unfused Fp32 plan within the f16 tolerance.
    /// </summary>
    [Test]
    public void Training_ForwardByPhase_MatchesTheUnfusedF32Plan() =>
        TensorCoreSubPixelChecks.TrainingForwardByPhaseMatchesTheUnfusedF32Plan(
            string.Join(",", nameof(Conv2dCoopMat2SubPixel), nameof(Conv2dCoopMat2), nameof(Conv2dWeightGradCoopMat2)),
            $"conv2d/conv2d.fwd_coopmat2{Form}.subpixel.f16");
}
