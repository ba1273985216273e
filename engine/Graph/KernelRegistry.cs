namespace Kiln.Graph;

/// <summary>
/// An implementation of one operation for one element type and layout, usable on the devices it accepts.
/// A faster kernel for some device (cooperative matrix on a GPU, register blocking on lavapipe) is a new
/// entry with a higher priority, not an edit to the layers or the graph code.
/// </summary>
internal interface IKernelEntry
{
    string Operation { get; }
    ElementType ElementType { get; }
    TensorLayout Layout { get; }
    /// <summary>Higher wins among the entries that support a device.</summary>
    int Priority { get; }
    /// <summary>Whether the entry runs correctly on the device (features, limits).</summary>
    bool Supports(DeviceInfo device);
    /// <summary>
    /// Whether the registry picks this entry by itself on the device. A GPU-tuned kernel runs correctly on a CPU device
    /// such as lavapipe but is slower there: it says false for it, and only CompileOptions.PreferKernels picks it
    /// there (tests of GPU kernels on lavapipe).
    /// </summary>
    bool PreferredOn(DeviceInfo device) => true;
    /// <summary>
    /// The least precision the entry's arithmetic needs: an <see cref="Precision.Fp16"/> entry (fp16 operands) is
    /// only chosen when the network is compiled with <see cref="Precision.Fp16"/>.
    /// </summary>
    Precision Arithmetic => Precision.Fp32;
    /// <summary>
    /// An entry that is faster than the alternatives on some shapes only, and times itself against them per shape
    /// (CompileOptions.Autotune): the registry picks it by itself only when the compile tunes kernels.
    /// </summary>
    bool NeedsTuning => false;
    /// <summary>
    /// An entry that computes a layer only as part of a fusion (a decoder's convolution reading its upsampled input by
    /// phase, <see cref="Layers.Conv2dCoopMat2SubPixel"/>), never a layer alone: naming it changes nothing where layers
    /// run alone (kiln selftest's rounds leave it out).
    /// </summary>
    bool FusedOnly => false;
}

/// <summary>The registry of kernel entries, keyed by operation, element type and layout, chosen by device.</summary>
internal static class KernelRegistry
{
    static readonly List<IKernelEntry> entries = new();
    static readonly object gate = new();

    // Every IKernelEntry class in this assembly registers itself: adding a kernel is adding its class.
    static KernelRegistry()
    {
        foreach (var t in typeof(KernelRegistry).Assembly.GetTypes())
            if (typeof(IKernelEntry).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false } && t.GetConstructor(Type.EmptyTypes) != null)
                Register((IKernelEntry)Activator.CreateInstance(t)!);
    }

    public static void Register(IKernelEntry entry)
    {
        lock (gate)
        {
            if (entries.Any(e => e.GetType() == entry.GetType())) return;
            entries.Add(entry);
        }
    }

    /// <summary>
    /// The entry of type <typeparamref name="T"/> for this operation, type and layout that the emitter's device and
    /// precision allow and <paramref name="accepts"/> takes (shape limits of specialised kernels): the highest priority
    /// among those the emitter prefers by name (CompileOptions.PreferKernels) if any, else the highest priority among those preferred on the
    /// device (<see cref="IKernelEntry.PreferredOn"/>; entries that need tuning only when the compile tunes), else the
    /// highest priority.
    /// </summary>
    public static T Choose<T>(string operation, ElementType type, TensorLayout layout, Emitter e, Func<T, bool>? accepts = null)
        where T : class, IKernelEntry
    {
        lock (gate)
        {
            return TryChoose(operation, type, layout, e, accepts) ?? throw new GraphException(
                $"No {operation} kernel for {type.Name()} {layout} at {e.Precision} on {e.Device.Name}; registered: " +
                string.Join(", ", entries.Where(k => k.Operation == operation).Select(k => $"{k.GetType().Name} ({k.ElementType.Name()} {k.Layout})")));
        }
    }

    /// <summary><see cref="Choose"/>, or null where no entry qualifies.</summary>
    public static T? TryChoose<T>(string operation, ElementType type, TensorLayout layout, Emitter e, Func<T, bool>? accepts = null)
        where T : class, IKernelEntry
    {
        lock (gate)
        {
            var usable = Usable(operation, type, layout, e, accepts);
            return usable.Where(e.Prefers).OrderByDescending(k => k.Priority).FirstOrDefault()
                   ?? usable.Where(k => k.PreferredOn(e.Device) && (e.Tuner != null || !k.NeedsTuning)).OrderByDescending(k => k.Priority).FirstOrDefault()
                   ?? usable.Where(k => !k.NeedsTuning).OrderByDescending(k => k.Priority).FirstOrDefault()
                   ?? usable.OrderByDescending(k => k.Priority).FirstOrDefault();
        }
    }

    /// <summary>
    /// Every entry for the operation that runs on the emitter's device at its precision and that <paramref name="accepts"/>
    /// takes, preferred by name (CompileOptions.PreferKernels) or on the device (<see cref="IKernelEntry.PreferredOn"/>):
    /// the candidates a tuner times against each other.
    /// </summary>
    public static List<T> Candidates<T>(string operation, ElementType type, TensorLayout layout, Emitter e, Func<T, bool>? accepts = null)
        where T : class, IKernelEntry
    {
        lock (gate)
            return Usable(operation, type, layout, e, accepts).Where(k => PreferredOrNamed(k, e)).OrderByDescending(k => k.Priority).ToList();
    }

    /// <summary>
    /// Whether <paramref name="entry"/> runs on the emitter's device at its precision and is preferred there or named
    /// (CompileOptions.PreferKernels): what <see cref="Candidates"/> asks of each entry, for a layer that offers one
    /// entry's candidates beside others itself (MatMul's batched products, a strided gradient's phases).
    /// </summary>
    public static bool Offered(IKernelEntry entry, Emitter e) =>
        entry.Supports(e.Device) && entry.Arithmetic <= e.Precision && PreferredOrNamed(entry, e);

    static bool PreferredOrNamed(IKernelEntry entry, Emitter e) => e.Prefers(entry) || entry.PreferredOn(e.Device);

    /// <summary>
    /// Whether <paramref name="prefer"/> (CompileOptions.PreferKernels) names the entry called <paramref name="entry"/>:
    /// on its own ("Conv2dDirect") or with one of its candidates ("Conv2dCoopMatPatch:patch1x4r4m4", <see cref="Emitter.DefaultOf"/>).
    /// </summary>
    public static bool Names(IEnumerable<string> prefer, string entry) =>
        prefer.Any(p => p.StartsWith(entry, StringComparison.Ordinal) && (p.Length == entry.Length || p[entry.Length] == ':'));

    /// <summary><see cref="Names(IEnumerable{string}, string)"/> of <paramref name="entry"/>'s class name.</summary>
    public static bool Names(IEnumerable<string> prefer, IKernelEntry entry) => Names(prefer, entry.GetType().Name);

    /// <summary>
    /// The element type of the entries that serve values of <paramref name="type"/>: an f32 entry (f32 arithmetic,
    /// parameters and parameter gradients) also runs f16 activations, through its modules' f16-storage variants that
    /// <see cref="Emitter.Dispatch"/> picks from the values bound, so f16 values are served by f32 entries.
    /// </summary>
    public static ElementType EntryType(ElementType type) => type == ElementType.F16 ? ElementType.F32 : type;

    static List<T> Usable<T>(string operation, ElementType type, TensorLayout layout, Emitter e, Func<T, bool>? accepts) where T : class, IKernelEntry =>
        entries.OfType<T>()
            .Where(k => k.Operation == operation && k.ElementType == EntryType(type) && k.Layout == layout && k.Supports(e.Device)
                        && k.Arithmetic <= e.Precision && (accepts == null || accepts(k)))
            .ToList();

    public static IReadOnlyList<IKernelEntry> All
    {
        get { lock (gate) return entries.ToList(); }
    }
}
