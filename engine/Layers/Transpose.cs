using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Permutes the dimensions of its input (torch.permute, ONNX Transpose with perm): output dimension k is input
/// dimension perm[k]. Any rank up to 6; the backward permutes the gradient back with the inverse permutation.
/// </summary>
public sealed class Transpose : Layer
{
    const int MaxRank = 6;
    readonly int[] permutation;

    /// <param name="permutation">A permutation of 0 .. rank-1: output dimension k is input dimension permutation[k].</param>
    public Transpose(params int[] permutation)
    {
        ArgumentNullException.ThrowIfNull(permutation);
        if (permutation.Length == 0 || permutation.Length > MaxRank)
            throw new ArgumentException($"transpose: the permutation needs 1 to {MaxRank} entries, got {permutation.Length}.");
        if (!permutation.OrderBy(p => p).SequenceEqual(Enumerable.Range(0, permutation.Length)))
            throw new ArgumentException($"transpose: [{string.Join(",", permutation)}] is not a permutation of 0..{permutation.Length - 1}.");
        this.permutation = (int[])permutation.Clone();
    }

    /// <summary>Output dimension k is input dimension Permutation[k].</summary>
    public IReadOnlyList<int> Permutation => permutation;
    public override string Kind => "transpose";

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != permutation.Length)
            throw Mismatch($"transpose: the permutation [{string.Join(",", permutation)}] has {permutation.Length} entries, the input {x} rank {x.Rank}.");
        return new Shape(permutation.Select(p => x[p]).ToArray());
    }

    internal override void Forward(ForwardPass f) => Emit(f.Emitter, f.Input, f.Output, permutation, $"{f.Name}.fwd");

    internal override void Backward(BackwardPass b)
    {
        if (b.GradInput is not { } dx) return;
        var inverse = new int[permutation.Length];
        for (int k = 0; k < permutation.Length; k++) inverse[permutation[k]] = k;
        Emit(b.Emitter, b.GradOutput, dx, inverse, $"{b.Name}.bwd");
    }

    /// <summary>y = x permuted by perm (y's dimension k is x's dimension perm[k]).</summary>
    static void Emit(Emitter e, Value x, Value y, int[] perm, string label)
    {
        int rank = perm.Length, pad = MaxRank - rank;
        var stride = new int[rank];
        for (int k = rank - 1, s = 1; k >= 0; s *= x.Shape[k], k--) stride[k] = s;
        var dims = Enumerable.Repeat(1, MaxRank).ToArray();
        var srcStride = new int[MaxRank];
        for (int k = 0; k < rank; k++)
        {
            dims[pad + k] = y.Shape[k];
            srcStride[pad + k] = stride[perm[k]];
        }
        var spec = new KernelSpec("transpose/transpose", KernelSpec.Buffers(2), 4 * (1 + 2 * MaxRank), Array.Empty<uint>(), Emitter.ElementwiseLocal);
        var push = PushConstants.Ints(new[] { (int)y.Shape.Elements }.Concat(dims).Concat(srcStride).ToArray());
        e.Dispatch(spec, e.ElementwiseGroups(y.Shape.Elements), push, label, Arg.In(x), Arg.Out(y));
    }
}
