using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The convolution weight gradient as Conv2d's and ConvTranspose2d's gradient rules need it. Untuned, the default
/// candidate of the entry the registry picks for the device and shape runs. Under CompileOptions.Autotune every entry
/// that accepts the layer and is preferred on the device (or named in CompileOptions.PreferKernels) offers its
/// candidates — the tiled kernel, the cooperative-matrix one under fp16, the direct kernel — and the tuner keeps the
/// fastest (<see cref="EntryTuning"/>), timing a split candidate with its ordered sum of partials.
/// </summary>
internal static class ConvWeightGrad
{
    public static void Emit(Emitter e, ConvAttributes a, Value plain, Value shifted, Value dw, string label)
    {
        bool Accepts(IConv2dWeightGrad k) => k.Accepts(a, plain.Shape, shifted.Shape);
        var entries = e.Tuner == null
            ? new List<IConv2dWeightGrad>()
            : KernelRegistry.Candidates<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
        if (entries.Count == 0)
        {
            var entry = KernelRegistry.Choose<IConv2dWeightGrad>("conv2d.bwd_weight", plain.ElementType, plain.Layout, e, Accepts);
            var candidates = entry.Candidates(e, a, plain, shifted, dw);
            if (candidates.Count == 0)
                throw new GraphException($"{label}: no tile of {entry.GetType().Name} fits {plain.Shape} x {shifted.Shape} on {e.Device.Name}.");
            Dispatch(e, candidates[0], plain, shifted, dw, label);
            return;
        }
        var shape = $"{plain.Shape}x{shifted.Shape}->{dw.Shape}|k{a.Kernel.H}x{a.Kernel.W} s{a.Stride.H}x{a.Stride.W} p{a.Padding.H}x{a.Padding.W} " +
                    $"d{a.Dilation.H}x{a.Dilation.W} g{a.Groups}";
        var chosen = EntryTuning.Choose(e, "conv2d.bwd_weight", entries, k => k.Candidates(e, a, plain, shifted, dw), Args(plain, shifted, dw), shape, label);
        Dispatch(e, chosen, plain, shifted, dw, label);
    }

    /// <summary>
    /// One candidate on the layer's values: straight into dw, or into a [splits, dw] scratch of partial sums that its
    /// finish (shaders/reduce/partials.comp) adds into dw in split order.
    /// </summary>
    public static void Dispatch(Emitter e, TuneCandidate c, Value plain, Value shifted, Value dw, string label)
    {
        if (c.Finish == null)
        {
            e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, dw));
            return;
        }
        var partial = PartialSums.Scratch(e, c.Finish.Splits, c.Finish.Count, label);
        e.Dispatch(c.Spec, c.Groups, c.Push, label, Args(plain, shifted, partial));
        PartialSums.Sum(e, partial, dw, $"{label}.sum");
    }

    static Arg[] Args(Value plain, Value shifted, Value dw) => new[] { Arg.In(plain), Arg.In(shifted), Arg.Out(dw) };
}
