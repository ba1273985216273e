using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>A registered implementation of conv2d forward (with fused bias and activation).</summary>
internal interface IConv2dForward : IKernelEntry
{
    /// <summary>Whether the registry should pick this kernel for the layer's geometry and shapes untuned (specialised
    /// kernels have limits, and some pay only on some shapes).</summary>
    bool Accepts(ConvAttributes a, Shape x, Shape y) => true;

    /// <summary>Whether the kernel computes the layer correctly at all (its hard limits): where a tuner may time it.</summary>
    bool CanRun(ConvAttributes a, Shape x, Shape y) => Accepts(a, x, y);

    /// <summary>Whether the kernel's module has a ".concat" variant (shaders/Variants.props) that reads the input as the
    /// channel concatenation of two tensors upsampled by nearest neighbour on the way in (<see cref="ConcatConv2d"/>): x
    /// at binding 0 (its channels first), the other at binding 4, specialization constants 20..22 the first's channels
    /// and both scales. Such an entry's candidates must bind storage buffers (no texel reads).</summary>
    bool ReadsConcat => false;

    /// <summary>Whether the kernel computes a convolution of the concatenation <paramref name="c"/> correctly (<see cref="CanRun"/> on its shape, by default).</summary>
    bool CanRunConcat(ConvAttributes a, ConcatInput c, Shape y) => CanRun(a, c.Full, y);

    /// <summary>Whether the registry should pick this kernel untuned for a convolution of the concatenation <paramref name="c"/> (<see cref="Accepts"/> on its shape, by default).</summary>
    bool AcceptsConcat(ConvAttributes a, ConcatInput c, Shape y) => Accepts(a, c.Full, y);

    /// <summary>
    /// The dispatches that compute a convolution of the concatenation <paramref name="c"/> (<see cref="ConcatConv2d"/>)
    /// without writing it: by default the ".concat" variants of this entry's candidates for its shape, where the entry
    /// reads concatenations (<see cref="ReadsConcat"/>) and the candidate's module has the variant; none otherwise.
    /// </summary>
    IEnumerable<TuneCandidate> ConcatCandidates(Emitter e, ConvAttributes a, ConcatInput c, Value w, Value? bias, Value y, Activation act, float slope) =>
        ReadsConcat ? ConcatVariants(Candidates(e, a, c.StandIn, w, bias, y, act, slope), c) : Enumerable.Empty<TuneCandidate>();

    /// <summary>The ".concat" variants of those of <paramref name="candidates"/> whose module has one, reading <paramref name="c"/>.</summary>
    static IEnumerable<TuneCandidate> ConcatVariants(IEnumerable<TuneCandidate> candidates, ConcatInput c) =>
        candidates.Where(k => PipelineStore.HasModule(k.Spec.Module + ".concat")).Select(k => ConcatReads.Variant(k, c));

    /// <summary>Whether <paramref name="candidate"/> (one of this entry's) has a ".pool" variant (shaders/Variants.props)
    /// that takes the 2x2, stride-2 max pool following the convolution in its epilogue and writes only the pooled
    /// output at binding 3 (<see cref="ConvPool2d"/>; storage-buffer reads), and that variant runs on
    /// <paramref name="device"/> (the shared memory its epilogue adds). Its ".pool.keep" form, where the module has one,
    /// writes the unpooled output too (binding 4, <see cref="ConvForward.EmitWithPool"/>).</summary>
    bool Pools(TuneCandidate candidate, DeviceInfo device) => false;

    /// <summary>Whether <paramref name="candidate"/>'s ".unpool" variant, where its module has one (<see cref="PoolGradient"/>),
    /// runs on <paramref name="device"/>: true but where the variant adds shared memory the tile may not fit.</summary>
    bool TakesPoolGradient(TuneCandidate candidate, DeviceInfo device) => true;

    /// <summary>The untuned dispatch: the entry's first candidate (<see cref="ConvForward.DispatchDefault"/>), unless the entry
    /// has a cheaper way to its default (the direct kernel's).</summary>
    void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label) =>
        ConvForward.DispatchDefault(this, e, a, x, w, bias, y, act, slope, label);

    /// <summary>The dispatches a tuner may time for the layer (each computes the whole output; names unique per entry).</summary>
    IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope);
}
