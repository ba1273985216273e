using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for strided layers by output phase (groups 1), and ConvTranspose2d's forward, the same
/// computation with a bias and an activation (<see cref="ForTransposed"/>). The gradient splits into stride_h x stride_w
/// output phases: along an axis of stride s, dilation d and padding p, with g = gcd(d, s), the pixels x = s q + r of
/// phase r receive only the taps k = k0 + m s/g (k0 the least k with k d = r + p mod s; none where g does not divide
/// r + p), from dY at q + c - m d/g (c = (r + p - k0 d) / s). So each phase is a stride-1 convolution of dY of dilation
/// d/g with its taps, turned by 180 degrees and the channels swapped (padding (n - 1) d/g - c, which may be negative),
/// run phase by phase on the tensor cores (<see cref="Conv2dInputGradCoopMatStrided"/>: a forward kernel of
/// <see cref="PhaseEntries"/> per phase that writes every s-th pixel of dX from the phase's offset, specialization 16..19,
/// 23, 24 after its own constants, and prepares its weight from the layer's, the phase's taps only; a phase without taps,
/// a kernel narrower than the stride, is zero, or for a transposed convolution act(bias), which
/// shaders/conv2d/conv2d.phase_fill.comp writes; where running every phase as the largest one's taps wastes little, all
/// phases in one dispatch of the kernel's .phases variant instead, zero weights for the taps a phase lacks: its override
/// of <see cref="EmitPhases"/>) or all phases in one dispatch of the f32
/// implicit GEMM (<see cref="Conv2dInputGradPhases"/>, which overrides <see cref="EmitPhases"/>).
/// </summary>
internal abstract class PhasedInputGrad : IConv2dInputGrad
{
    public string Operation => "conv2d.bwd_input";
    public ElementType ElementType => ElementType.F32;
    public virtual TensorLayout Layout => TensorLayout.Nchw;
    public abstract int Priority { get; }
    public virtual Precision Arithmetic => Precision.Fp32;
    public abstract bool Supports(DeviceInfo device);
    public bool PreferredOn(DeviceInfo device) => !device.IsCpu;
    public abstract bool Accepts(ConvAttributes a, Shape dy, Shape dx);

    /// <summary>The forward kernels that may compute a phase on the emitter's device, the default first: what the phase-by-phase
    /// <see cref="EmitPhases"/> dispatches (an entry that emits all phases its own way overrides that instead).</summary>
    protected virtual IReadOnlyList<IConv2dForward> PhaseEntries(Emitter e) =>
        throw new InvalidOperationException($"{GetType().Name} emits its phases its own way.");

    /// <summary>Strides this form takes (2 to 4 on each axis, one at least 2) with groups of 1.</summary>
    protected static bool Strided(ConvAttributes a) =>
        a.Groups == 1 && (a.Stride.H > 1 || a.Stride.W > 1) && a.Stride.H <= 4 && a.Stride.W <= 4;

    /// <summary>One output phase: its offset (Ry, Rx), first taps (K0y, K0x), taps per axis (Ny, Nx) and their step in the
    /// weight (Step), pixels per axis (Qy, Qx) and the stride-1 convolution of dY that computes it.</summary>
    internal sealed record Phase(int Ry, int Rx, int K0y, int K0x, int Ny, int Nx, int Qy, int Qx, (int H, int W) Step, ConvAttributes Conv)
    {
        /// <summary>Whether the phase has pixels and taps (a phase with pixels but no taps is zero).</summary>
        public bool Computed => Qy > 0 && Qx > 0 && Ny > 0 && Nx > 0;
        public bool Zero => Qy > 0 && Qx > 0 && (Ny == 0 || Nx == 0);
        public Shape Output(Shape dx) => new(dx[0], dx[1], Qy, Qx);
    }

    internal static IEnumerable<Phase> Phases(ConvAttributes a, Shape dx)
    {
        for (int ry = 0; ry < a.Stride.H; ry++)
        for (int rx = 0; rx < a.Stride.W; rx++)
        {
            var (k0y, ny, cy, qy, sy, dy) = Axis(ry, a.Stride.H, a.Dilation.H, a.Padding.H, a.Kernel.H, dx[2]);
            var (k0x, nx, cx, qx, sx, dxx) = Axis(rx, a.Stride.W, a.Dilation.W, a.Padding.W, a.Kernel.W, dx[3]);
            var conv = new ConvAttributes(a.OutChannels, a.InChannels, (Math.Max(ny, 1), Math.Max(nx, 1)), (1, 1),
                ((ny - 1) * dy - cy, (nx - 1) * dxx - cx), (dy, dxx), 1, false);
            yield return new Phase(ry, rx, k0y, k0x, ny, nx, qy, qx, (sy, sx), conv);
        }
    }

    /// <summary>
    /// Along one axis of stride s and dilation d, phase r's first tap, number of taps, dY offset c, number of pixels, and
    /// the taps' step in the weight (s / g) and in dY (the phase's dilation, d / g), g = gcd(d, s). The one-dispatch phase
    /// kernels do the same arithmetic on the GPU (shaders/include/phases.glsl).
    /// </summary>
    static (int K0, int N, int C, int Q, int Step, int Dilation) Axis(int r, int s, int d, int p, int k, int size)
    {
        int g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(d, s), step = s / g;
        int q = size > r ? (size - r + s - 1) / s : 0;
        int k0 = Enumerable.Range(0, step).FirstOrDefault(t => ((t * d - r - p) % s + s) % s == 0, -1);
        if (k0 < 0 || k0 >= k) return (0, 0, 0, q, step, d / g);
        return (k0, (k - k0 + step - 1) / step, (r + p - k0 * d) / s, q, step, d / g);
    }

    /// <summary>A phase's arithmetic: each of its pixels takes its taps from every dY channel of its group.</summary>
    protected static double Flops(ConvAttributes a, Phase ph, Shape dx) => 2.0 * a.OutChannels / a.Groups * ph.Ny * ph.Nx * ph.Output(dx).Elements;

    /// <summary>Whether every computed phase of the layer is a convolution <paramref name="entry"/> accepts.</summary>
    protected static bool PhasesAccepted(IConv2dForward entry, ConvAttributes a, Shape dy, Shape dx) =>
        Phases(a, dx).All(ph => !ph.Computed || entry.Accepts(ph.Conv, dy, ph.Output(dx)));

    public void Emit(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, string label) =>
        EmitPhases(e, a, dy, w, null, dx, Activation.None, 0, label);

    /// <summary>Where every computed phase's kernel has the ".dact" variant (<see cref="ActivationGradient"/>); the phases
    /// without taps are zero either way.</summary>
    public bool EmitActivated(Emitter e, ConvAttributes a, Value dy, Value w, Value dx, ActivationGradient g, string label) =>
        EmitPhases(e, a, dy, w, null, dx, g.Activation, g.Slope, label, g);

    /// <summary>
    /// The entry that computes ConvTranspose2d's forward, the input gradient of <paramref name="conv"/> (its channels
    /// swapped) of x, by phase: the one the registry picks for that gradient where it is a phased entry; else null.
    /// </summary>
    internal static PhasedInputGrad? ForTransposed(Emitter e, ConvAttributes conv, Value x, Value y) =>
        KernelRegistry.TryChoose<IConv2dInputGrad>("conv2d.bwd_input", y.ElementType, y.Layout, e, k => k.Accepts(conv, x.Shape, y.Shape)) as PhasedInputGrad;

    /// <summary>
    /// dX = the input gradient of <paramref name="a"/> of dY, plus the bias and through the activation, phase by phase;
    /// with <paramref name="g"/> (whose activation <paramref name="act"/> is) leaving through that activation's derivative
    /// instead, and false, with nothing emitted, where a phase's kernel has no such variant.
    /// </summary>
    internal virtual bool EmitPhases(Emitter e, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act, float slope, string label,
        ActivationGradient? g = null)
    {
        var phases = Phases(a, dx.Shape).ToList();
        var chosen = phases.Where(ph => ph.Computed).Select(ph => (Phase: ph, Candidate: Choose(e, a, ph, dy, w, bias, dx, act, slope, label, g))).ToList();
        if (chosen.Any(c => c.Candidate == null)) return false; // with g: a phase's kernel without the variant
        if (g != null) act = Activation.None; // the phases without taps: zero, not act(0)
        foreach (var ph in phases.Where(ph => ph.Zero))
        {
            long count = (long)dx.Shape[0] * dx.Shape[1] * ph.Qy * ph.Qx;
            var constants = new[]
            {
                bias != null ? 1u : 0u, (uint)act, KernelSpec.Word(slope), (uint)a.Stride.H, (uint)a.Stride.W, (uint)ph.Ry, (uint)ph.Rx,
                (uint)dx.Shape[2], (uint)dx.Shape[3], (uint)dx.Shape[1],
            };
            var spec = new KernelSpec(ActivationLayouts.Module("conv2d/conv2d.phase_fill", dx.Layout), KernelSpec.Buffers(2), 12, constants, Emitter.ElementwiseLocal);
            e.Dispatch(spec, e.ElementwiseGroups(count), PushConstants.Ints(checked((int)count), ph.Qy, ph.Qx), $"{label}.phase{ph.Ry}{ph.Rx}",
                Arg.In(bias ?? w), Arg.Out(dx));
            e.DeclareBytes(count * dx.ElementType.SizeInBytes()); // its pixels of dX
        }
        foreach (var (ph, c) in chosen)
        {
            string name = $"{label}.phase{ph.Ry}{ph.Rx}";
            int since = e.StepCount;
            ConvForward.Dispatch(e, c!, dy, w, bias, dx, name, g);
            e.DeclareBytes(dy.Bytes + w.Bytes + (bias?.Bytes ?? 0) + (g?.Output.Bytes ?? 0) / (a.Stride.H * a.Stride.W)
                + ph.Output(dx.Shape).Elements * dx.ElementType.SizeInBytes()); // its pixels of dX (and of the activation's output)
            e.AttributeFlops(since, name, Flops(a, ph, dx.Shape));
        }
        return true;
    }

    /// <summary>The bindings of a dispatch that computes every phase at once, and the layer as its tuning key describes it.</summary>
    protected static (Arg[] Args, string Shape) AllPhasesTuning(ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act) =>
        (new[] { Arg.In(dy), Arg.In(w), Arg.In(bias ?? w), Arg.Out(dx) }, $"{dy.Shape}->{dx.Shape}|{ConvForward.Describe(a, bias, act)}");

    /// <summary>
    /// <paramref name="chosen"/>, a candidate that computes every phase in one dispatch (with <paramref name="g"/>, its
    /// .dact variant, <see cref="ChooseAmong"/>), dispatched with the layer's arithmetic.
    /// </summary>
    protected static void DispatchAllPhases(Emitter e, TuneCandidate chosen, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, string label,
        ActivationGradient? g)
    {
        int since = e.StepCount;
        ConvForward.Dispatch(e, chosen, dy, w, bias, dx, label, g);
        e.AttributeFlops(since, label, Phases(a, dx.Shape).Sum(ph => Flops(a, ph, dx.Shape)));
    }

    /// <summary>
    /// The candidate that computes phase <paramref name="ph"/>: the phase entries' candidates for it, sized from stand-ins
    /// of its output and its sub-kernel (never bound), each writing every s-th pixel of dX and preparing the phase's taps
    /// turned and swapped; under tuning the fastest of them, else the default (or a named) entry's first. With
    /// <paramref name="g"/>, in its .dact form (<see cref="ChooseAmong"/>), null where there is none.
    /// </summary>
    TuneCandidate? Choose(Emitter e, ConvAttributes a, Phase ph, Value dy, Value w, Value? bias, Value dx, Activation act, float slope, string label,
        ActivationGradient? g)
    {
        string name = $"{label}.phase{ph.Ry}{ph.Rx}";
        var (y, wSub) = PhaseStandIns(a, ph, dx, w, name);
        IEnumerable<TuneCandidate> Of(IConv2dForward k) =>
            k.Candidates(e, ph.Conv, dy, wSub, bias, y, act, slope).Select(c => PhaseVariant(e, c, a, ph, dx.Shape));
        var entries = PhaseEntries(e);
        var chosen = ChooseAmong(e, "conv2d.bwd_input.phase", entries, Of, new[] { Arg.In(dy), Arg.In(w), Arg.In(bias ?? w), Arg.Out(dx) },
            $"{dy.Shape}->{dx.Shape}|k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} d{a.Dilation.H}x{a.Dilation.W}|phase{ph.Ry}{ph.Rx}|{(bias != null ? "bias" : "no bias")}|{act}", name, g);
        return chosen != null || g != null ? chosen
            : throw new GraphException($"{name}: no tile of {string.Join(" or ", entries.Select(k => k.GetType().Name))} fits {y.Shape} on {e.Device.Name}.");
    }

    /// <summary>Stand-ins of phase <paramref name="ph"/>'s output and sub-kernel (its taps, channels swapped; never bound),
    /// from which the phase entries size their candidates for it.</summary>
    protected static (Value Output, Value Weight) PhaseStandIns(ConvAttributes a, Phase ph, Value dx, Value w, string name) =>
        (Value.StandIn(ph.Output(dx.Shape), dx.ElementType, dx.Layout, $"{name} output"),
         Value.StandIn(new Shape(a.InChannels, a.OutChannels, ph.Ny, ph.Nx), w.ElementType, w.Layout, $"{name} weight"));

    /// <summary>
    /// Among the phase entries' candidates (<paramref name="candidatesOf"/>): under tuning the fastest (timed under
    /// <paramref name="operation"/>), null where no entry has one; else the default (or a named) entry's first, null
    /// where it has none. With <paramref name="g"/>, in its ".dact" form (null where that has none): untuned, the variant
    /// of that first candidate; tuned, the fastest of the candidates that have the variant, timed in that form on
    /// <paramref name="args"/> and the activation's output (under the operation suffixed ".dact"), so the tuner never picks a
    /// variant it has not run on the device.
    /// </summary>
    protected static TuneCandidate? ChooseAmong(Emitter e, string operation, IReadOnlyList<IConv2dForward> entries,
        Func<IConv2dForward, IEnumerable<TuneCandidate>> candidatesOf, Arg[] args, string shape, string label, ActivationGradient? g = null)
    {
        if (g != null && e.Tuner != null)
        {
            var plain = candidatesOf;
            candidatesOf = k => plain(k).Select(g.Variant).OfType<TuneCandidate>();
            args = args.Append(Arg.In(g.Output)).ToArray();
            operation += ".dact";
        }
        var candidates = entries.ToDictionary(k => k, k => candidatesOf(k).ToList());
        if (e.Tuner != null)
            return candidates.Values.Any(c => c.Count > 0) ? EntryTuning.Choose(e, operation, entries, k => candidates[k], args, shape, label) : null;
        var entry = entries.FirstOrDefault(e.Prefers) ?? entries[0];
        var chosen = e.DefaultOf(entry, candidates[entry]);
        return g == null || chosen == null ? chosen : g.Variant(chosen);
    }

    /// <summary>
    /// <paramref name="c"/> (a forward candidate for the phase's convolution) writing every s-th pixel of dX from the
    /// phase's offset (specialization 16..19, 23, 24; any of its own it lacks before them padded with zeros), its weight prepared
    /// from the layer's, the phase's taps turned and swapped: the tensor-core kernels' f16 packing so, the others' through
    /// conv2d.flip_weight.
    /// </summary>
    static TuneCandidate PhaseVariant(Emitter e, TuneCandidate c, ConvAttributes a, Phase ph, Shape dx)
    {
        var spec = c.Spec.WithConstants(16, (uint)a.Stride.H, (uint)a.Stride.W, (uint)ph.Ry, (uint)ph.Rx).WithConstants(23, (uint)dx[2], (uint)dx[3]);
        var prepare = c.Prepare is { } pack
            ? Conv2dCoopMatPatch.FlippedPack(pack, a, ph.K0y, ph.K0x, ph.Ny, ph.Nx, ph.Step)
              ?? throw new InvalidOperationException($"{c.Spec.Module}: its weight preparation has no phase form.")
            : Conv2dInputGradFlipped.FlipPrepare(e, a, ph);
        return c with { Spec = spec, Prepare = prepare };
    }
}
