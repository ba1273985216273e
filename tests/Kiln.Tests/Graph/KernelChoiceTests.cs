using Kiln.Layers;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// How the registry picks a kernel by device, precision, shape and preference, seen through plans (no GPU needed):
/// the cooperative-matrix convolution only on a device that has 16x16x16 fp16 matrices, only under
/// <see cref="Precision.Fp16"/>, only for the shapes it takes; a preferred entry wins where it can run. Under Fp16
/// activations are stored as f16, so every conv kernel runs its f16-storage variant (".f16"), and a device without
/// f16 storage is refused.
/// </summary>
public sealed class KernelChoiceTests
{
    const string Direct = "conv2d/conv2d.fwd", CoopMat = "conv2d/conv2d.fwd_coopmat", Patch = "conv2d/conv2d.fwd_coopmat_patch";
    const string F16 = ".f16";

    static readonly DeviceInfo Plain = new()
    {
        Name = "plain", Type = "DiscreteGpu", SubgroupSize = 32,
        MaxWorkgroupCount = new[] { 65535u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 30,
    };

    /// <summary>f16 arithmetic and 16-bit storage buffers, no cooperative matrices.</summary>
    static readonly DeviceInfo F16Storage = Plain with { Name = "f16-storage", ShaderFloat16 = true, StorageBuffer16BitAccess = true };

    static readonly DeviceInfo TensorCores = F16Storage with
    {
        Name = "tensor-cores", CooperativeMatrix = true,
        CooperativeMatrixShapes = new[] { "16x8x8 f16*f16+f16->f16 (subgroup)", DeviceInfo.CooperativeMatrixShape(16) },
        MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024,
    };

    /// <summary>What lavapipe of Mesa 26 reports: 8x8x8 matrices, 8-wide subgroups, 32 KiB of shared memory, a CPU.</summary>
    static readonly DeviceInfo Lavapipe26 = F16Storage with
    {
        Name = "llvmpipe", Type = "Cpu", SubgroupSize = 8, CooperativeMatrix = true,
        CooperativeMatrixShapes = new[] { "8x8x8 f16*f16+f16->f16 (subgroup)", DeviceInfo.CooperativeMatrixShape(8) },
        MaxSharedMemoryBytes = 32768, MaxWorkgroupInvocations = 1024,
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

    /// <summary>
    /// PreferKernels "Entry:candidate" names an entry and, untuned, one of its candidates: the patch kernel's wide tile
    /// (4 S channels per subgroup: 64 channels of 4 subgroups of 4 rows, 16 x 16 pixels) where the default is 2 subgroups
    /// of 32 channels by 2 of 4 rows (8 x 16 pixels), and the weight gradient's (2 S rows of C1 per subgroup: 2 subgroups
    /// where the default has 4 of 16); a name the layer has no candidate of leaves the default.
    /// </summary>
    [Test]
    public void PreferKernels_NamesACandidate_TheWideTiles()
    {
        var net = new Network();
        net.SetOutputGradient(net.Add(new Conv2d(64, 64, 3, padding: 1), "conv", net.Input("x")), net.Input("g"));
        var x = new Shape(1, 64, 64, 64);
        Dictionary<string, Kiln.Graph.Step> Plan(params string[] prefer) => Kiln.Graph.Compiler.Plan(net, TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["g"] = x }, Training = true, UpdateParameters = false,
            Precision = Precision.Fp16, ActivationLayout = TensorLayout.Nchw, PreferKernels = prefer,
        }).Levels.SelectMany(l => l).ToDictionary(step => step.Label);
        var patch = Plan(nameof(Conv2dCoopMatPatch), nameof(Conv2dWeightGradCoopMatPatch));
        Assert.That(patch["conv.fwd"].GroupsX, Is.EqualTo(32), "64 x 64 pixels in tiles of 8 x 16");
        Assert.That(PatchTile.Of(patch["conv.fwd"].Spec), Is.EqualTo(new PatchTile(2, 2, 4)));
        Assert.That(patch["conv.bwd_weight"].Spec.Constants[4], Is.EqualTo(4), "C1 in 4 subgroups of 16 rows");
        Assert.That(patch["conv.bwd_weight"].Spec.Constant(16), Is.Zero);

        var wide = Plan($"{nameof(Conv2dCoopMatPatch)}:{new PatchTile(1, 4, 4, Tm: 4).Name}", $"{nameof(Conv2dWeightGradCoopMatPatch)}:{new WeightGradTile(2, 2, 8, Tm: 2).Name}");
        Assert.That(wide["conv.fwd"].Spec.Module, Is.EqualTo(Patch + F16));
        Assert.That(wide["conv.fwd"].GroupsX, Is.EqualTo(16), "64 x 64 pixels in tiles of 16 x 16");
        Assert.That(PatchTile.Of(wide["conv.fwd"].Spec), Is.EqualTo(new PatchTile(1, 4, 4, Tm: 4)));
        Assert.That(wide["conv.bwd_weight"].Spec.Constants[4], Is.EqualTo(2), "C1 in 2 subgroups of 32 rows");
        Assert.That(wide["conv.bwd_weight"].Spec.Constant(16), Is.EqualTo(1), "TM_WIDE");

        var unknown = Plan($"{nameof(Conv2dCoopMatPatch)}:patch9x9r9", nameof(Conv2dWeightGradCoopMatPatch));
        Assert.That(unknown["conv.fwd"].Spec, Is.EqualTo(patch["conv.fwd"].Spec), "no such tile: the default");
        Assert.That(Kiln.Graph.KernelRegistry.Names(new[] { "Conv2dCoopMatPatch:patch1x4r4m4" }, nameof(Conv2dCoopMatPatch)), Is.True);
        Assert.That(Kiln.Graph.KernelRegistry.Names(new[] { "Conv2dCoopMatPatch:patch1x4r4m4" }, nameof(Conv2dCoopMatPatchNhwc)), Is.False);
        Assert.That(Kiln.Graph.KernelRegistry.Names(new[] { "Conv2dCoopMatPatchNhwc" }, nameof(Conv2dCoopMatPatch)), Is.False);
    }

    /// <summary>
    /// A 3x3 stride-2 layer's input gradient on tensor cores: its phases (1 to 4 taps) run in one .phases dispatch, each as
    /// 2x2 taps, where the zero taps add little arithmetic (32 x 32 pixels, 64 channels: 15 M products of zeros), and
    /// phase by phase where they would add much (256 x 256: 0.94 G), whereas a 4x4 stride-2 layer's phases, all 2x2, run
    /// in one dispatch at any size.
    /// </summary>
    [TestCase(3, 32, true)]
    [TestCase(3, 256, false)]
    [TestCase(4, 256, true)]
    public void StridedInputGradient_PhasesOfDifferentTaps_RunInOneDispatchOnlyWhereTheZerosCostLittle(int kernel, int size, bool one)
    {
        var net = new Network();
        net.SetOutputGradient(net.Add(new Conv2d(64, 64, kernel, stride: 2, padding: 1), "conv", net.Input("x")), net.Input("g"));
        var x = new Shape(1, 64, size, size);
        var g = new Conv2d(64, 64, kernel, stride: 2, padding: 1).OutputShape(new[] { x });
        var plan = Kiln.Graph.Compiler.Plan(net, TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = x, ["g"] = g }, Training = true, UpdateParameters = false, InputGradients = true,
            Precision = Precision.Fp16, ActivationLayout = TensorLayout.Nchw,
        });
        var dx = plan.Levels.SelectMany(l => l).Where(s => s.Label.StartsWith("conv.bwd_input", StringComparison.Ordinal) && !s.Label.EndsWith(".pack", StringComparison.Ordinal))
            .Select(s => s.Spec.Module).ToList();
        Assert.That(dx, Is.EqualTo(one ? new[] { Patch + ".phases" + F16 } : Enumerable.Repeat(Patch + F16, 4).ToArray()), string.Join(", ", dx));
        var a = new Conv2d(64, 64, kernel, stride: 2, padding: 1).Attributes;
        Assert.That(Conv2dInputGradCoopMatStrided.OneDispatch(a, x), Is.EqualTo(one));
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
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 96, 3, padding: 1), new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Patch + F16),
            "stride 1: the patch kernel");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 96, 3, stride: 2, padding: 1), new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Patch + F16),
            "stride 2: the patch kernel");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 96, 3, stride: 3, padding: 1), new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(CoopMat + F16),
            "stride 3: the im2col kernel");
    }

    [Test]
    public void Fp32_NeverUsesFp16Operands()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(TensorCores, conv, new Shape(1, 64, 40, 30), Precision.Fp32), Is.EqualTo(Direct));
    }

    [Test]
    public void Fp16_WithoutCooperativeMatrices_RunsTheDirectKernelOnF16Activations()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(F16Storage, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct + F16));
        var noF32Accumulation = TensorCores with { CooperativeMatrixShapes = new[] { "16x16x16 f16*f16+f16->f16 (subgroup)" } };
        Assert.That(ConvKernel(noF32Accumulation, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct + F16));
        var wideSubgroups = TensorCores with { SubgroupSize = 64 };
        Assert.That(ConvKernel(wideSubgroups, conv, new Shape(1, 64, 40, 30), Precision.Fp16), Is.EqualTo(Direct + F16));
    }

    [Test]
    public void Fp16_OnADeviceWithoutF16Storage_IsAGraphExceptionNamingTheFeatures()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        var e = Assert.Throws<GraphException>(() => ConvKernel(Plain, conv, new Shape(1, 64, 40, 30), Precision.Fp16))!;
        Assert.That(e.Message, Does.Contain("shaderFloat16").And.Contain("storageBuffer16BitAccess").And.Contain("Precision.Fp32"));
        var noStorage = F16Storage with { StorageBuffer16BitAccess = false };
        Assert.Throws<GraphException>(() => ConvKernel(noStorage, conv, new Shape(1, 64, 40, 30), Precision.Fp16));
    }

    [Test]
    public void Fp16_ShapesTheTileCannotTake_UseTheDirectKernel()
    {
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 8, 3, padding: 1), new Shape(1, 64, 20, 20), Precision.Fp16), Is.EqualTo(Direct + F16),
            "8 output channels would waste most of a 32-channel tile");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, padding: 1, groups: 2), new Shape(1, 64, 20, 20), Precision.Fp16), Is.EqualTo(Direct + F16),
            "grouped convolutions are not an implicit GEMM of one weight matrix");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, stride: 3, padding: 1), new Shape(1, 64, 1536, 1536), Precision.Fp16), Is.EqualTo(Direct + F16),
            "full-resolution 64-channel layers ran faster on the direct kernel than on the im2col one");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, stride: 3, padding: 1), new Shape(1, 64, 384, 384), Precision.Fp16), Is.EqualTo(CoopMat + F16),
            "on few pixels the im2col tile wins");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, padding: 1), new Shape(1, 64, 512, 512), Precision.Fp16), Is.EqualTo(Patch + F16),
            "the patch kernel takes its layers at any size");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 3, stride: 2, padding: 2, dilation: 2), new Shape(1, 64, 1024, 1024), Precision.Fp16), Is.EqualTo(Patch + F16),
            "strides and dilations of 2 with a 5-pixel span too");
        Assert.That(ConvKernel(TensorCores, new Conv2d(64, 64, 7, padding: 3), new Shape(1, 64, 64, 64), Precision.Fp16), Is.EqualTo(CoopMat + F16),
            "kernels over 5 x 5 outgrow the patch kernel's staging");
    }

    [Test]
    public void PreferredEntry_WinsOverPriority_WhereItCanRun()
    {
        var conv = new Conv2d(64, 96, 3, padding: 1);
        Assert.That(ConvKernel(TensorCores, conv, new Shape(1, 64, 40, 30), Precision.Fp16, nameof(Conv2dDirect)), Is.EqualTo(Direct + F16));
        // Preferring an entry the device lacks leaves the registry's own choice.
        Assert.That(ConvKernel(F16Storage, conv, new Shape(1, 64, 40, 30), Precision.Fp16, nameof(Conv2dCoopMat)), Is.EqualTo(Direct + F16));
    }

    [Test]
    public void CooperativeMatrixConv_TilesPixelsBy128AndChannelsBy32PerSubgroup()
    {
        var net = new Network();
        net.Output(net.Add(new Conv2d(64, 112, 3, stride: 3, padding: 1), "conv", net.Input("x")), "y");
        var plan = net.Plan(TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 64, 90, 150) },
            Precision = Precision.Fp16,
        });
        // 2 * 30 * 50 = 3000 output pixels: 24 tiles of 128; 112 channels: 4 subgroups of 32 rows -> one 128-channel tile.
        var conv = plan.Dispatches.Single(d => d.Label == "conv.fwd");
        Assert.That(conv.Kernel, Is.EqualTo(CoopMat + F16));
        Assert.That(conv.Groups, Is.EqualTo("24x1x1"));
    }

    /// <summary>
    /// The packed weights have buffers of their own (ValueKind.Derived), not bytes of the shared transient memory that an
    /// earlier layer used, so every packing runs in the plan's first level: no barrier of its own before its conv.
    /// </summary>
    [Test]
    public void WeightPacking_RunsInTheFirstLevel()
    {
        var plan = DenoiseUNet.Build().Plan(TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, DenoiseUNet.InputChannels, 96, 160) },
            Precision = Precision.Fp16,
        });
        var packs = plan.Dispatches.Where(d => d.Kernel == "conv2d/conv2d.pack_weight_f16").ToList();
        Assert.That(packs, Has.Count.GreaterThan(10));
        Assert.That(packs.Select(d => d.Level), Has.All.EqualTo(0), string.Join(", ", packs.Select(d => $"{d.Label} L{d.Level}")));
    }

    [Test]
    public void PatchConv_TilesImagesBy8RowsOf16AndPacksTheWeightFirst()
    {
        var net = new Network();
        net.Output(net.Add(new Conv2d(64, 112, 3, padding: 1), "conv", net.Input("x")), "y");
        var plan = net.Plan(TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 64, 30, 50) },
            Precision = Precision.Fp16,
        });
        // Per image ceil(30 / 8) = 4 row tiles by ceil(50 / 16) = 4 column tiles: 32 tiles; 112 channels: 4 subgroups of
        // 32 rows -> one 128-channel tile. The weight, packed first: 9 taps x 128 (Cout padded) x 64 (Cin) f16.
        var labels = plan.Dispatches.Select(d => d.Label).ToList();
        var pack = plan.Dispatches.Single(d => d.Label == "conv.fwd.pack");
        var conv = plan.Dispatches.Single(d => d.Label == "conv.fwd");
        Assert.That(labels.IndexOf(pack.Label), Is.LessThan(labels.IndexOf(conv.Label)));
        Assert.That(pack.Kernel, Is.EqualTo("conv2d/conv2d.pack_weight_f16"));
        Assert.That(pack.Level, Is.EqualTo(0), "the packing depends on the weight alone");
        Assert.That(pack.Groups, Is.EqualTo($"{(9 * 128 * 64 + 255) / 256}x1x1"));
        Assert.That(conv.Kernel, Is.EqualTo(Patch + F16));
        Assert.That(conv.Groups, Is.EqualTo("32x1x1"));
    }

    /// <summary>
    /// Under Fp16 training every conv kernel that reads or writes activations or their gradients runs its f16-storage
    /// variant (forward, input, weight and bias gradients of Conv2d and ConvTranspose2d), on a GPU's entries and on a CPU
    /// device's texel-read ones; only the weight flip (parameters alone) stays f32. On the GPU the Conv2d's weight
    /// gradient writes its bias gradient too (the tiled kernel's .bias variant): no pass of its own.
    /// </summary>
    [TestCase("DiscreteGpu")]
    [TestCase("Cpu")]
    public void Fp16Training_RunsEveryConvKernelOnF16Activations(string type)
    {
        var device = F16Storage with { Type = type, MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024 };
        var net = new Network();
        var h = net.Add(new Conv2d(3, 16, 3, padding: 1), "conv", net.Input("x"));
        var y = net.Add(new ConvTranspose2d(16, 4, 4, stride: 2, padding: 1), "up", h);
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        var plan = net.Plan(device, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 3, 12, 10), ["g"] = new Shape(2, 4, 24, 20) },
            Training = true,
            InputGradients = true,
            Precision = Precision.Fp16,
        });
        var conv = plan.Dispatches.Where(d => d.Kernel.StartsWith("conv2d/", StringComparison.Ordinal) || d.Kernel.StartsWith("conv_transpose2d/", StringComparison.Ordinal)).ToList();
        bool gpu = type == "DiscreteGpu";
        foreach (var pass in new[] { "conv.fwd", "conv.bwd_input", "conv.bwd_weight", "up.fwd", "up.bwd_input", "up.bwd_weight", "up.bwd_bias" })
            Assert.That(conv.Select(d => d.Label), Has.Some.StartsWith(pass));
        Assert.That(conv.Select(d => d.Label), gpu ? Has.None.StartsWith("conv.bwd_bias") : Has.Some.StartsWith("conv.bwd_bias"));
        if (gpu) Assert.That(conv.Single(d => d.Label == "conv.bwd_weight").Kernel, Is.EqualTo("conv2d/conv2d.bwd_weight_tiled.bias" + F16));
        foreach (var d in conv)
            Assert.That(d.Kernel, d.Kernel == "conv2d/conv2d.flip_weight" ? Does.Not.EndWith(F16) : Does.EndWith(F16), d.Label);
        if (type == "Cpu") Assert.That(conv.Select(d => d.Kernel), Has.Some.Contains(".texel"), "a CPU device reads texels");
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

    /// <summary>On tensor cores at Fp16 the stride-1 input gradient's patch kernel packs the weight turned and swapped
    /// itself: no flip pass and no flipped copy.</summary>
    [Test]
    public void OnTensorCores_TheFlippedInputGradient_PacksTheWeightWithoutAFlippedCopy()
    {
        var net = new Network();
        var y = net.Add(new Conv2d(32, 48, 3, padding: 1), "conv", net.Input("x"));
        net.Output(y, "y");
        net.SetLoss(new DotLoss(), y, net.Input("g"));
        var plan = net.Plan(TensorCores, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 32, 40, 40), ["g"] = new Shape(2, 48, 40, 40) },
            Training = true, InputGradients = true, Precision = Precision.Fp16, Autotune = false,
        });
        var dx = plan.Dispatches.Where(d => d.Label.StartsWith("conv.bwd_input", StringComparison.Ordinal)).ToList();
        Assert.That(dx.Select(d => d.Kernel), Is.EqualTo(new[] { "conv2d/conv2d.pack_weight_f16", "conv2d/conv2d.fwd_coopmat_patch.f16" }));
        Assert.That(dx[0].Reads, Does.Contain("conv.weight"), "packed from the layer's own weight");
        Assert.That(plan.Dispatches.SelectMany(d => d.Writes), Has.None.Contains("flipped_weight"));
    }

    /// <summary>
    /// The weight gradient untuned: under Fp16 on tensor cores a cooperative-matrix kernel (groups of 1, 16 or more
    /// rows; the patch kernel with strides and dilations up to 2, a 5x5 in tap blocks; else the im2col one; each in the
    /// .bias variant that writes a Conv2d's bias gradient too), else on a GPU the
    /// tiled kernel (its .bias variant where the layer has a bias), on lavapipe the direct one; never fp16 operands under Fp32.
    /// </summary>
    [Test]
    public void WeightGradient_TakesTheCooperativeMatrixKernelUnderFp16OnTensorCores()
    {
        string WeightGrad(DeviceInfo device, Conv2d conv, Precision precision)
        {
            var net = new Network();
            var y = net.Add(conv, "conv", net.Input("x"));
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            var plan = net.Plan(device, new CompileOptions
            {
                InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 16, 20, 18), ["t"] = conv.OutputShape(new[] { new Shape(2, 16, 20, 18) }) },
                Training = true, Precision = precision, Autotune = false,
            });
            return plan.Dispatches.First(d => d.Label == "conv.bwd_weight").Kernel;
        }
        var gpu = TensorCores;
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 1), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16"), "stride 1, 3x3: the patch kernel");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, stride: 2, padding: 1), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16"), "stride 2: the patch kernel");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, stride: 3, padding: 1), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat.bias.f16"), "stride 3: im2col");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 5, padding: 2), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat_patch.bias.f16"), "5x5: the patch kernel in tap blocks");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 1, bias: false), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat_patch.f16"),
            "no bias: the variant without the bias sum");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 3, dilation: 3), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_coopmat.bias.f16"), "dilation 3: im2col");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 1), Precision.Fp32), Is.EqualTo("conv2d/conv2d.bwd_weight_tiled.bias"));
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 1, bias: false), Precision.Fp32), Is.EqualTo("conv2d/conv2d.bwd_weight_tiled"), "no bias");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 32, 3, padding: 1, groups: 2), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_tiled.bias.f16"), "groups");
        Assert.That(WeightGrad(gpu, new Conv2d(16, 8, 3, padding: 1), Precision.Fp16), Is.EqualTo("conv2d/conv2d.bwd_weight_tiled.bias.f16"), "8 rows");
        Assert.That(WeightGrad(F16Storage with { MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024 }, new Conv2d(16, 32, 3, padding: 1), Precision.Fp16),
            Is.EqualTo("conv2d/conv2d.bwd_weight_tiled.bias.f16"));
        Assert.That(WeightGrad(Lavapipe26, new Conv2d(16, 32, 3, padding: 1), Precision.Fp16), Does.StartWith("conv2d/conv2d.bwd_weight.").And.EndWith(".f16"));
    }

    /// <summary>
    /// The cooperative-matrix convolution's tuning tiles with 16x16x16 matrices and 32-wide subgroups: its untuned tile
    /// first, then at most three more, none over 45 KiB of shared memory (of the GPU's 48) or 256 invocations, none wider
    /// in channels than the default.
    /// </summary>
    [TestCase(16)]
    [TestCase(64)]
    [TestCase(96)]
    [TestCase(256)]
    public void CooperativeMatrixTiles_StartWithTheDefault_AndFitSharedMemory(int cout)
    {
        var tiles = Conv2dCoopMat.Tiles(TensorCores, cout).ToList();
        int m = Conv2dCoopMat.SubgroupsM(cout, 16);
        Assert.That(tiles[0], Is.EqualTo((m, Conv2dCoopMat.SubgroupsN(m))));
        Assert.That(tiles, Is.Unique);
        Assert.That(tiles.Count, Is.InRange(1, 4));
        foreach (var (sgm, sgn) in tiles)
        {
            Assert.That(sgm, Is.InRange(1, m), $"{sgm}x{sgn}");
            Assert.That(sgn, Is.EqualTo(2).Or.EqualTo(4));
            Assert.That(Conv2dCoopMat.SharedBytes(16, sgm, sgn), Is.LessThanOrEqualTo(45 * 1024), $"{sgm}x{sgn} shared memory");
            Assert.That(32 * sgm * sgn, Is.LessThanOrEqualTo(256));
        }
    }

    /// <summary>
    /// The patch weight gradient's tap blocks (<see cref="Conv2dWeightGradCoopMatPatch.TapBlock"/>): the whole kernel up to
    /// 3x3 (3x3 dilated too), the fewest blocks of at most 9 taps beyond, each spanning at most 5 input pixels, and for
    /// each some tile that fits the H100 description's 48 KiB at the layer's stride.
    /// </summary>
    [TestCase(3, 3, 1, 1, 3, 3, 1)]
    [TestCase(1, 1, 2, 1, 1, 1, 1)]
    [TestCase(3, 3, 2, 2, 3, 3, 1)]
    [TestCase(4, 4, 2, 1, 2, 4, 2)]
    [TestCase(5, 5, 1, 1, 3, 3, 4)]
    [TestCase(5, 5, 1, 2, 3, 3, 4)]
    [TestCase(7, 7, 2, 1, 2, 4, 8)]
    [TestCase(4, 4, 1, 2, 2, 2, 4)]
    [TestCase(1, 9, 1, 1, 1, 5, 2)]
    public void PatchWeightGradient_RunsKernelsOfMoreThanNineTapsInBlocks(int kh, int kw, int stride, int dilation, int bh, int bw, int blocks)
    {
        var a = new ConvAttributes(16, 16, (kh, kw), (stride, stride), (0, 0), (dilation, dilation), 1, false);
        var block = Conv2dWeightGradCoopMatPatch.TapBlock(a);
        Assert.That(block, Is.EqualTo((bh, bw)));
        Assert.That(Conv2dWeightGradCoopMatPatch.Blocks(a, block), Is.EqualTo(blocks));
        Assert.That(Conv2dWeightGradCoopMatPatch.Tiles(TensorCores, a with { Kernel = block }, 64, 64), Is.Not.Empty);
    }

    /// <summary>
    /// With lavapipe's 8x8x8 matrices and 8-wide subgroups the tiles shrink with S (2S channels per subgroup, 8S pixels)
    /// and all fit its 32 KiB; it runs there only when named (it emulates the matrices), with one workgroup per 64 pixels.
    /// </summary>
    [Test]
    public void CooperativeMatrixConv_OnLavapipe_RunsWhenNamed_WithEightWideTiles()
    {
        Assert.That(Conv2dCoopMat.Tiles(Lavapipe26, 64).ToList(), Is.EqualTo(new[] { (4, 2), (2, 4), (2, 2) }));
        Assert.That(Conv2dCoopMat.Tiles(Lavapipe26, 16).First(), Is.EqualTo((1, 4)));
        var conv = new Conv2d(16, 40, 3, padding: 1);
        Assert.That(ConvKernel(Lavapipe26, conv, new Shape(2, 16, 12, 14), Precision.Fp16), Does.StartWith(Direct + ".").And.EndWith(F16),
            "the direct kernel (through texel reads, lavapipe's default) unless named");
        var net = new Network();
        net.Output(net.Add(conv, "conv", net.Input("x")), "y");
        var plan = net.Plan(Lavapipe26, new CompileOptions
        {
            InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(2, 16, 12, 14) },
            Precision = Precision.Fp16,
            PreferKernels = new[] { nameof(Conv2dCoopMat) },
        });
        var fwd = plan.Dispatches.Single(d => d.Label == "conv.fwd");
        // 2 * 12 * 14 = 336 pixels: 6 tiles of 64; 40 channels: 4 subgroups of 16 rows -> one 64-channel tile.
        Assert.That(fwd.Kernel, Is.EqualTo(CoopMat + F16));
        Assert.That(fwd.Groups, Is.EqualTo("6x1x1"));
    }
}
