using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The conv-pool fusions. In inference plans (engine/Layers/ConvPool2d.cs) a Conv2d (with its activation) whose output
/// only a 2x2, stride-2 max pool reads writes the pooled output alone, through its kernel's ".pool" variant: the direct
/// kernel (lavapipe's, through storage buffers) and the Winograd kernel (named); with texel reads (no such variant) the
/// layer writes the convolution's output and pools it. Checked bit for bit against the unfused plan (Fuse = false: the
/// same kernels) and against the CPU reference (conv, ReLU, pool in double), at f32 and f16 storage. A conv output that
/// something else reads too, or that a training step's gradients read, is written by the kernel that takes the pool (its
/// ".pool.keep" variant), in inference and in training alike.
/// </summary>
public sealed class ConvPoolFusionTests : GpuTest
{
    static (Network Net, Dictionary<string, Shape> Shapes) Build(int cin, int cout, int h, int w, int groups = 1)
    {
        var net = new Network();
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(cin, cout, 3, padding: 1, groups: groups), "conv", net.Input("x")));
        net.Output(net.Add(new MaxPool2d(2), "pool", y), "y");
        return (net, new Dictionary<string, Shape> { ["x"] = new(2, cin, h, w) });
    }

    static float[] Run(Network net, Dictionary<string, Shape> shapes, bool fuse, Precision precision, bool texel, string? prefer, out string[] kernels,
        out PlanReport plan)
    {
        using var compiled = net.Compile(Context, new CompileOptions
        {
            InputShapes = shapes, Fuse = fuse, Precision = precision, TexelReads = texel,
            PreferKernels = prefer != null ? new[] { prefer } : Array.Empty<string>(),
        });
        foreach (var (name, shape) in shapes) compiled.SetInput(name, Input(shape));
        foreach (var (_, t) in compiled.Parameters) t.Upload(Weight(t.Shape));
        compiled.Run();
        kernels = compiled.Plan.Dispatches.Select(d => d.Kernel).ToArray();
        plan = compiled.Plan;
        return compiled.GetOutput("y");
    }

    static float[] Input(Shape shape) => RandomData.Uniform((int)shape.Elements, 5).Select(v => (float)v).ToArray();
    static float[] Weight(Shape shape) => RandomData.Uniform((int)shape.Elements, (int)shape.Elements, -0.5, 0.5).Select(v => (float)v).ToArray();

    static double[] Reference(int cin, int cout, int h, int w, int groups = 1)
    {
        var spec = new Conv2dSpec(2, cin, h, w, cout, 3, 3, 1, 1, 1, 1, 1, 1, groups);
        var x = Input(new Shape(2, cin, h, w)).Select(v => (double)v).ToArray();
        var wt = Weight(new Shape(cout, cin / groups, 3, 3)).Select(v => (double)v).ToArray();
        var b = Weight(new Shape(cout)).Select(v => (double)v).ToArray();
        var y = RefConv2d.Forward(spec, x, wt, b).Select(v => Math.Max(v, 0)).ToArray();
        return RefMaxPool2d.Forward(new Pool2dSpec(2, cout, h, w, 2, 2, 2, 2), y);
    }

    // cin, cout, h, w, groups, entry named (null: the registry's), the pooled kernel
    [TestCase(3, 16, 12, 10, 1, null, "conv2d/conv2d.fwd.pool", Precision.Fp32)]
    [TestCase(3, 16, 12, 10, 1, null, "conv2d/conv2d.fwd.pool.f16", Precision.Fp16)]
    [TestCase(4, 6, 18, 14, 2, null, "conv2d/conv2d.fwd.pool", Precision.Fp32)]
    [TestCase(8, 24, 10, 22, 1, "Conv2dWinograd", "conv2d/conv2d.fwd_winograd.pool", Precision.Fp32)]
    [TestCase(8, 24, 10, 22, 1, "Conv2dWinograd", "conv2d/conv2d.fwd_winograd.pool.f16", Precision.Fp16)]
    public void Fused_WritesOnlyThePooledOutput_AndMatchesTheUnfusedPlanAndTheReference(int cin, int cout, int h, int w, int groups, string? prefer,
        string kernel, Precision precision)
    {
        var (net, shapes) = Build(cin, cout, h, w, groups);
        var fused = Run(net, shapes, true, precision, texel: false, prefer, out var kernels, out var plan);
        var plain = Run(net, shapes, false, precision, texel: false, prefer, out var plainKernels, out _);
        Assert.That(kernels.Where(k => !k.Contains("_weight") && !k.StartsWith("elementwise/")), Is.EqualTo(new[] { kernel }), string.Join(", ", kernels));
        Assert.That(plainKernels, Has.Some.StartsWith("pool/"));
        Assert.That(plan.Dispatches.SelectMany(d => d.Writes), Has.None.StartsWith("conv."), "the unpooled output is never written");
        Assert.That(fused, Is.EqualTo(plain).AsCollection, "bit for bit the unfused plan");
        double tolerance = precision == Precision.Fp16 ? Tolerances.F16Storage : Tolerances.Forward;
        Assert.That(RelativeError.MaxRelative(fused, Reference(cin, cout, h, w, groups)), Is.LessThan(tolerance), "against the CPU reference");
    }

    [Test]
    public void WithTexelReads_TheLayerWritesTheConvolutionAndPoolsIt_AndTheResultIsTheSame()
    {
        var (net, shapes) = Build(3, 8, 8, 6);
        var fused = Run(net, shapes, true, Precision.Fp32, texel: true, null, out var kernels, out _);
        var plain = Run(net, shapes, false, Precision.Fp32, texel: true, null, out _, out _);
        Assert.That(kernels, Does.Contain("conv2d/conv2d.fwd.texel").And.Contain("pool/pool.fwd"));
        Assert.That(fused, Is.EqualTo(plain).AsCollection);
    }

    /// <summary>
    /// A conv output read by the pool and by something else (here a second output through tanh, or the folded ReLU's output
    /// named) is written by the same kernel that takes the pool (its ".pool.keep" variant): no pool pass, both outputs bit
    /// for bit the unfused plan's (whose conv runs another column block: the same sums). With texel reads (no such
    /// variant) the pool runs on its own.
    /// </summary>
    [Test]
    public void ConvOutputsReadElsewhere_AreWrittenByTheKernelThatPools()
    {
        var net = new Network();
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(3, 8, 3, padding: 1), "conv", net.Input("x")));
        net.Output(net.Add(new MaxPool2d(2), "pool", y), "pooled");
        net.Output(net.Add(new Tanh(), "skip", y), "skip");
        // 10 columns: the direct kernel's default column block is 5, which the pool does not divide; the fused form takes
        // its first even one.
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 3, 8, 10) };
        Dictionary<string, float[]> Run(bool fuse, bool texel, out PlanReport plan)
        {
            using var compiled = net.Compile(Context, new CompileOptions { InputShapes = shapes, Fuse = fuse, TexelReads = texel });
            compiled.SetInput("x", Input(shapes["x"]));
            foreach (var (_, t) in compiled.Parameters) t.Upload(Weight(t.Shape));
            compiled.Run();
            plan = compiled.Plan;
            return new() { ["pooled"] = compiled.GetOutput("pooled"), ["skip"] = compiled.GetOutput("skip") };
        }
        var fused = Run(true, texel: false, out var plan);
        var plain = Run(false, texel: false, out var plainPlan);
        Assert.That(plan.Dispatches.SingleOrDefault(d => d.Label == "conv+pool.fwd")?.Kernel, Is.EqualTo("conv2d/conv2d.fwd.pool.keep"), ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/"));
        Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/"));
        foreach (var name in new[] { "pooled", "skip" })
        {
            Assert.That(plain[name].Distinct().Count(), Is.GreaterThan(10), $"{name} varies");
            Assert.That(fused[name], Is.EqualTo(plain[name]).AsCollection, name);
        }
        var texel = Run(true, texel: true, out var texelPlan);
        Assert.That(texelPlan.Dispatches.Select(d => d.Kernel), Does.Contain("pool/pool.fwd").And.None.Contains(".pool"), "texel reads: no such variant");
        Assert.That(texel["pooled"], Is.EqualTo(plain["pooled"]).AsCollection);

        var namedRelu = new Network();
        var relu = namedRelu.Add(new ReLU(), "relu", namedRelu.Add(new Conv2d(3, 8, 3, padding: 1), "conv", namedRelu.Input("x")));
        namedRelu.Output(namedRelu.Add(new MaxPool2d(2), "pool", relu), "pooled");
        namedRelu.Output(relu, "activated");
        var namedPlan = namedRelu.Plan(Context.KernelDevice, new CompileOptions { InputShapes = shapes, TexelReads = false });
        Assert.That(namedPlan.Dispatches.Select(d => d.Kernel), Does.Contain("conv2d/conv2d.fwd.pool.keep").And.None.StartsWith("pool/"),
            "the activation folded into the conv is a named output, written by the pooling kernel");
    }

    /// <summary>
    /// A training step of a two-level UNet (InpaintUNet with 8 and 16 channels, or 16 and 32 for the Winograd kernel, which
    /// takes 16 output channels or more; L1 loss): the encoder's second conv output
    /// (its ReLU folded) is the decoder's skip and the pool's and ReLU's gradients read it, so the pool is taken by the
    /// convolution's ".pool.keep" variant, which writes that output too. The loss, every parameter's gradient and the
    /// input's match the unfused step (Fuse = false: separate layers and passes) bit for bit at f32 and within
    /// <see cref="Tolerances.F16Storage"/> at f16 storage, on the direct kernel and on the Winograd kernel (named). The
    /// sub-pixel decoders are off: their sums run in another order than the unfused decoder's.
    /// </summary>
    [TestCase(Precision.Fp32, 8, null, "conv2d/conv2d.fwd.pool.keep")]
    [TestCase(Precision.Fp16, 8, null, "conv2d/conv2d.fwd.pool.keep.f16")]
    [TestCase(Precision.Fp32, 16, nameof(Conv2dWinograd), "conv2d/conv2d.fwd_winograd.pool.keep")]
    [TestCase(Precision.Fp16, 16, nameof(Conv2dWinograd), "conv2d/conv2d.fwd_winograd.pool.keep.f16")]
    public void TrainingStep_TheConvWritesItsOutputAndThePool_AsTheUnfusedStep(Precision precision, int channels, string? prefer, string kernel)
    {
        var net = Kiln.Models.InpaintUNet.BuildForTraining(channels, 2 * channels);
        var shapes = new Dictionary<string, Shape> { ["x"] = new(2, 4, 8, 12), ["target"] = new(2, 3, 8, 12) };
        var names = prefer == null ? Array.Empty<string>() : new[] { prefer };
        var fused = ActivationGradientFusionTests.Step(net, shapes, true, precision, texelReads: false, subPixel: false, LossScaling.Off, out var plan, names);
        var plain = ActivationGradientFusionTests.Step(net, shapes, false, precision, texelReads: false, subPixel: false, LossScaling.Off, out var plainPlan, names);
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv2d_1+maxpool2d_0.fwd").Kernel, Is.EqualTo(kernel), ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Has.None.StartsWith("pool/pool.fwd"));
        // The pool's gradient: its own pass, or where the input gradient runs on the flipped forward kernel (a GPU's
        // default; PoolGradientFusionTests) the next conv's.
        Assert.That(plan.Dispatches.Count(d => d.Kernel.StartsWith("pool/pool.bwd", StringComparison.Ordinal) || d.Label == "conv2d_2.bwd_input+maxpool2d_0.bwd"),
            Is.EqualTo(1), ActivationGradientFusionTests.Kernels(plan));
        Assert.That(plainPlan.Dispatches.Select(d => d.Kernel), Has.Some.StartsWith("pool/pool.fwd"));
        foreach (var (name, values) in plain)
        {
            Assert.That(values.Any(v => v != 0), $"{name} is not all zeros");
            if (precision == Precision.Fp32) Assert.That(fused[name], Is.EqualTo(values).AsCollection, name);
            else F16StorageCheck.Close(fused[name], values, Tolerances.F16Storage, name);
        }
    }
}
