using System.Globalization;
using System.Text.RegularExpressions;
using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Shaders;

/// <summary>
/// The cooperative-matrix kernels in the form an NVIDIA GPU runs them (16x16x16 matrices, 32-wide subgroups, 48 KiB of
/// shared memory), which no device here can run: every such dispatch the compiler plans on that device's description
/// for a UNet-like network, Linear layers, fused MLPs and a batched MatMul under Fp16 training, a decoder conv reading
/// its concatenation in an inference plan and in a training one, and an encoder conv with its pool, is specialized with its own constants (spirv-opt
/// --set-spec-const-default-value, --freeze-spec-const) and must pass spirv-val, so a matrix shape, array size or shared
/// array that only goes wrong at S = 16 fails here; the kernels' numerics are checked on Mesa 26's lavapipe at S = 8
/// (tests/Kiln.Tests/CoopMat). The tools: <see cref="SpirvTools"/>.
/// </summary>
public sealed class CooperativeMatrixSpirvTests
{
    static readonly DeviceInfo Nvidia = new()
    {
        Name = "tensor cores (description)", Type = "DiscreteGpu", SubgroupSize = 32, ShaderFloat16 = true, StorageBuffer16BitAccess = true,
        CooperativeMatrix = true, CooperativeMatrixShapes = new[] { DeviceInfo.CooperativeMatrixShape(16) },
        MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024,
        MaxWorkgroupCount = new[] { 2147483647u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 32,
    };

    /// <summary>The distinct cooperative-matrix kernels (module and constants) of a few networks' training plans on <see cref="Nvidia"/>,
    /// and of the denoiser's channels-last inference plan; again with the patch kernel's sub-pixel entries named (they need
    /// tuning otherwise), their decoder convolutions in every tile that fits the device.</summary>
    static IEnumerable<TestCaseData> Kernels()
    {
        var specs = new Dictionary<string, KernelSpec>();
        foreach (var subPixel in new[] { false, true })
        foreach (var (net, inputs, training, layout) in Networks().Select(n => (n.Net, n.Inputs, n.Training, TensorLayout.Nchw))
                     .Append(ChannelsLastDenoiser()).Append(ChannelsLastTraining()).Append(ChannelsLastStrided()))
        {
            var options = new CompileOptions
            {
                InputShapes = inputs, Training = training, Precision = Precision.Fp16, Autotune = false, ActivationLayout = layout,
                PreferKernels = subPixel ? new[] { nameof(Conv2dCoopMatPatchSubPixel), nameof(Conv2dCoopMatPatchSubPixelNhwc) } : Array.Empty<string>(),
            };
            foreach (var step in Compiler.Plan(net, Nvidia, options).Levels.SelectMany(l => l))
                if (step.Spec.Module.Contains("coopmat", StringComparison.Ordinal))
                {
                    specs.TryAdd(step.Spec.Key, step.Spec);
                    if (step.Spec.Module.Contains(".subpixel", StringComparison.Ordinal))
                    {
                        var strided = new ConvAttributes(16, 16, (3, 3), (2, 2), (1, 1), (1, 1), 1, true);
                        foreach (var t in Conv2dCoopMatPatch.Tiles(Nvidia, strided, 64))
                        {
                            var tile = t.Specialize(step.Spec, Nvidia.SubgroupSize);
                            specs.TryAdd(tile.Key, tile);
                        }
                    }
                    // Every patch kernel's form in a wide tile too (4 S channels per subgroup), the channels of its default.
                    if (step.Spec.Module.StartsWith("conv2d/conv2d.fwd_coopmat_patch", StringComparison.Ordinal) && step.Spec.Constant(25) == 0)
                    {
                        var t = PatchTile.Of(step.Spec);
                        var wide = (t with { M = Math.Max(1, t.M / 2), Tm = 4 }).Specialize(step.Spec, Nvidia.SubgroupSize);
                        specs.TryAdd(wide.Key, wide);
                    }
                    // The weight gradient's in a wide tile (2 S rows per subgroup: constants 4 SG_M, 16 TM_WIDE).
                    if (step.Spec.Module.StartsWith("conv2d/conv2d.bwd_weight_coopmat_patch", StringComparison.Ordinal) && step.Spec.Constant(16) == 0)
                    {
                        var t = WeightGradTile.Of(step.Spec);
                        var wide = (t with { M = Math.Max(1, t.M / 2), Tm = 2 }).Specialize(step.Spec, Nvidia.SubgroupSize);
                        specs.TryAdd(wide.Key, wide);
                    }
                    // The patch kernel's .direct twin, a tuning candidate of the channels-last plan's layers.
                    if (step.Spec.Module == "conv2d/conv2d.fwd_coopmat_patch.nhwc.f16")
                    {
                        var direct = step.Spec with { Module = "conv2d/conv2d.fwd_coopmat_patch.nhwc.direct.f16" };
                        specs.TryAdd(direct.Key, direct);
                    }
                    // Its .sa twins (weights staged in shared memory), tuning candidates of either layout's plain,
                    // .dact and .unpool forms.
                    foreach (var (plain, twin) in new[]
                             {
                                 ("conv2d/conv2d.fwd_coopmat_patch.f16", "conv2d/conv2d.fwd_coopmat_patch.sa.f16"),
                                 ("conv2d/conv2d.fwd_coopmat_patch.nhwc.f16", "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa.f16"),
                                 ("conv2d/conv2d.fwd_coopmat_patch.dact.f16", "conv2d/conv2d.fwd_coopmat_patch.sa.dact.f16"),
                                 ("conv2d/conv2d.fwd_coopmat_patch.nhwc.dact.f16", "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa.dact.f16"),
                                 ("conv2d/conv2d.fwd_coopmat_patch.unpool.f16", "conv2d/conv2d.fwd_coopmat_patch.sa.unpool.f16"),
                                 ("conv2d/conv2d.fwd_coopmat_patch.nhwc.unpool.f16", "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa.unpool.f16"),
                             })
                        if (step.Spec.Module == plain && step.Spec.Constants[0] == 3 && step.Spec.Constants[7] <= 2)
                        {
                            var sa = step.Spec with { Module = twin };
                            specs.TryAdd(sa.Key, sa);
                            var wide = (PatchTile.Of(sa) with { M = 1, Tm = 4 }).Specialize(sa, Nvidia.SubgroupSize);
                            specs.TryAdd(wide.Key, wide);
                        }
                }
        }
        return specs.Values.Select(s => new TestCaseData(s).SetArgDisplayNames($"{s.Module} [{string.Join(",", s.Constants)}] x{s.LocalX}"));
    }

    /// <summary>A 4x4 stride-2 convolution after a ReLU and a 4x4 stride-2 transposed convolution, trained, as the
    /// autoencoder's: the convolution's input gradient and the transposed one's forward by output phase, each phase 2x2
    /// taps, all phases in one dispatch (the .phases.dact and .phases variants).</summary>
    static (Network, Dictionary<string, Shape>) StridedAutoencoder()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 32, 3, padding: 1), "conv", net.Input("x")));
        var down = net.Add(new ReLU(), "relu_down", net.Add(new Conv2d(32, 64, 4, stride: 2, padding: 1), "down", h));
        var y = net.Add(new ConvTranspose2d(64, 32, 4, stride: 2, padding: 1), "up", down);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        return (net, new Dictionary<string, Shape> { ["x"] = new Shape(2, 16, 30, 34), ["t"] = new Shape(2, 32, 30, 34) });
    }

    /// <summary><see cref="StridedAutoencoder"/> with channels-last activations (the .nhwc.phases variants).</summary>
    static (Network, Dictionary<string, Shape>, bool, TensorLayout) ChannelsLastStrided()
    {
        var (net, inputs) = StridedAutoencoder();
        return (net, inputs, true, TensorLayout.Nhwc);
    }

    /// <summary>The denoiser's inference plan with channels-last activations: the .nhwc convolutions, their .pool and .concat variants.</summary>
    static (Network, Dictionary<string, Shape>, bool, TensorLayout) ChannelsLastDenoiser()
    {
        var (net, inputs) = Kiln.Models.ModelCatalog.Build("denoise-unet", 128, 96, 1, training: false);
        return (net, inputs, false, TensorLayout.Nhwc);
    }

    /// <summary>The inpainting UNet's training step with channels-last activations: its stride-1 convolutions' gradients
    /// on the NHWC patch kernels (the weight gradient's .nhwc.bias form, the input gradients through the .nhwc forward).</summary>
    static (Network, Dictionary<string, Shape>, bool, TensorLayout) ChannelsLastTraining()
    {
        var (net, inputs) = Kiln.Models.ModelCatalog.Build("inpaint-unet", 64, 64, 2, training: true);
        return (net, inputs, true, TensorLayout.Nhwc);
    }

    static IEnumerable<(Network Net, Dictionary<string, Shape> Inputs, bool Training)> Networks()
    {
        // 3x3 convolutions (and ReLU: the strided 5x5's input gradient by phase takes its derivative, .dact) from 16 to
        // 256 channels on few and many pixels, a strided 5x5, a 1x1 (and ReLU) and a 7x7 (the im2col forward's layer:
        // over the patch forward's 5-pixel span; its input gradient takes the ReLU's derivative in the im2col kernel's
        // .dact; the 5x5's and 7x7's weight gradients run the patch kernel in tap blocks), then Linear layers.
        foreach (var (cin, cout, size) in new[] { (9, 32, 64), (32, 64, 48), (64, 96, 32), (96, 256, 16), (40, 112, 24) })
        {
            var net = new Network();
            var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(cin, cout, 3, padding: 1), "conv", net.Input("x")));
            y = net.Add(new Conv2d(cout, 16, 5, stride: 2, padding: 2), "down", y);
            y = net.Add(new ReLU(), "relu2", net.Add(new Conv2d(16, 48, 1), "pointwise", y));
            y = net.Add(new Conv2d(48, 48, 7, padding: 3), "wide", y);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            var x = new Shape(2, cin, size, size);
            yield return (net, new Dictionary<string, Shape> { ["x"] = x, ["t"] = new Shape(2, 48, (size + 1) / 2, (size + 1) / 2) }, true);
        }
        foreach (var (batch, inF, outF) in new[] { (256, 64, 64), (4096, 33, 130), (48, 512, 256) })
        {
            var net = new Network();
            var y = net.Add(new Linear(inF, outF), "fc", net.Input("x"));
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape> { ["x"] = new Shape(batch, inF), ["t"] = new Shape(batch, outF) }, true);
        }
        // Two Linear layers wider than the fused MLP's, a ReLU between: the second's input gradient takes its derivative (.dact).
        {
            var net = new Network();
            var h = net.Add(new ReLU(), "relu", net.Add(new Linear(256, 512), "fc1", net.Input("x")));
            var y = net.Add(new Linear(512, 128), "fc2", h);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape> { ["x"] = new Shape(64, 256), ["t"] = new Shape(64, 128) }, true);
        }
        // The fused MLP of mlp_64x4 (widths padded to 16 at S = 16) and one of odd widths and eight layers.
        foreach (var widths in new[] { new[] { 3, 64, 64, 64, 64, 3 }, new[] { 3, 17, 1, 33, 2, 64, 9, 4, 6 } })
        {
            var net = new Network();
            var y = net.Input("x");
            for (int i = 0; i + 1 < widths.Length; i++)
            {
                y = net.Add(new Linear(widths[i], widths[i + 1]), $"fc{i}", y);
                if (i + 2 < widths.Length) y = net.Add(new Tanh(), $"act{i}", y);
            }
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape> { ["x"] = new Shape(16384, widths[0]), ["t"] = new Shape(16384, widths[^1]) }, true);
        }
        // A stride-3 layer: its input gradient's phases on the patch kernel (one tap each: all in one dispatch of its
        // .phases variant), one of them with a padding of -1; its weight
        // gradient on the im2col kernel, with the bias sum, and after it a layer of dilation 3 without a bias, without.
        {
            var net = new Network();
            var h = net.Add(new Conv2d(16, 16, 3, padding: 1), "conv", net.Input("x"));
            var y = net.Add(new Conv2d(16, 32, 3, stride: 3, padding: 1), "down", h);
            y = net.Add(new Conv2d(32, 32, 3, padding: 3, dilation: 3, bias: false), "dilated", y);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape> { ["x"] = new Shape(2, 16, 30, 30), ["t"] = new Shape(2, 32, 10, 10) }, true);
        }
        // The autoencoder's strided layers (StridedAutoencoder): every phase's 2x2 taps in one dispatch (.phases, .phases.dact).
        {
            var (net, inputs) = StridedAutoencoder();
            yield return (net, inputs, true);
        }
        // A conv and ReLU read by the next conv alone, trained: the next one's input gradient takes the ReLU's derivative
        // in its epilogue (the patch kernel's .dact).
        {
            var net = new Network();
            var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 64, 3, padding: 1), "conv", net.Input("x")));
            var y = net.Add(new Conv2d(64, 64, 3, padding: 1), "next", h);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape> { ["x"] = new Shape(2, 16, 32, 32), ["t"] = new Shape(2, 64, 32, 32) }, true);
        }
        // A decoder step in an inference plan: the conv reads Concat(Upsample(low), skip) itself (the patch kernel's .concat).
        {
            var net = new Network();
            var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up", net.Input("low")), net.Input("skip"));
            net.Output(net.Add(new Conv2d(96, 64, 3, padding: 1), "conv", cat), "y");
            yield return (net, new Dictionary<string, Shape> { ["low"] = new Shape(1, 64, 45, 80), ["skip"] = new Shape(1, 32, 90, 160) }, false);
        }
        // Such a step trained: over a 3x upsample the weight gradient reads the concatenation too (the patch weight
        // gradient's .concat); over a 2x one the gradients go by sub-pixel phase (SubPixelGradients), a's weight gradient
        // a 4x4 stride-2 one in the patch weight gradient's tap blocks, and a's input gradient (a 4x4, stride-2 forward)
        // takes the derivative of the ReLU before it (.dact).
        foreach (var scale in new[] { 3, 2 })
        {
            var net = new Network();
            var low = net.Add(new ReLU(), "relu", net.Add(new Conv2d(16, 64, 3, padding: 1), "lowconv", net.Input("low")));
            var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(scale), "up", low), net.Input("skip"));
            var y = net.Add(new Conv2d(96, 64, 3, padding: 1), "conv", cat);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape>
            {
                ["low"] = new Shape(2, 16, 16, 16), ["skip"] = new Shape(2, 32, 16 * scale, 16 * scale), ["t"] = new Shape(2, 64, 16 * scale, 16 * scale),
            }, true);
        }
        // Layers on a concatenation past the patch forward's 5-pixel span, trained: the im2col forward's .concat variant;
        // for a 7x7 (no bias: the variant without the bias sum) the patch weight gradient's in tap blocks, for a 3x3 of
        // dilation 3 the im2col one's, with and without the bias sum.
        foreach (var (kernel, dilation, bias) in new[] { (7, 1, false), (3, 3, false), (3, 3, true) })
        {
            var net = new Network();
            var cat = net.Add(new Concat(), "cat", net.Add(new Upsample(2), "up", net.Input("low")), net.Input("skip"));
            var y = net.Add(new Conv2d(48, 32, kernel, padding: 3, dilation: dilation, bias: bias), "conv", cat);
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape>
            {
                ["low"] = new Shape(2, 32, 12, 12), ["skip"] = new Shape(2, 16, 24, 24), ["t"] = new Shape(2, 32, 24, 24),
            }, true);
        }
        // An encoder step in an inference plan: conv, ReLU and 2x2 max pool in one kernel (the patch kernel's .pool); trained,
        // the gradients read the conv's output, which the kernel then writes as well (.pool.keep), and the next conv's
        // input gradient writes the pool's (.unpool).
        foreach (bool training in new[] { false, true })
        {
            var net = new Network();
            var y = net.Add(new ReLU(), "relu", net.Add(new Conv2d(32, 48, 3, padding: 1), "conv", net.Input("x")));
            var pooled = net.Add(new MaxPool2d(2), "pool", y);
            var inputs = new Dictionary<string, Shape> { ["x"] = new Shape(1, 32, 90, 160) };
            if (training)
            {
                var next = net.Add(new Conv2d(48, 48, 3, padding: 1), "next", pooled);
                net.Output(next, "y");
                net.SetLoss(new MseLoss(), next, net.Input("t"));
                inputs["t"] = new Shape(1, 48, 45, 80);
            }
            else net.Output(pooled, "y");
            yield return (net, inputs, training);
        }
        // MatMul of two activations, batched (linear.gemm_coopmat.batched).
        {
            var net = new Network();
            var y = net.Add(new MatMul(), "mm", net.Input("a"), net.Input("b"));
            net.Output(y, "y");
            net.SetLoss(new MseLoss(), y, net.Input("t"));
            yield return (net, new Dictionary<string, Shape>
            {
                ["a"] = new Shape(4, 100, 48), ["b"] = new Shape(4, 48, 80), ["t"] = new Shape(4, 100, 80),
            }, true);
        }
    }

    [Test]
    public void ThePlansUseEveryCooperativeMatrixModule()
    {
        var modules = Kernels().Select(c => ((KernelSpec)c.Arguments[0]!).Module.Replace(".f16", "").Replace(".b_act", "").Replace(".c_float", "")).ToHashSet();
        Assert.That(modules, Is.SupersetOf(new[] { "conv2d/conv2d.fwd_coopmat", "conv2d/conv2d.fwd_coopmat_patch", "conv2d/conv2d.bwd_weight_coopmat",
            "conv2d/conv2d.bwd_weight_coopmat_patch", "linear/linear.gemm_coopmat", "mlp/mlp.coopmat.fwd", "mlp/mlp.coopmat.bwd", "mlp/mlp.coopmat.dw",
            "conv2d/conv2d.fwd_coopmat_patch.concat", "conv2d/conv2d.bwd_weight_coopmat_patch.concat", "linear/linear.gemm_coopmat.batched", "conv2d/conv2d.fwd_coopmat.concat",
            "conv2d/conv2d.bwd_weight_coopmat.concat", "conv2d/conv2d.fwd_coopmat_patch.pool", "conv2d/conv2d.fwd_coopmat_patch.nhwc",
            "conv2d/conv2d.fwd_coopmat_patch.nhwc.pool", "conv2d/conv2d.fwd_coopmat_patch.nhwc.concat", "conv2d/conv2d.fwd_coopmat_patch.nhwc.direct",
            "conv2d/conv2d.fwd_coopmat_patch.sa", "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa", "conv2d/conv2d.fwd_coopmat_patch.sa.dact",
            "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa.dact",
            "conv2d/conv2d.fwd_coopmat_patch.subpixel", "conv2d/conv2d.fwd_coopmat_patch.nhwc.subpixel",
            "conv2d/conv2d.fwd_coopmat_patch.dact", "conv2d/conv2d.bwd_weight_coopmat_patch.bias", "conv2d/conv2d.bwd_weight_coopmat_patch.concat.bias",
            "conv2d/conv2d.fwd_coopmat.dact", "conv2d/conv2d.bwd_weight_coopmat.bias", "conv2d/conv2d.bwd_weight_coopmat.concat.bias",
            "conv2d/conv2d.fwd_coopmat_patch.phases", "conv2d/conv2d.fwd_coopmat_patch.phases.dact", "conv2d/conv2d.fwd_coopmat_patch.nhwc.phases",
            "conv2d/conv2d.fwd_coopmat_patch.nhwc.phases.dact", "conv2d/conv2d.fwd_coopmat_patch.pool.keep", "conv2d/conv2d.fwd_coopmat_patch.nhwc.pool.keep",
            "conv2d/conv2d.fwd_coopmat_patch.unpool", "conv2d/conv2d.fwd_coopmat_patch.nhwc.unpool", "conv2d/conv2d.fwd_coopmat_patch.sa.unpool",
            "conv2d/conv2d.fwd_coopmat_patch.nhwc.sa.unpool", "linear/linear.gemm_coopmat.dact" }));
    }

    [TestCaseSource(nameof(Kernels))]
    public void SpecializedForTensorCores_IsValidSpirv(object kernel)
    {
        var frozen = Specialize((KernelSpec)kernel, "vulkan1.2"); // KernelSpec is internal: a public test method takes it as object
        // The sizes' constants as spirv-dis names them: %int_16 or %uint_16, with a suffix where a frozen spec constant
        // and a literal both hold 16 (%int_16_0).
        Assert.That(frozen, Does.Match(@"OpTypeCooperativeMatrixKHR %half %uint_3 %u?int_16(_\d+)? %u?int_16(_\d+)?"),
            "16x16 fp16 matrices after specialization");
        long shared = SharedBytes(frozen);
        Assert.That(shared, Is.LessThanOrEqualTo(Nvidia.MaxSharedMemoryBytes), "the shared arrays fit the device (the host's tile checks agree with the shader)");
        // The fused MLP's weight gradients load their operands straight from global memory; every other kernel stages some.
        if (!((KernelSpec)kernel).Module.StartsWith("mlp/mlp.coopmat.dw", StringComparison.Ordinal))
            Assert.That(shared, Is.Positive, "shared arrays found");
    }

    /// <summary>
    /// <see cref="Nvidia"/> with VK_NV_cooperative_matrix2 as `kiln info` showed it on an H200 (driver 580.159.04): workgroup
    /// scope in workgroups of up to 256 invocations, f16*f16+f32 matrices of flexible dimensions in multiples of 16x16x16
    /// (32 and 64 invocations), 32x16x16 (128) and 32x32x16 (256), 8 KiB of shared memory reserved, sides up to 1024. Block
    /// loads are assumed: that run's `kiln info` did not check them; the next H200 run's says whether they are missing.
    /// </summary>
    static readonly DeviceInfo NvidiaCoopMat2 = Nvidia with
    {
        ApiVersion = "1.4.312", CooperativeMatrix2 = true, CooperativeMatrix2WorkgroupScope = true, CooperativeMatrix2TensorAddressing = true,
        CooperativeMatrix2BlockLoads = true,
        CooperativeMatrix2Shapes = new[]
        {
            new FlexibleMatrixShape(16, 16, 16, "f16*f16+f32->f32", 32), new FlexibleMatrixShape(16, 16, 16, "f16*f16+f32->f32", 64),
            new FlexibleMatrixShape(32, 16, 16, "f16*f16+f32->f32", 128), new FlexibleMatrixShape(32, 32, 16, "f16*f16+f32->f32", 256),
        },
        CooperativeMatrix2MaxDimension = 1024, CooperativeMatrix2MaxWorkgroupSize = 256, CooperativeMatrix2ReservedSharedMemory = 8192,
    };

    /// <summary>The cooperative_matrix2 kernels' dispatches (the convolution's forward, the stride-1 input gradient through it
    /// and its .dact variant, the weight gradient, their .concat variants, the forward's .pool and, with the sub-pixel entries named too, .subpixel,
    /// strided gradients' phases; Linear's three products, MatMul's batched ones) in the networks' plans on
    /// <see cref="NvidiaCoopMat2"/>, the kernel named (it needs tuning otherwise), each in every tile that fits the device.</summary>
    static IEnumerable<TestCaseData> CoopMat2Kernels()
    {
        var specs = new Dictionary<string, KernelSpec>();
        foreach (var subPixel in new[] { false, true })
        foreach (var (net, inputs, training, layout) in Networks().Select(n => (n.Net, n.Inputs, n.Training, TensorLayout.Nchw)).Append(ChannelsLastDenoiser())
                     .Append(ChannelsLastStrided()).Append(ChannelsLastTraining()))
        {
            var options = new CompileOptions
            {
                InputShapes = inputs, Training = training, Precision = Precision.Fp16, Autotune = false, ActivationLayout = layout,
                PreferKernels = new[]
                {
                    nameof(Conv2dCoopMat2), nameof(Conv2dCoopMat2Nhwc), nameof(Conv2dWeightGradCoopMat2), nameof(Conv2dInputGradFlipped), nameof(LinearCoopMat2),
                }.Concat(subPixel ? new[] { nameof(Conv2dCoopMat2SubPixel), nameof(Conv2dCoopMat2SubPixelNhwc) } : Array.Empty<string>()).ToArray(),
            };
            foreach (var step in Compiler.Plan(net, NvidiaCoopMat2, options).Levels.SelectMany(l => l))
                if (step.Spec.Module.Contains("coopmat2", StringComparison.Ordinal))
                {
                    // Every tile the tuner may time, not only the default (constants BM, BN, BK, THREADS from TileConstant).
                    int at = TileConstant(step.Spec);
                    var tiles = step.Spec.Module.StartsWith("linear/", StringComparison.Ordinal) ? LinearCoopMat2.Tiles(NvidiaCoopMat2)
                        : at == 11 ? Conv2dCoopMat2.Tiles(NvidiaCoopMat2, layout) : Conv2dWeightGradCoopMat2.Tiles(NvidiaCoopMat2);
                    foreach (var t in tiles)
                    {
                        var constants = step.Spec.Constants.ToArray();
                        (constants[at], constants[at + 1], constants[at + 2], constants[at + 3]) = ((uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads);
                        var spec = step.Spec with { Constants = constants, LocalX = (uint)t.Threads };
                        specs.TryAdd(spec.Key, spec);
                    }
                }
        }
        return specs.Values.Select(s => new TestCaseData(s).SetArgDisplayNames($"{s.Module} [{string.Join(",", s.Constants)}] x{s.LocalX}"));
    }

    /// <summary>
    /// The tensor-addressed convolution's and weight gradient's dispatches (<see cref="Conv2dCoopMat2Tensor"/>,
    /// <see cref="Conv2dWeightGradCoopMat2Tensor"/>, named: they need tuning) in the networks' plans and the denoiser's
    /// inference plan (its decoders' .concat variant, its encoders' .pool; the training plans' input gradients through an
    /// activation, .dact, an encoder's conv and pool, .pool.keep, and the input gradient of the conv reading that pool,
    /// .unpool; and with channels-last activations, <see cref="Conv2dCoopMat2TensorNhwc"/>'s .nhwc) on
    /// <see cref="NvidiaCoopMat2"/>, each in every tile that fits the device.
    /// </summary>
    static IEnumerable<TestCaseData> TensorCoopMat2Kernels()
    {
        var specs = new Dictionary<string, KernelSpec>();
        var (denoiser, denoiserInputs) = Kiln.Models.ModelCatalog.Build("denoise-unet", 128, 96, 1, training: false);
        var cases = Networks().Select(n => (n.Net, n.Inputs, n.Training, TensorLayout.Nchw)).Append((denoiser, denoiserInputs, false, TensorLayout.Nchw))
            .Append(ChannelsLastDenoiser());
        foreach (var (net, inputs, training, layout) in cases)
        {
            var options = new CompileOptions
            {
                InputShapes = inputs, Training = training, Precision = Precision.Fp16, Autotune = false, ActivationLayout = layout,
                PreferKernels = new[]
                {
                    nameof(Conv2dCoopMat2Tensor), nameof(Conv2dCoopMat2TensorNhwc), nameof(Conv2dInputGradFlipped), nameof(Conv2dWeightGradCoopMat2Tensor),
                },
            };
            foreach (var step in Compiler.Plan(net, NvidiaCoopMat2, options).Levels.SelectMany(l => l))
                if (step.Spec.Module.Contains("coopmat2_tensor", StringComparison.Ordinal))
                    foreach (var t in TileConstant(step.Spec) == 11 ? Conv2dCoopMat2Tensor.Tiles(NvidiaCoopMat2) : Conv2dWeightGradCoopMat2Tensor.Tiles(NvidiaCoopMat2))
                    {
                        // The .pool, .pool.keep and .unpool variants' tiles: those whose f16 result tile fits beside the
                        // reserved shared memory.
                        if (ResultTile(step.Spec)
                            && Conv2dCoopMat2Tensor.PoolSharedBytes(t.BM, t.BN) + NvidiaCoopMat2.CooperativeMatrix2ReservedSharedMemory > NvidiaCoopMat2.MaxSharedMemoryBytes)
                            continue;
                        int at = TileConstant(step.Spec);
                        var constants = step.Spec.Constants.ToArray();
                        (constants[at], constants[at + 1], constants[at + 2], constants[at + 3]) = ((uint)t.BM, (uint)t.BN, (uint)t.BK, (uint)t.Threads);
                        // The weight gradient's .bias matrix of ones: the granularity's N for the tile's workgroup.
                        if (at == 8) constants[14] = (uint)NvidiaCoopMat2.FlexibleF16Granularity(t.Threads)!.Value.N;
                        var spec = step.Spec with { Constants = constants, LocalX = (uint)t.Threads };
                        specs.TryAdd(spec.Key, spec);
                    }
        }
        return specs.Values.Select(s => new TestCaseData(s).SetArgDisplayNames($"{s.Module} [{string.Join(",", s.Constants)}] x{s.LocalX}"));
    }

    [Test]
    public void ThePlansUseTheTensorAddressedConvolution()
    {
        var modules = TensorCoopMat2Kernels().Select(c => ((KernelSpec)c.Arguments[0]!).Module).ToHashSet();
        Assert.That(modules, Is.EquivalentTo(new[]
        {
            "conv2d/conv2d.fwd_coopmat2_tensor.f16", "conv2d/conv2d.fwd_coopmat2_tensor.concat.f16", "conv2d/conv2d.fwd_coopmat2_tensor.dact.f16",
            "conv2d/conv2d.fwd_coopmat2_tensor.pool.f16", "conv2d/conv2d.fwd_coopmat2_tensor.nhwc.f16",
            "conv2d/conv2d.fwd_coopmat2_tensor.pool.keep.f16", "conv2d/conv2d.fwd_coopmat2_tensor.unpool.f16",
            "conv2d/conv2d.bwd_weight_coopmat2_tensor.f16", "conv2d/conv2d.bwd_weight_coopmat2_tensor.bias.f16",
        }));
        Assert.That(Conv2dCoopMat2Tensor.Tiles(NvidiaCoopMat2).Count(), Is.EqualTo(5), "every tile fits the H200's description");
        Assert.That(Conv2dWeightGradCoopMat2Tensor.Tiles(NvidiaCoopMat2).Count(), Is.EqualTo(4), "every tile fits the H200's description");
        Assert.That(new Conv2dWeightGradCoopMat2Tensor().Supports(NvidiaCoopMat2 with { CooperativeMatrix2TensorAddressing = false }), Is.False);
        Assert.That(Conv2dCoopMat2Tensor.Tiles(NvidiaCoopMat2 with { CooperativeMatrix2TensorAddressing = false }), Is.Not.Empty);
        Assert.That(new Conv2dCoopMat2Tensor().Supports(NvidiaCoopMat2 with { CooperativeMatrix2TensorAddressing = false }), Is.False,
            "no tensor addressing, no kernel");
    }

    /// <summary>
    /// The tensor-addressed convolution's .concat variant reads the upsampled input through a layout with a block size,
    /// which needs cooperativeMatrixBlockLoads: on a device without it the entry offers no .concat candidate (so the tuner
    /// times only the other entries' for the denoiser's decoders), and, named untuned, runs on the written concatenation.
    /// </summary>
    [Test]
    public void TheTensorAddressedConcatReads_NeedBlockLoads()
    {
        var (denoiser, inputs) = Kiln.Models.ModelCatalog.Build("denoise-unet", 128, 96, 1, training: false);
        var options = new CompileOptions
        {
            InputShapes = inputs, Precision = Precision.Fp16, Autotune = false,
            PreferKernels = new[] { nameof(Conv2dCoopMat2Tensor) },
        };
        List<string> Modules(DeviceInfo device) => Compiler.Plan(denoiser, device, options).Levels.SelectMany(l => l).Select(s => s.Spec.Module).ToList();
        var with = Modules(NvidiaCoopMat2);
        Assert.That(with.Count(m => m == "conv2d/conv2d.fwd_coopmat2_tensor.concat.f16"), Is.EqualTo(4), "the four decoders read their inputs");
        Assert.That(with, Has.None.StartsWith("concat/"));
        var without = Modules(NvidiaCoopMat2 with { CooperativeMatrix2BlockLoads = false });
        Assert.That(without, Has.None.Contains("coopmat2_tensor.concat"));
        Assert.That(without.Count(m => m == "concat/concat.copy.f16"), Is.EqualTo(4), "each decoder's concatenation written");
    }

    /// <summary>
    /// The tensor-addressed weight gradient's dispatch agrees with what its shader computes from the constants: the
    /// shader derives the split count from the pixel tiles (N ceil(AH / TH) ceil(AW / TW), TH = BK / TW) and
    /// TILES_PER_SPLIT, and takes z as split x taps; the host's workgroups and the finishing sum's split count must be
    /// those, every split must have tiles, and the .bias matrix of ones is as wide as the workgroup's granularity.
    /// </summary>
    [TestCase(1, 64, 64, 512, 512, TestName = "TensorWeightGradient_Splits(conv3x3_c64_512)")]
    [TestCase(1, 256, 256, 128, 128, TestName = "TensorWeightGradient_Splits(conv3x3_c256_128)")]
    [TestCase(8, 32, 64, 256, 256, TestName = "TensorWeightGradient_Splits(inpaint first level)")]
    [TestCase(2, 16, 24, 19, 21, TestName = "TensorWeightGradient_Splits(edge tiles)")]
    [TestCase(1, 48, 16, 9, 13, TestName = "TensorWeightGradient_Splits(narrow image, one split)")]
    public void TensorWeightGradient_SplitsAgreeWithTheShader(int n, int c1, int c2, int h, int w)
    {
        var e = new Emitter(NvidiaCoopMat2, Precision.Fp16);
        var a = new ConvAttributes(c2, c1, (3, 3), (1, 1), (1, 1), (1, 1), 1, true);
        var plain = e.NewValue(new Shape(n, c1, h, w), ValueKind.Input, "dy", ElementType.F16);
        var shifted = e.NewValue(new Shape(n, c2, h, w), ValueKind.Input, "x", ElementType.F16);
        var dw = e.NewValue(new Shape(c1, c2, 3, 3), ValueKind.Transient, "dw");
        var candidates = new Conv2dWeightGradCoopMat2Tensor().Candidates(e, a, plain, shifted, dw);
        Assert.That(candidates, Has.Count.EqualTo(4));
        foreach (var c in candidates)
        {
            var k = c.Spec.Constants;
            int bm = (int)k[8], bn = (int)k[9], bk = (int)k[10], tilesPerSplit = (int)k[12], tw = (int)k[13], th = bk / tw;
            long tiles = (long)n * ((h + th - 1) / th) * ((w + tw - 1) / tw);
            long splits = tilesPerSplit > 0 ? (tiles + tilesPerSplit - 1) / tilesPerSplit : 1;
            Assert.That(c.Groups, Is.EqualTo(((uint)((c2 + bn - 1) / bn), (uint)((c1 + bm - 1) / bm), (uint)(splits * 9))), c.Name);
            Assert.That(c.Finish?.Splits ?? 1, Is.EqualTo(splits), c.Name);
            Assert.That((splits - 1) * tilesPerSplit, Is.LessThan(tiles), $"{c.Name}: no split without tiles");
            Assert.That(k[14], Is.EqualTo((uint)NvidiaCoopMat2.FlexibleF16Granularity((int)c.Spec.LocalX)!.Value.N), c.Name);
            Assert.That(tw, Is.EqualTo(w <= 16 ? 16 : 32), c.Name);
        }
    }

    /// <summary>Their modules specialized are valid SPIR-V 1.6 with workgroup-scope BM x BK f16 matrices and tensor layouts,
    /// and their shared arrays (the .pool variant's result tile; none elsewhere) fit beside the reserved shared memory.</summary>
    [TestCaseSource(nameof(TensorCoopMat2Kernels))]
    public void TensorCoopMat2_SpecializedForTensorCores_IsValidSpirv(object kernel)
    {
        var spec = (KernelSpec)kernel;
        var frozen = Specialize(spec, "vulkan1.3");
        int at = TileConstant(spec);
        Assert.That(frozen, Does.Match($@"OpTypeCooperativeMatrixKHR %half %uint_2 %u?int_{spec.Constants[at]}(_\d+)? %u?int_{spec.Constants[at + 2]}(_\d+)? %uint_0"),
            "a workgroup-scope BM x BK fp16 matrix after specialization");
        bool tile = ResultTile(spec);
        Assert.That(frozen, Does.Contain("OpCooperativeMatrixLoadTensorNV").And.Contain(tile ? "OpCooperativeMatrixStoreKHR" : "OpCooperativeMatrixStoreTensorNV"));
        Assert.That(SharedBytes(frozen) + NvidiaCoopMat2.CooperativeMatrix2ReservedSharedMemory, Is.LessThanOrEqualTo(NvidiaCoopMat2.MaxSharedMemoryBytes));
        if (tile) Assert.That(SharedBytes(frozen), Is.EqualTo(Conv2dCoopMat2Tensor.PoolSharedBytes((int)spec.Constants[11], (int)spec.Constants[12])));
    }

    /// <summary>Whether a tensor-addressed convolution's module writes through an f16 result tile in shared memory (.pool,
    /// .pool.keep, .unpool) rather than storing the accumulator through a tensor layout.</summary>
    static bool ResultTile(KernelSpec spec) =>
        spec.Module.Contains(".pool", StringComparison.Ordinal) || spec.Module.Contains(".unpool", StringComparison.Ordinal);

    /// <summary>The specialization constant of a cooperative_matrix2 module's BM (BN, BK and THREADS follow it).</summary>
    static int TileConstant(KernelSpec spec) =>
        spec.Module.StartsWith("linear/", StringComparison.Ordinal) ? 5 : spec.Module.Contains("fwd", StringComparison.Ordinal) ? 11 : 8;

    [Test]
    public void ThePlansUseTheWorkgroupScopeCoopMat2Kernels()
    {
        var modules = CoopMat2Kernels().Select(c => ((KernelSpec)c.Arguments[0]!).Module).ToHashSet();
        Assert.That(modules, Is.EquivalentTo(new[]
        {
            "conv2d/conv2d.fwd_coopmat2.f16", "conv2d/conv2d.bwd_weight_coopmat2.f16", "conv2d/conv2d.bwd_weight_coopmat2.bias.f16",
            "conv2d/conv2d.fwd_coopmat2.concat.f16", "conv2d/conv2d.bwd_weight_coopmat2.concat.f16", "conv2d/conv2d.bwd_weight_coopmat2.concat.bias.f16",
            "conv2d/conv2d.fwd_coopmat2.pool.f16", "conv2d/conv2d.fwd_coopmat2.pool.keep.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.pool.keep.f16",
            "conv2d/conv2d.fwd_coopmat2.nhwc.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.concat.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.pool.f16",
            "conv2d/conv2d.fwd_coopmat2.subpixel.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.subpixel.f16", "conv2d/conv2d.fwd_coopmat2.dact.f16",
            "conv2d/conv2d.fwd_coopmat2.phases.f16", "conv2d/conv2d.fwd_coopmat2.phases.dact.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.phases.f16",
            "conv2d/conv2d.fwd_coopmat2.nhwc.phases.dact.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.dact.f16",
            "conv2d/conv2d.fwd_coopmat2.unpool.f16", "conv2d/conv2d.fwd_coopmat2.nhwc.unpool.f16",
            "linear/linear.gemm_coopmat2.f16", "linear/linear.gemm_coopmat2.b_act.c_float.f16", "linear/linear.gemm_coopmat2.batched.b_act.f16",
            "linear/linear.gemm_coopmat2.dact.f16",
        }));
    }

    /// <summary>The workgroup-scope form, specialized, is valid SPIR-V 1.6 (vulkan1.3) with workgroup-scope f16 matrices,
    /// and its shared arrays and what the driver reserves fit the device.</summary>
    [TestCaseSource(nameof(CoopMat2Kernels))]
    public void CoopMat2_SpecializedForTensorCores_IsValidSpirv(object kernel)
    {
        var spec = (KernelSpec)kernel;
        var frozen = Specialize(spec, "vulkan1.3");
        int at = TileConstant(spec);
        Assert.That(frozen, Does.Match($@"OpTypeCooperativeMatrixKHR %half %uint_2 %u?int_{spec.Constants[at]}(_\d+)? %u?int_{spec.Constants[at + 2]}(_\d+)? %uint_0"),
            "a workgroup-scope BM x BK fp16 matrix after specialization");
        Assert.That(SharedBytes(frozen) + NvidiaCoopMat2.CooperativeMatrix2ReservedSharedMemory, Is.InRange(1, Nvidia.MaxSharedMemoryBytes),
            "the shared arrays fit the device with what workgroup scope reserves (Conv2dCoopMat2.Fits agrees with the shader)");
    }

    /// <summary><paramref name="spec"/>'s module with its constants and workgroup size frozen in (spirv-opt), checked by spirv-val for <paramref name="targetEnv"/>: its disassembly.</summary>
    static string Specialize(KernelSpec spec, string targetEnv)
    {
        string dir = Path.Combine(Path.GetTempPath(), "kiln-coopmat-spirv-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string source = Path.Combine(dir, "module.spv"), specialized = Path.Combine(dir, "specialized.spv");
            File.WriteAllBytes(source, PipelineStore.ReadModule(spec.Module));
            var (_, text) = SpirvTools.Run(SpirvTools.Find("spirv-dis"), source);
            var values = SpecValues(text, spec);
            var (optExit, optOut) = SpirvTools.Run(SpirvTools.Find("spirv-opt"), $"--set-spec-const-default-value={values}", "--freeze-spec-const",
                "--fold-spec-const-op-composite", "--eliminate-dead-code-aggressive", source, "-o", specialized);
            Assert.That(optExit, Is.EqualTo(0), $"spirv-opt could not specialize {spec.Module} with {values}:\n{optOut}");
            var (valExit, valOut) = SpirvTools.Run(SpirvTools.Find("spirv-val"), "--target-env", targetEnv, specialized);
            Assert.That(valExit, Is.EqualTo(0), $"{spec.Module} specialized with {values} is not valid SPIR-V:\n{valOut}");
            return SpirvTools.Run(SpirvTools.Find("spirv-dis"), specialized).Output;
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// "id:value ..." for spirv-opt: the kernel's constants at their SpecIds 0..n-1 and the workgroup size at 100..102,
    /// floats (OpSpecConstant of a float type) written as decimals.
    /// </summary>
    static string SpecValues(string disassembly, KernelSpec spec)
    {
        // SPIR-V 1.6 modules may decorate two constants with one SpecId (the LocalSizeId operands and gl_WorkGroupSize's).
        var idOf = Regex.Matches(disassembly, @"OpDecorate (%\w+) SpecId (\d+)").GroupBy(m => uint.Parse(m.Groups[2].Value))
            .ToDictionary(g => g.Key, g => g.First().Groups[1].Value);
        var floatTypes = Regex.Matches(disassembly, @"(%\w+) = OpTypeFloat 32").Select(m => m.Groups[1].Value).ToHashSet();
        bool IsFloat(string name) => Regex.Match(disassembly, Regex.Escape(name) + @" = OpSpecConstant (%\w+) ") is { Success: true } m && floatTypes.Contains(m.Groups[1].Value);
        var words = spec.Constants.Select((v, i) => ((uint)i, v)).Append((KernelSpec.LocalSizeXId, spec.LocalX));
        return string.Join(" ", words.Where(w => idOf.ContainsKey(w.Item1)).Select(w =>
            $"{w.Item1}:{(IsFloat(idOf[w.Item1]) ? BitConverter.UInt32BitsToSingle(w.Item2).ToString("R", CultureInfo.InvariantCulture) : w.Item2.ToString(CultureInfo.InvariantCulture))}"));
    }

    /// <summary>Bytes of the Workgroup-storage arrays of a specialized module's disassembly (arrays of f16, f32, 32-bit ints or vectors of them).</summary>
    static long SharedBytes(string disassembly)
    {
        string Def(string name) => Regex.Match(disassembly, "^\\s*" + Regex.Escape(name) + " = (.*)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : "";
        long total = 0;
        foreach (Match v in Regex.Matches(disassembly, @"= OpVariable (%\w+) Workgroup"))
        {
            var pointee = Regex.Match(Def(v.Groups[1].Value), @"OpTypePointer Workgroup (%\w+)").Groups[1].Value;
            var array = Regex.Match(Def(pointee), @"OpTypeArray (%\w+) (%\w+)");
            Assert.That(array.Success, Is.True, $"shared variable of type {pointee} is not an array: {Def(pointee)}");
            int Width(string type) => Def(type) is var d && Regex.Match(d, @"OpType(?:Float|Int) (\d+)") is { Success: true } w ? int.Parse(w.Groups[1].Value) / 8
                : Regex.Match(d, @"OpTypeVector (%\w+) (\d+)") is { Success: true } v ? Width(v.Groups[1].Value) * int.Parse(v.Groups[2].Value) : 0;
            int width = Width(array.Groups[1].Value);
            long length = long.Parse(Regex.Match(Def(array.Groups[2].Value), @"OpConstant %\w+ (\d+)").Groups[1].Value);
            Assert.That(width, Is.GreaterThan(0), $"element type of {pointee}");
            total += width * length;
        }
        return total;
    }
}
