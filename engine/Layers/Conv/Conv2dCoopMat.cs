using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd_coopmat.comp: the convolution as an implicit GEMM on tensor cores (KHR cooperative
/// matrices, fp16 operands, f32 accumulation), chosen under <see cref="Precision.Fp16"/> on devices with square
/// f16*f16+f32 subgroup matrices (<see cref="DeviceInfo.CooperativeMatrixF16Size"/>: 16 on NVIDIA, 8 on lavapipe of
/// Mesa 26) and subgroups of at most 32. Under Fp16 the activations are stored as f16 and its .f16
/// variant reads them straight into its tiles (weights stay f32 parameters, rounded as they are staged). Groups of 1
/// and at least 16 output channels (a thinner layer would waste most of each channel tile: the direct kernel takes it).
/// Where it paid, measured before f16 activation storage (f32 activations rounded as they were staged): on an H100
/// this kernel ran 3x3 convolutions with 96 or more output channels, or on few pixels, faster than the f32 direct
/// kernel (256 ch at 128x128: 0.43 against 0.72 ms; the denoiser's 1/8- and 1/16-scale layers 3-10x faster), but
/// full-resolution layers of 32-64 channels slower (64 ch at 512x512: 1.20 against 0.78 ms): staging f32 NCHW
/// activations into fp16 tiles cost more than the tensor cores saved there. So on a GPU it takes
/// the layers with at least <see cref="WideChannels"/> output channels or at most <see cref="FewPixels"/> output
/// pixels, and leaves the rest to the direct kernel; on a CPU device (lavapipe emulates the matrices) it runs only when
/// named (CompileOptions.PreferKernels), which is how the tests check it there. The layers <see cref="Conv2dCoopMatPatch"/>
/// takes (strides and dilations up to 2, kernels spanning up to 5 pixels) go to that kernel first: it ranks higher.
/// </summary>
internal sealed class Conv2dCoopMat : CooperativeMatrixEntry, IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 10;

    public bool Supports(DeviceInfo device) => CooperativeMatrixKernels.Usable(device) && Tiles(device, 1).Any();
    public bool ReadsConcat => true;

    /// <summary>Output channels from which the tensor-core tile beats the direct kernel at any size (measured, H100).</summary>
    internal const int WideChannels = 96;
    /// <summary>Output pixels (over the batch) up to which it beats the direct kernel at any width (measured, H100).</summary>
    internal const long FewPixels = 150_000;
    /// <summary>The smallest pixel tile (8 S with S = 8): the bound CanRun checks, whatever the device's S.</summary>
    const int MinTileN = 64;

    public bool Accepts(ConvAttributes a, Shape x, Shape y) =>
        CanRun(a, x, y) && (y[1] >= WideChannels || (long)y[0] * y[2] * y[3] <= FewPixels);

    /// <summary>Groups of 1, kernels up to 32, at least 16 output channels, pixel tiles within the workgroup counts: where a
    /// tuner may time it (under CompileOptions.Autotune it competes on every such layer, not only where Accepts says).</summary>
    public bool CanRun(ConvAttributes a, Shape x, Shape y) =>
        a.Groups == 1 && a.Kernel.H <= 32 && a.Kernel.W <= 32 && y[1] >= 16 && ((long)y[0] * y[2] * y[3] + MinTileN - 1) / MinTileN <= 65535;

    /// <summary>Subgroups along the output channels (2 S of them per subgroup): the fewest that cover Cout, 1, 2 or 4.</summary>
    internal static int SubgroupsM(int cout, int s) => cout <= 2 * s ? 1 : cout <= 4 * s ? 2 : 4;

    /// <summary>Subgroups along the 8 S pixels of a tile: 4 (two S-pixel accumulators each, fewer registers, more
    /// subgroups to hide memory latency) where the workgroup stays within 8 subgroups, else 2.</summary>
    internal static int SubgroupsN(int subgroupsM) => subgroupsM <= 2 ? 4 : 2;

    /// <summary>
    /// Whether a workgroup of <paramref name="sgm"/> x <paramref name="sgn"/> subgroups fits the shader with S x S
    /// matrices and the device's subgroups: its staging arrays (at most 16 weights, 64 inputs and 4
    /// pixel columns per invocation, each an exact share), the device's shared memory and workgroup size.
    /// </summary>
    internal static bool Fits(DeviceInfo device, int s, int sgm, int sgn)
    {
        int subgroup = (int)device.SubgroupSize, threads = subgroup * sgm * sgn;
        int bm = 2 * s * sgm, bn = 8 * s, bk = 2 * s;
        if (threads > device.MaxWorkgroupInvocations || bm * bk % threads != 0 || bk * bn % threads != 0) return false;
        if (bm * bk / threads > 16 || bk * bn / threads > 64) return false;
        if (threads < bn ? bn % threads != 0 || bn / threads > 4 : threads % bn != 0 || bk % (threads / bn) != 0) return false;
        return SharedBytes(s, sgm, sgn) <= device.MaxSharedMemoryBytes;
    }

    /// <summary>The shader's shared memory: two fp16 weight and input tiles, one f32 S x S staging tile per subgroup.</summary>
    internal static long SharedBytes(int s, int sgm, int sgn) =>
        2L * 2 * s * sgm * (2 * s + 8) * 2 + 2L * 2 * s * (8 * s + 8) * 2 + (long)sgm * sgn * s * s * 4;

    /// <summary>
    /// The tuner's candidates (its default first): the workgroup's subgroups along the output channels (the default, and
    /// half as many: a smaller channel tile, more workgroups) by subgroups along the pixels (4 and 2), those that
    /// <see cref="Fits"/> the device (with S = 16 and 32-wide subgroups: all but 4 x 4, over 45 KiB of shared memory).
    /// </summary>
    internal static IEnumerable<(int M, int N)> Tiles(DeviceInfo device, int cout)
    {
        int s = device.CooperativeMatrixF16Size, m = SubgroupsM(cout, s);
        var all = new List<(int, int)> { (m, SubgroupsN(m)) };
        foreach (var sgm in new[] { m, m / 2 }.Where(v => v >= 1).Distinct())
            foreach (var sgn in new[] { 4, 2 })
                if ((sgm, sgn) != all[0] && sgm * sgn <= 8) all.Add((sgm, sgn));
        return all.Where(t => Fits(device, s, t.Item1, t.Item2));
    }

    public void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        long pixelTiles = ((long)x.Shape[0] * y.Shape[2] * y.Shape[3] + 8 * e.Device.CooperativeMatrixF16Size - 1) / (8 * e.Device.CooperativeMatrixF16Size);
        if (pixelTiles > e.Device.MaxWorkgroupCount[0])
            throw new GraphException($"{label}: {y.Shape[0]}x{y.Shape[2]}x{y.Shape[3]} output pixels need {pixelTiles} workgroups, more than the device's {e.Device.MaxWorkgroupCount[0]}.");
        ConvForward.Dispatch(e, e.DefaultOf(this, Candidates(e, a, x, w, bias, y, act, slope))!, x, w, bias, y, label);
    }

    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        int s = e.Device.CooperativeMatrixF16Size, subgroup = (int)e.Device.SubgroupSize;
        long pixelTiles = ((long)n * oh * ow + 8 * s - 1) / (8 * s);
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        TuneCandidate Candidate(int sgm, int sgn)
        {
            var constants = new[]
            {
                (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
                (uint)a.Dilation.H, (uint)a.Dilation.W, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)sgm, (uint)sgn,
                (uint)s, (uint)subgroup,
            };
            var spec = new KernelSpec("conv2d/conv2d.fwd_coopmat", KernelSpec.Buffers(4), 28, constants, (uint)(subgroup * sgm * sgn));
            var groups = ((uint)pixelTiles, (uint)((cout + 2 * s * sgm - 1) / (2 * s * sgm)), 1u);
            return new TuneCandidate($"coopmat{sgm}x{sgn}", spec, groups, push);
        }
        return Tiles(e.Device, cout).Select(t => Candidate(t.M, t.N)).ToList();
    }
}
