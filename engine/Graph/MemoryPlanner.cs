namespace Kiln.Graph;

/// <summary>
/// Liveness-based memory planning: each transient value lives from the first to the last step that touches
/// it (or any view of it); values never alive together share bytes of one arena. Greedy: largest first, at
/// the lowest offset that overlaps no placed value whose lifetime intersects.
/// </summary>
internal static class MemoryPlanner
{
    public const long Alignment = 256;

    public sealed record Plan(long ArenaBytes, long PersistentBytes, long NaiveBytes);

    public static Plan Assign(IReadOnlyList<Value> values, IReadOnlyList<Step> steps)
    {
        var first = new Dictionary<Value, int>();
        var last = new Dictionary<Value, int>();
        for (int i = 0; i < steps.Count; i++)
            foreach (var a in steps[i].Args)
            {
                if (a.Value == null) continue;
                var r = a.Value.Root;
                if (!first.ContainsKey(r)) first[r] = i;
                last[r] = i;
            }

        var roots = values.Where(v => v.AliasOf == null).ToList();
        long naive = roots.Sum(v => v.Bytes);
        long persistent = roots.Where(v => v.Kind != ValueKind.Transient).Sum(v => v.Bytes);
        var placed = new List<(long Start, long End, int First, int Last)>();
        long arena = 0;
        foreach (var v in roots.Where(v => v.Kind == ValueKind.Transient && first.ContainsKey(v)).OrderByDescending(v => v.Bytes).ThenBy(v => v.Id))
        {
            int f = first[v], l = last[v];
            long size = (v.Bytes + Alignment - 1) / Alignment * Alignment;
            var clashes = placed.Where(p => p.First <= l && f <= p.Last).OrderBy(p => p.Start).ToList();
            long offset = 0;
            foreach (var c in clashes)
            {
                if (offset + size <= c.Start) break;
                offset = Math.Max(offset, c.End);
            }
            v.ArenaOffset = offset;
            placed.Add((offset, offset + size, f, l));
            arena = Math.Max(arena, offset + size);
        }
        return new Plan(arena, persistent, naive);
    }
}
