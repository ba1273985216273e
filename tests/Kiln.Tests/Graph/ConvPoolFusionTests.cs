using Kiln.Layers;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The conv-pool fusion of inference plans (engine/Layers/ConvPool2d.cs): a Conv2d (with its activation) whose output
/// only a 2x2, stride-2 max pool reads writes the pooled output alone, through its kernel's ".pool" variant: the direct
/// kernel (lavapipe's, through storage buffers) and the Winograd kernel (named); with texel reads (no such variant) the
/// layer writes the convolution's output and pools it. Checked bit for bit against the unfused plan (Fuse = false: the
/// same kernels) and against the CPU reference (conv, ReLU, pool in double), at f32 and f16 storage; a conv output that
/// something else reads too, or a training plan, keeps the pool.
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

    [Test]
    public void ConvOutputsReadElsewhere_AndTrainingPlans_KeepThePool()
    {
        var net = new Network();
        var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(3, 8, 3, padding: 1), "conv", net.Input("x")));
        net.Output(net.Add(new MaxPool2d(2), "pool", y), "pooled");
        net.Output(net.Add(new Tanh(), "skip", y), "skip");
        var shapes = new Dictionary<string, Shape> { ["x"] = new(1, 3, 8, 8) };
        var plan = net.Plan(Context.KernelDevice, new CompileOptions { InputShapes = shapes, TexelReads = false });
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Does.Contain("pool/pool.fwd").And.Not.Contain("conv2d/conv2d.fwd.pool"), "the conv output has a second reader");

        var namedRelu = new Network();
        var relu = namedRelu.Add(new ReLU(), "relu", namedRelu.Add(new Conv2d(3, 8, 3, padding: 1), "conv", namedRelu.Input("x")));
        namedRelu.Output(namedRelu.Add(new MaxPool2d(2), "pool", relu), "pooled");
        namedRelu.Output(relu, "activated");
        var namedPlan = namedRelu.Plan(Context.KernelDevice, new CompileOptions { InputShapes = shapes, TexelReads = false });
        Assert.That(namedPlan.Dispatches.Select(d => d.Kernel), Does.Contain("pool/pool.fwd"), "the activation folded into the conv is a named output");

        var (single, singleShapes) = Build(3, 8, 8, 6);
        single.SetLoss(new MseLoss(), single.Outputs[0].Node, single.Input("t"));
        singleShapes["t"] = new(2, 8, 4, 3);
        var training = single.Plan(Context.KernelDevice, new CompileOptions { InputShapes = singleShapes, Training = true, TexelReads = false });
        Assert.That(training.Dispatches.Select(d => d.Kernel), Does.Contain("pool/pool.fwd"), "a training plan keeps the pool (its gradient reads the conv output)");
    }
}
