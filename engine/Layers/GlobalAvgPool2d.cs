using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Global average pooling over [N, C, H, W] (PyTorch's AdaptiveAvgPool2d(1)): each plane's mean, giving
/// [N, C, 1, 1].
/// </summary>
public sealed class GlobalAvgPool2d : Layer
{
    public override string Kind => "global_avg_pool2d";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4) throw Mismatch($"global_avg_pool2d takes [N, C, H, W], got {x}.");
        return new Shape(x[0], x[1], 1, 1);
    }

    /// <summary>Pixels a workgroup of the split form takes from one plane.</summary>
    internal const int Chunk = 4096;

    /// <summary>
    /// One workgroup per plane; where planes have more than <see cref="Chunk"/> pixels, each plane is split over
    /// workgroups of that many (the .split variant writes partial means) and reduce/partials adds them in order, so a
    /// GPU is kept busy by a few large planes too.
    /// </summary>
    internal override void Forward(ForwardPass f)
    {
        var e = f.Emitter;
        var x = f.Input.Shape;
        int planes = x[0] * x[1], hw = x[2] * x[3], chunks = (hw + Chunk - 1) / Chunk;
        string label = $"{f.Name}.fwd";
        if (chunks == 1 || planes > 65535 || chunks > 65535)
        {
            var spec = new KernelSpec("global_pool/global_pool.fwd", KernelSpec.Buffers(2), 8, new[] { (uint)hw, (uint)Chunk }, NormKernels.ReduceLocal);
            e.Dispatch(spec, NormKernels.PerItemGroups(planes), PushConstants.Ints(planes, hw), label, Arg.In(f.Input), Arg.Out(f.Output));
            return;
        }
        var partial = PartialSums.Scratch(e, chunks, planes, label);
        var split = new KernelSpec("global_pool/global_pool.fwd.split", KernelSpec.Buffers(2), 8, new[] { (uint)hw, (uint)Chunk }, NormKernels.ReduceLocal);
        e.Dispatch(split, ((uint)chunks, (uint)planes, 1), PushConstants.Ints(planes, hw), label, Arg.In(f.Input), Arg.Out(partial));
        PartialSums.Sum(e, partial, f.Output, $"{label}.sum");
    }

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        var x = b.Input.Shape;
        int hw = x[2] * x[3];
        var spec = new KernelSpec("global_pool/global_pool.bwd", KernelSpec.Buffers(2), 8, new[] { (uint)hw }, Emitter.ElementwiseLocal);
        b.Emitter.Dispatch(spec, b.Emitter.ElementwiseGroups(dx.Shape.Elements), PushConstants.Ints((int)dx.Shape.Elements, hw),
            $"{b.Name}.bwd", Arg.In(b.GradOutput), Arg.Out(dx));
    }
}
