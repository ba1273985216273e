using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Conv2d's input gradient for strided layers on tensor cores (Precision.Fp16; strides 2 to 4, groups 1), and
/// ConvTranspose2d's forward under Fp16, by output phase (<see cref="PhasedInputGrad"/>) on the patch kernel
/// (conv2d.fwd_coopmat_patch, which takes dilations up to 2) or, tuned against it or named, the cooperative_matrix2
/// convolution (<see cref="Conv2dCoopMat2"/>): all phases in one dispatch of the kernel's .phases variant
/// (<see cref="AllPhasesCandidates"/>) where that wastes little (<see cref="OneDispatch"/>: a kernel the stride divides,
/// as an autoencoder's 4x4 stride-2 layers have, every phase the same taps; a 3x3 of stride 2, each phase run as the
/// largest one's 2x2 taps), else one dispatch per phase; their f16 weight packing takes the phases' taps straight from
/// the layer's weight (FLIP).
/// </summary>
internal class Conv2dInputGradCoopMatStrided : PhasedInputGrad
{
    /// <summary>The phases' forward entries, in this entry's layout.</summary>
    protected virtual Conv2dCoopMatPatch Patch { get; } = new();
    protected virtual Conv2dCoopMat2 CoopMat2 { get; } = new();

    public override int Priority => 21;
    public override Precision Arithmetic => Precision.Fp16;
    public override bool Supports(DeviceInfo device) => Patch.Supports(device);

    public override bool Accepts(ConvAttributes a, Shape dy, Shape dx) => Strided(a) && PhasesAccepted(Patch, a, dy, dx);

    /// <summary>
    /// The patch kernel, and where the registry would offer it (device, precision, preferred there or named) the
    /// cooperative_matrix2 convolution (tuned against the patch kernel, or run when named).
    /// </summary>
    protected override IReadOnlyList<IConv2dForward> PhaseEntries(Emitter e)
    {
        var result = new List<IConv2dForward> { Patch };
        if (KernelRegistry.Offered(CoopMat2, e)) result.Add(CoopMat2);
        return result;
    }

    /// <summary>
    /// Every phase in one dispatch where <see cref="OneDispatch"/> (<see cref="AllPhasesCandidates"/>): the .phases
    /// variant of the patch kernel or, tuned against it or named, of the cooperative_matrix2 convolution. The phases write
    /// disjoint pixels of dX, so one dispatch needs no barrier between them, where one dispatch per phase waited on a
    /// barrier before each. Else phase by phase. With <paramref name="g"/>, through the .phases.dact variant.
    /// </summary>
    internal override bool EmitPhases(Emitter e, ConvAttributes a, Value dy, Value w, Value? bias, Value dx, Activation act, float slope, string label,
        ActivationGradient? g = null)
    {
        if (!OneDispatch(a, dx.Shape)) return base.EmitPhases(e, a, dy, w, bias, dx, act, slope, label, g);
        var (args, shape) = AllPhasesTuning(a, dy, w, bias, dx, act);
        var chosen = ChooseAmong(e, "conv2d.bwd_input.phases", PhaseEntries(e), k => AllPhasesCandidates(e, k, a, dy, w, bias, dx, act, slope), args, shape,
            label, g);
        if (chosen == null) return base.EmitPhases(e, a, dy, w, bias, dx, act, slope, label, g);
        DispatchAllPhases(e, chosen, a, dy, w, bias, dx, label, g);
        return true;
    }

    /// <summary>
    /// Whether the output phases of <paramref name="a"/> over <paramref name="dx"/> run in one dispatch: every phase has
    /// pixels, and every phase has the same taps (a kernel the stride divides), or running each as the largest phase's
    /// taps (<see cref="MostTaps"/>, zero weights for those it lacks, a phase without taps all zero) takes at most twice
    /// the taps the phases have (a 3x3 of stride 2: 16 taps for 9; a 3x3 of stride 4: 16 for 9, seven phases without
    /// taps; not a 1x1 of stride 2, 4 for 1, or a dilation that leaves most phases without taps) and adds at most
    /// <see cref="MaxPaddedFlops"/> of products: a small layer, whose phases' dispatches and barriers cost more than the
    /// zeros, not a large one, where they would cost less. Where dY holds an infinity, a zero weight times it is NaN
    /// where the per-phase form writes a value; the loss scale's check skips such a step either way.
    /// </summary>
    internal static bool OneDispatch(ConvAttributes a, Shape dx)
    {
        var phases = Phases(a, dx).ToList();
        var (ny, nx) = MostTaps(phases);
        if (!phases.All(ph => ph.Qy > 0 && ph.Qx > 0) || ny == 0 || nx == 0) return false;
        if (phases.All(ph => ph.Ny == ny && ph.Nx == nx)) return true;
        long padded = (long)phases.Count * ny * nx, taps = phases.Sum(ph => (long)ph.Ny * ph.Nx);
        double extra = phases.Sum(ph => Flops(a, ph with { Ny = ny, Nx = nx }, dx) - Flops(a, ph, dx));
        return padded <= 2 * taps && extra <= MaxPaddedFlops;
    }

    /// <summary>
    /// The most arithmetic the zero taps of the one-dispatch form may add (2 per multiply-add): 64 M, about a microsecond
    /// at the 35 to 75 TFLOP/s the tensor-core patch kernels measured on the H200, taken to be less than the barriers and
    /// dispatches of the per-phase form (an assumption: neither has been timed against the other on a GPU). A fashion-ae
    /// layer's 3x3 stride-2 gradient adds 45 M; one of 64 channels over a 256 x 256 image, 0.94 G.
    /// </summary>
    internal const double MaxPaddedFlops = 64e6;

    /// <summary>The largest phase's taps along each axis: what every phase runs in the one-dispatch form.</summary>
    static (int Ny, int Nx) MostTaps(IReadOnlyList<Phase> phases) => (phases.Max(ph => ph.Ny), phases.Max(ph => ph.Nx));

    /// <summary>
    /// <paramref name="entry"/>'s candidates over every phase of <paramref name="a"/> at once (the .phases variant of its
    /// module, the phase in the workgroups' z; its .direct forms have none): sized for phase (0, 0)'s grid, the largest,
    /// and the largest phase's taps, which every phase runs (<see cref="MostTaps"/>), with the layer's stride, kernel,
    /// padding and dilation and dX's size as constants (16, 17, 23, 24, 26..31), from which the shader derives each
    /// phase's padding and grid, and every phase's taps packed one phase after the other, zeros for those a phase lacks
    /// (<see cref="Conv2dCoopMatPatch.PhasesPack"/>). Only where <see cref="OneDispatch"/>.
    /// </summary>
    internal static IReadOnlyList<TuneCandidate> AllPhasesCandidates(Emitter e, IConv2dForward entry, ConvAttributes a, Value dy, Value w, Value? bias,
        Value dx, Activation act, float slope)
    {
        var phases = Phases(a, dx.Shape).ToList();
        var (ny, nx) = MostTaps(phases);
        // Phase (0, 0)'s grid with the most taps: its convolution's kernel and padding those of NY x NX taps (the padding
        // for the record: the .phases shader derives each phase's).
        var p0 = phases[0];
        var first = p0 with
        {
            Ny = ny, Nx = nx,
            Conv = p0.Conv with
            {
                Kernel = (ny, nx),
                Padding = (p0.Conv.Padding.H + (ny - Math.Max(p0.Ny, 1)) * p0.Conv.Dilation.H, p0.Conv.Padding.W + (nx - Math.Max(p0.Nx, 1)) * p0.Conv.Dilation.W),
            },
        };
        var (y, wSub) = PhaseStandIns(a, first, dx, w, "phase 00");
        return entry.Candidates(e, first.Conv, dy, wSub, bias, y, act, slope)
            .Where(c => PipelineStore.HasModule(c.Spec.Module + ".phases"))
            .Select(c => c with
            {
                Spec = c.Spec.WithConstants(16, (uint)a.Stride.H, (uint)a.Stride.W).WithConstants(23, (uint)dx.Shape[2], (uint)dx.Shape[3])
                    .WithConstants(26, (uint)a.Kernel.H, (uint)a.Kernel.W, (uint)a.Padding.H, (uint)a.Padding.W, (uint)a.Dilation.H, (uint)a.Dilation.W)
                    with { Module = c.Spec.Module + ".phases" },
                Groups = (c.Groups.X, c.Groups.Y, (uint)phases.Count),
                Prepare = Conv2dCoopMatPatch.PhasesPack(e, c.Prepare!, a, first.Ny, first.Nx, first.Step, phases.Count)
                    ?? throw new InvalidOperationException($"{c.Spec.Module}: its weight preparation has no form for every phase."),
            })
            .ToList();
    }
}

/// <summary>
/// <see cref="Conv2dInputGradCoopMatStrided"/> over channels-last dY and dX: each phase on the NHWC patch kernel
/// (<see cref="Conv2dCoopMatPatchNhwc"/>) or cooperative_matrix2 convolution (<see cref="Conv2dCoopMat2Nhwc"/>), which
/// write every s-th pixel of the channels-last dX; phase by phase, the phases without taps through conv2d.phase_fill.nhwc. A channels-last
/// plan's strided input gradients and strided transposed convolutions under Fp16.
/// </summary>
internal sealed class Conv2dInputGradCoopMatStridedNhwc : Conv2dInputGradCoopMatStrided
{
    public override TensorLayout Layout => TensorLayout.Nhwc;
    protected override Conv2dCoopMatPatch Patch { get; } = new Conv2dCoopMatPatchNhwc();
    protected override Conv2dCoopMat2 CoopMat2 { get; } = new Conv2dCoopMat2Nhwc();
}
