namespace Kiln.Graph;

/// <summary>
/// A compiled graph before any GPU memory exists: its values, its steps ordered into dependency levels,
/// and the memory plan. <see cref="CompiledNetwork"/> allocates and prepares it; `kiln plan` only prints it.
/// </summary>
internal sealed class GraphPlan
{
    /// <summary>Identity of the step-state buffer in the scheduler's hazard analysis.</summary>
    public static readonly object StateKey = new();

    public required Emitter Emitter { get; init; }
    public required Dictionary<string, Value> Inputs { get; init; }
    public required Dictionary<string, Value> Outputs { get; init; }
    public required List<(string Name, Value Value, ParameterSpec Spec)> Parameters { get; init; }
    public required List<(Value Param, Value Grad)> ParameterGradients { get; init; }
    public required Dictionary<string, Value> InputGradients { get; init; }
    public required MemoryPlanner.Plan Memory { get; init; }
    public required List<List<Step>> Levels { get; init; }
    /// <summary>The loss scaling the plan's steps run with (<see cref="CompileOptions.LossScaling"/>; Off outside training).</summary>
    public required LossScaling LossScaling { get; init; }

    public PlanReport Report() => new()
    {
        Dispatches = Levels.SelectMany(l => l).Select(s => new PlannedDispatch(s.Level, s.Phase, s.Label, s.Spec.Module,
            $"{s.GroupsX}x{s.GroupsY}x{s.GroupsZ}",
            s.Args.Where(a => a.Access != Access.Write).Select(a => a.Value?.Name ?? "step_state").ToList(),
            s.Args.Where(a => a.Access != Access.Read).Select(a => a.Value?.Name ?? "step_state").ToList())
        {
            Flops = s.Flops,
            Bytes = s.Bytes,
        }).ToList(),
        Barriers = Math.Max(0, Levels.Count - 1),
        PlannedBytes = Memory.TotalArenaBytes + Memory.PersistentBytes,
        NaiveBytes = Memory.NaiveBytes,
        ArenaBytes = Memory.TotalArenaBytes,
        PersistentBytes = Memory.PersistentBytes,
        ParameterCount = Parameters.Sum(p => p.Value.Shape.Elements),
        Warnings = Memory.Oversized,
    };
}
