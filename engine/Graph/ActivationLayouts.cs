using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// Channels-last activations (<see cref="CompileOptions.ActivationLayout"/>): which kernels may bind an NHWC value, the
/// module names of the NHWC variants, and the transposes between the layouts. A value's shape is logical [N, C, H, W]
/// in either layout; its <see cref="Value.Layout"/> says how the elements lie in memory, and a kernel indexes them
/// through KILN_ACT_INDEX (shaders/include/storage.glsl).
/// </summary>
internal static class ActivationLayouts
{
    /// <summary>Suffix of a module's channels-last variant (shaders/Variants.props).</summary>
    public const string Suffix = ".nhwc";

    /// <summary>Modules that never see an element's coordinates (each element or block is copied or mapped where it lies;
    /// the pointwise losses sum their terms over every element), so they serve NHWC values as they are.</summary>
    static readonly string[] LayoutFree =
    {
        "elementwise/", "binary/binary.fwd", "binary/binary.bwd", "clip/clip.fwd", "clip/clip.bwd", "gelu/gelu.fwd", "gelu/gelu.bwd",
        "concat/concat.copy", "transpose/layout", "loss/mse.fwd", "loss/mse.bwd", "loss/l1.fwd", "loss/l1.bwd",
        "loss/huber.fwd", "loss/huber.bwd", "loss/bce.fwd", "loss/bce.bwd",
        "loss/masked.", // a broadcast mask's element found from push constants the loss sets for the prediction's layout
    };

    /// <summary><paramref name="module"/>, or its NHWC variant where <paramref name="layout"/> is NHWC.</summary>
    public static string Module(string module, TensorLayout layout) => layout == TensorLayout.Nhwc ? module + Suffix : module;

    /// <summary>Whether <paramref name="module"/> may bind an NHWC value: an NHWC variant (or a variant of one), or a module
    /// that is free of layout.</summary>
    public static bool ReadsNhwc(string module) =>
        module.Contains(Suffix + ".") || module.EndsWith(Suffix, StringComparison.Ordinal) || LayoutFree.Any(m => module.StartsWith(m, StringComparison.Ordinal));

    /// <summary>
    /// The layout a plan (inference or training) compiled with tuned kernels runs faster in (CompileOptions.ActivationLayout null), and
    /// the plan in that layout where one was made and never run (null: compile it again). The choice is remembered by the
    /// tuner under the NCHW plan's kernels and shapes, so a later compile plans once where it keeps NCHW and twice where it
    /// keeps NHWC. Else the plan is compiled in both layouts, each with its kernels tuned, and each step replayed (its
    /// inputs and parameters as allocated: the time does not depend on the values) on this device. NCHW, unremembered,
    /// without 4-D values (an MLP, whose NHWC plan is not made) or where the NHWC plan runs no channels-last kernel (none
    /// of the layers of its 4-D activations has an NHWC form). A
    /// layout whose plan does not fit the device's memory counts as slower. NCHW, unremembered, once the tuner's budget is
    /// spent (<see cref="KernelTuner.Budget"/>); the time spent here counts against it. <paramref name="nchwPlan"/>: the NCHW
    /// plan where the caller has made it (and never run it).
    /// </summary>
    public static (TensorLayout Layout, GraphPlan? Plan) Choose(Network net, GpuContext context, CompileOptions options, KernelTuner tuner,
        GraphPlan? nchwPlan = null)
    {
        var device = context.KernelDevice;
        var nchwOptions = options with { ActivationLayout = TensorLayout.Nchw };
        var nchw = nchwPlan ?? Compiler.Plan(net, device, nchwOptions, tuner);
        string key = $"layout|{PlanTiming.Fingerprint(nchw)}";
        if (tuner.Recall(key) is { } remembered && Enum.TryParse<TensorLayout>(remembered, out var known))
            return (known, known == TensorLayout.Nchw ? nchw : null);
        if (tuner.BudgetSpent) return (TensorLayout.Nchw, nchw);
        // No 4-D value (an MLP): the NHWC plan would be the same plan; not planned again.
        if (!nchw.Emitter.Values.Any(v => v.Shape.Rank == 4)) return (TensorLayout.Nchw, nchw);
        var nhwcOptions = options with { ActivationLayout = TensorLayout.Nhwc };
        var nhwc = Compiler.Plan(net, device, nhwcOptions, tuner);
        if (!nhwc.Emitter.Steps.Any(s => s.Spec.Module.Contains(Suffix, StringComparison.Ordinal)))
            return (TensorLayout.Nchw, nchw);
        // Both timed; a plan that does not fit the device's memory loses, and where neither does the compile fails as it
        // would have without the choice.
        var (channelsLast, plan) = PlanTiming.Faster(net, context, tuner, "layout", nchwOptions, nchw, nameof(TensorLayout.Nchw),
            nhwcOptions, nameof(TensorLayout.Nhwc), nhwc);
        return channelsLast ? (TensorLayout.Nhwc, null) : (TensorLayout.Nchw, plan);
    }

    /// <summary>
    /// y = x in y's layout (transpose/layout.comp: NCHW to NHWC or back), converting f32 to f16 or back on the way where
    /// their element types differ (its .to_storage and .from_storage variants), so a network's edge takes one pass.
    /// </summary>
    public static void Transpose(Emitter e, Value x, Value y, string label)
    {
        if (x.Shape != y.Shape || x.Shape.Rank != 4 || x.Layout == y.Layout || x.Layout == TensorLayout.RowMajor || y.Layout == TensorLayout.RowMajor)
            throw new InvalidOperationException($"{label}: a layout transpose maps a 4-D value to its other layout ({x} to {y}).");
        string module = (x.ElementType, y.ElementType) switch
        {
            var (a, b) when a == b => "transpose/layout",
            (ElementType.F32, ElementType.F16) => "transpose/layout.to_storage",
            (ElementType.F16, ElementType.F32) => "transpose/layout.from_storage",
            _ => throw new InvalidOperationException($"{label}: no layout transpose from {x.ElementType.Name()} to {y.ElementType.Name()}."),
        };
        var (_, c, h, w) = x.Shape.Nchw;
        var spec = new KernelSpec(module, KernelSpec.Buffers(2), 12, new[] { y.Layout == TensorLayout.Nhwc ? 1u : 0u }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.ElementwiseGroups(y.Shape.Elements), PushConstants.Ints((int)y.Shape.Elements, c, h * w), label, Arg.In(x), Arg.Out(y));
    }
}
