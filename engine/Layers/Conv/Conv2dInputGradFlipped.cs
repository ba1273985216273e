using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for stride 1 as a forward convolution of dY, for GPUs: with the weight's channels swapped
/// per group and its kernel turned by 180 degrees (shaders/conv2d/conv2d.flip_weight.comp, a pass over the weight
/// only), dX = conv(dY, w') with padding d(K-1) - p and the same dilation and groups, run by the registry's forward
/// kernel (<see cref="IConv2dForward"/>); a kernel that prepares its weight first (the tensor-core patch kernel packs it to
/// f16, the Winograd kernel transforms it) does it turned and swapped in that pass instead (no flipped copy). On an H100 the direct forward kernel did a 3x3 64-channel 512x512 layer in
/// 0.78 ms where the tiled input-gradient kernel took 0.95 ms, so this entry ranks above it.
/// </summary>
internal class Conv2dInputGradFlipped : IConv2dInputGrad
{
    public string Operation => "conv2d.bwd_input";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public int Priority => 20;
    public bool Supports(DeviceInfo device) => true;
    /// <summary>On a CPU device (lavapipe) the gather is faster; there this one runs only when preferred by name.</summary>
    public virtual bool PreferredOn(DeviceInfo device) => !device.IsCpu;

    public bool Accepts(ConvAttributes a, Shape dy, Shape dx) => Takes(a);

    /// <summary>Stride 1, and no more padding than the dilated kernel reaches (the transposed forward's padding is not negative).</summary>
    internal static bool Takes(ConvAttributes a) =>
        a.Stride == (1, 1) && a.Padding.H <= a.Dilation.H * (a.Kernel.H - 1) && a.Padding.W <= a.Dilation.W * (a.Kernel.W - 1);

    /// <summary>The forward convolution that computes dX from dY.</summary>
    internal static ConvAttributes Transposed(ConvAttributes a) => new(a.OutChannels, a.InChannels, a.Kernel, (1, 1),
        (a.Dilation.H * (a.Kernel.H - 1) - a.Padding.H, a.Dilation.W * (a.Kernel.W - 1) - a.Padding.W), a.Dilation, a.Groups, false);

    public void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label) =>
        EmitWith(e, a, dy, w, null, dx, Activation.None, 0, label);

    /// <summary>Where the forward kernel the layer's dX runs on has a ".dact" variant (<see cref="ActivationGradient"/>).</summary>
    public bool EmitActivated(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, ActivationGradient g, string label) =>
        EmitTransposed(e, a, Transposed(a), dy, w, null, dx, g.Activation, g.Slope, label,
            new Epilogue(".dact", (_, c) => g.Variant(c), weight => ConvForward.Args(dy, weight, null, dx).Append(Arg.In(g.Output)).ToArray()));

    /// <summary>Where the forward kernel the layer's dX runs on has an ".unpool" variant (<see cref="PoolGradient"/>): dX
    /// (<paramref name="dx"/>, the pool's output gradient, never written) leaves as the pool's input gradient.</summary>
    public bool EmitUnpooled(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, PoolGradient pool, string label) =>
        EmitTransposed(e, a, Transposed(a), dy, w, null, dx, pool.Activation, pool.Slope, label,
            new Epilogue(pool.Through?.Addend != null ? ".unpool.sum" : ".unpool", (entry, c) => entry.TakesPoolGradient(c, e.Device) ? pool.Variant(c) : null, weight => pool.Args(dy, weight, null)));

    /// <summary>A fused epilogue of the input gradient: its name in the tuning key (the module suffix, and for an .unpool that
    /// adds the other reader's part, ".sum"), the variant of a candidate of the entry (null: it has none that runs), and its
    /// bindings given the weight it reads (<see cref="ConvForward.ChooseEpilogue"/>).</summary>
    sealed record Epilogue(string Suffix, Func<IConv2dForward, TuneCandidate, TuneCandidate?> Variant, Func<Value, Arg[]> Args);

    /// <summary>
    /// Whether a stride-1 ConvTranspose2d's forward runs here (<see cref="EmitWith"/>, with its bias and activation): where
    /// the registry picks this entry for the input gradient of the matching convolution <paramref name="conv"/> (GPUs, or
    /// named), which has no output padding to add.
    /// </summary>
    internal static bool TakesTransposed(Emitter e, ConvAttributes conv, Value x, Value y, (int H, int W) outputPadding) =>
        outputPadding == (0, 0) && KernelRegistry.TryChoose<IConv2dInputGrad>("conv2d.bwd_input", y.ElementType, y.Layout, e,
            k => k.Accepts(conv, x.Shape, y.Shape)) is Conv2dInputGradFlipped;

    /// <summary>
    /// The input gradient of <paramref name="a"/> of dY plus <paramref name="bias"/> and through <paramref name="act"/>: a
    /// stride-1 ConvTranspose2d's forward (dY its input) with the forward kernels' fused bias and activation.
    /// </summary>
    internal static void EmitWith(Emitter e, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act, float slope, string label)
    {
        var t = Transposed(a) with { Bias = bias != null };
        int since = e.StepCount;
        EmitTransposed(e, a, t, dy, w, bias, dx, act, slope, label);
        e.AttributeFlops(since, label, ConvForward.Flops(t, dx.Shape));
    }

    /// <summary>
    /// <see cref="EmitWith"/>'s dispatches: the forward kernel <paramref name="t"/> of dY with the weight turned and
    /// swapped; with <paramref name="epilogue"/> that kernel's variant (".dact", ".unpool"), and false, with nothing
    /// emitted, where it has none.
    /// </summary>
    static bool EmitTransposed(Emitter e, ConvAttributes a, ConvAttributes t, Value dy, Value w, Value? bias, Value dx, Activation act, float slope,
        string label, Epilogue? epilogue = null)
    {
        var shape = new Shape(a.InChannels, a.OutChannels / a.Groups, a.Kernel.H, a.Kernel.W);
        // A kernel that prepares its weight first (the tensor-core patch kernel, the Winograd kernel) reads it straight from
        // w, turned and swapped as it goes: no flipped copy. The candidates are sized from a stand-in of the flipped
        // weight, never bound.
        var standIn = Value.StandIn(shape, w.ElementType, w.Layout, $"{label}.flipped_weight");
        TuneCandidate? chosen;
        if (epilogue == null) chosen = ConvForward.Choose(e, t, dy, standIn, bias, dx, act, slope, label);
        else if ((chosen = ConvForward.ChooseEpilogue(e, t, dy, standIn, bias, dx, act, slope, epilogue.Suffix, epilogue.Variant, epilogue.Args(standIn), label)?.Chosen) == null)
            return false;
        if (chosen is { Prepare: { } pack } && (Conv2dCoopMatPatch.FlippedPack(pack, a) ?? Conv2dWinograd.FlippedTransform(pack, a)) is { } flippedPack)
        {
            var packed = chosen with { Prepare = flippedPack };
            if (epilogue != null) ConvForward.Dispatch(e, packed, epilogue.Args(w), label);
            else ConvForward.Dispatch(e, packed, dy, w, bias, dx, label);
            return true;
        }
        var flipped = e.NewValue(shape, ValueKind.Derived, $"{label}.flipped_weight");
        var flip = FlipPrepare(e, a);
        e.Dispatch(flip.Spec, flip.Groups, flip.Push, $"{label}.flip", Arg.In(w), Arg.Out(flipped));
        if (epilogue != null) ConvForward.Dispatch(e, chosen!, epilogue.Args(flipped), label);
        else ConvForward.Emit(e, t, dy, flipped, bias, dx, act, slope, label);
        return true;
    }

    /// <summary>
    /// The pass that writes the weight of <paramref name="a"/>'s input gradient read as a forward convolution's
    /// (shaders/conv2d/conv2d.flip_weight.comp, [Cin, Cout/groups, NY, NX]): the whole kernel turned and its channels
    /// swapped, or with <paramref name="phase"/> (groups of 1) one output phase's taps (first taps, taps per axis and
    /// their step in the weight: <see cref="PhasedInputGrad.Phase"/>).
    /// </summary>
    internal static TunePrepare FlipPrepare(Emitter e, ConvAttributes a, PhasedInputGrad.Phase? phase = null)
    {
        var (k0y, k0x, ny, nx, step) = phase is { } ph ? (ph.K0y, ph.K0x, ph.Ny, ph.Nx, ph.Step) : (0, 0, a.Kernel.H, a.Kernel.W, (H: 1, W: 1));
        return Flip(e, a, checked(a.InChannels * (a.OutChannels / a.Groups) * ny * nx), new[] { k0y, k0x, step.H, step.W, ny, nx });
    }

    /// <summary>
    /// The pass that writes every output phase's taps of the strided layer <paramref name="a"/> (groups of 1) turned and
    /// swapped, one phase after the other (conv2d.flip_weight's PHASES form): the weight of the one-dispatch phase kernel
    /// (<see cref="Conv2dImplicitGemm.PhaseCandidates"/>). The phases come from <paramref name="dx"/>'s shape as
    /// <see cref="PhasedInputGrad.Phases"/> gives them.
    /// </summary>
    internal static TunePrepare FlipPhasesPrepare(Emitter e, ConvAttributes a, Shape dx)
    {
        int count = checked(PhasedInputGrad.Phases(a, dx).Sum(ph => a.InChannels * a.OutChannels * ph.Ny * ph.Nx));
        return Flip(e, a, count, new[] { 0, 0, 1, 1, 0, 0, 1, a.Stride.H, a.Stride.W, a.Padding.H, a.Padding.W, a.Dilation.H, a.Dilation.W });
    }

    /// <summary>conv2d.flip_weight writing <paramref name="count"/> values, its constants after the layer's geometry.</summary>
    static TunePrepare Flip(Emitter e, ConvAttributes a, int count, int[] more)
    {
        var constants = new[] { a.Kernel.H, a.Kernel.W, a.Groups, a.InChannels, a.OutChannels }.Concat(more).Select(v => (uint)v).ToArray();
        var spec = new KernelSpec("conv2d/conv2d.flip_weight", KernelSpec.Buffers(2), 4, constants, Emitter.ElementwiseLocal);
        return new TunePrepare(spec, e.ElementwiseGroups(count), PushConstants.Words((uint)count), Input: 1, count, ElementType.F32);
    }
}

/// <summary>
/// <see cref="Conv2dInputGradFlipped"/> over channels-last dY and dX: the forward kernel of dY is the registry's NHWC
/// forward (<see cref="Conv2dDirectNhwc"/> and the tensor-core NHWC kernels). The input gradient of a channels-last
/// training plan (<see cref="CompileOptions.ActivationLayout"/>), on every device: Conv2d runs its gradient channels-last
/// where this entry takes it (<see cref="Conv2d.BackwardsNhwc"/>).
/// </summary>
internal sealed class Conv2dInputGradFlippedNhwc : Conv2dInputGradFlipped
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    /// <summary>The one NHWC input gradient, on CPU devices too.</summary>
    public override bool PreferredOn(DeviceInfo device) => true;
}
