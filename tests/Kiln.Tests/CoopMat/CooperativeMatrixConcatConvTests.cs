using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// The tensor-core patch convolution reading a concatenation (conv2d.fwd_coopmat_patch.concat, <see cref="ConcatConv2d"/>)
/// where the device has fp16 cooperative matrices: an inference plan's decoder-like conv over Concat(Upsample(a), b) at
/// Fp16 with <see cref="Conv2dCoopMatPatch"/> named is bit-identical to the unfused plan (the same kernel reading the
/// written concatenation: the same values staged) and within <see cref="Tolerances.F16Storage"/> of the Fp32 run. Channel
/// counts that are not multiples of the 16-channel step, the concatenation's seam inside a step, edge tiles. In a training
/// plan the tensor-core weight gradient reads both inputs too (conv2d.bwd_weight_coopmat_patch.concat, and for a layer
/// past the patch kernels' span the im2col kernels' .concat), bit for bit the unfused plan's gradients.
/// </summary>
public sealed class CooperativeMatrixConcatConvTests : CooperativeMatrixTest
{
    static float[] Run(int lowChannels, int skipChannels, int scale, bool upFirst, bool fuse, Precision precision, out string[] kernels)
    {
        const int n = 2, h = 5, w = 7;
        var net = new Network();
        var up = net.Add(new Upsample(scale), "up", net.Input("a"));
        var b = net.Input("b");
        var cat = upFirst ? net.Add(new Concat(), "cat", up, b) : net.Add(new Concat(), "cat", b, up);
        net.Output(net.Add(new Conv2d(lowChannels + skipChannels, 24, 3, padding: 1), "conv", cat), "y");
        var shapes = new Dictionary<string, Shape> { ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, h * scale, w * scale) };
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Fuse = fuse, Precision = precision, TexelReads = false, PreferKernels = new[] { nameof(Conv2dCoopMatPatch) },
        });
        int seed = 1;
        foreach (var (name, shape) in shapes) c.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++).Select(v => (float)v).ToArray());
        foreach (var (_, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.3, 0.3).Select(v => (float)v).ToArray());
        c.Run();
        kernels = c.Plan.Dispatches.Select(d => d.Kernel).ToArray();
        return c.GetOutput("y");
    }

    [TestCase(20, 9, 2, true)]
    [TestCase(9, 20, 2, false)]
    [TestCase(16, 16, 3, true)]
    public void FusedPatchConv_MatchesTheUnfusedPlan_AndF32(int lowChannels, int skipChannels, int scale, bool upFirst)
    {
        var fused = Run(lowChannels, skipChannels, scale, upFirst, true, Precision.Fp16, out var kernels);
        var plain = Run(lowChannels, skipChannels, scale, upFirst, false, Precision.Fp16, out var plainKernels);
        var f32 = Run(lowChannels, skipChannels, scale, upFirst, true, Precision.Fp32, out _);
        Assert.That(kernels.Where(k => k.StartsWith("conv2d/conv2d.fwd")), Is.EqualTo(new[] { "conv2d/conv2d.fwd_coopmat_patch.concat.f16" }),
            string.Join(", ", kernels));
        Assert.That(kernels.Where(k => k.StartsWith("upsample/") || k.StartsWith("concat/")), Is.Empty);
        Assert.That(plainKernels, Does.Contain("conv2d/conv2d.fwd_coopmat_patch.f16"));
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
        F16StorageCheck.Close(fused, f32, Tolerances.F16Storage, "against f32");
    }

    /// <summary>The tensor-core kernel families a training plan's concat-reading conv runs with, named: the patch kernels
    /// (3x3), and the im2col ones (a 7x7 layer, past the patch kernels' span).</summary>
    static IEnumerable<TestCaseData> TrainingCases()
    {
        string[] patch = { nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch) }, im2col = { nameof(Conv2dCoopMat), nameof(Conv2dWeightGradCoopMat) };
        yield return new TestCaseData(20, 9, 3, true, 3, patch, "coopmat_patch").SetArgDisplayNames("patch_up_first_scale3");
        yield return new TestCaseData(9, 20, 3, false, 3, patch, "coopmat_patch").SetArgDisplayNames("patch_up_last_scale3");
        yield return new TestCaseData(20, 9, 2, true, 7, im2col, "coopmat").SetArgDisplayNames("im2col_7x7");
    }

    /// <summary>In a training plan the forward and the weight gradient read both inputs (their .concat variants; the weight
    /// gradient's writes the bias gradient too, .concat.bias), bit for bit the unfused plan's loss and gradients,
    /// and the concatenation is never written.</summary>
    [TestCaseSource(nameof(TrainingCases))]
    public void Training_BothPassesReadBothInputs_AsTheUnfusedPlan(int lowChannels, int skipChannels, int scale, bool upFirst, int kernel,
        string[] prefer, string family) =>
        TrainingReadsBothInputs(lowChannels, skipChannels, scale, upFirst, kernel, prefer,
            $"conv2d/conv2d.fwd_{family}.concat.f16", $"conv2d/conv2d.bwd_weight_{family}.concat.bias.f16");

    /// <summary>
    /// A decoder-like conv (and ReLU) over Concat(Upsample(a), b), trained at Fp16 with <paramref name="prefer"/> named: the
    /// fused plan runs <paramref name="forward"/> and <paramref name="weightGradient"/> (.concat modules), never writes the
    /// concatenation, and gives the unfused plan's loss and gradients bit for bit (not a 3x3 over a 2x upsample, whose
    /// gradients go by sub-pixel phase: <see cref="SubPixelGradients"/>).
    /// </summary>
    internal static void TrainingReadsBothInputs(int lowChannels, int skipChannels, int scale, bool upFirst, int kernel, string[] prefer,
        string forward, string weightGradient)
    {
        const int n = 2, h = 5, w = 7;
        var net = new Network();
        var up = net.Add(new Upsample(scale), "up", net.Input("a"));
        var b = net.Input("b");
        var cat = upFirst ? net.Add(new Concat(), "cat", up, b) : net.Add(new Concat(), "cat", b, up);
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(lowChannels + skipChannels, 24, kernel, padding: kernel / 2), "conv", cat));
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape>
        {
            ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, h * scale, w * scale), ["target"] = new(n, 24, h * scale, w * scale),
        };
        var fused = Graph.ConcatConvFusionTests.Train(net, shapes, true, Precision.Fp16, string.Join(",", prefer), out var plan);
        var plain = Graph.ConcatConvFusionTests.Train(net, shapes, false, Precision.Fp16, string.Join(",", prefer), out _);
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels, Does.Contain(forward).And.Contain(weightGradient), string.Join(", ", kernels));
        Assert.That(plan.Dispatches.SelectMany(d => d.Writes).Where(v => v.StartsWith("conv.concat", StringComparison.Ordinal)), Is.Empty,
            "the concatenation is never written");
        Assert.That(scale != 2 || kernel != 3, "a layer the .concat weight gradient takes, not the sub-pixel one");
        Graph.ConcatConvFusionTests.AssertMatchesTheUnfusedStep(fused, plain, Precision.Fp16, subPixel: false);
    }
}
