using Kiln.Graph;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// What the tensor-core sub-pixel decoder convolutions are checked for, each for its entries and module
/// (<see cref="CooperativeMatrix2SubPixelTests"/>, <see cref="CooperativeMatrixPatchSubPixelTests"/>): the unfused Fp32
/// plan (the plain kernels over the written upsample and concatenation) is the independent reference, within
/// <see cref="Tolerances.F16Storage"/> of the largest value.
/// </summary>
internal static class TensorCoreSubPixelChecks
{
    /// <summary>
    /// The decoder shapes both kernels are checked on (a's channels, b's, Cout, a upsampled first, N, a's H and W): channel
    /// counts off the reduction step and a's wider or narrower than b's, Cout off the channel tile, odd small sizes (every
    /// edge of every phase), two images, a 1x1 input.
    /// </summary>
    public static readonly object[] DecoderShapes =
    {
        new object[] { 20, 9, 24, true, 1, 5, 7 },
        new object[] { 9, 20, 24, false, 1, 5, 7 },
        new object[] { 16, 3, 16, true, 2, 6, 9 },
        new object[] { 40, 24, 40, true, 2, 13, 11 },
        new object[] { 8, 33, 17, false, 1, 3, 4 },
        new object[] { 5, 7, 16, true, 1, 1, 1 },
    };

    /// <summary>Layers that are not a decoder's 3x3 over a 2x upsample (first and second input's scale, kernel): a 3x upsample, a 5x5 kernel, both inputs upsampled.</summary>
    public static readonly object[] OtherShapes = { new object[] { 3, 1, 3 }, new object[] { 2, 1, 5 }, new object[] { 2, 2, 3 } };

    /// <summary>
    /// A 3x3 conv (and ReLU) over Concat(Upsample(a, 2x), b) at Fp16 with the layout's entry named runs as the one forward
    /// dispatch <paramref name="module"/> gives for the layout, one phase per z, writes neither the upsample nor the
    /// concatenation, and agrees with the unfused Fp32 plan, in both layouts.
    /// </summary>
    public static void DecoderMatchesTheUnfusedF32Plan(Func<TensorLayout, string> entry, Func<TensorLayout, string> module,
        int lowChannels, int skipChannels, int cout, bool upFirst, int n, int h, int w)
    {
        foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            var net = SubPixelConvTests.Decoder(lowChannels, skipChannels, cout, upFirst, out _);
            var shapes = new Dictionary<string, Shape> { ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, 2 * h, 2 * w) };
            var subPixel = SubPixelConvTests.Run(net, shapes, true, Precision.Fp16, layout, new[] { entry(layout) }, out var plan);
            var f32 = SubPixelConvTests.Run(net, shapes, false, Precision.Fp32, TensorLayout.Nchw, Array.Empty<string>(), out _);

            var conv = plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/conv2d.fwd", StringComparison.Ordinal)).ToList();
            Assert.That(conv.Select(d => d.Kernel), Is.EqualTo(new[] { module(layout) }), $"{layout}: {string.Join(", ", plan.Dispatches.Select(d => d.Kernel))}");
            Assert.That(conv[0].Groups, Does.EndWith("x4"), "one phase per z");
            Assert.That(plan.Dispatches.Where(d => d.Kernel.StartsWith("upsample/") || d.Kernel.StartsWith("concat/")), Is.Empty,
                "neither the upsample nor the concatenation is written");
            F16StorageCheck.Close(subPixel, f32, Tolerances.F16Storage, $"{layout} against the unfused f32 plan");
        }
    }

    /// <summary>
    /// Where the layer is not a decoder's 3x3 over a 2x upsample (a 3x upsample, a 5x5 kernel, both inputs upsampled) the
    /// sub-pixel entry offers nothing, and the same names (<paramref name="named"/>) run <paramref name="concatModule"/>.
    /// </summary>
    public static void OtherShapesTakeTheConcatKernel(DeviceInfo device, string[] named, string concatModule, int firstScale, int secondScale, int kernel)
    {
        var net = new Network();
        var a = net.Add(new Upsample(firstScale), "up", net.Input("a"));
        var b = secondScale == 1 ? net.Input("b") : net.Add(new Upsample(secondScale), "up2", net.Input("b"));
        var cat = net.Add(new Concat(), "cat", a, b);
        net.Output(net.Add(new Conv2d(16, 16, kernel, padding: kernel / 2), "conv", cat), "y");
        var shapes = new Dictionary<string, Shape> { ["a"] = new(1, 8, 4, 4), ["b"] = new(1, 8, 4 * firstScale / secondScale, 4 * firstScale / secondScale) };
        var plan = net.Plan(device, new CompileOptions { InputShapes = shapes, Precision = Precision.Fp16, TexelReads = false, PreferKernels = named });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Does.Contain(concatModule).And.None.Contains(".subpixel"),
            string.Join(", ", plan.Dispatches.Select(d => d.Kernel)));
    }

    /// <summary>
    /// In a training plan with <paramref name="named"/> the forward runs by phase too (<paramref name="module"/>), beside the
    /// gradients; loss and gradients agree with the unfused Fp32 plan.
    /// </summary>
    public static void TrainingForwardByPhaseMatchesTheUnfusedF32Plan(string named, string module)
    {
        var net = SubPixelConvTests.Decoder(12, 10, 24, true, out var y);
        net.SetLoss(new MseLoss(), y, net.Input("target"));
        var shapes = new Dictionary<string, Shape> { ["a"] = new(2, 12, 5, 6), ["b"] = new(2, 10, 10, 12), ["target"] = new(2, 24, 10, 12) };
        var fused = Graph.ConcatConvFusionTests.Train(net, shapes, true, Precision.Fp16, named, out var plan);
        var f32 = Graph.ConcatConvFusionTests.Train(net, shapes, false, Precision.Fp32, null, out _);
        Assert.That(plan.Dispatches.Where(d => d.Label.StartsWith("conv.fwd", StringComparison.Ordinal)).Select(d => d.Kernel),
            Does.Contain(module), string.Join(", ", plan.Dispatches.Select(d => d.Kernel)));
        foreach (var (name, values) in f32) F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
    }
}
