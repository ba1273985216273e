using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Timestamp queries around dispatches (a profiling option: the fast path records none). Results are read
/// after the owning submission has completed.
/// </summary>
internal sealed unsafe class GpuTimer : GpuResource
{
    readonly QueryPool pool;
    readonly uint capacity;
    readonly List<string> labels = new();
    readonly double nsPerTick;

    public GpuTimer(GpuContext context, uint capacity) : base(context)
    {
        this.capacity = capacity;
        nsPerTick = context.Info.TimestampPeriodNs;
        var info = new QueryPoolCreateInfo
        {
            SType = StructureType.QueryPoolCreateInfo,
            QueryType = QueryType.Timestamp,
            QueryCount = capacity * 2,
        };
        QueryPool p;
        VulkanException.Check(context.Vk.CreateQueryPool(context.Device, &info, null, &p), "vkCreateQueryPool");
        pool = p;
        context.Objects.Created("VkQueryPool", p.Handle, "GPU timer");
    }

    public override string Describe() => "GPU timer";

    public bool Supported => nsPerTick > 0;

    public void Reset(CommandBuffer cmd)
    {
        labels.Clear();
        Context.Vk.CmdResetQueryPool(cmd, pool, 0, capacity * 2);
    }

    public void Begin(CommandBuffer cmd, string label)
    {
        if (!Supported || labels.Count >= capacity) return;
        Context.Vk.CmdWriteTimestamp(cmd, PipelineStageFlags.TopOfPipeBit, pool, (uint)labels.Count * 2);
        labels.Add(label);
    }

    public void End(CommandBuffer cmd)
    {
        if (!Supported || labels.Count == 0 || labels.Count > capacity) return;
        Context.Vk.CmdWriteTimestamp(cmd, PipelineStageFlags.BottomOfPipeBit, pool, (uint)(labels.Count - 1) * 2 + 1);
    }

    /// <summary>Milliseconds of each timed span, in recording order.</summary>
    public IReadOnlyList<(string Label, double Milliseconds)> Read()
    {
        if (!Supported || labels.Count == 0) return Array.Empty<(string, double)>();
        var data = new ulong[labels.Count * 2];
        fixed (ulong* p = data)
            VulkanException.Check(Context.Vk.GetQueryPoolResults(Context.Device, pool, 0, (uint)data.Length, (nuint)(data.Length * 8), p, 8,
                QueryResultFlags.Result64Bit | QueryResultFlags.ResultWaitBit), "vkGetQueryPoolResults");
        return labels.Select((l, i) => (l, (data[2 * i + 1] - data[2 * i]) * nsPerTick / 1e6)).ToList();
    }

    /// <summary>
    /// Milliseconds from the start of the first timed span to the end of the last one: the whole recording as the
    /// GPU ran it, barriers and gaps between dispatches included. Null when nothing was timed.
    /// </summary>
    public double? SpanMilliseconds()
    {
        if (!Supported || labels.Count == 0) return null;
        var data = new ulong[labels.Count * 2];
        fixed (ulong* p = data)
            VulkanException.Check(Context.Vk.GetQueryPoolResults(Context.Device, pool, 0, (uint)data.Length, (nuint)(data.Length * 8), p, 8,
                QueryResultFlags.Result64Bit | QueryResultFlags.ResultWaitBit), "vkGetQueryPoolResults");
        ulong first = data.Where((_, i) => i % 2 == 0).Min(), last = data.Where((_, i) => i % 2 == 1).Max();
        return last <= first ? 0 : (last - first) * nsPerTick / 1e6;
    }

    protected override void DestroyNow()
    {
        Context.Vk.DestroyQueryPool(Context.Device, pool, null);
        Context.Objects.Destroyed("VkQueryPool", pool.Handle);
    }
}
