using Kiln.Layers;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>The compiler's structure: errors, autodiff wiring, planning and scheduling. Planning needs no GPU.</summary>
public sealed class GraphCompilerTests
{
    static readonly DeviceInfo Device = new() { Name = "plan-only", MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30 };

    static CompileOptions Inputs(params (string Name, Shape Shape)[] inputs) =>
        new() { InputShapes = inputs.ToDictionary(i => i.Name, i => i.Shape) };

    [Test]
    public void ChannelMismatch_NamesTheLayerAndShapes()
    {
        var net = new Sequential(new Conv2d(3, 8, 3), new Conv2d(4, 8, 3));
        var e = Assert.Throws<GraphException>(() => net.Plan(Device, Inputs(("x", new Shape(1, 3, 16, 16)))));
        Assert.That(e!.Message, Does.Contain("conv2d_1").And.Contain("[1,8,14,14]").And.Contain("4 input channels"));
    }

    [Test]
    public void Cycle_IsRejectedWithItsPath()
    {
        var net = new Network();
        var x = net.Input("x");
        var a = net.Add(new ReLU(), "a", x);
        var b = net.Add(new Tanh(), "b", a);
        net.Connect(b, a, 0);
        net.Output(b);
        var e = Assert.Throws<GraphException>(() => net.Plan(Device, Inputs(("x", new Shape(2, 2)))));
        Assert.That(e!.Message, Does.Contain("cycle").And.Contain("a").And.Contain("b"));
    }

    [Test]
    public void MissingInputShape_IsNamed()
    {
        var net = new Sequential(new ReLU());
        var e = Assert.Throws<GraphException>(() => net.Plan(Device, Inputs(("y", new Shape(2, 2)))));
        Assert.That(e!.Message, Does.Contain("input 'x'"));
    }

    [Test]
    public void TrainingWithoutLoss_IsRejected()
    {
        var net = new Sequential(new ReLU());
        Assert.Throws<GraphException>(() => net.Plan(Device, Inputs(("x", new Shape(2, 2))) with { Training = true }));
    }

    [Test]
    public void FusionPass_FoldsActivationIntoConv()
    {
        var net = new Sequential(new Conv2d(3, 8, 3, padding: 1), new ReLU(), new Conv2d(8, 8, 3, padding: 1), new Sigmoid());
        var plan = net.Plan(Device, Inputs(("x", new Shape(1, 3, 8, 8))));
        Assert.That(plan.Dispatches.Select(d => d.Kernel), Is.EqualTo(new[] { "conv2d/conv2d.fwd", "conv2d/conv2d.fwd" }));
        var unfused = net.Plan(Device, Inputs(("x", new Shape(1, 3, 8, 8))) with { Fuse = false });
        Assert.That(unfused.Dispatches, Has.Count.EqualTo(4));
    }

    [Test]
    public void MemoryPlanner_SharesMemoryOfTensorsNeverAliveTogether()
    {
        var layers = Enumerable.Range(0, 8).Select(_ => (Layer)new Tanh()).ToArray();
        var net = new Sequential(layers);
        var plan = net.Plan(Device, Inputs(("x", new Shape(64, 1024))) with { Fuse = false });
        long tensor = 64 * 1024 * 4;
        // x and y are persistent; six intermediates alternate between two arena slots.
        Assert.That(plan.ArenaBytes, Is.EqualTo(2 * tensor));
        Assert.That(plan.NaiveBytes, Is.EqualTo(9 * tensor));
        Assert.That(plan.PlannedBytes, Is.EqualTo(4 * tensor));
    }

    /// <summary>
    /// Two independent chains, planned one after the other: the first chain's intermediates are dead before the second's
    /// are born, in step order, but not in level (both chains run side by side, level by level). Sharing their bytes would
    /// make each step of the second chain wait for the first chain's end; the planner keeps them apart, so the plan has
    /// the chains' 3 levels and no more, and still shares bytes within each chain.
    /// </summary>
    [Test]
    public void MemoryPlanner_SharesNoBytesThatWouldAddABarrier()
    {
        var net = new Network();
        var x = net.Input("x");
        Node Chain(string name)
        {
            var n = x;
            for (int i = 0; i < 4; i++) n = net.Add(new Tanh(), $"{name}{i}", n);
            return n;
        }
        net.Output(Chain("a"), "a");
        net.Output(Chain("b"), "b");
        var plan = net.Plan(Device, Inputs(("x", new Shape(64, 1024))) with { Fuse = false });
        long tensor = 64 * 1024 * 4;
        Assert.That(plan.Dispatches.Select(d => d.Level).Max(), Is.EqualTo(3), "the chains' own levels");
        Assert.That(plan.Barriers, Is.EqualTo(3));
        // Per chain, three intermediates over two slots.
        Assert.That(plan.ArenaBytes, Is.EqualTo(4 * tensor));
    }

    [Test]
    public void Scheduler_PutsIndependentDispatchesInOneLevel()
    {
        var net = new Network();
        var x = net.Input("x");
        net.Output(net.Add(new ReLU(), x), "a");
        net.Output(net.Add(new Tanh(), x), "b");
        net.Output(net.Add(new Sigmoid(), x), "c");
        var plan = net.Plan(Device, Inputs(("x", new Shape(4, 4))));
        Assert.That(plan.Dispatches.Select(d => d.Level).Distinct(), Is.EqualTo(new[] { 0 }));
        Assert.That(plan.Barriers, Is.Zero);
    }

    [Test]
    public void Scheduler_OrdersAChainWithOneBarrierPerLevel()
    {
        var net = new Sequential(new ReLU(), new Tanh(), new Sigmoid());
        var plan = net.Plan(Device, Inputs(("x", new Shape(4, 4))));
        Assert.That(plan.Dispatches.Select(d => d.Level), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(plan.Barriers, Is.EqualTo(2));
    }

    [Test]
    public void Autodiff_SumsGradientsOfAValueUsedTwice_AndAddsUpdates()
    {
        var net = new Network();
        var x = net.Input("x");
        var h = net.Add(new Conv2d(1, 1, 1), "h", x);
        var a = net.Add(new Tanh(), "a", h);
        var b = net.Add(new Sigmoid(), "b", h);
        net.SetLoss(new DotLoss(), a, b);
        var plan = net.Plan(Device, Inputs(("x", new Shape(1, 1, 4, 4))) with { Training = true, Fuse = false });
        Assert.That(plan.Dispatches.Any(d => d.Label == "h.grad.sum1"), "the two contributions to h's gradient are summed");
        Assert.That(plan.Dispatches.Count(d => d.Kernel == "optim/sgd"), Is.EqualTo(2), "weight and bias are updated");
        Assert.That(plan.Dispatches.Last().Kernel, Is.EqualTo("optim/step_state"));
    }
}

/// <summary>The memory plans of the built-in networks at benchmark sizes (planning only, no GPU).</summary>
public sealed class ModelPlanTests
{
    static readonly DeviceInfo Gpu = new()
    {
        Name = "large-buffer device", MaxWorkgroupCount = new[] { 2147483647u, 65535u, 65535u }, MaxStorageBufferRange = 4UL << 30,
        ShaderFloat16 = true, StorageBuffer16BitAccess = true,
    };

    /// <summary>
    /// The denoiser's inference plans at the benchmark sizes need at most half of what PyTorch allocates beyond weights and
    /// input (BENCHMARKS.md, an H200 with cudnn.benchmark): the plan's memory less the f32 parameters and input. At fp16
    /// that takes the last two full-resolution convolutions in row bands (<see cref="RowBandedConvs"/>), which the
    /// default bands at either precision.
    /// </summary>
    [TestCase(1280, 720, Precision.Fp32, 1018)]
    [TestCase(1280, 720, Precision.Fp16, 404)]
    [TestCase(1920, 1088, Precision.Fp32, 2304)]
    [TestCase(1920, 1088, Precision.Fp16, 914)]
    public void DenoiseUNet_InferenceNeedsUnderHalfOfPyTorchsMemory(int width, int height, Precision precision, int torchMiB)
    {
        var (net, inputs) = Kiln.Models.ModelCatalog.Build("denoise-unet", width, height, 1, false);
        var plan = net.Plan(Gpu, new CompileOptions { InputShapes = inputs, Precision = precision });
        long weightsAndInput = 4 * (plan.ParameterCount + inputs.Values.Sum(s => s.Elements));
        long beyond = plan.PlannedBytes - weightsAndInput;
        TestContext.Out.WriteLine($"arena {plan.ArenaBytes / 1048576.0:0.0} MiB, beyond weights and input {beyond / 1048576.0:0.0} MiB, " +
                                  $"planned {plan.PlannedBytes / 1048576.0:0.0} MiB, naive {plan.NaiveBytes / 1048576.0:0.0} MiB");
        Assert.That(beyond, Is.LessThanOrEqualTo((long)torchMiB << 19), $"half of PyTorch's {torchMiB} MiB");
        Assert.That(plan.Dispatches.Select(d => d.Label), Has.Some.Contains(".band7."), "the last two convolutions in 8 row bands");
        Assert.That(plan.Warnings, Is.Empty);
    }
}
