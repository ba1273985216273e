using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// 2-D average pooling over [N, C, H, W] (PyTorch's AvgPool2d without padding: every window divides by the
/// kernel area): output size by the floor rule, but non-overlapping pooling (stride == kernel, the default)
/// needs H and W divisible by the stride.
/// </summary>
public sealed class AvgPool2d : Layer
{
    public AvgPool2d(int kernelSize, int? stride = null)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null) { }

    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride = null)
    {
        Pool2dKernels.CheckArguments("avgpool2d", kernelSize, stride ?? kernelSize);
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
    }

    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public override string Kind => "avgpool2d";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Pool2dKernels.OutputShape(Kind, KernelSize, Stride, inputs[0]);

    internal override void Forward(ForwardPass f) => Pool2dKernels.Forward(f, Pool2dKernels.Average, KernelSize, Stride);

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Channels-last gradient (pool.bwd.nhwc).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => Pool2dKernels.Backward(b, Pool2dKernels.Average, KernelSize, Stride);

    /// <summary>Strides the block by the stride and widens the radius by the window's overhang (square windows only).</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) =>
        KernelSize.H == KernelSize.W && Stride.H == Stride.W ? (s * Stride.H, r + s * Math.Max(0, KernelSize.H - Stride.H)) : null;
}
