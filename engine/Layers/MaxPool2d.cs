using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// 2-D max pooling over [N, C, H, W] (PyTorch's MaxPool2d without padding or dilation): output size by the
/// floor rule, but non-overlapping pooling (stride == kernel, the default) needs H and W divisible by the
/// stride. The gradient goes to the first maximum of each window in scan order, as in PyTorch.
/// </summary>
public sealed class MaxPool2d : Layer
{
    public MaxPool2d(int kernelSize, int? stride = null)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null) { }

    public MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride = null)
    {
        Pool2dKernels.CheckArguments("maxpool2d", kernelSize, stride ?? kernelSize);
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
    }

    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public override string Kind => "maxpool2d";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Pool2dKernels.OutputShape(Kind, KernelSize, Stride, inputs[0]);

    internal override void Forward(ForwardPass f) => Pool2dKernels.Forward(f, Pool2dKernels.Max, KernelSize, Stride);

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    /// <summary>Channels-last gradient (pool.bwd.nhwc).</summary>
    internal override bool BackwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) => Pool2dKernels.Backward(b, Pool2dKernels.Max, KernelSize, Stride);

    /// <summary>Strides the block by the stride and widens the radius by the window's overhang (square windows only).</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) =>
        KernelSize.H == KernelSize.W && Stride.H == Stride.W ? (s * Stride.H, r + s * Math.Max(0, KernelSize.H - Stride.H)) : null;
}
