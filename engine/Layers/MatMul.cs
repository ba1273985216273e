using Kiln.Graph;
using Kiln.Layers;

namespace Kiln;

/// <summary>
/// Matrix product with NumPy/ONNX MatMul semantics: A [..., M, K] times B [..., K, N] gives [..., M, N], the batch
/// dimensions (all but the last two) broadcast as in <see cref="Add"/>; a 1-D A [K] is read as [1, K] and a 1-D B [K]
/// as [K, 1], the added dimension dropped from the result (not both). B is the second input, or with
/// <see cref="MatMul(Shape)"/> a learned parameter "weight". Runs on the GEMM kernel of <see cref="Linear"/>
/// (batched variant when B has batch dimensions); a broadcast operand's gradient is summed over its broadcast batch
/// dimensions in a fixed order. At most 4 batch dimensions.
/// </summary>
public sealed class MatMul : Layer
{
    /// <summary>y = A B with both operands inputs of the network.</summary>
    public MatMul() { }

    /// <summary>y = A W with W a parameter "weight" of <paramref name="weightShape"/> ([K, N], or batched [..., K, N]).</summary>
    public MatMul(Shape weightShape)
    {
        ArgumentNullException.ThrowIfNull(weightShape);
        if (weightShape.Rank < 1) throw new ArgumentException("matmul: the weight needs at least one dimension.");
        WeightShape = weightShape;
    }

    /// <summary>The shape of the parameter "weight" used as B; null when B is the second input.</summary>
    public Shape? WeightShape { get; }
    public override string Kind => "matmul";
    public override int? InputCount => WeightShape == null ? 2 : 1;

    public override IReadOnlyList<ParameterSpec> Parameters => WeightShape == null
        ? Array.Empty<ParameterSpec>()
        : new[] { new ParameterSpec("weight", WeightShape, ParameterInit.UniformFanIn, WeightShape.Rank == 1 ? WeightShape[0] : WeightShape[-2]) };

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => Plan(inputs[0], WeightShape ?? inputs[1]).Output;

    /// <summary>The product's dimensions: batch shapes of A, B and the result, M, K, N, and the output shape.</summary>
    sealed record Dims(int[] ABatch, int[] BBatch, int[] Batch, int M, int K, int N, Shape Output)
    {
        public int BatchCount => Batch.Aggregate(1, (p, d) => p * d);
    }

    Dims Plan(Shape a, Shape b)
    {
        if (a.Rank == 0 || b.Rank == 0) throw Mismatch($"matmul: inputs need at least one dimension, got {a} and {b}.");
        if (a.Rank == 1 && b.Rank == 1) throw Mismatch($"matmul: two vectors {a} and {b} (a dot product) are not supported.");
        var ad = a.Rank == 1 ? new[] { 1, a[0] } : a.ToArray();
        var bd = b.Rank == 1 ? new[] { b[0], 1 } : b.ToArray();
        int m = ad[^2], k = ad[^1], n = bd[^1];
        if (bd[^2] != k) throw Mismatch($"matmul: inner dimensions differ: {a} times {b} ({k} vs {bd[^2]}).");
        var aBatch = ad[..^2];
        var bBatch = bd[..^2];
        int[] batch;
        try { batch = Broadcast.Result(Kind, new Shape(aBatch), new Shape(bBatch)).ToArray(); }
        catch (GraphException) { throw Mismatch($"matmul: the batch dimensions of {a} and {b} do not broadcast."); }
        if (batch.Length > BatchedGemm.MaxBatchRank)
            throw Mismatch($"matmul: at most {BatchedGemm.MaxBatchRank} batch dimensions, got {a} and {b}.");
        var output = new List<int>(batch);
        if (a.Rank > 1) output.Add(m);
        if (b.Rank > 1) output.Add(n);
        return new Dims(aBatch, bBatch, batch, m, k, n, new Shape(output.ToArray()));
    }

    Value B(Value[] inputs, Func<string, Value> param) => WeightShape == null ? inputs[1] : param("weight");

    internal override void Forward(ForwardPass f)
    {
        var (a, b) = (f.Inputs[0], B(f.Inputs, f.Param));
        var d = Plan(a.Shape, b.Shape);
        string label = $"{f.Name}.fwd";
        if (d.BBatch.Length == 0)
            LinearGemm.Gemm(f.Emitter, a, false, b, false, null, f.Output, d.BatchCount * d.M, d.N, d.K, Activation.None, 0, label);
        else
            BatchedGemm.Gemm(f.Emitter, a, false, d.ABatch, b, false, d.BBatch, f.Output, d.Batch, d.M, d.N, d.K, label);
    }

    /// <summary>dA = dY B^T and dB = A^T dY per batch element, each summed over the batch dimensions its operand broadcasts.</summary>
    internal override void Backward(BackwardPass b)
    {
        var (a, bv) = (b.Inputs[0], B(b.Inputs, b.Param));
        var d = Plan(a.Shape, bv.Shape);
        var dy = b.GradOutput;
        var e = b.Emitter;
        var da = b.GradInputs[0];
        var db = WeightShape == null ? b.GradInputs[1] : b.GradParam("weight");
        if (d.BBatch.Length == 0)
        {
            // B is one matrix: A and dY read as [batch * M, K] and [batch * M, N], so the batch is part of the products.
            int rows = d.BatchCount * d.M;
            if (da != null) LinearGemm.Gemm(e, dy, false, bv, true, null, da, rows, d.K, d.N, Activation.None, 0, $"{b.Name}.bwd0");
            if (db != null) LinearGemm.Gemm(e, a, true, dy, false, null, db, d.K, d.N, rows, Activation.None, 0, $"{b.Name}.bwd1");
            return;
        }
        if (da != null)
        {
            var full = Target(e, da, d.ABatch, d, d.M, d.K, $"{b.Name}.grad_a_full");
            BatchedGemm.Gemm(e, dy, false, d.Batch, bv, true, d.BBatch, full, d.Batch, d.M, d.K, d.N, $"{b.Name}.bwd0");
            if (full != da) BroadcastKernels.Backward(e, BinaryOp.Add, 0, da, full, full, da, $"{b.Name}.bwd0_sum");
        }
        if (db != null)
        {
            var full = Target(e, db, d.BBatch, d, d.K, d.N, $"{b.Name}.grad_b_full");
            BatchedGemm.Gemm(e, a, true, d.ABatch, dy, false, d.Batch, full, d.Batch, d.K, d.N, d.M, $"{b.Name}.bwd1");
            if (full != db) BroadcastKernels.Backward(e, BinaryOp.Add, 0, db, full, full, db, $"{b.Name}.bwd1_sum");
        }
    }

    /// <summary>
    /// Where an operand's per-batch gradient goes: the gradient itself, or a transient over the full batch to be summed,
    /// of the gradient's element type (an f16 activation gradient, or an f32 weight gradient).
    /// </summary>
    static Value Target(Emitter e, Value grad, int[] operandBatch, Dims d, int rows, int cols, string name) =>
        operandBatch.SequenceEqual(d.Batch) ? grad : e.NewValue(new Shape(d.Batch.Append(rows).Append(cols).ToArray()), ValueKind.Transient, name, grad.ElementType);
}
