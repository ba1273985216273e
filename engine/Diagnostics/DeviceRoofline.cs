using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// Measures a device's limits the way BENCHMARKS.md's H200 figures were measured (copy bandwidth counting read
/// and written bytes; fp32 FMA throughput) with two small kernels, shaders/roofline/*.comp. On a GPU it takes a
/// fraction of a second; on lavapipe about a second. The context needs <see cref="ContextOptions.Profiling"/>
/// for GPU timestamps; without them the host's submit-to-fence time is used (an underestimate of the limits).
/// </summary>
public static class DeviceRoofline
{
    const uint Local = 256;

    public static Roofline Measure(GpuContext context, int repeats = 5)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), $"repeats must be at least 1, got {repeats}.");
        var info = context.Info;
        // Large enough to leave the caches on a GPU (BENCHMARKS.md used 1 GiB), small on a CPU device.
        long want = info.IsCpu ? 32L << 20 : 512L << 20;
        long bytes = Math.Min(want, (long)info.MaxStorageBufferRange) / 16 * 16;
        uint count = (uint)(bytes / 16);
        using var src = context.Allocator.Allocate(bytes, "roofline copy source");
        using var dst = context.Allocator.Allocate(bytes, "roofline copy destination");
        var copy = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), Local);
        uint copyGroups = Math.Min((count + Local - 1) / Local, Math.Min(info.MaxWorkgroupCount[0], 65535u));
        double copyMs = Best(context, repeats, r => r.Dispatch(copy, new[] { Binding.Of(src), Binding.Of(dst) }, Words(count), copyGroups));

        uint invocations = info.IsCpu ? 16u * Local : 4096u * Local;
        uint iterations = info.IsCpu ? 4096u : 8192u;
        using var sink = context.Allocator.Allocate(invocations * 4L, "roofline fma results");
        var fma = new KernelSpec("roofline/roofline.fma", KernelSpec.Buffers(1), 8, Array.Empty<uint>(), Local);
        double fmaMs = Best(context, repeats, r => r.Dispatch(fma, new[] { Binding.Of(sink) }, Words(iterations, KernelSpec.Word(1f)), invocations / Local));
        double flops = 16.0 * invocations * iterations;
        return new Roofline(2.0 * bytes / (copyMs * 1e-3) / 1e9, flops / (fmaMs * 1e-3) / 1e12, bytes, copyMs, flops, fmaMs);
    }

    // One command list holding the one dispatch, replayed: the first replay warms up, the fastest of the rest counts.
    static double Best(GpuContext context, int repeats, Action<CommandRecorder> record)
    {
        using var list = context.CreateCommandList("roofline");
        record(list.Recorder);
        return list.FastestReplayMilliseconds(repeats);
    }

    static byte[] Words(params uint[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
}
