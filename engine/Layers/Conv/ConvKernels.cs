using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The kernels shared by Conv2d's gradient rule and ConvTranspose2d: the transposed convolution as a gather
/// (shaders/conv_transpose2d/conv_transpose2d.fwd.comp), the weight gradient (shaders/conv2d/conv2d.bwd_weight.comp)
/// and the bias gradient (shaders/conv2d/conv2d.bwd_bias.comp). None uses atomics.
/// </summary>
internal static class ConvKernels
{
    const int CoMax = 16, PxMax = 8; // must match CO_MAX, PX_MAX in the shaders
    const uint ReduceLocal = 64, WeightLocal = 64;
    /// <summary>Weight-gradient invocations worth splitting the reduction for (64 workgroups of 64), and the fewest rows a split takes.</summary>
    internal const long SplitTarget = 4096;
    internal const int MinRowsPerSplit = 4;
    /// <summary>Kernel taps the all-taps weight gradient holds (TAPS_MAX), and the invocations worth splitting it for.</summary>
    const int TapsMax = 9;
    const long TapsSplitTarget = 1024;
    /// <summary>Bias-gradient invocations worth splitting the batch for.</summary>
    internal const long BiasSplitTarget = 512;

    static uint[] Geometry(ConvAttributes a) => new[]
    {
        (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
        (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)a.Groups,
    };

    /// <summary>
    /// dst = act(conv_transpose(src, w) + bias) with w [Cs, Cd/groups, KH, KW] and the stride, padding, dilation and
    /// groups of <paramref name="a"/>; dst's own shape fixes its size (so it also serves as Conv2d's input gradient).
    /// src and dst share one layout: NCHW, or channels-last through the .nhwc variant.
    /// </summary>
    public static void Gather(Emitter e, ConvAttributes a, Value src, Value w, Value? bias, Value dst, Activation act, float slope, string label)
    {
        if (src.Layout != dst.Layout)
            throw new GraphException($"{label}: the gather reads {src.Layout} and writes {dst.Layout}; both must share one layout.");
        var (n, cs, ih, iw) = src.Shape.Nchw;
        var (_, cd, oh, ow) = dst.Shape.Nchw;
        var constants = Geometry(a).Concat(new[]
        {
            bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)cs, (uint)cd, (uint)ih, (uint)iw, (uint)oh, (uint)ow,
        }).ToArray();
        // An invocation takes PX_BLOCK columns of one phase modulo the stride (every stride-th column) in a row of one phase.
        int perPhase = (ow + a.Stride.W - 1) / a.Stride.W, cdG = cd / a.Groups;
        var (module, bindings) = WithWeightReads(e, ActivationLayouts.Module("conv_transpose2d/conv_transpose2d.fwd", src.Layout), w);
        var push = PushConstants.Ints(n, cs, cd, ih, iw, oh, ow);
        TuneCandidate Block(int px, int co)
        {
            var spec = new KernelSpec(module, bindings, 28, constants.Concat(new[] { (uint)px, (uint)co }).ToArray(), FlatLocal);
            long invocations = (long)a.Stride.H * a.Stride.W * n * ((cd + co - 1) / co) * ((oh + a.Stride.H - 1) / a.Stride.H) * ((perPhase + px - 1) / px);
            return new TuneCandidate($"px{px}co{co}", spec, Groups(e, invocations, FlatLocal), push);
        }
        // Untuned, the block sizes chosen for lavapipe; tuned (products of at least GatherMinTunedWork multiply-adds), the
        // fastest of those and of up to 16 or 4 channels by 8, 4 or 1 columns (a GPU wants more invocations than lavapipe).
        var blocks = new List<(int Px, int Co)> { (PixelBlock(perPhase), ChannelBlock(cdG)) };
        if (e.Tuner != null && (long)n * cs * ih * iw * cdG * a.Kernel.H * a.Kernel.W >= GatherMinTunedWork)
            blocks.AddRange(new[] { 8, 4, 1 }.SelectMany(px => new[] { 16, 4 }.Select(co => (Math.Min(px, perPhase), Math.Min(co, cdG)))));
        var args = new[] { Arg.In(src), Arg.In(w), Arg.In(bias ?? w), Arg.Out(dst) };
        var chosen = EntryTuning.ChooseAmong(e, "conv_transpose2d.gather", blocks.Distinct().Select(b => Block(b.Px, b.Co)).ToList(), args,
            $"{src.Shape}->{dst.Shape}{(src.Layout == TensorLayout.Nhwc ? "|nhwc" : "")}|{ConvForward.Describe(a, bias, act)}", label);
        e.Dispatch(chosen.Spec, chosen.Groups, chosen.Push, label, args);
    }

    /// <summary>Multiply-adds below which the gather runs its untuned blocks: launch-bound, whatever its blocks.</summary>
    const long GatherMinTunedWork = 1L << 24;

    /// <summary>
    /// dw[c1, c2l, ky, kx] = sum over b, pixels p of a of a[b, c1, p] * q[b, c2, p * stride - pad + k * dilation]
    /// (written, not accumulated). Conv2d: a = dY, q = x. ConvTranspose2d: a = x, q = dY. When the weight has too few
    /// blocks to keep every core busy, the batch-and-rows reduction is split and a second pass adds the parts in order
    /// (the candidate's <see cref="TuneCandidate.Finish"/>; <see cref="ConvWeightGrad.Dispatch"/> runs it). Channels-last
    /// values take the blocks kernel's .nhwc variant (the all-taps kernel is NCHW only).
    /// </summary>
    public static TuneCandidate WeightGrad(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int c1G = c1 / a.Groups, c2G = c2 / a.Groups;
        if (c2G == 1 && a.Kernel.H * a.Kernel.W <= TapsMax && plain.Layout == TensorLayout.Nchw) return WeightGradAllTaps(e, a, plain, shifted, dw);
        // Blocks of up to 8 x 16 weight elements per invocation: 24 loads feed 128 multiply-adds (on lavapipe a buffer
        // load costs far more than spilling accumulators).
        int b1 = Math.Min(8, c1G), b2 = Math.Min(16, c2G);
        long blocks = (long)a.Groups * ((c1G + b1 - 1) / b1) * ((c2G + b2 - 1) / b2) * a.Kernel.H * a.Kernel.W;
        // Too few blocks to fill the cores: split the N * AH rows of the reduction, then add the partial sums in order.
        var (splits, rowsPerSplit) = PartialSums.Plan(blocks, n * ah, SplitTarget, MinRowsPerSplit);
        var constants = Geometry(a).Concat(new[]
        {
            (uint)c1, (uint)c2, (uint)ah, (uint)aw, (uint)qh, (uint)qw, (uint)b1, (uint)b2, splits > 1 ? (uint)rowsPerSplit : 0u,
        }).ToArray();
        var (module, bindings) = e.TexelVariant(ActivationLayouts.Module("conv2d/conv2d.bwd_weight", plain.Layout), 3, 2);
        var spec = new KernelSpec(module, bindings, 28, constants, WeightLocal);
        return WeightGradCandidate(e, "blocks", spec, blocks, splits, PushConstants.Ints(n, c1, c2, ah, aw, qh, qw), dw);
    }

    /// <summary>
    /// The weight gradient when q has one channel per group (shaders/conv2d/conv2d.bwd_weight_taps.comp): an invocation
    /// takes up to 8 c1 channels and every tap, so loads are shared across taps; split over rows like WeightGrad.
    /// </summary>
    static TuneCandidate WeightGradAllTaps(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw)
    {
        var (n, c1, ah, aw) = plain.Shape.Nchw;
        var (_, c2, qh, qw) = shifted.Shape.Nchw;
        int c1G = c1 / a.Groups, b1 = Math.Min(8, c1G);
        long blocks = (long)a.Groups * ((c1G + b1 - 1) / b1);
        var (splits, rowsPerSplit) = PartialSums.Plan(blocks, n * ah, TapsSplitTarget, 2);
        var constants = Geometry(a).Concat(new[]
        {
            (uint)c1, (uint)c2, (uint)ah, (uint)aw, (uint)qh, (uint)qw, (uint)b1, splits > 1 ? (uint)rowsPerSplit : 0u,
        }).ToArray();
        var (module, bindings) = e.TexelVariant("conv2d/conv2d.bwd_weight_taps", 3, 2);
        var spec = new KernelSpec(module, bindings, 28, constants, WeightLocal);
        return WeightGradCandidate(e, "taps", spec, blocks, splits, PushConstants.Ints(n, c1, c2, ah, aw, qh, qw), dw);
    }

    /// <summary>A weight-gradient kernel over <paramref name="blocks"/> blocks, with the reduction split <paramref name="splits"/> ways when more than one.</summary>
    static TuneCandidate WeightGradCandidate(Emitter e, string name, KernelSpec spec, long blocks, int splits, byte[] push, Value dw) =>
        new(name, spec, Groups(e, blocks * splits, WeightLocal), push)
        {
            Finish = splits > 1 ? PartialSums.Finish(e, splits, dw.Shape.Elements) : null,
        };

    /// <summary>db[c] = sum of dY[:, c, :, :]; split over chunks of images (partial sums added in order) when C is small.</summary>
    public static void BiasGrad(Emitter e, Value dy, Value db, string label)
    {
        var (n, c, h, w) = dy.Shape.Nchw;
        var (splits, perSplit) = PartialSums.Plan(c, n, BiasSplitTarget, 1);
        var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.bwd_bias", dy.Layout), KernelSpec.Buffers(2), 12,
            new[] { (uint)c, (uint)(h * w), splits > 1 ? (uint)perSplit : 0u }, ReduceLocal);
        var push = PushConstants.Ints(n, c, h * w);
        if (splits == 1)
        {
            e.Dispatch(spec, Groups(e, c, ReduceLocal), push, label, Arg.In(dy), Arg.Out(db));
            return;
        }
        var partial = PartialSums.Scratch(e, splits, c, label);
        e.Dispatch(spec, Groups(e, (long)splits * c, ReduceLocal), push, label, Arg.In(dy), Arg.Out(partial));
        PartialSums.Sum(e, partial, db, $"{label}.sum");
    }

    /// <summary>
    /// How a forward or gather kernel reads its input (binding 0) and weight (binding 1), CompileOptions.TexelReads: as
    /// storage buffers (module as is); or the input through a texel view and the weight from a uniform buffer when it
    /// fits the 64 KiB the shaders declare (".texel", KILN_TEXEL_READS), else through a texel view too
    /// (".texel_weights", KILN_TEXEL_WEIGHTS). The module's name and its four bindings (bias and output storage).
    /// </summary>
    internal static (string Module, BindingKind[] Bindings) WithWeightReads(Emitter e, string module, Value weight)
    {
        if (!e.TexelReads) return (module, KernelSpec.Buffers(4));
        if ((ulong)weight.Shape.Elements * 4 > Math.Min(e.Device.MaxUniformBufferRange, 65536))
            return (module + ".texel_weights", e.TexelVariant(module, 4, 2).Bindings);
        var (name, kinds) = e.TexelVariant(module, 4, 1);
        kinds[1] = BindingKind.UniformBuffer;
        return (name, kinds);
    }

    /// <summary>Local size of the conv kernels indexed by one flat invocation index (a multiple of the SIMD width).</summary>
    public const uint FlatLocal = 64;

    /// <summary>
    /// Output columns per invocation (the PX_BLOCK constant): the width from PxMax down to half of it that wastes the
    /// fewest columns of the last block of a row (7 for rows of 7, 14 or 28; 8 for 64).
    /// </summary>
    public static int PixelBlock(int width)
    {
        int best = PxMax, waste = int.MaxValue;
        for (int p = PxMax; p >= PxMax / 2; p--)
        {
            int w = (width + p - 1) / p * p - width;
            if (w < waste) (best, waste) = (p, w);
        }
        return Math.Min(best, width);
    }

    /// <summary>
    /// Output channels per invocation (the CO_BLOCK constant): up to 16 channels of one group, so a block rarely straddles
    /// groups (on lavapipe every buffer load is costly, and a wider block shares each input load among more channels).
    /// </summary>
    public static int ChannelBlock(int channelsPerGroup) => Math.Min(CoMax, channelsPerGroup);

    /// <summary>Workgroups for <paramref name="count"/> invocations of a flat-indexed kernel (kiln_element_index).</summary>
    public static (uint X, uint Y, uint Z) Groups(Emitter e, long count, uint local) => FlatGroups.For(e, count, local);
}
