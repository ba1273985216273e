using Kiln.Layers;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// Where Linear's products run on the cooperative-matrix GEMM (<see cref="LinearCoopMat"/>), seen through plans on
/// described devices (no GPU needed): under <see cref="Precision.Fp16"/> on a device with 16x16x16 fp16 matrices, for
/// the forward and both backward products alike (one decision), never under Fp32, not without the matrices, on
/// lavapipe only when named; shapes below its limits run the plain kernel; K is split to fill the GPU; its tiles fit
/// the device. The kernels' numerics are checked in CoopMat/CooperativeMatrixLinearTests where a device has the matrices.
/// </summary>
public sealed class LinearCoopMatChoiceTests
{
    const string CoopMat = "linear/linear.gemm_coopmat";
    static readonly string[] Passes = { "mlp.fwd", "mlp.bwd_input", "mlp.bwd_weight" };

    static readonly DeviceInfo F16Storage = new()
    {
        Name = "f16-storage", Type = "DiscreteGpu", SubgroupSize = 32, ShaderFloat16 = true, StorageBuffer16BitAccess = true,
        MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30,
        MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024,
    };

    /// <summary>An H100 as Vulkan describes it: 16x16x16 f16*f16+f32 matrices, 32-wide subgroups, 48 KiB of shared memory.</summary>
    static readonly DeviceInfo TensorCores = F16Storage with
    {
        Name = "tensor-cores", CooperativeMatrix = true,
        CooperativeMatrixShapes = new[] { "16x8x8 f16*f16+f16->f16 (subgroup)", DeviceInfo.CooperativeMatrixShape(16) },
    };

    /// <summary>What lavapipe of Mesa 26 reports: 8x8x8 matrices, 8-wide subgroups, 32 KiB of shared memory, a CPU.</summary>
    static readonly DeviceInfo Lavapipe26 = F16Storage with
    {
        Name = "llvmpipe", Type = "Cpu", SubgroupSize = 8, CooperativeMatrix = true, MaxSharedMemoryBytes = 32768,
        CooperativeMatrixShapes = new[] { "8x8x8 f16*f16+f16->f16 (subgroup)", DeviceInfo.CooperativeMatrixShape(8) },
    };

    /// <summary>The training plan of one Linear layer on <paramref name="batch"/> samples, by dispatch label.</summary>
    static Dictionary<string, PlannedDispatch> Plan(DeviceInfo device, Linear layer, int batch, Precision precision, params string[] prefer)
    {
        var net = new Network();
        var y = net.Add(layer, "mlp", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        var plan = net.Plan(device, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(batch, layer.InFeatures), ["g"] = new Shape(batch, layer.OutFeatures) },
            Training = true,
            InputGradients = true,
            Precision = precision,
            PreferKernels = prefer,
        });
        return plan.Dispatches.ToDictionary(d => d.Label);
    }

    /// <summary>MatMul's batched products follow Linear's decision: tensor cores under Fp16 on the device that has them,
    /// one workgroup z per product, the plain batched kernel under Fp32, on lavapipe unless named, and below 16 rows.</summary>
    [Test]
    public void MatMul_FollowsLinearsChoice()
    {
        static string[] Kernels(DeviceInfo device, Precision precision, int m, params string[] prefer)
        {
            var net = new Network();
            var y = net.Add(new MatMul(), "mm", net.Input("a"), net.Input("b"));
            net.Output(y, "y");
            var plan = net.Plan(device, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["a"] = new Shape(6, m, 64), ["b"] = new Shape(6, 64, 48) },
                Precision = precision, PreferKernels = prefer,
            });
            return plan.Dispatches.Where(d => d.Kernel.StartsWith("linear/", StringComparison.Ordinal)).Select(d => d.Kernel).ToArray();
        }
        Assert.That(Kernels(TensorCores, Precision.Fp16, 100), Is.EqualTo(new[] { CoopMat + ".batched.b_act.f16" }));
        Assert.That(Kernels(TensorCores, Precision.Fp32, 100), Is.EqualTo(new[] { "linear/linear.gemm.batched" }));
        Assert.That(Kernels(TensorCores, Precision.Fp16, 8), Is.EqualTo(new[] { "linear/linear.gemm.batched.b_act.f16" }), "8 rows: the plain kernel");
        Assert.That(Kernels(Lavapipe26, Precision.Fp16, 100), Is.EqualTo(new[] { "linear/linear.gemm.batched.b_act.f16" }));
        Assert.That(Kernels(Lavapipe26, Precision.Fp16, 100, nameof(LinearCoopMat)), Is.EqualTo(new[] { CoopMat + ".batched.b_act.f16" }));
    }

    [Test]
    public void Fp16_OnTensorCores_RunsForwardAndBothGradientsOnTheCooperativeMatrixGemm()
    {
        var plan = Plan(TensorCores, new Linear(64, 64), 4096, Precision.Fp16);
        Assert.That(plan["mlp.fwd"].Kernel, Is.EqualTo(CoopMat + ".f16"));
        Assert.That(plan["mlp.bwd_input"].Kernel, Is.EqualTo(CoopMat + ".f16"));
        Assert.That(plan["mlp.bwd_weight"].Kernel, Is.EqualTo(CoopMat + ".b_act.c_float.f16"));
        // 4096 x 64 in 128 x 64 tiles (the 128 x 128 tile would be half padding); dW's 64 x 64 in one tile, K split in 16.
        Assert.That(plan["mlp.fwd"].Groups, Is.EqualTo("32x1x1"));
        Assert.That(plan["mlp.bwd_input"].Groups, Is.EqualTo("32x1x1"));
        Assert.That(plan["mlp.bwd_weight"].Groups, Is.EqualTo("1x1x16"));
        Assert.That(plan["mlp.bwd_weight.sum"].Kernel, Is.EqualTo("reduce/partials"));
    }

    /// <summary>dW = dY^T X of a 64 x 64 layer over 262144 samples: one output tile, K cut into 1024 chunks of 256 rows.</summary>
    [Test]
    public void WeightGradient_OverALargeBatch_SplitsKToFillTheGpu()
    {
        var plan = Plan(TensorCores, new Linear(64, 64), 262144, Precision.Fp16);
        Assert.That(plan["mlp.bwd_weight"].Kernel, Is.EqualTo(CoopMat + ".b_act.c_float.f16"));
        Assert.That(plan["mlp.bwd_weight"].Groups, Is.EqualTo("1x1x1024"));
        Assert.That(plan["mlp.bwd_weight.sum"].Kernel, Is.EqualTo("reduce/partials"));
        Assert.That(plan["mlp.fwd"].Groups, Is.EqualTo("2048x1x1"));
        Assert.That(plan.Keys, Has.None.EqualTo("mlp.fwd.sum"), "2048 tiles fill the GPU unsplit");
        var p = LinearCoopMat.Plan(TensorCores, 64, 64, 262144)!;
        Assert.That((p.Splits, p.KPerSplit), Is.EqualTo((1024, 256)));
    }

    [Test]
    public void Fp32_NeverUsesTheCooperativeMatrixGemm()
    {
        var plan = Plan(TensorCores, new Linear(64, 64), 4096, Precision.Fp32, nameof(LinearCoopMat));
        foreach (var pass in Passes) Assert.That(plan[pass].Kernel, Does.StartWith("linear/linear.gemm").And.Not.Contains("coopmat"), pass);
    }

    [Test]
    public void Fp16_WithoutCooperativeMatrices_RunsThePlainKernelOnF16Activations()
    {
        var noF32Accumulation = TensorCores with { CooperativeMatrixShapes = new[] { "16x16x16 f16*f16+f16->f16 (subgroup)" } };
        var wideSubgroups = TensorCores with { SubgroupSize = 64 };
        foreach (var device in new[] { F16Storage, noF32Accumulation, wideSubgroups })
        {
            // Named or not: a preference cannot force an entry the device cannot run.
            var plan = Plan(device, new Linear(64, 64), 4096, Precision.Fp16, nameof(LinearCoopMat));
            foreach (var pass in Passes)
                Assert.That(plan[pass].Kernel, Does.StartWith("linear/linear.gemm.").And.EndWith(".f16").And.Not.Contains("coopmat"), $"{device.Name} {pass}");
        }
    }

    /// <summary>lavapipe emulates the matrices: the plain kernel unless LinearCoopMat is named, then every product on it.</summary>
    [Test]
    public void OnLavapipe_RunsOnlyWhenNamed()
    {
        var plain = Plan(Lavapipe26, new Linear(40, 48), 100, Precision.Fp16);
        foreach (var pass in Passes) Assert.That(plain[pass].Kernel, Does.Not.Contain("coopmat"), pass);
        var named = Plan(Lavapipe26, new Linear(40, 48), 100, Precision.Fp16, nameof(LinearCoopMat));
        foreach (var pass in Passes) Assert.That(named[pass].Kernel, Does.StartWith(CoopMat), pass);
    }

    /// <summary>The forward and the backward follow one choice: naming the plain entry keeps all three products on it.</summary>
    [Test]
    public void NamingThePlainEntry_KeepsEveryProductOnIt()
    {
        var plan = Plan(TensorCores, new Linear(64, 64), 4096, Precision.Fp16, nameof(LinearGemm));
        foreach (var pass in Passes) Assert.That(plan[pass].Kernel, Does.Not.Contain("coopmat"), pass);
    }

    /// <summary>Fewer than 16 rows or columns of a product (10 outputs; 8 samples) run the plain kernel, product by product.</summary>
    [Test]
    public void NarrowProducts_RunThePlainKernel()
    {
        var head = Plan(TensorCores, new Linear(64, 10), 4096, Precision.Fp16);
        Assert.That(head["mlp.fwd"].Kernel, Does.Not.Contain("coopmat"), "4096 x 10");
        Assert.That(head["mlp.bwd_input"].Kernel, Does.StartWith(CoopMat), "4096 x 64");
        Assert.That(head["mlp.bwd_weight"].Kernel, Does.Not.Contain("coopmat"), "10 x 64");
        var fewSamples = Plan(TensorCores, new Linear(64, 64), 8, Precision.Fp16);
        Assert.That(fewSamples["mlp.fwd"].Kernel, Does.Not.Contain("coopmat"), "8 x 64");
        Assert.That(fewSamples["mlp.bwd_input"].Kernel, Does.Not.Contain("coopmat"), "8 x 64");
        Assert.That(fewSamples["mlp.bwd_weight"].Kernel, Does.StartWith(CoopMat), "64 x 64 over 8 samples");
    }

    /// <summary>Row tiles past the device's 65535 workgroups of x: the plain kernel (which spreads over x and y) takes it.</summary>
    [Test]
    public void MoreRowTilesThanWorkgroups_RunThePlainKernel()
    {
        // 16 columns: 128 x 32 tiles, 65537 of them along the rows.
        Assert.That(LinearCoopMat.Plan(TensorCores, 65536 * 128 + 1, 16, 16), Is.Null);
        Assert.That(LinearCoopMat.Plan(TensorCores, 65535 * 128, 16, 16), Is.Not.Null);
    }

    /// <summary>
    /// With 16x16x16 matrices and 32-wide subgroups every tile fits (at most 256 invocations, 32 staged values of each
    /// operand per invocation, the 48 KiB of shared memory: the 128 x 128 tile takes all of it); with 32 KiB the
    /// three largest tiles are left out; 16-wide subgroups (twice the staged values) leave the tiles that would stage over 32.
    /// </summary>
    [Test]
    public void Tiles_FitTheDevice()
    {
        Assert.That(LinearCoopMat.Tiles(TensorCores), Is.EqualTo(LinearCoopMat.Shapes));
        foreach (var t in LinearCoopMat.Shapes)
        {
            Assert.That(32 * t.Subgroups, Is.LessThanOrEqualTo(256), t.ToString());
            Assert.That(LinearCoopMat.SharedBytes(16, t), Is.LessThanOrEqualTo(48 * 1024), t.ToString());
            Assert.That(t.Rows(16) * 32 / (32 * t.Subgroups), Is.LessThanOrEqualTo(32), t.ToString());
            Assert.That(32 * t.Cols(16) / (32 * t.Subgroups), Is.LessThanOrEqualTo(32), t.ToString());
        }
        Assert.That(LinearCoopMat.SharedBytes(16, new LinearCoopMat.Tile(4, 2, 2, 4)), Is.EqualTo(48 * 1024));
        var small = TensorCores with { MaxSharedMemoryBytes = 32768 };
        Assert.That(LinearCoopMat.Tiles(small), Is.EqualTo(LinearCoopMat.Shapes.Skip(3)), "34 KiB and more left out");
        Assert.That(LinearCoopMat.Tiles(Lavapipe26), Is.EqualTo(LinearCoopMat.Shapes), "S = 8 tiles take a quarter of the memory");
        var narrow = TensorCores with { SubgroupSize = 16 };
        Assert.That(LinearCoopMat.Tiles(narrow), Is.EqualTo(new[] { new LinearCoopMat.Tile(4, 2, 2, 4), new LinearCoopMat.Tile(2, 2, 2, 2) }));
    }

    /// <summary>The tile with the least padding, then the largest.</summary>
    [TestCase(262144, 64, 2, 2, 4, 2)] // 128 x 64
    [TestCase(64, 64, 2, 2, 2, 2)]     // 64 x 64
    [TestCase(4096, 1000, 4, 2, 2, 4)] // 128 x 128
    [TestCase(4096, 20, 4, 1, 2, 2)]   // 128 x 32
    [TestCase(20, 4096, 1, 4, 2, 2)]   // 32 x 128
    [TestCase(20, 20, 1, 1, 2, 2)]     // 32 x 32
    public void ChooseTile_LeastPaddingThenLargest(int m, int n, int sgm, int sgn, int tm, int tn) =>
        Assert.That(LinearCoopMat.ChooseTile(TensorCores, m, n), Is.EqualTo(new LinearCoopMat.Tile(sgm, sgn, tm, tn)));
}
