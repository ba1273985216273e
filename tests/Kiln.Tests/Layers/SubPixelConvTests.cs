using Kiln.Graph;
using Kiln.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>
/// The sub-pixel decoder convolution with the direct kernel's blocking (<see cref="Conv2dDirectSubPixel"/>,
/// conv2d.fwd_subpixel): a 3x3 conv (and ReLU) over Concat(Upsample(a, 2x), b), either order, with it named, against the
/// unfused plan at Fp32 (the plain kernels over the written upsample and concatenation: an independent path) within
/// 1e-5 of the largest value, and at f16 storage within <see cref="Tolerances.F16Storage"/>; in both layouts, channel
/// counts off the blocks, odd small sizes (every edge of every phase), a batch of two; its dispatch records the products
/// it does.
/// </summary>
public sealed class SubPixelConvTests : GpuTest
{
    /// <summary>y = ReLU(conv 3x3 (Concat(Upsample(a, 2x), b))), or with b first.</summary>
    internal static Network Decoder(int lowChannels, int skipChannels, int cout, bool upFirst, out Node y)
    {
        var net = new Network();
        var up = net.Add(new Upsample(2), "up", net.Input("a"));
        var b = net.Input("b");
        var cat = upFirst ? net.Add(new Concat(), "cat", up, b) : net.Add(new Concat(), "cat", b, up);
        y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(lowChannels + skipChannels, cout, 3, padding: 1), "conv", cat));
        net.Output(y, "y");
        return net;
    }

    /// <summary>The decoder's output for inputs in [-1, 1) and parameters in [-0.3, 0.3), fixed seeds.</summary>
    internal static float[] Run(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, TensorLayout layout, string[] prefer,
        out PlanReport plan)
    {
        using var c = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Fuse = fuse, Precision = precision, TexelReads = false, ActivationLayout = layout, PreferKernels = prefer,
        });
        int seed = 1;
        foreach (var (name, shape) in shapes) c.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++, -1, 1).Select(v => (float)v).ToArray());
        foreach (var (_, t) in c.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.3, 0.3).Select(v => (float)v).ToArray());
        c.Run();
        plan = c.Plan;
        return c.GetOutput("y");
    }

    [TestCase(20, 9, 24, true, 1, 5, 7)]
    [TestCase(9, 20, 24, false, 1, 5, 7)]
    [TestCase(16, 3, 17, true, 2, 6, 9)]
    [TestCase(5, 33, 8, false, 1, 3, 4)]
    public void Decoder_MatchesTheUnfusedF32Plan(int lowChannels, int skipChannels, int cout, bool upFirst, int n, int h, int w)
    {
        var net = Decoder(lowChannels, skipChannels, cout, upFirst, out _);
        var shapes = new Dictionary<string, Shape> { ["a"] = new(n, lowChannels, h, w), ["b"] = new(n, skipChannels, 2 * h, 2 * w) };
        var f32 = Run(net, shapes, false, Precision.Fp32, TensorLayout.Nchw, Array.Empty<string>(), out _);
        foreach (var precision in new[] { Precision.Fp32, Precision.Fp16 })
        foreach (var layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            string entry = layout == TensorLayout.Nhwc ? nameof(Conv2dDirectSubPixelNhwc) : nameof(Conv2dDirectSubPixel);
            var subPixel = Run(net, shapes, true, precision, layout, new[] { entry }, out var plan);
            string module = $"conv2d/conv2d.fwd_subpixel{(layout == TensorLayout.Nhwc ? ".nhwc" : "")}{(precision == Precision.Fp16 ? ".f16" : "")}";
            string what = $"{precision} {layout}";
            Assert.That(plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/conv2d.fwd", StringComparison.Ordinal)).Select(d => d.Kernel),
                Is.EqualTo(new[] { module }), $"{what}: {string.Join(", ", plan.Dispatches.Select(d => d.Kernel))}");
            Assert.That(plan.Dispatches.Where(d => d.Kernel.StartsWith("upsample/") || d.Kernel.StartsWith("concat/")), Is.Empty, what);
            Assert.That(plan.Dispatches.Single(d => d.Kernel == module).Flops, Is.EqualTo(2.0 * n * cout * 4 * h * w * (4 * lowChannels + 9 * skipChannels)),
                $"{what}: the products it does, 4 per upsampled channel and 9 per other at each output pixel");
            F16StorageCheck.Close(subPixel, f32, precision == Precision.Fp16 ? Tolerances.F16Storage : 1e-5, $"{what} against the unfused f32 plan");
        }
    }

    /// <summary>Tuned with it named, the sub-pixel candidates are timed against the .concat kernels and every one agrees with
    /// the reference kernel (the tuner rejects none); the tuned plan's output is within 1e-5 of the unfused plan's.</summary>
    [Test]
    public void Tuned_TimesTheSubPixelCandidates_AndTheyAgree()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-subpixel-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var net = Decoder(12, 6, 16, true, out _);
            var shapes = new Dictionary<string, Shape> { ["a"] = new(1, 12, 4, 6), ["b"] = new(1, 6, 8, 12) };
            var f32 = Run(net, shapes, false, Precision.Fp32, TensorLayout.Nchw, Array.Empty<string>(), out _);
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            using var compiled = net.Compile(ctx, new CompileOptions
            {
                InputShapes = shapes, TexelReads = false, Autotune = true, ActivationLayout = TensorLayout.Nchw,
                PreferKernels = new[] { nameof(Conv2dDirectSubPixel) },
            });
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every candidate agrees with the reference kernel");
            Assert.That(File.ReadAllText(ctx.Tuner.FilePath!), Does.Contain("conv2d.fwd.concat|").And.Contain(nameof(Conv2dDirectSubPixel)));
            int seed = 1;
            foreach (var (name, shape) in shapes) compiled.SetInput(name, RandomData.Uniform((int)shape.Elements, seed++, -1, 1).Select(v => (float)v).ToArray());
            foreach (var (_, t) in compiled.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                t.Upload(RandomData.Uniform((int)t.Shape.Elements, seed++, -0.3, 0.3).Select(v => (float)v).ToArray());
            compiled.Run();
            F16StorageCheck.Close(compiled.GetOutput("y"), f32, 1e-5, "tuned against the unfused f32 plan");
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }
}
