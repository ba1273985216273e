namespace Kiln.Graph;

/// <summary>
/// Orders the steps by dependency level and places one barrier between levels. A step's level is one more
/// than the highest level of an earlier step it conflicts with: both touch overlapping bytes (after memory
/// planning, so reuse of arena bytes counts) and at least one writes. Steps of one level run without a
/// barrier between them. <see cref="DataLevels"/> are the levels the values alone impose (as if each had bytes of its
/// own): the memory planner shares bytes only between values whose uses those levels keep apart, so that reuse adds
/// no level.
/// </summary>
internal static class Scheduler
{
    readonly record struct Range(object Buffer, long Start, long End, bool Write);

    /// <summary>Arena i is identified by the boxed index i; persistent values by themselves; the step state by <paramref name="state"/>.</summary>
    public static List<List<Step>> Levels(IReadOnlyList<Step> steps, object state)
    {
        var levels = Assign(steps, a => RangeOf(a, state));
        for (int i = 0; i < steps.Count; i++) steps[i].Level = levels[i];
        var result = new List<List<Step>>();
        for (int i = 0; i < steps.Count; i++)
        {
            while (result.Count <= levels[i]) result.Add(new List<Step>());
            result[levels[i]].Add(steps[i]);
        }
        return result;
    }

    /// <summary>Each step's level with every value in bytes of its own (before memory planning: transients by their root value).</summary>
    public static int[] DataLevels(IReadOnlyList<Step> steps, object state) =>
        Assign(steps, a => a.Value is { } v && v.Root.Kind == ValueKind.Transient
            ? new Range(v.Root, 0, v.Root.Bytes, a.Access != Access.Read)
            : RangeOf(a, state));

    static int[] Assign(IReadOnlyList<Step> steps, Func<Arg, Range> rangeOf)
    {
        var ranges = steps.Select(s => s.Args.Select(rangeOf).ToArray()).ToArray();
        var levels = new int[steps.Count];
        for (int i = 0; i < steps.Count; i++)
        {
            int level = 0;
            for (int j = 0; j < i; j++)
                if (levels[j] >= level && Conflict(ranges[i], ranges[j])) level = levels[j] + 1;
            levels[i] = level;
        }
        return levels;
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
