using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// The batched form of <see cref="LinearGemm"/> (module linear/linear.gemm.batched, the same source built with
/// KILN_BATCHED): one product C[z] = op(A[z]) op(B[z]) per batch element z of C, where A and B may broadcast along
/// batch dimensions (stride 0). C's matrices are contiguous. Used by <see cref="MatMul"/>. Under f16 activation storage
/// the module is the variant declaring B and C with their values' widths (<see cref="LinearGemm.StorageVariant"/>).
/// Under <see cref="Precision.Fp16"/> where Linear's products run on tensor cores (<see cref="LinearCoopMat"/>: GPUs
/// with cooperative matrices, or named), products of at least 16 rows and columns run there too, through
/// linear.gemm_coopmat.batched, one workgroup z per product; under CompileOptions.Autotune, products of 16M
/// multiply-adds or more time its three tiles against the plain kernel (<see cref="EntryTuning"/>), and with
/// cooperative_matrix2 the tiles of linear.gemm_coopmat2.batched (<see cref="LinearCoopMat2"/>) too.
/// </summary>
internal static class BatchedGemm
{
    /// <summary>Batch dimensions the kernel's push constants hold.</summary>
    public const int MaxBatchRank = 4;
    const int Block = 4;
    const uint LocalX = 8, LocalY = 8;

    /// <summary>
    /// For each batch index of C (shape <paramref name="batch"/>, at most <see cref="MaxBatchRank"/> dimensions):
    /// C[m,n] = op(A) op(B), A's matrix [m,k] (or [k,m] when transA) at its batch strides, B's [k,n] (or [n,k]).
    /// </summary>
    public static void Gemm(Emitter e, Value a, bool transA, int[] aBatch, Value b, bool transB, int[] bBatch, Value c, int[] batch,
        int m, int n, int k, string label)
    {
        if (batch.Length > MaxBatchRank) throw new GraphException($"{label}: at most {MaxBatchRank} batch dimensions, got {batch.Length}.");
        var dims = Pad(batch);
        var push = PushConstants.Ints(new[] { m, n, k }.Concat(dims).Concat(Strides(aBatch, m * k)).Concat(Strides(bBatch, k * n)).ToArray());
        long count = batch.Aggregate(1L, (p, d) => p * d);
        uint maxZ = e.Device.MaxWorkgroupCount.Length > 2 ? e.Device.MaxWorkgroupCount[2] : 65535u;
        if (count > maxZ) throw new GraphException($"{label}: {count} matrix products exceed the device's {maxZ} workgroups along z.");
        var args = new[] { Arg.In(a), Arg.In(b), Arg.In(b), Arg.Out(c) };
        var tensorCores = LinearCoopMat.BatchedCandidates(e, a, transA, b, transB, c, m, n, k, count, PushBytes, push);
        var coopMat2 = LinearCoopMat2.BatchedCandidates(e, a, transA, b, transB, c, m, n, k, count, PushBytes, push);
        var plain = Plain(a, transA, b, transB, c, m, n, k, count, push);
        TuneCandidate chosen;
        if (tensorCores.Count == 0 && coopMat2.Count == 0) chosen = plain;
        else if (e.Tuner == null || count * m * n * k < LinearProducts.MinTunedWork)
            // Untuned: the KHR tiles; cooperative_matrix2 (which needs tuning) only where named.
            chosen = coopMat2.Count > 0 && KernelRegistry.Names(e.PreferKernels, nameof(LinearCoopMat2)) ? coopMat2[0] : tensorCores.FirstOrDefault() ?? plain;
        else
        {
            // Timed: the plain kernel (the reference) against the tensor-core tiles.
            var entries = KernelRegistry.Candidates<ILinearForward>("linear.fwd", a.ElementType, TensorLayout.RowMajor, e)
                .Where(k => k is LinearGemm || (k is LinearCoopMat && tensorCores.Count > 0) || (k is LinearCoopMat2 && coopMat2.Count > 0)).ToList();
            chosen = EntryTuning.Choose(e, "linear.gemm.batched", entries,
                entry => entry switch { LinearCoopMat => tensorCores, LinearCoopMat2 => coopMat2, _ => new[] { plain } }, args,
                $"{count}x{m}x{n}x{k}|{(transA ? "At" : "A")}{(transB ? "Bt" : "B")}|{a.ElementType.Name()},{b.ElementType.Name()},{c.ElementType.Name()}", label);
        }
        int since = e.StepCount;
        e.Dispatch(chosen.Spec, chosen.Groups, chosen.Push, label, args);
        e.AttributeFlops(since, label, 2.0 * count * m * n * k);
    }

    /// <summary>Push constants: m, n, k, then the batch dimensions and both operands' batch strides.</summary>
    const uint PushBytes = 4 * (3 + 3 * MaxBatchRank);

    /// <summary>The register-blocked batched kernel (4 x 4 blocks per invocation) for the product.</summary>
    static TuneCandidate Plain(Value a, bool transA, Value b, bool transB, Value c, int m, int n, int k, long count, byte[] push)
    {
        var constants = new[] { transA ? 1u : 0u, transB ? 1u : 0u, 0u, (uint)Activation.None, KernelSpec.Word(0f), (uint)m, (uint)n, (uint)k };
        var module = LinearGemm.StorageVariant("linear/linear.gemm.batched", a, b, c.ElementType, texelB: false);
        var spec = new KernelSpec(module, KernelSpec.Buffers(4), PushBytes, constants, LocalX, LocalY);
        uint colBlocks = (uint)((n + Block - 1) / Block), rowBlocks = (uint)((m + Block - 1) / Block);
        return new TuneCandidate("batched4x4", spec, ((colBlocks + LocalX - 1) / LocalX, (rowBlocks + LocalY - 1) / LocalY, (uint)count), push);
    }

    /// <summary><paramref name="dims"/> (a batch shape, right-aligned with C's) into <see cref="MaxBatchRank"/> entries, leading 1s.</summary>
    static int[] Pad(int[] dims)
    {
        var d = Enumerable.Repeat(1, MaxBatchRank).ToArray();
        for (int i = 0; i < dims.Length; i++) d[MaxBatchRank - dims.Length + i] = dims[i];
        return d;
    }

    /// <summary>Element strides of an operand's matrices (each <paramref name="matrix"/> elements) per padded batch dimension of C; 0 where it broadcasts.</summary>
    static int[] Strides(int[] operandBatch, int matrix)
    {
        var padded = Pad(operandBatch);
        var s = new int[MaxBatchRank];
        int stride = matrix;
        for (int i = MaxBatchRank - 1; i >= 0; i--)
        {
            s[i] = padded[i] == 1 ? 0 : stride;
            stride *= padded[i];
        }
        return s;
    }
}
