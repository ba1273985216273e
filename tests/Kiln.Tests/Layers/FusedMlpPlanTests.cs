using NUnit.Framework;
using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Tests.Layers;

/// <summary>Where the compiler's MLP fusion pass applies (plans only, no GPU).</summary>
public sealed class FusedMlpPlanTests
{
    static readonly DeviceInfo Device = new() { Name = "plan-only", MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30 };

    static PlanReport Plan(Sequential net, int batch, int inF, int outF, bool fuse = true) =>
        net.Plan(Device, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, inF), ["target"] = new Shape(batch, outF) },
            Training = true, Fuse = fuse,
        });

    static Sequential Mlp(Func<Layer> act, params int[] widths)
    {
        var layers = new List<Layer>();
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            layers.Add(new Linear(widths[i], widths[i + 1]));
            if (i + 2 < widths.Length) layers.Add(act());
        }
        return new Sequential(layers.ToArray()).WithLoss(new MseLoss());
    }

    [TestCase(new[] { 2, 8, 8, 1 }, 256)]           // playground_mlp_b256
    [TestCase(new[] { 3, 64, 64, 64, 64, 3 }, 2048)] // mlp_64x4 (bench's small batch)
    [TestCase(new[] { 2, 16, 16, 16, 1 }, 100)]      // Playground presets
    public void WorkloadMlps_BecomeOneForwardAndTwoBackwardDispatches(int[] widths, int batch)
    {
        var plan = Plan(Mlp(() => new Tanh(), widths), batch, widths[0], widths[^1]);
        var kernels = plan.Dispatches.Select(d => d.Kernel).ToList();
        Assert.That(kernels.Count(k => k == "mlp/mlp.fwd"), Is.EqualTo(1));
        Assert.That(kernels.Count(k => k == "mlp/mlp.bwd"), Is.EqualTo(1));
        Assert.That(kernels.Count(k => k == "mlp/mlp.reduce"), Is.EqualTo(1));
        Assert.That(kernels.Where(k => k.StartsWith("linear/") || k.StartsWith("elementwise/unary")), Is.Empty, string.Join(", ", kernels));
        var unfused = Plan(Mlp(() => new Tanh(), widths), batch, widths[0], widths[^1], fuse: false);
        Assert.That(unfused.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")), Is.Empty, "Fuse = false keeps the plain path");
        Assert.That(plan.ParameterCount, Is.EqualTo(unfused.ParameterCount));
    }

    [Test]
    public void TooWideLayers_StayUnfused_AndTheNarrowRunStillFuses()
    {
        var wide = Plan(Mlp(() => new ReLU(), 3, 65, 3), 10, 3, 3);
        Assert.That(wide.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")), Is.Empty);
        var mixed = Plan(Mlp(() => new ReLU(), 3, 128, 16, 16, 2), 10, 3, 2);
        Assert.That(mixed.Dispatches.Count(d => d.Kernel == "mlp/mlp.fwd"), Is.EqualTo(1), "128 -> 16 -> 16 -> 2 is too wide at its head, 16 -> 16 -> 2 fuses");
        Assert.That(mixed.Dispatches.Count(d => d.Kernel == "linear/linear.gemm" && d.Phase == "forward"), Is.EqualTo(2));
    }

    [Test]
    public void AnIntermediateOutputOrUnsupportedActivation_BreaksTheChain()
    {
        var net = new Network();
        var h = net.Add(new Linear(4, 8), "a", net.Input("x"));
        var g = net.Add(new Gelu(), "g", h);
        var y = net.Add(new Linear(8, 2), "b", g);
        net.Output(y, "y");
        var plan = net.Plan(Device, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(5, 4) } });
        Assert.That(plan.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")), Is.Empty, "GELU sits between the linears");

        var net2 = new Network();
        var h2 = net2.Add(new Linear(4, 8), "a", net2.Input("x"));
        var t2 = net2.Add(new Tanh(), "t", h2);
        net2.Output(t2, "hidden");
        net2.Output(net2.Add(new Linear(8, 2), "b", t2), "y");
        var plan2 = net2.Plan(Device, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(5, 4) } });
        Assert.That(plan2.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")), Is.Empty, "the hidden layer is a network output");
    }

    [Test]
    public void OnACpuDevice_OnlyNarrowMlpsFuseUnlessAsked()
    {
        var cpu = Device with { Type = "Cpu" };
        PlanReport On(DeviceInfo d, bool? fuseMlp, params int[] w) => Mlp(() => new ReLU(), w).Plan(d, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(64, w[0]), ["target"] = new Shape(64, w[^1]) },
            Training = true, FuseMlp = fuseMlp,
        });
        int Fused(PlanReport p) => p.Dispatches.Count(d => d.Kernel == "mlp/mlp.fwd");
        var named = Mlp(() => new ReLU(), 3, 64, 64, 3).Plan(cpu, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(64, 3), ["target"] = new Shape(64, 3) },
            Training = true, PreferKernels = new[] { "MlpTileKernels" },
        });
        Assert.That(named.Dispatches.Count(d => d.Kernel == "mlp/mlp.tile.fwd"), Is.EqualTo(1), "a fused MLP entry named asks for the fusion");
        Assert.That(Fused(On(cpu, null, 2, 16, 16, 1)), Is.EqualTo(1));
        Assert.That(Fused(On(cpu, null, 3, 64, 64, 3)), Is.Zero, "64 wide runs faster unfused on lavapipe");
        Assert.That(Fused(On(cpu, true, 3, 64, 64, 3)), Is.EqualTo(1));
        Assert.That(Fused(On(Device, null, 3, 64, 64, 3)), Is.EqualTo(1), "a GPU fuses");
        Assert.That(Fused(On(Device, false, 2, 8, 1)), Is.Zero);
    }

    [Test]
    public void AGpuTakesTheTileKernelsAtLargeBatches_TheRowKernelsElsewhere()
    {
        var cpu = Device with { Type = "Cpu", MaxSharedMemoryBytes = 32768 };
        PlanReport On(DeviceInfo d, int batch, params string[] prefer) => Mlp(() => new ReLU(), 3, 64, 64, 64, 64, 3).Plan(d, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, 3), ["target"] = new Shape(batch, 3) },
            Training = true, FuseMlp = true, PreferKernels = prefer,
        });
        string Groups(PlanReport p, string kernel) => p.Dispatches.Single(d => d.Kernel == kernel).Groups;

        var large = On(Device, 262144);
        Assert.That(Groups(large, "mlp/mlp.tile.fwd"), Is.EqualTo("4096x1x1"), "one 64-row tile per forward workgroup");
        Assert.That(Groups(large, "mlp/mlp.tile.bwd"), Is.EqualTo("4096x1x1"), "one 64-row tile per deltas workgroup");
        Assert.That(Groups(large, "mlp/mlp.tile.dw"), Is.EqualTo("256x5x1"), "16 tiles per weight-gradient chunk, a layer each");
        Assert.That(large.Dispatches.Where(d => d.Kernel is "mlp/mlp.fwd" or "mlp/mlp.bwd"), Is.Empty);
        Assert.That(Groups(On(Device, 256), "mlp/mlp.fwd"), Is.EqualTo("8x1x1"), "the playground's batch keeps the per-row kernels");
        Assert.That(Groups(On(Device, 8191), "mlp/mlp.fwd"), Is.EqualTo("256x1x1"));
        Assert.That(Groups(On(Device, 8192), "mlp/mlp.tile.fwd"), Is.EqualTo("128x1x1"));
        Assert.That(On(cpu, 262144).Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.fwd"), "lavapipe keeps the per-row kernels");
        Assert.That(Groups(On(cpu, 100, "MlpTileKernels"), "mlp/mlp.tile.bwd"), Is.EqualTo("2x1x1"), "unless the tile entry is asked for");
        Assert.That(On(Device, 262144, "MlpRowKernels").Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.fwd"), "or the row entry");
        var small = cpu with { MaxSharedMemoryBytes = 16384 };
        Assert.That(On(small, 100, "MlpTileKernels").Dispatches.Where(d => d.Kernel.StartsWith("mlp/mlp.tile")), Is.Empty,
            "a device with under 32 KiB of shared memory can't run the tile kernels");
    }

    [Test]
    public void TensorCoresTakeLargeBatchesAtFp16_TheTileKernelsAtFp32()
    {
        var tensorCores = Device with
        {
            Type = "DiscreteGpu", SubgroupSize = 32, ShaderFloat16 = true, StorageBuffer16BitAccess = true, CooperativeMatrix = true,
            CooperativeMatrixShapes = new[] { DeviceInfo.CooperativeMatrixShape(16) }, MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024,
        };
        PlanReport On(DeviceInfo d, int batch, Precision precision) => Mlp(() => new ReLU(), 3, 64, 64, 64, 64, 3).Plan(d, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, 3), ["target"] = new Shape(batch, 3) },
            Training = true, FuseMlp = true, Precision = precision,
        });
        string[] Mlp16(PlanReport p) => p.Dispatches.Where(d => d.Kernel.StartsWith("mlp/")).Select(d => $"{d.Kernel} {d.Groups}").ToArray();

        // The weights packed (14336 f16 elements: 16x64, 3 x 64x64, 64x16 padded); 128-row blocks (8 tiles of 16 rows):
        // 2048 forward and deltas workgroups; the weight gradients in 256 chunks of 1024 rows per layer.
        Assert.That(Mlp16(On(tensorCores, 262144, Precision.Fp16)), Is.EqualTo(new[]
        {
            "mlp/mlp.pack_f16 56x1x1", "mlp/mlp.coopmat.fwd.f16 2048x1x1", "mlp/mlp.coopmat.bwd.f16 2048x1x1", "mlp/mlp.coopmat.dw 256x5x1",
            "mlp/mlp.reduce 51x1x1",
        }));
        Assert.That(On(tensorCores, 262144, Precision.Fp32).Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.tile.fwd"),
            "fp16 operands only at Fp16");
        Assert.That(On(tensorCores, 8191, Precision.Fp16).Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.fwd.f16"),
            "small batches keep the per-row kernels");
        var noRoom = tensorCores with { MaxSharedMemoryBytes = 16384 };
        Assert.That(On(noRoom, 262144, Precision.Fp16).Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.fwd.f16"),
            "the 18 KiB block of rows must fit (and the tile kernels' 32 KiB)");
    }
}
