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
    bool Supports(DeviceInfo device);
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

    /// <summary>The best entry of type <typeparamref name="T"/> for this operation, type, layout and device.</summary>
    public static T Choose<T>(string operation, ElementType type, TensorLayout layout, DeviceInfo device) where T : class, IKernelEntry
    {
        lock (gate)
        {
            var best = entries.OfType<T>()
                .Where(e => e.Operation == operation && e.ElementType == type && e.Layout == layout && e.Supports(device))
                .OrderByDescending(e => e.Priority).FirstOrDefault();
            return best ?? throw new GraphException(
                $"No {operation} kernel for {type.Name()} {layout} on {device.Name}; registered: " +
                string.Join(", ", entries.Where(e => e.Operation == operation).Select(e => $"{e.GetType().Name} ({e.ElementType.Name()} {e.Layout})")));
        }
    }

    public static IReadOnlyList<IKernelEntry> All
    {
        get { lock (gate) return entries.ToList(); }
    }
}
