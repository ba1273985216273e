namespace Kiln;

/// <summary>GPU memory ran out: the device's, or the limit set in <see cref="ContextOptions.MemoryLimitBytes"/>.</summary>
public sealed class GpuOutOfMemoryException : KilnException
{
    /// <summary>Bytes the failed allocation asked for.</summary>
    public long RequestedBytes { get; }
    /// <summary>Bytes still free under the limit (or the device budget) when it failed.</summary>
    public long FreeBytes { get; }

    internal GpuOutOfMemoryException(string what, long requested, long free, string limitKind)
        : base($"Out of GPU memory allocating {what}: asked for {Bytes(requested)}, {Bytes(free)} free under the {limitKind}.")
    {
        RequestedBytes = requested;
        FreeBytes = free;
    }

    static string Bytes(long n) => n >= 1 << 20 ? $"{n / (double)(1 << 20):0.##} MiB ({n} bytes)" : $"{n} bytes";
}
