using System.Collections.Concurrent;

namespace Kiln.Vulkan;

/// <summary>
/// Kiln's own list of the Vulkan objects it created and has not destroyed. The validation layer reports
/// leaks only at vkDestroyDevice, which never happens on a host's adopted device; this catches them there too.
/// </summary>
internal sealed class ObjectRegistry
{
    readonly ConcurrentDictionary<(string Type, ulong Handle), string> live = new();

    public void Created(string type, ulong handle, string what) => live[(type, handle)] = what;

    public void Destroyed(string type, ulong handle) => live.TryRemove((type, handle), out _);

    /// <summary>One line per live object: its type, handle and what created it.</summary>
    public IReadOnlyList<string> Live() =>
        live.Select(kv => $"{kv.Key.Type} 0x{kv.Key.Handle:x} ({kv.Value})").OrderBy(s => s).ToList();

    public int Count => live.Count;
}
