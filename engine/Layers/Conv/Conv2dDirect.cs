using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// shaders/conv2d/conv2d.fwd.comp: direct convolution, up to 16 output channels x up to 8 columns per invocation
/// read straight from global memory, one flat index over all invocations. Works on every device; the baseline other conv kernels must beat.
/// Under CompileOptions.Autotune (on by default on a GPU) its tiles (<see cref="Blocks"/>) are timed per shape against
/// the other entries' kernels (ConvForward).
/// </summary>
internal class Conv2dDirect : IConv2dForward
{
    public string Operation => "conv2d.fwd";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    /// <summary>The module of <see cref="Layout"/>: conv2d.fwd, or its ".nhwc" variant.</summary>
    string Module => ActivationLayouts.Module("conv2d/conv2d.fwd", Layout);
    public int Priority => 0;
    public bool Supports(DeviceInfo device) => true;
    public bool ReadsConcat => true;
    /// <summary>Tiles of an even number of columns (a window's two) through storage buffers: the invocation of an even row
    /// computes it and the next.</summary>
    public bool Pools(TuneCandidate candidate, DeviceInfo device) => candidate.Spec.Module == Module && candidate.Spec.Constants[18] % 2 == 0;

    public void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label)
    {
        ConvForward.Dispatch(e, Tiles(e, Module, a, x, w, bias, y, act, slope, all: false)[0], x, w, bias, y, label);
    }

    /// <summary>Every tile of <see cref="Blocks"/>, for the tuner (ConvForward).</summary>
    public IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope) =>
        Tiles(e, Module, a, x, w, bias, y, act, slope, all: true);

    /// <summary>The direct kernel's dispatches for a layer: the default tile first, then (with <paramref name="all"/>) every other tile of <see cref="Blocks"/>.</summary>
    static List<TuneCandidate> Tiles(Emitter e, string module, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, bool all)
    {
        var (n, cin, h, wd) = x.Shape.Nchw;
        var (_, cout, oh, ow) = y.Shape.Nchw;
        // Shapes are baked (fixed per compiled graph); the shader also takes them from push constants.
        var constants = new[]
        {
            (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Stride.H, (uint)a.Stride.W, (uint)a.Padding.H, (uint)a.Padding.W,
            (uint)a.Dilation.H, (uint)a.Dilation.W, (uint)a.Groups, bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope),
            (uint)cin, (uint)cout, (uint)h, (uint)wd, (uint)oh, (uint)ow,
        };
        var (variant, bindings) = ConvKernels.WithWeightReads(e, module, w);
        var push = PushConstants.Ints(n, cin, cout, h, wd, oh, ow);
        TuneCandidate Candidate(int px, int co)
        {
            var spec = new KernelSpec(variant, bindings, 28, constants.Concat(new[] { (uint)px, (uint)co }).ToArray(), ConvKernels.FlatLocal);
            long invocations = (long)n * ((cout + co - 1) / co) * oh * ((ow + px - 1) / px);
            return new TuneCandidate($"px{px}co{co}", spec, ConvKernels.Groups(e, invocations, ConvKernels.FlatLocal), push);
        }
        var blocks = all ? Blocks(ow, cout / a.Groups) : Blocks(ow, cout / a.Groups).Take(1);
        return blocks.Select(b => Candidate(b.Px, b.Co)).ToList();
    }

    /// <summary>
    /// The tiles the tuner tries (CompileOptions.Autotune): columns per invocation (the width's default, 4, 1) by output
    /// channels (the default of up to 16, and 4; at most the group's channels). On an H200, tuning the benchmark layers
    /// over 2 columns and 8 channels as well never picked either, and every pipeline compiled costs the first compile.
    /// </summary>
    internal static IEnumerable<(int Px, int Co)> Blocks(int width, int channelsPerGroup)
    {
        var pxs = new[] { ConvKernels.PixelBlock(width), 4, 1 }.Where(p => p <= Math.Max(1, width)).Distinct().ToArray();
        var cos = new[] { ConvKernels.ChannelBlock(channelsPerGroup), 4 }.Select(c => Math.Min(c, channelsPerGroup)).Distinct().ToArray();
        return from c in cos from p in pxs select (p, c);
    }
}

/// <summary>
/// <see cref="Conv2dDirect"/> over channels-last activations (conv2d.fwd.nhwc: x and y [N,H,W,C], every variant of the
/// NCHW module): the fallback of an NHWC plan (<see cref="CompileOptions.ActivationLayout"/>) on every device.
/// </summary>
internal sealed class Conv2dDirectNhwc : Conv2dDirect
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
}
