using Kiln.Graph;
using Kiln.Layers;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Dropout (PyTorch's Dropout(p)): in a training step each element is zeroed with probability p and the rest
/// scaled by 1 / (1 - p); otherwise a copy. The mask is a hash of the compile seed, the step counter and the
/// element index (shaders/dropout/dropout.glsl), so every step draws a new one and runs with the same seed repeat;
/// the gradient recomputes the same mask.
/// </summary>
public sealed class Dropout : Layer
{
    public Dropout(float p = 0.5f)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentException($"dropout: p must be in [0, 1), got {p}.");
        P = p;
    }

    public float P { get; }
    public override string Kind => "dropout";

    /// <summary>Elements whose 24-bit hash is below this are dropped: round(p * 2^24).</summary>
    internal uint Threshold => (uint)Math.Round(P * (double)(1 << 24));
    internal float Scale => (float)(1.0 / (1.0 - P));

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    internal override void Forward(ForwardPass f)
    {
        if (!f.Training)
        {
            NormKernels.Copy(f.Emitter, f.Input, f.Output, $"{f.Name}.fwd");
            return;
        }
        Emit(f.Emitter, "dropout/dropout.fwd", f.Input, f.Output, $"{f.Name}.fwd");
    }

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        Emit(b.Emitter, "dropout/dropout.bwd", b.GradOutput, dx, $"{b.Name}.bwd");
    }

    void Emit(Emitter e, string module, Value input, Value output, string label)
    {
        var spec = new KernelSpec(module, KernelSpec.Buffers(3), 4, new[] { Threshold, KernelSpec.Word(Scale) }, Emitter.ElementwiseLocal);
        e.Dispatch(spec, e.VectorGroups(output.Shape.Elements), PushConstants.Ints((int)output.Shape.Elements), label,
            Arg.State, Arg.In(input), Arg.Out(output));
    }

    /// <summary>Pointwise: the receptive field passes through unchanged.</summary>
    internal override (int Stride, int Radius)? ReceptiveStep(int s, int r) => (s, r);
}
