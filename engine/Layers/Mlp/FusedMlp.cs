using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// A chain of <see cref="Linear"/> layers (each with a bias, each optionally followed by an activation) that the
/// compiler's fusion pass has replaced by one layer for small widths (every width &lt;= <see cref="MaxWidth"/>,
/// at most <see cref="MaxLayers"/> layers): the forward pass is one dispatch, the backward pass two (deltas through
/// all layers and per-workgroup partial weight gradients; then mlp.reduce, their sum in a fixed order, no
/// atomics); the tiled and tensor-core entries split the first backward pass in two (every layer's deltas, then the
/// weight gradients from them), and the tensor-core one packs the weights before its forward. The kernels are a registry choice (<see cref="IMlpKernels"/>, operation "mlp"): <see cref="MlpRowKernels"/>
/// (one invocation per row; every device, small batches), <see cref="MlpTileKernels"/> (64-row tiles in shared
/// memory, 4 x 4 register blocks; GPUs at large batches) or <see cref="MlpCoopMatKernels"/> (tensor cores, f16
/// operands; GPUs at large batches under Precision.Fp16). The parameters keep the member layers' names
/// ("linear_0.weight"), so checkpoints and optimizers see the same tensors as the unfused network. Under f16 activation
/// storage (Precision.Fp16) x, y, the saved hidden outputs and the activation gradients are f16 (the kernels' .f16
/// modules), the layers in between stay f32 in shared memory (f16 in the tensor-core entry's), and parameters, partials
/// and gradients stay f32.
/// </summary>
internal sealed class FusedMlp : Layer
{
    public const int MaxWidth = 64;
    public const int MaxLayers = 8;
    /// <summary>Partial-gradient slots of a backward at most (workgroups or chunks of rows that mlp.reduce sums): 4096
    /// 64-row tiles of a 262144-row batch make 16 tiles a slot.</summary>
    public const int MaxPartialSlots = 256;

    readonly IReadOnlyList<Member> members;
    IMlpKernels? kernels;
    Value? saved;

    /// <summary>One layer of the chain: its node name, the Linear, and the activation folded after it.</summary>
    public readonly record struct Member(string Name, Linear Linear, Activation Activation, float Slope);

    public FusedMlp(IReadOnlyList<Member> members)
    {
        if (!CanFuse(members)) throw new ArgumentException("mlp: these layers can't be fused (see FusedMlp.CanFuse).");
        this.members = members;
    }

    /// <summary>True when the chain fits the fused kernels: 2..8 linears with biases, each feeding the next,
    /// widths 1..64, and LeakyReLUs (if any) sharing one slope.</summary>
    public static bool CanFuse(IReadOnlyList<Member> chain)
    {
        if (chain.Count < 2 || chain.Count > MaxLayers) return false;
        for (int i = 0; i < chain.Count; i++)
        {
            var l = chain[i].Linear;
            if (!l.HasBias || l.InFeatures > MaxWidth || l.OutFeatures > MaxWidth) return false;
            if (i > 0 && chain[i - 1].Linear.OutFeatures != l.InFeatures) return false;
        }
        return chain.Where(m => m.Activation == Activation.LeakyReLU).Select(m => m.Slope).Distinct().Count() <= 1;
    }

    /// <summary>
    /// Whether fusing pays on this device: on a GPU always (one dispatch instead of a few per layer); on a CPU
    /// device (lavapipe) only while every width is &lt;= 16 (playground_mlp_b256 got faster, mlp_64x4 several times
    /// slower than the plain register-blocked GEMMs there). A device with under 32 KiB of shared memory (the
    /// kernels' staging) never; 0 means unknown (plan-only device descriptions).
    /// </summary>
    public static bool Preferred(IReadOnlyList<Member> chain, DeviceInfo device)
    {
        if (device.MaxSharedMemoryBytes != 0 && device.MaxSharedMemoryBytes < 32768) return false;
        return !device.IsCpu || chain.All(m => m.Linear.InFeatures <= 16 && m.Linear.OutFeatures <= 16);
    }

    public override string Kind => "mlp";

    /// <summary>The chain's members in order.</summary>
    public IReadOnlyList<Member> Members => members;

    /// <summary>The hidden layers' widths summed: a row of their saved outputs.</summary>
    public int HiddenWidth => members.Take(members.Count - 1).Sum(m => m.Linear.OutFeatures);

    /// <summary>What the chosen entry's forward leaves for its backward besides the saved outputs (the parameters in
    /// its own form, such as <see cref="MlpCoopMatKernels"/>' f16 weights), this compile's.</summary>
    internal Value[] EntryValues { get; set; } = Array.Empty<Value>();

    /// <summary>The member layers' parameters, named "&lt;layer&gt;.weight" / "&lt;layer&gt;.bias".</summary>
    public override IReadOnlyList<ParameterSpec> Parameters =>
        members.SelectMany(m => m.Linear.Parameters.Select(p => p with { Name = $"{m.Name}.{p.Name}" })).ToList();

    public override Shape OutputShape(IReadOnlyList<Shape> inputs)
    {
        var shape = inputs[0];
        foreach (var m in members) shape = m.Linear.OutputShape(new[] { shape });
        return shape;
    }

    internal override void Forward(ForwardPass f)
    {
        int n = f.Input.Shape[0];
        var e = f.Emitter;
        // The entries compute in f32 whatever the activations' storage (f16 under Precision.Fp16: their .f16 modules).
        kernels = KernelRegistry.Choose<IMlpKernels>("mlp", f.Input.ElementType, f.Input.Layout, e,
            k => e.Prefers(k) || k.Accepts(n));
        saved = f.Training ? kernels.NewSaved(this, f) : null;
        kernels.Forward(this, f, saved);
    }

    internal override void Backward(BackwardPass b)
    {
        if (saved == null || kernels == null) throw new GraphException($"{b.Name}: the fused MLP's forward pass was not compiled for training.");
        kernels.Backward(this, b, saved);
    }

    /// <summary>The forward dispatch of an <see cref="IMlpKernels"/> entry: bindings x, y, h (or x again when not
    /// saving), then the parameter slots; push constant: rows.</summary>
    internal void EmitForward(ForwardPass f, Value? saved, KernelSpec spec, uint groups)
    {
        var args = new List<Arg> { Arg.In(f.Input), Arg.Out(f.Output), saved != null ? Arg.Out(saved) : Arg.In(f.Input) };
        args.AddRange(ParamSlots(f.Param));
        f.Emitter.Dispatch(spec, (groups, 1, 1), PushConstants.Ints(f.Input.Shape[0]), $"{f.Name}.fwd", args.ToArray());
        f.Emitter.AttributeFlops(f.Emitter.StepCount - 1, $"{f.Name}.fwd", MultiplyAdds(f.Input.Shape[0]) * 2.0);
    }

    /// <summary>The multiply-adds of the layers' products over <paramref name="rows"/> rows.</summary>
    internal double MultiplyAdds(int rows) => (double)rows * members.Sum(m => (long)m.Linear.InFeatures * m.Linear.OutFeatures);

    /// <summary>The backward of the per-row entry (<see cref="MlpRowKernels"/>): its first pass (bindings x, y, h,
    /// dy, dx, the [groups, stride] partials, then the parameter slots; push constants: rows, stride) writing one partial
    /// slot per workgroup, the packed parameters (<see cref="PackedCount"/>, unpadded), then mlp.reduce summing the
    /// slots in order into each parameter's gradient.</summary>
    internal void EmitBackward(BackwardPass b, Value saved, KernelSpec spec, uint groups)
    {
        var e = b.Emitter;
        int n = b.Input.Shape[0];
        int stride = PackedCount(0);
        var partial = e.NewValue(new Shape((int)groups, stride), ValueKind.Transient, $"{b.Name}.grad_partial");
        var args = new List<Arg>
        {
            Arg.In(b.Input), Arg.In(b.Output), Arg.In(saved), Arg.In(b.GradOutput),
            b.GradInput != null ? Arg.Out(b.GradInput) : Arg.In(b.GradOutput), Arg.Out(partial),
        };
        args.AddRange(ParamSlots(b.Param));
        e.Dispatch(spec, (groups, 1, 1), PushConstants.Ints(n, stride), $"{b.Name}.bwd", args.ToArray());
        e.AttributeFlops(e.StepCount - 1, $"{b.Name}.bwd", 2.0 * MultiplyAdds(n) + DeltaFlops(b));

        EmitReduce(b, partial, groups, stride, 0);
    }

    /// <summary>The FLOPs of the deltas' products: every layer's but the first's, and the first's too when dx is asked.</summary>
    internal double DeltaFlops(BackwardPass b)
    {
        int n = b.Input.Shape[0];
        return 2.0 * (MultiplyAdds(n) - (b.GradInput == null ? (double)n * members[0].Linear.InFeatures * members[0].Linear.OutFeatures : 0));
    }

    /// <summary>How a backward whose weight gradients are summed over chunks of <paramref name="tiles"/> tiles of rows
    /// splits them: at most <see cref="MaxPartialSlots"/> chunks of whole tiles, the last one shorter.</summary>
    internal static (int Chunks, int TilesPerChunk) Chunks(int tiles)
    {
        int per = (tiles + MaxPartialSlots - 1) / MaxPartialSlots;
        return ((tiles + per - 1) / per, per);
    }

    /// <summary>The weight-gradient pass of an entry that saved every layer's deltas: <paramref name="spec"/> over
    /// (<paramref name="chunks"/>, layers) workgroups, each summing one layer's weight and bias gradients over
    /// <paramref name="chunkRows"/> of the <paramref name="rows"/> rows into its chunk's partial slot (bindings
    /// <paramref name="inputs"/>, then the [chunks, stride] partials; push constants: rows, chunkRows, stride), then
    /// mlp.reduce over the slots (padded to multiples of <paramref name="pad"/>; 0: none).</summary>
    internal void EmitWeightGradients(BackwardPass b, KernelSpec spec, int rows, int chunkRows, int chunks, int pad, params Arg[] inputs)
    {
        var e = b.Emitter;
        int stride = PackedCount(pad);
        var partial = e.NewValue(new Shape(chunks, stride), ValueKind.Transient, $"{b.Name}.grad_partial");
        e.Dispatch(spec, ((uint)chunks, (uint)members.Count, 1), PushConstants.Ints(rows, chunkRows, stride), $"{b.Name}.bwd_weight",
            inputs.Append(Arg.Out(partial)).ToArray());
        e.AttributeFlops(e.StepCount - 1, $"{b.Name}.bwd_weight", 2.0 * MultiplyAdds(b.Input.Shape[0]));
        EmitReduce(b, partial, (uint)chunks, stride, pad);
    }

    /// <summary>mlp.reduce: the sum over <paramref name="groups"/> partial slots of <paramref name="stride"/> floats
    /// (<paramref name="partial"/>, each in the packed order of shaders/include/mlp.glsl padded to multiples of
    /// <paramref name="pad"/>), in slot order, into each member's weight and bias gradient.</summary>
    void EmitReduce(BackwardPass b, Value partial, uint groups, int stride, int pad)
    {
        var e = b.Emitter;
        int count = members.Sum(m => m.Linear.OutFeatures * (m.Linear.InFeatures + 1));
        var grads = members.SelectMany(m => new[] { b.GradParam($"{m.Name}.weight"), b.GradParam($"{m.Name}.bias") }).ToList();
        var reduce = new KernelSpec("mlp/mlp.reduce", KernelSpec.Buffers(1 + 2 * MaxLayers), 12, Constants(0, pad), Emitter.ElementwiseLocal);
        var rargs = new List<Arg> { Arg.In(partial) };
        rargs.AddRange(grads.Select(Arg.Out));
        rargs.AddRange(Enumerable.Repeat(Arg.In(partial), 2 * MaxLayers - grads.Count));
        e.Dispatch(reduce, e.ElementwiseGroups(count), PushConstants.Ints(count, (int)groups, stride), $"{b.Name}.bwd_reduce", rargs.ToArray());
    }

    /// <summary>The floats of the packed order of shaders/include/mlp.glsl: with <paramref name="pad"/> every width padded
    /// to a multiple of it and every bias a tile of <paramref name="pad"/> rows; without (0), the parameters' count.</summary>
    internal int PackedCount(int pad)
    {
        int Padded(int w) => pad > 0 ? (w + pad - 1) / pad * pad : w;
        return members.Sum(m => Padded(m.Linear.OutFeatures) * (Padded(m.Linear.InFeatures) + Math.Max(pad, 1)));
    }

    // The 2 * MaxLayers parameter slots: weight and bias of each member, then the first weight again (never read).
    internal IEnumerable<Arg> ParamSlots(Func<string, Value> param)
    {
        var list = members.SelectMany(m => new[] { param($"{m.Name}.weight"), param($"{m.Name}.bias") }).ToList();
        return list.Concat(Enumerable.Repeat(list[0], 2 * MaxLayers - list.Count)).Select(Arg.In);
    }

    // include/mlp.glsl's constants 0..18 and 20 (PAD: the widths' padding, 0 for none), the shader's own constant 19.
    internal uint[] Constants(uint last, int pad = 0)
    {
        var c = new uint[21];
        c[0] = (uint)members.Count;
        c[1] = (uint)members[0].Linear.InFeatures;
        for (int i = 0; i < MaxLayers; i++)
        {
            c[2 + i] = i < members.Count ? (uint)members[i].Linear.OutFeatures : 1u;
            c[10 + i] = i < members.Count ? (uint)members[i].Activation : 0u;
        }
        var leaky = members.FirstOrDefault(m => m.Activation == Activation.LeakyReLU);
        c[18] = KernelSpec.Word(leaky.Linear != null ? leaky.Slope : 0.01f);
        c[19] = last;
        c[20] = (uint)pad;
        return c;
    }
}
