using Kiln.Layers;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// How the registry picks a kernel by device, precision, shape and preference, seen through plans (no GPU needed):
/// the cooperative-matrix convolution only on a device that has 16x16x16 fp16 matrices, only under
/// <see cref="Precision.Fp16"/>, only for the shapes it takes; a preferred entry wins where it can run.
/// </summary>
public sealed class KernelChoiceTests
{
    const string Direct = "conv2d/conv2d.fwd", CoopMat = "conv2d/conv2d.fwd_coopmat";

    static readonly DeviceInfo Plain = new()
    {
        Name = "plain", Type = "DiscreteGpu", SubgroupSize = 32,
        MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30,
    };

    static readonly DeviceInfo TensorCores = Plain with
    {
        Name = "tensor-cores", ShaderFloat16 = true, StorageBuffer16BitAccess = true, CooperativeMatrix = true,
        CooperativeMatrixShapes = new[] { "16x8x8 f16*f16+f16->f16 (subgroup)", Conv2dCoopMat.CoopShape },
    };

    static string ConvKernel(DeviceInfo device, Conv2d conv, Shape input, Precision precision, params string[] prefer)
    {
        var net = new Network();
        net.Output(net.Add(conv, "conv", net.Input("x")), "y");
        var plan = net.Plan(device, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = input },
            Precision = precision,
            PreferKernels = prefer,
        });
        return plan.Dispatches.Single(d => d.Label == "conv.fwd").Kernel;
    }

    /// <summary>Conv2dTiled needs tuning: a plan (no tuner) on a GPU keeps the direct kernel unless the tiled one is named.</summary>
    [Test]
    public void TheTiledConvOnlyRunsWhereTheCompileTunesOrWhenNamed()
    {
        var gpu = Plain with { MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024 };
        var conv = new Conv2d(64, 64, 3, padding: 1);
        Assert.That(ConvKernel(gpu, conv, new Shape(1, 64, 40, 30), Precision.Fp32), Is.EqualTo(Direct));
        Assert.That(ConvKernel(gpu, conv, new Shape(1, 64, 40, 30), Precision.Fp32, nameof(Conv2dTiled)), Is.EqualTo("conv2d/conv2d.fwd_tiled"));
    }

    [Test]
    public void Fp16_OnTensorCores_ChoosesTheCooperativeMatrixConv()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(TensorCores, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(CoopMat));
    }

    [Test]
    public void Fp32_NeverUsesFp16Operands()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(TensorCores, conv, new Shape(1, 64, 40, 30), Precision.Fp32), Is.EqualTo(Direct));
    }

    [Test]
    public void Fp16_WithoutCooperativeMatrices_FallsBackToF32Kernels()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(Plain, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct));
        var noF32Accumulation = TensorCores with { CooperativeMatrixShapes = new[] { "16x16x16 f16*f16+f16->f16 (subgroup)" } };
        Assert.That(ConvKernel(noF32Accumulation, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct));
        var wideSubgroups = TensorCores with { SubgroupSize = 64 };
        Assert.That(ConvKernel(wideSubgroups, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct));
    }

    [Test]
    public void Fp16_ShapesTheTileCannotTake_UseTheDirectKernel()
    {
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 8, 3, padding: 1), new Shape(1, 64, 20, 20), Precision.Fp16), Is.EqualTo(Direct),
            "8 output channels would waste most of a 32-channel tile");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, padding: 1, groups: 2), new Shape(1, 64, 20, 20), Precision.Fp16), Is.EqualTo(Direct),
            "grouped convolutions are not an implicit GEMM of one weight matrix");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, padding: 1), new Shape(1, 64, 512, 512), Precision.Fp16), Is.EqualTo(Direct),
            "full-resolution 64-channel layers ran faster on the direct kernel");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, padding: 1), new Shape(1, 64, 128, 128), Precision.Fp16), Is.EqualTo(CoopMat),
            "on few pixels the tensor-core tile wins");
    }

    [Test]
    public void PreferredEntry_WinsOverPriority_WhereItCanRun()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(TensorCores, conv, new Shape(1, 64, 40, 30), Precision.Fp16, nameof(Conv2dDirect)), Is.EqualTo(Direct));
        // Preferring an entry the device lacks leaves the registry's own choice.
        Assert.That(ConvKernel(Plain, conv, new Shape(1, 64, 40, 30), Precision.Fp16, nameof(Conv2dCoopMat)), Is.EqualTo(Direct));
    }

    [Test]
    public void CooperativeMatrixConv_TilesPixelsBy128AndChannelsBy32PerSubgroup()
    {
        var net = new Network();
        net.Output(net.Add(new Conv2d(64, 112, 3, padding: 1), "conv", net.Input("x")), "y");
        var plan = net.Plan(TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 64, 30, 50) },
            Precision = Precision.Fp16,
        });
        // 2 * 30 * 50 = 3000 pixels: 24 tiles of 128; 112 channels: 4 subgroups of 32 rows -> one 128-channel tile.
        Assert.That(plan.Dispatches.Single(d => d.Label == "conv.fwd").Groups, Is.EqualTo("24x1x1"));
    }

    [TestCase(1, "conv2d/conv2d.flip_weight")]
    [TestCase(2, "conv_transpose2d/conv_transpose2d.fwd")]
    public void OnAGpu_Stride1InputGradient_RunsTheForwardKernelOnTheFlippedWeight(int stride, string firstKernel)
    {
        var net = new Network();
        var y = net.Add(new Conv2d(32, 48, 3, stride, 1), "conv", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        var x = new Shape(2, 32, 40, 40);
        var plan = net.Plan(Plain, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["g"] = new Conv2d(32, 48, 3, stride, 1).OutputShape(new[] { x }) },
            Training = true,
            InputGradients = true,
        });
        var dx = plan.Dispatches.Where(d => d.Label.StartsWith("conv.bwd_input", StringComparison.Ordinal)).Select(d => d.Kernel).ToList();
        Assert.That(dx[0], Is.EqualTo(firstKernel));
        if (stride == 1) Assert.That(dx, Is.EqualTo(new[] { "conv2d/conv2d.flip_weight", "conv2d/conv2d.fwd" }));
    }
}
