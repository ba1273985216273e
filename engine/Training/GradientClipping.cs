using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Training;

/// <summary>
/// Clipping by global norm, as torch.nn.utils.clip_grad_norm_: the factor min(1, max / (norm + 1e-6)) over every
/// parameter gradient, written to the step state's gradient scale for the optimizer kernels. Deterministic: each
/// gradient's sum of squares comes from one workgroup in a fixed order, and the sums are added pairwise in a fixed
/// tree (no float atomics), so a replayed step gives the same bits.
/// </summary>
internal static class GradientClipping
{
    public static void Emit(Emitter emitter, IReadOnlyList<Value> gradients, float maxNorm)
    {
        var sums = new List<Value>();
        var squares = new KernelSpec("optim/sum_squares", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 256);
        foreach (var g in gradients)
        {
            var s = emitter.NewValue(new Shape(1), ValueKind.Transient, $"{g.Name}.sum_squares");
            emitter.Dispatch(squares, (1, 1, 1), PushConstants.Ints((int)g.Shape.Elements), $"{g.Name}.sum_squares", Arg.In(g), Arg.Out(s));
            sums.Add(s);
        }
        // Pairwise: level by level, element 2i + 1 added to 2i.
        for (int round = 0; sums.Count > 1; round++)
        {
            var next = new List<Value>();
            for (int i = 0; i + 1 < sums.Count; i += 2)
            {
                var s = emitter.NewValue(new Shape(1), ValueKind.Transient, $"grad_norm.sum{round}_{i / 2}");
                emitter.AddScaled(sums[i], 1f, sums[i + 1], 1f, s, $"grad_norm.sum{round}_{i / 2}");
                next.Add(s);
            }
            if (sums.Count % 2 == 1) next.Add(sums[^1]);
            sums = next;
        }
        var spec = new KernelSpec("optim/clip_scale", KernelSpec.Buffers(2), 0, new[] { KernelSpec.Word(maxNorm) }, 1);
        emitter.Dispatch(spec, (1, 1, 1), Array.Empty<byte>(), "grad_norm.clip_scale", new Arg(null, Access.ReadWrite), Arg.In(sums[0]));
    }
}
