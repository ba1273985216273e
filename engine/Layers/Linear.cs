using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Fully connected layer over [N, in_features] (PyTorch's Linear): y = x W^T + b with weight [out, in] and an
/// optional bias [out]. A rank-4 input must be flattened first (Flatten). An activation after it is fused into
/// its kernel.
/// </summary>
public sealed class Linear : Layer, IFusableProducer
{
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"linear: features must be positive ({inFeatures} -> {outFeatures}).");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        HasBias = bias;
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public bool HasBias { get; }
    public override string Kind => "linear";

    public override IReadOnlyList<ParameterSpec> Parameters
    {
        get
        {
            var list = new List<ParameterSpec> { new("weight", new Shape(OutFeatures, InFeatures), ParameterInit.UniformFanIn, InFeatures) };
            if (HasBias) list.Add(new("bias", new Shape(OutFeatures), ParameterInit.UniformFanIn, InFeatures));
            return list;
        }
    }

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank == 4)
            throw Mismatch($"linear takes [N, {InFeatures}], got the 4-D {x}: add a Flatten before it.");
        if (x.Rank != 2) throw Mismatch($"linear takes [N, {InFeatures}], got {x}.");
        if (x[1] != InFeatures) throw Mismatch($"linear expects {InFeatures} input features, got {x[1]} ({x}).");
        return new Shape(x[0], OutFeatures);
    }

    internal override void Forward(ForwardPass f)
    {
        var (x, w, y) = (f.Input, f.Param("weight"), f.Output);
        LinearProducts.Emit(f.Emitter, new GemmCall(x, false, w, true, HasBias ? f.Param("bias") : null, y, y.Shape[0], y.Shape[1], x.Shape[1],
            f.Activation, f.Slope), $"{f.Name}.fwd");
    }

    internal override void Backward(BackwardPass b) => LinearBackward.Emit(b, HasBias);
}
