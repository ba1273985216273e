using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// Collects the steps of a compilation: layers' passes call it to make values and emit dispatches; it
/// knows the device (for kernel choice) but allocates nothing: memory comes after, from the planner.
/// </summary>
internal sealed class Emitter
{
    public const uint ElementwiseLocal = 256;
    readonly List<Value> values = new();
    readonly List<Step> steps = new();

    public Emitter(DeviceInfo device, Precision precision = Precision.Fp32, IReadOnlyList<string>? preferKernels = null, bool? texelReads = null,
        KernelTuner? tuner = null)
    {
        Tuner = tuner;
        Device = device;
        Precision = precision;
        PreferKernels = preferKernels ?? Array.Empty<string>();
        TexelReads = texelReads ?? device.IsCpu;
    }

    public DeviceInfo Device { get; }
    /// <summary>
    /// How activations and their gradients are stored: F16 under <see cref="Precision.Fp16"/>, else F32. Parameters,
    /// their gradients, optimizer state and losses stay F32.
    /// </summary>
    public ElementType ActivationType => Precision == Precision.Fp16 ? ElementType.F16 : ElementType.F32;
    /// <summary>The arithmetic kernels may use (CompileOptions.Precision).</summary>
    public Precision Precision { get; }
    /// <summary>Kernel entries chosen ahead of priority where they can run, and candidates of them taken untuned
    /// (CompileOptions.PreferKernels).</summary>
    public IReadOnlyList<string> PreferKernels { get; }

    /// <summary>Whether <see cref="PreferKernels"/> names <paramref name="entry"/>, on its own or with a candidate of it.</summary>
    public bool Prefers(IKernelEntry entry) => KernelRegistry.Names(PreferKernels, entry);

    /// <summary>
    /// The untuned choice among <paramref name="entry"/>'s <paramref name="candidates"/>: the one <see cref="PreferKernels"/>
    /// names as "Entry:candidate", else the first (the entry's default); null where there are none. A named candidate the
    /// layer doesn't have (another shape's tile) leaves the default.
    /// </summary>
    public TuneCandidate? DefaultOf(IKernelEntry entry, IEnumerable<TuneCandidate> candidates)
    {
        var list = candidates as IReadOnlyList<TuneCandidate> ?? candidates.ToList();
        string prefix = entry.GetType().Name + ":";
        foreach (var p in PreferKernels)
            if (p.StartsWith(prefix, StringComparison.Ordinal) && list.FirstOrDefault(c => c.Name == p[prefix.Length..]) is { } named)
                return named;
        return list.Count > 0 ? list[0] : null;
    }
    /// <summary>Times tile-size candidates and remembers the fastest per shape (CompileOptions.Autotune), or null: defaults.</summary>
    public KernelTuner? Tuner { get; }
    /// <summary>Kernels with a texel-read variant use it (CompileOptions.TexelReads, resolved for the device).</summary>
    public bool TexelReads { get; }
    /// <summary>A UNet decoder's convolution may compute by sub-pixel phase (CompileOptions.SubPixelDecoders).</summary>
    public bool SubPixel { get; init; } = true;

    /// <summary>
    /// A kernel of <paramref name="count"/> buffer bindings whose first <paramref name="texels"/> have a texel-read
    /// variant (module + ".texel", shaders/Variants.props): that variant and its bindings where <see cref="TexelReads"/>,
    /// else the module and storage buffers.
    /// </summary>
    public (string Module, BindingKind[] Bindings) TexelVariant(string module, int count, int texels)
    {
        var kinds = KernelSpec.Buffers(count);
        if (!TexelReads) return (module, kinds);
        for (int i = 0; i < texels; i++) kinds[i] = BindingKind.UniformTexelBuffer;
        return (module + ".texel", kinds);
    }
    public IReadOnlyList<Value> Values => values;
    public IReadOnlyList<Step> Steps => steps;
    /// <summary>forward, backward or update: tags the steps emitted next.</summary>
    public string Phase { get; set; } = "forward";

    readonly Dictionary<(string Spec, string Push, Value Input), Value> prepared = new();

    /// <summary>
    /// <paramref name="input"/> (a parameter) rewritten by <paramref name="p"/> into a derived value of its own: one
    /// dispatch the first time, the same value for every later dispatch that prepares that parameter the same way in this
    /// plan (the bands of <see cref="Layers.RowBandedConvs"/>, say). Parameters change only in the update, after every use.
    /// </summary>
    public Value Prepared(TunePrepare p, Value input, string label)
    {
        var key = (p.Spec.Key, System.Convert.ToHexString(p.Push), input);
        if (input.Kind == ValueKind.Parameter && prepared.TryGetValue(key, out var done)) return done;
        var value = NewValue(new Shape(p.Elements), ValueKind.Derived, $"{label}.packed_weight", p.Type);
        Dispatch(p.Spec, p.Groups, p.Push, $"{label}.pack", Arg.In(input), Arg.Out(value));
        if (input.Kind == ValueKind.Parameter) prepared[key] = value;
        return value;
    }

    public Value NewValue(Shape shape, ValueKind kind, string name, ElementType type = ElementType.F32, TensorLayout? layout = null)
    {
        var v = new Value(values.Count, shape, type, layout ?? (shape.Rank == 4 ? TensorLayout.Nchw : TensorLayout.RowMajor), kind, name);
        values.Add(v);
        return v;
    }

    /// <summary>A view of <paramref name="of"/>'s storage with another shape (Flatten, Reshape): no copy.</summary>
    public Value Alias(Value of, Shape shape, string name)
    {
        if (shape.Elements != of.Shape.Elements)
            throw new GraphException($"{name}: cannot view {of.Shape} as {shape}: element counts differ.");
        var v = NewValue(shape, ValueKind.Transient, name, of.ElementType);
        v.AliasOf = of;
        return v;
    }

    /// <summary>
    /// Adds a dispatch of <paramref name="spec"/>. Kernels name their f32 module; where any value bound is stored as f16,
    /// the module's f16-storage variant ("&lt;module&gt;.f16", shaders/include/storage.glsl) runs instead, its f16 values
    /// read through R16_SFLOAT views where the kernel reads texels. Every float buffer the module declares must hold
    /// its value's element type: a kernel without an f16 variant, or one whose variant stores a binding otherwise,
    /// fails the compile here, naming the kernel, the binding and the value.
    /// </summary>
    public void Dispatch(KernelSpec spec, (uint X, uint Y, uint Z) groups, byte[] push, string label, params Arg[] args)
    {
        if (args.Length != spec.Bindings.Length)
            throw new InvalidOperationException($"{label}: {spec.Module} has {spec.Bindings.Length} bindings, {args.Length} args given.");
        if (args.Select(a => a.Value).FirstOrDefault(v => v?.Layout == TensorLayout.Nhwc) is { } nhwc && !ActivationLayouts.ReadsNhwc(spec.Module))
            throw new GraphException($"{label}: kernel {spec.Module} indexes 4-D activations as NCHW, and {nhwc} is NHWC " +
                "(a layer that says it forwards NHWC dispatched an NCHW kernel).");
        steps.Add(new Step(Variant(spec, label, args), args, push, groups.X, groups.Y, groups.Z, label, Phase));
    }

    /// <summary>
    /// The last dispatch moves <paramref name="bytes"/>, not the bytes of the values it binds (<see cref="Step.Bytes"/>): a
    /// kernel that reads or writes part of a value, such as a copy into a concatenation's channel slice.
    /// </summary>
    public void DeclareBytes(long bytes) => steps[^1].DeclaredBytes = bytes;

    /// <summary>How many steps have been emitted: a mark for <see cref="AttributeFlops"/>.</summary>
    public int StepCount => steps.Count;

    /// <summary>
    /// Records <paramref name="flops"/> (2 per multiply-add) as the arithmetic of the steps labelled <paramref name="label"/>
    /// emitted since the mark <paramref name="since"/> that have none yet, split evenly where there are several: a
    /// convolution's or product's compute dispatch (its packing, flipping and partial-sum passes have labels of their
    /// own). An inner emission that attributed its steps first keeps them. `kiln bench --kernels` sets each dispatch
    /// against the roofline with it (<see cref="Step.Flops"/>).
    /// </summary>
    public void AttributeFlops(int since, string label, double flops)
    {
        var matched = steps.Skip(since).Where(s => s.Label == label && s.Flops == 0).ToList();
        foreach (var s in matched) s.Flops = flops / matched.Count;
    }

    /// <summary>
    /// The kernel <see cref="Dispatch"/> runs for <paramref name="spec"/> on these values: the spec itself, or where a value
    /// is f16 its f16-storage variant (checked as Dispatch says), or the spec itself where it has no such variant but
    /// declares f16 for every binding bound to an f16 value (a kernel of fixed types, such as a weight packed to f16). A
    /// tuner times this, not the f32 spec.
    /// </summary>
    public static KernelSpec Variant(KernelSpec spec, string label, params Arg[] args)
    {
        if (!args.Any(a => a.Value?.ElementType == ElementType.F16)) return spec;
        string module = spec.Module + ".f16";
        if (!PipelineStore.HasModule(module))
        {
            var fixedTypes = SpirvReflection.FloatArrayBits(spec.Module);
            if (Enumerable.Range(0, args.Length).All(i => args[i].Value?.ElementType != ElementType.F16 || fixedTypes.GetValueOrDefault(i) == 16))
                return spec;
            throw new GraphException($"{label}: kernel {spec.Module} has no f16-storage variant, and " +
                $"{args.First(a => a.Value?.ElementType == ElementType.F16).Value} is stored as f16 (CompileOptions.Precision Fp16).");
        }
        var bindings = (BindingKind[])spec.Bindings.Clone();
        var declared = SpirvReflection.FloatArrayBits(module);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Value is not { } v) continue;
            if (bindings[i] == BindingKind.UniformTexelBuffer && v.ElementType == ElementType.F16) bindings[i] = BindingKind.UniformTexelBufferF16;
            if (declared.TryGetValue(i, out int bits) && bits != 8 * v.ElementType.SizeInBytes())
                throw new GraphException($"{label}: binding {i} of {module} holds f{bits}, but its value {v} is {v.ElementType.Name()}.");
        }
        return spec with { Module = module, Bindings = bindings };
    }

    /// <summary>Workgroups for one invocation per element, spread over x and y to stay within maxComputeWorkGroupCount.</summary>
    public (uint X, uint Y, uint Z) ElementwiseGroups(long count)
    {
        long groups = (count + ElementwiseLocal - 1) / ElementwiseLocal;
        long maxX = Math.Min(Device.MaxWorkgroupCount[0], 65535u);
        uint x = (uint)Math.Min(groups, maxX);
        uint y = (uint)((groups + x - 1) / x);
        return (x, y, 1);
    }

    /// <summary>Workgroups for the vector kernels (shaders/include/elementwise.glsl): one invocation per 4 elements.</summary>
    public (uint X, uint Y, uint Z) VectorGroups(long count) => ElementwiseGroups((count + 3) / 4);

    // Shared elementwise kernels (shaders/elementwise), 4 elements per invocation. Their module headers document bindings and codes.

    /// <summary>y = op(x) elementwise (a copy when op is None).</summary>
    public void Unary(Activation op, float slope, Value x, Value y, string label)
    {
        var spec = new KernelSpec("elementwise/unary", KernelSpec.Buffers(2), 4, new[] { (uint)op, KernelSpec.Word(slope) }, ElementwiseLocal);
        Dispatch(spec, VectorGroups(y.Shape.Elements), PushConstants.Ints((int)y.Shape.Elements), label, Arg.In(x), Arg.Out(y));
    }

    /// <summary>dx = dy * op'(y), from the op's output y; with <paramref name="addend"/>, dx = (dy + addend) * op'(y) in the same pass.</summary>
    public void UnaryBackward(Activation op, float slope, Value y, Value dy, Value dx, string label, Value? addend = null)
    {
        var spec = new KernelSpec("elementwise/unary.bwd", KernelSpec.Buffers(4), 4,
            new[] { (uint)op, KernelSpec.Word(slope), addend != null ? 1u : 0u }, ElementwiseLocal);
        Dispatch(spec, VectorGroups(dx.Shape.Elements), PushConstants.Ints((int)dx.Shape.Elements), label,
            Arg.In(y), Arg.In(dy), Arg.Out(dx), Arg.In(addend ?? dy));
    }

    /// <summary>c = alpha * a + beta * b elementwise (same element counts).</summary>
    public void AddScaled(Value a, float alpha, Value b, float beta, Value c, string label)
    {
        var spec = new KernelSpec("elementwise/add", KernelSpec.Buffers(3), 4, new[] { KernelSpec.Word(alpha), KernelSpec.Word(beta) }, ElementwiseLocal);
        Dispatch(spec, VectorGroups(c.Shape.Elements), PushConstants.Ints((int)c.Shape.Elements), label, Arg.In(a), Arg.In(b), Arg.Out(c));
    }

    /// <summary>y = x, converting between element types (f32 network inputs to f16 activations and back).</summary>
    public void Convert(Value x, Value y, string label)
    {
        if (x.ElementType == y.ElementType) { Unary(Activation.None, 0, x, y, label); return; }
        string module = y.ElementType == ElementType.F16 ? "elementwise/to_storage" : "elementwise/from_storage";
        var spec = new KernelSpec(module, KernelSpec.Buffers(2), 4, Array.Empty<uint>(), ElementwiseLocal);
        Dispatch(spec, VectorGroups(y.Shape.Elements), PushConstants.Ints((int)y.Shape.Elements), label, Arg.In(x), Arg.Out(y));
    }

    /// <summary>
    /// <paramref name="x"/> in <paramref name="layout"/>: x itself where it has that layout (or is not 4-D), else a new
    /// transient value written by one transpose (<see cref="ActivationLayouts"/>), made once per value and layout.
    /// </summary>
    public Value InLayout(Value x, TensorLayout layout)
    {
        if (x.Shape.Rank != 4 || x.Layout == layout) return x;
        if (relaid.TryGetValue((x, layout), out var done)) return done;
        string name = $"{x.Name}.to_{layout.ToString().ToLowerInvariant()}";
        var y = NewValue(x.Shape, ValueKind.Transient, name, x.ElementType, layout);
        ActivationLayouts.Transpose(this, x, y, name);
        return relaid[(x, layout)] = y;
    }

    readonly Dictionary<(Value, TensorLayout), Value> relaid = new();

    /// <summary>
    /// Makes <paramref name="y"/>, a transpose of <paramref name="x"/> written elsewhere (a network output's NCHW copy), the
    /// value <see cref="InLayout"/> gives for x in y's layout, so a reader in that layout reads it rather than a second transpose.
    /// </summary>
    public void Relaid(Value x, Value y)
    {
        if (x.Shape != y.Shape || x.ElementType != y.ElementType || x.Layout == y.Layout)
            throw new GraphException($"{y.Name}: not {x.Name} in another layout ({y.Shape} {y.ElementType.Name()} {y.Layout} for {x.Shape} {x.ElementType.Name()} {x.Layout}).");
        relaid.TryAdd((x, y.Layout), y);
    }

    /// <summary>
    /// Keeps <paramref name="value"/>, made by a layer's forward rule, for its gradient rule (<see cref="ForwardPass.Save"/>,
    /// <see cref="BackwardPass.Saved"/>): batch norm's batch statistics.
    /// </summary>
    public void Save(string key, Value value) => saved[key] = value;

    /// <summary>The value <see cref="Save"/> kept under <paramref name="key"/>.</summary>
    public Value Saved(string key) =>
        saved.TryGetValue(key, out var v) ? v : throw new GraphException($"{key}: no value kept by the forward pass (a gradient rule without its forward).");

    readonly Dictionary<string, Value> saved = new();

    /// <summary>y = value everywhere.</summary>
    public void Fill(Value y, float value, string label)
    {
        var spec = new KernelSpec("elementwise/fill", KernelSpec.Buffers(1), 4, new[] { KernelSpec.Word(value) }, ElementwiseLocal);
        Dispatch(spec, VectorGroups(y.Shape.Elements), PushConstants.Ints((int)y.Shape.Elements), label, Arg.Out(y));
    }
}
