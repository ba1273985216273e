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

    internal override void Forward(ForwardPass f)
    {
        var x = f.Input.Shape;
        int planes = x[0] * x[1], hw = x[2] * x[3];
        var spec = new KernelSpec("global_pool/global_pool.fwd", KernelSpec.Buffers(2), 8, new[] { (uint)hw }, NormKernels.ReduceLocal);
        f.Emitter.Dispatch(spec, NormKernels.PerItemGroups(planes), PushConstants.Ints(planes, hw), $"{f.Name}.fwd",
            Arg.In(f.Input), Arg.Out(f.Output));
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
