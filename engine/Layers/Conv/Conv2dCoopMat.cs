using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_coopmat.comp: the convolution as an implicit GEMM on tensor cores (KHR cooperative
/// matrices, fp16 operands, f32 accumulation), chosen under <see cref="Precision.Fp16"/> on devices with 16x16x16
/// f16*f16+f32 subgroup matrices and 32-wide subgroups. Under Fp16 the activations are stored as f16 and its .f16
/// variant reads them straight into its tiles (weights stay f32 parameters, rounded as they are staged). Groups of 1
/// and at least 16 output channels (a thinner layer would waste most of each 32-channel tile: the direct kernel takes it).
/// Where it paid, measured before f16 activation storage (f32 activations rounded as they were staged): on an H100
/// this kernel ran 3x3 convolutions with 96 or more output channels, or on few pixels, faster than the f32 direct
/// kernel (256 ch at 128x128: 0.43 against 0.72 ms; the denoiser's 1/8- and 1/16-scale layers 3-10x faster), but
/// full-resolution layers of 32-64 channels slower (64 ch at 512x512: 1.20 against 0.78 ms): staging f32 NCHW
/// activations into fp16 tiles cost more than the tensor cores saved there. So it takes
/// the layers with at least <see cref="WideChannels"/> output channels or at most <see cref="FewPixels"/> output
/// pixels, and leaves the rest to the direct kernel.
/// </summary>
internal sealed class Conv2dCoopMat : IConv2dForward
{
    internal const string CoopShape = "16x16x16 f16*f16+f32->f32 (subgroup)";
    const int TileN = 128; // BN in the shader

    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;
    public Precision Arithmetic => Precision.Fp16;

    public bool Supports(DeviceInfo device) =>
        device.CooperativeMatrix && device.ShaderFloat16 && device.SubgroupSize == 32 && device.CooperativeMatrixShapes.Contains(CoopShape);

    /// <summary>Output channels from which the tensor-core tile beats the direct kernel at any size (measured, H100).</summary>
    internal const int WideChannels = 96;
    /// <summary>Output pixels (over the batch) up to which it beats the direct kernel at any width (measured, H100).</summary>
    internal const long FewPixels = 150_000;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        CanRun(a, x, y) && (y[1] >= WideChannels || (long)y[0] * y[2] * y[3] <= FewPixels);

    /// <summary>Groups of 1, kernels up to 32, at least 16 output channels, pixel tiles within the workgroup counts: where a
    /// tuner may time it (under CompileOptions.Autotune it competes on every such layer, not only where Accepts says).</summary>
    public bool CanRun(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Kernel.H <= 32 && a.Kernel.W <= 32 && y[1] >= 16 && ((long)y[0] * y[2] * y[3] + TileN - 1) / TileN <= 65535;

    /// <summary>Subgroups along the output channels (the tile is 32 of them per subgroup): the fewest that cover Cout, 1, 2 or 4.</summary>
    internal static int SubgroupsM(int cout) => cout <= 32 ? 1 : cout <= 64 ? 2 : 4;

    /// <summary>Subgroups along the 128 pixels of a tile: 4 (two 16-pixel accumulators each, fewer registers, more
    /// subgroups to hide memory latency) where the workgroup stays within 256 invocations and 45 KiB, else 2.</summary>
    internal static int SubgroupsN(int subgroupsM) => subgroupsM <= 2 ? 4 : 2;

    public void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        long pixelTiles = ((long)x.Shape[0] * y.Shape[2] * y.Shape[3] + TileN - 1) / TileN;
        if (pixelTiles > e.Device.MaxWorkgroupCount[0])
            throw new GraphException($"{label}: {y.Shape[0]}x{y.Shape[2]}x{y.Shape[3]} output pixels need {pixelTiles} workgroups, more than the device's {e.Device.MaxWorkgroupCount[0]}.");
        ConvForward.Dispatch(e, Candidates(e, a, x, w, bias, y, act, slope)[0], x, w, bias, y, label);
    }

    /// <summary>
    /// The tuner's candidates (its default first): the workgroup's subgroups along the output channels (the default, and
    /// half as many: a smaller channel tile, more workgroups) by subgroups along the pixels (4 and 2); the shader's shared
    /// memory, 2 * 32 * SG_M * 80 + 2 * 32 * 272 + SG_M * SG_N * 1024 bytes, stays within 45 KiB (no 4 x 4).
    /// </summary>
    internal static IEnumerable<(int M, int N)> Tiles(int cout)
    {
        int m = SubgroupsM(cout);
        yield return (m, SubgroupsN(m));
        foreach (var sgm in new[] { m, m / 2 }.Where(v => v >= 1).Distinct())
            foreach (var sgn in new[] { 4, 2 })
                if ((sgm, sgn) != (m, SubgroupsN(m)) && sgm * sgn <= 8) yield return (sgm, sgn);
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        long pixelTiles = ((long)n * oh * ow + TileN - 1) / TileN;
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        TuneCandidate Candidate(int sgm, int sgn)
        {
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)sgm, (uint)sgn,
            };
            var spec = new KernelSpec("conv2d/conv2d.fwd_coopmat", KernelSpec.Buffers(4), 28, constants, (uint)(32 * sgm * sgn));
            var groups = ((uint)pixelTiles, (uint)((cout + 32 * sgm - 1) / (32 * sgm)), 1u);
            return new TuneCandidate($"coopmat{sgm}x{sgn}", spec, groups, push);
        }
        return Tiles(cout).Select(t => Candidate(t.M, t.N)).ToList();
    }
}
