namespace Kiln.IO;

/// <summary>Evaluates ONNX ops on tensors known at import (shape arithmetic, constants): numpy semantics.</summary>
internal static class OnnxFolding
{
    /// <summary>Largest tensor folding creates (elements): shape arithmetic is small; this bounds a lying file.</summary>
    const long MaxFoldedElements = 1 << 26;

    static long Count(long[] dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new KilnException($"negative dimension in [{string.Join(",", dims)}].");
            n = checked(n * d);
            if (n > MaxFoldedElements) throw new KilnException($"a constant of shape [{string.Join(",", dims)}] is larger than import folds ({MaxFoldedElements} elements).");
        }
        return n;
    }

    public static OnnxTensor Map(OnnxTensor t, Func<double, double> f) => new(t.Dims, t.Values.Select(f).ToArray(), t.IsInteger);

    /// <summary>An elementwise op with numpy broadcasting; integer division truncates as ONNX's.</summary>
    public static OnnxTensor Broadcast(OnnxTensor a, OnnxTensor b, Func<double, double, double> f)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var da = Enumerable.Repeat(1L, rank - a.Rank).Concat(a.Dims).ToArray();
        var db = Enumerable.Repeat(1L, rank - b.Rank).Concat(b.Dims).ToArray();
        var dims = new long[rank];
        for (int k = 0; k < rank; k++)
        {
            if (da[k] != db[k] && da[k] != 1 && db[k] != 1) throw new KilnException($"can't broadcast {a.ShapeText} with {b.ShapeText}.");
            dims[k] = da[k] == 1 ? db[k] : da[k];
        }
        var (sa, sb, so) = (OnnxTensor.Strides(da), OnnxTensor.Strides(db), OnnxTensor.Strides(dims));
        bool integer = a.IsInteger && b.IsInteger;
        var values = new double[Count(dims)];
        for (long i = 0; i < values.Length; i++)
        {
            long ia = 0, ib = 0, rest = i;
            for (int k = 0; k < rank; k++)
            {
                long c = rest / so[k];
                rest %= so[k];
                if (da[k] != 1) ia += c * sa[k];
                if (db[k] != 1) ib += c * sb[k];
            }
            double v = f(a.Values[ia], b.Values[ib]);
            values[i] = integer ? Math.Truncate(v) : v;
        }
        return new OnnxTensor(dims, values, integer);
    }

    public static OnnxTensor Concat(OnnxTensor[] parts, long axis)
    {
        int rank = parts[0].Rank;
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) throw new KilnException($"Concat axis {axis} is outside rank {rank}.");
        foreach (var p in parts)
            if (p.Rank != rank || p.Dims.Where((d, k) => k != axis && d != parts[0].Dims[k]).Any())
                throw new KilnException($"Concat of {string.Join(", ", parts.Select(q => q.ShapeText))} along axis {axis}: shapes differ.");
        var dims = (long[])parts[0].Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        long outer = parts[0].Dims[..(int)axis].Aggregate(1L, (x, y) => x * y);
        var values = new List<double>((int)Count(dims));
        for (long o = 0; o < outer; o++)
            foreach (var p in parts)
            {
                long block = p.Count / Math.Max(outer, 1);
                for (long j = 0; j < block; j++) values.Add(p.Values[o * block + j]);
            }
        return new OnnxTensor(dims, values.ToArray(), parts.All(p => p.IsInteger));
    }

    public static OnnxTensor Flatten(OnnxTensor t, long axis)
    {
        if (axis < 0 || axis > t.Rank) throw new KilnException($"Flatten axis {axis} is outside rank {t.Rank}.");
        long a = t.Dims[..(int)axis].Aggregate(1L, (x, y) => x * y);
        return new OnnxTensor(new[] { a, t.Count / Math.Max(a, 1) }, t.Values, t.IsInteger);
    }

    /// <summary>Reshape's target with 0 (copy the input's dimension, unless allowzero) and -1 (inferred) resolved.</summary>
    public static long[] ReshapeTarget(long[] input, long[] target, bool allowZero)
    {
        long total = input.Aggregate(1L, (x, y) => checked(x * y));
        var dims = new long[target.Length];
        int infer = -1;
        for (int k = 0; k < target.Length; k++)
        {
            long d = target[k];
            if (d == 0 && !allowZero)
            {
                if (k >= input.Length) throw new KilnException($"Reshape target [{string.Join(",", target)}] copies dimension {k}, which [{string.Join(",", input)}] lacks.");
                d = input[k];
            }
            if (d == -1)
            {
                if (infer >= 0) throw new KilnException($"Reshape target [{string.Join(",", target)}] has more than one -1.");
                infer = k;
            }
            else if (d < 0) throw new KilnException($"Reshape target [{string.Join(",", target)}] has a negative dimension.");
            dims[k] = d;
        }
        long known = dims.Where((d, k) => k != infer).Aggregate(1L, (x, y) => checked(x * y));
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0) throw new KilnException($"can't reshape [{string.Join(",", input)}] to [{string.Join(",", target)}].");
            dims[infer] = total / known;
        }
        else if (known != total) throw new KilnException($"can't reshape [{string.Join(",", input)}] ({total} values) to [{string.Join(",", target)}].");
        return dims;
    }

    public static OnnxTensor Gather(OnnxTensor data, OnnxTensor indices, long axis)
    {
        if (axis < 0) axis += data.Rank;
        if (axis < 0 || axis >= data.Rank) throw new KilnException($"Gather axis {axis} is outside rank {data.Rank}.");
        long size = data.Dims[axis];
        var idx = indices.AsLongs().Select(i => i < 0 ? i + size : i).ToArray();
        if (idx.Any(i => i < 0 || i >= size)) throw new KilnException($"Gather index out of range [0, {size}).");
        var dims = data.Dims[..(int)axis].Concat(indices.Dims).Concat(data.Dims[((int)axis + 1)..]).ToArray();
        long outer = data.Dims[..(int)axis].Aggregate(1L, (x, y) => x * y);
        long inner = data.Dims[((int)axis + 1)..].Aggregate(1L, (x, y) => x * y);
        var values = new double[Count(dims)];
        long at = 0;
        for (long o = 0; o < outer; o++)
            foreach (var i in idx)
                for (long j = 0; j < inner; j++) values[at++] = data.Values[(o * size + i) * inner + j];
        return new OnnxTensor(dims, values, data.IsInteger);
    }

    public static OnnxTensor Slice(OnnxTensor data, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        int rank = data.Rank;
        axes ??= Enumerable.Range(0, starts.Length).Select(a => (long)a).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new KilnException("Slice starts, ends, axes and steps differ in length.");
        var begin = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        var dims = (long[])data.Dims.Clone();
        for (int k = 0; k < starts.Length; k++)
        {
            long axis = axes[k] < 0 ? axes[k] + rank : axes[k];
            if (axis < 0 || axis >= rank) throw new KilnException($"Slice axis {axes[k]} is outside rank {rank}.");
            long dim = data.Dims[axis], s = steps[k];
            if (s == 0) throw new KilnException("Slice step 0.");
            long Clamp(long v, long lo, long hi) => Math.Min(Math.Max(v, lo), hi);
            long st = starts[k] < 0 ? starts[k] + dim : starts[k], en = ends[k] < 0 ? ends[k] + dim : ends[k];
            if (s > 0) { st = Clamp(st, 0, dim); en = Clamp(en, 0, dim); }
            else { st = Clamp(st, 0, dim - 1); en = Clamp(en, -1, dim - 1); }
            long count = s > 0 ? Math.Max(0, (en - st + s - 1) / s) : Math.Max(0, (st - en + (-s) - 1) / -s);
            (begin[axis], step[axis], dims[axis]) = (st, s, count);
        }
        var src = OnnxTensor.Strides(data.Dims);
        var dst = OnnxTensor.Strides(dims);
        var values = new double[Count(dims)];
        for (long i = 0; i < values.Length; i++)
        {
            long rest = i, from = 0;
            for (int k = 0; k < rank; k++)
            {
                long c = rest / dst[k];
                rest %= dst[k];
                from += (begin[k] + c * step[k]) * src[k];
            }
            values[i] = data.Values[from];
        }
        return new OnnxTensor(dims, values, data.IsInteger);
    }

    public static OnnxTensor Transpose(OnnxTensor t, long[]? perm)
    {
        int rank = t.Rank;
        perm ??= Enumerable.Range(0, rank).Reverse().Select(p => (long)p).ToArray();
        if (perm.Length != rank || perm.OrderBy(p => p).Where((p, k) => p != k).Any()) throw new KilnException($"Transpose perm [{string.Join(",", perm)}] is not a permutation of {rank} axes.");
        var dims = perm.Select(p => t.Dims[p]).ToArray();
        var src = OnnxTensor.Strides(t.Dims);
        var dst = OnnxTensor.Strides(dims);
        var values = new double[t.Count];
        for (long i = 0; i < values.Length; i++)
        {
            long rest = i, from = 0;
            for (int k = 0; k < rank; k++)
            {
                long c = rest / dst[k];
                rest %= dst[k];
                from += c * src[perm[k]];
            }
            values[i] = t.Values[from];
        }
        return new OnnxTensor(dims, values, t.IsInteger);
    }

    /// <summary>Dims with axes of size 1 inserted (Unsqueeze) at the given output positions.</summary>
    public static long[] Unsqueeze(long[] dims, long[] axes)
    {
        int rank = dims.Length + axes.Length;
        var norm = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        if (norm.Count != axes.Length || norm.Any(a => a < 0 || a >= rank)) throw new KilnException($"Unsqueeze axes [{string.Join(",", axes)}] are invalid for rank {dims.Length}.");
        var result = new long[rank];
        for (int k = 0, j = 0; k < rank; k++) result[k] = norm.Contains(k) ? 1 : dims[j++];
        return result;
    }

    /// <summary>Dims with the given axes of size 1 removed (all of them when axes is null).</summary>
    public static long[] Squeeze(long[] dims, long[]? axes)
    {
        if (axes == null) return dims.Where(d => d != 1).ToArray();
        var norm = axes.Select(a => a < 0 ? a + dims.Length : a).ToHashSet();
        if (norm.Any(a => a < 0 || a >= dims.Length || dims[a] != 1)) throw new KilnException($"Squeeze axes [{string.Join(",", axes)}] do not name size-1 dimensions of [{string.Join(",", dims)}].");
        return dims.Where((d, k) => !norm.Contains(k)).ToArray();
    }

    public static OnnxTensor Filled(long[] dims, double value, bool isInteger) => new(dims, Enumerable.Repeat(value, (int)Count(dims)).ToArray(), isInteger);
}
