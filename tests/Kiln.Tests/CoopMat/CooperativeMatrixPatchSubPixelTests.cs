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
    [TestCase(20, 9, 24, true, 1, 5, 7)]
    [TestCase(9, 20, 24, false, 1, 5, 7)]
    [TestCase(16, 3, 16, true, 2, 6, 9)]
    [TestCase(40, 24, 40, true, 2, 13, 11)]
    [TestCase(8, 33, 17, false, 1, 3, 4)]
    [TestCase(5, 7, 16, true, 1, 1, 1)]
    public void Decoder_MatchesTheUnfusedF32Plan(int lowChannels, int skipChannels, int cout, bool upFirst, int n, int h, int w)
    {
        foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            var net = SubPixelConvTests.Decoder(lowChannels, skipChannels, cout, upFirst, out _);
            var shapes = new Dictionary<string, Shape> { ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, 2 * h, 2 * w) };
            string entry = layout == TensorLayout.Nhwc ? nameof(Conv2dCoopMatPatchSubPixelNhwc) : nameof(Conv2dCoopMatPatchSubPixel);
            var subPixel = SubPixelConvTests.Run(net, shapes, true, Precision.Fp16, layout, new[] { entry }, out var plan);
            var f32 = SubPixelConvTests.Run(net, shapes, false, Precision.Fp32, TensorLayout.Nchw, Array.Empty<string>(), out _);

            string module = $"conv2d/conv2d.fwd_coopmat_patch{(layout == TensorLayout.Nhwc ? ".nhwc" : "")}.subpixel.f16";
            var conv = plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/conv2d.fwd", StringComparison.Ordinal)).ToList();
            Assert.That(conv.Select(d => d.Kernel), Is.EqualTo(new[] { module }), $"{layout}: {string.Join(", ", plan.Dispatches.Select(d => d.Kernel))}");
            Assert.That(conv[0].Groups, Does.EndWith("x4"), "one phase per z");
            Assert.That(plan.Dispatches.Where(d => d.Kernel.StartsWith("upsample/") || d.Kernel.StartsWith("concat/")), Is.Empty,
                "neither the upsample nor the concatenation is written");
            F16StorageCheck.Close(subPixel, f32, Tolerances.F16Storage, $"{layout} against the unfused f32 plan");
        }
    }

    /// <summary>
    /// Where the layer is not a decoder's 3x3 over a 2x upsample (a 3x upsample, a 5x5 kernel, both inputs upsampled) the
    /// entry offers nothing, and the same names run the patch kernel's .concat variant.
    /// </summary>
    [TestCase(3, 1, 3)]
    [TestCase(2, 1, 5)]
    [TestCase(2, 2, 3)]
    public void OtherShapes_TakeTheConcatKernel(int firstScale, int secondScale, int kernel)
    {
        var net = new Network();
        var a = net.Add(new Upsample(firstScale), "up", net.Input("a"));
        var b = secondScale == 1 ? net.Input("b") : net.Add(new Upsample(secondScale), "up2", net.Input("b"));
        var cat = net.Add(new Concat(), "cat", a, b);
        net.Output(net.Add(new Conv2d(16, 16, kernel, padding: kernel / 2), "conv", cat), "y");
        var shapes = new Dictionary<string, Shape> { ["a"] = new(1, 8, 4, 4), ["b"] = new(1, 8, 4 * firstScale / secondScale, 4 * firstScale / secondScale) };
        var plan = net.Plan(Context.KernelDevice, new CompileOptions
        {
            InputShapes = shapes, Precision = Precision.Fp16, TexelReads = false,
            PreferKernels = new[] { nameof(Conv2dCoopMatPatchSubPixel), nameof(Conv2dCoopMatPatch) },
        });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Does.Contain("conv2d/conv2d.fwd_coopmat_patch.concat.f16")
            .And.None.Contains(".subpixel"), string.Join(", ", plan.Dispatches.Select(d => d.Kernel)));
    }

    /// <summary>
    /// In a training plan the forward runs by phase too, beside the sub-pixel gradients; loss and gradients agree with the
    /// unfused Fp32 plan within the f16 tolerance.
    /// </summary>
    [Test]
    public void Training_ForwardByPhase_MatchesTheUnfusedF32Plan()
    {
        var net = SubPixelConvTests.Decoder(12, 10, 24, true, out var y);
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["a"] = new(2, 12, 5, 6), ["b"] = new(2, 10, 10, 12), ["target"] = new(2, 24, 10, 12) };
        var named = string.Join(",", nameof(Conv2dCoopMatPatchSubPixel), nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch));
        var fused = Graph.ConcatConvFusionTests.Train(net, shapes, true, Precision.Fp16, named, out var plan);
        var f32 = Graph.ConcatConvFusionTests.Train(net, shapes, false, Precision.Fp32, null, out _);
        Assert.That(plan.Dispatches.Where(d => d.Label.StartsWith("conv.fwd", StringComparison.Ordinal)).Select(d => d.Kernel),
            Does.Contain("conv2d/conv2d.fwd_coopmat_patch.subpixel.f16"), string.Join(", ", plan.Dispatches.Select(d => d.Kernel)));
        foreach (var (name, values) in f32) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }
}
