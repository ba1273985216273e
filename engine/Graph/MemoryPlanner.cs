namespace Kiln.Graph;

/// <summary>
/// Liveness-based memory planning: each transient value lives from the first to the last step that touches
/// it (or any view of it); values never alive together share bytes of one arena. Given the steps' dependency levels
/// (<see cref="Scheduler.DataLevels"/>), two values share bytes only where one's last use comes before the other's first
/// both in step order and in level, so sharing bytes adds no barrier: steps that may run together in one level never
/// touch the same bytes through different values. Greedy: largest first, at the lowest offset that overlaps no placed
/// value it may not share with.
/// </summary>
internal static class MemoryPlanner
{
    public const long Alignment = 256;

    /// <summary>Bytes of each arena (the transient values are spread over as many as the buffer size limit needs), of persistent tensors, and of all tensors.</summary>
    public sealed record Plan(IReadOnlyList<long> ArenaBytes, long PersistentBytes, long NaiveBytes, IReadOnlyList<string> Oversized)
    {
        public long TotalArenaBytes => ArenaBytes.Sum();
    }

    /// <summary>Places every transient value; <paramref name="maxArenaBytes"/> is the largest buffer one arena may be (the device's maxStorageBufferRange).</summary>
    public static Plan Assign(IReadOnlyList<Value> values, IReadOnlyList<Step> steps, long maxArenaBytes, IReadOnlyList<int>? levels = null)
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
        // Per value, the lowest and highest level of the steps that touch it.
        var low = new Dictionary<Value, int>();
        var high = new Dictionary<Value, int>();
        if (levels != null)
            for (int i = 0; i < steps.Count; i++)
                foreach (var a in steps[i].Args)
                {
                    if (a.Value == null) continue;
                    var r = a.Value.Root;
                    low[r] = low.TryGetValue(r, out int lo) ? Math.Min(lo, levels[i]) : levels[i];
                    high[r] = high.TryGetValue(r, out int hi) ? Math.Max(hi, levels[i]) : levels[i];
                }

        var roots = values.Where(v => v.AliasOf == null).ToList();
        // Every tensor a step touches on its own (an offered fusion's value that its rule left unwritten is none).
        long naive = roots.Where(v => v.Kind != ValueKind.Transient || first.ContainsKey(v)).Sum(v => v.Bytes);
        long persistent = roots.Where(v => v.Kind != ValueKind.Transient).Sum(v => v.Bytes);
        var placed = new List<(int Arena, long Start, long End, int First, int Last, int Low, int High)>();
        var arenas = new List<long>();
        var oversized = new List<string>();
        foreach (var v in roots.Where(v => v.Kind == ValueKind.Transient && first.ContainsKey(v)).OrderByDescending(v => v.Bytes).ThenBy(v => v.Id))
        {
            int f = first[v], l = last[v], lo = levels != null ? low[v] : f, hi = levels != null ? high[v] : l;
            long size = (v.Bytes + Alignment - 1) / Alignment * Alignment;
            if (v.Bytes > maxArenaBytes)
            {
                // Planned (so `kiln plan` can show it) in an arena of its own, but it can't be allocated on this device.
                oversized.Add($"{v.Name} {v.Shape} needs {v.Bytes} bytes, more than the device's largest storage buffer ({maxArenaBytes} bytes)");
                v.ArenaIndex = arenas.Count;
                v.ArenaOffset = 0;
                arenas.Add(size);
                placed.Add((v.ArenaIndex, 0, size, f, l, lo, hi));
                continue;
            }
            for (int a = 0; ; a++)
            {
                if (a == arenas.Count) arenas.Add(0);
                // Apart: one's last use before the other's first, in step order and in level (without levels the step order alone).
                var clashes = placed.Where(p => p.Arena == a && !(p.Last < f && p.High < lo) && !(l < p.First && hi < p.Low))
                    .OrderBy(p => p.Start).ToList();
                long offset = 0;
                foreach (var c in clashes)
                {
                    if (offset + size <= c.Start) break;
                    offset = Math.Max(offset, c.End);
                }
                if (offset + v.Bytes > maxArenaBytes || placed.Any(p => p.Arena == a && p.End - p.Start > maxArenaBytes)) continue;
                v.ArenaIndex = a;
                v.ArenaOffset = offset;
                placed.Add((a, offset, offset + size, f, l, lo, hi));
                arenas[a] = Math.Max(arenas[a], offset + size);
                break;
            }
        }
        return new Plan(arenas, persistent, naive, oversized);
    }
}
