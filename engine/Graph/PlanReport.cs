namespace Kiln;

/// <summary>The compiled graph as `kiln plan` prints it: dispatches by level, barriers, memory.</summary>
public sealed record PlanReport
{
    public required IReadOnlyList<PlannedDispatch> Dispatches { get; init; }
    /// <summary>Barriers recorded per step (one between consecutive dependency levels).</summary>
    public int Barriers { get; init; }
    /// <summary>Bytes the plan allocates: persistent tensors plus the shared transient arena.</summary>
    public long PlannedBytes { get; init; }
    /// <summary>Bytes if every tensor had memory of its own.</summary>
    public long NaiveBytes { get; init; }
    public long ArenaBytes { get; init; }
    public long PersistentBytes { get; init; }
    public long ParameterCount { get; init; }
    /// <summary>Why this plan can't be allocated on the device it was planned for (tensors past the largest storage buffer).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
}

/// <summary>One dispatch of a plan.</summary>
public sealed record PlannedDispatch(int Level, string Phase, string Label, string Kernel, string Groups, IReadOnlyList<string> Reads, IReadOnlyList<string> Writes)
{
    /// <summary>Its arithmetic, 2 per multiply-add, for the convolutions' and products' compute dispatches; 0 for passes that only move data.</summary>
    public double Flops { get; init; }
    /// <summary>Bytes of the values it binds, once per direction: what a pass that touches each element once moves.</summary>
    public long Bytes { get; init; }
}
