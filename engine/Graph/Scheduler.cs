namespace Kiln.Graph;

/// <summary>
/// Orders the steps by dependency level and places one barrier between levels. A step's level is one more
/// than the highest level of an earlier step it conflicts with: both touch overlapping bytes (after memory
/// planning, so reuse of arena bytes counts) and at least one writes. Steps of one level run without a
/// barrier between them.
/// </summary>
internal static class Scheduler
{
    readonly record struct Range(object Buffer, long Start, long End, bool Write);

    /// <summary>Arena i is identified by the boxed index i; persistent values by themselves; the step state by <paramref name="state"/>.</summary>
    public static List<List<Step>> Levels(IReadOnlyList<Step> steps, object state)
    {
        var ranges = steps.Select(s => s.Args.Select(a => RangeOf(a, state)).ToArray()).ToArray();
        var levels = new int[steps.Count];
        for (int i = 0; i < steps.Count; i++)
        {
            int level = 0;
            for (int j = 0; j < i; j++)
                if (levels[j] >= level && Conflict(ranges[i], ranges[j])) level = levels[j] + 1;
            levels[i] = level;
            steps[i].Level = level;
        }
        var result = new List<List<Step>>();
        for (int i = 0; i < steps.Count; i++)
        {
            while (result.Count <= levels[i]) result.Add(new List<Step>());
            result[levels[i]].Add(steps[i]);
        }
        return result;
    }

    static readonly object[] ArenaKeys = Enumerable.Range(0, 64).Select(i => (object)i).ToArray();

    static Range RangeOf(Arg a, object state)
    {
        bool write = a.Access != Access.Read;
        if (a.Value == null) return new Range(state, 0, 1, write);
        var root = a.Value.Root;
        if (root.Kind == ValueKind.Transient) return new Range(ArenaKeys[root.ArenaIndex], root.ArenaOffset, root.ArenaOffset + root.Bytes, write);
        return new Range(root, 0, root.Bytes, write);
    }

    static bool Conflict(Range[] a, Range[] b)
    {
        foreach (var x in a)
            foreach (var y in b)
                if ((x.Write || y.Write) && ReferenceEquals(x.Buffer, y.Buffer) && x.Start < y.End && y.Start < x.End)
                    return true;
        return false;
    }
}
