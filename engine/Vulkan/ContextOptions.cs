using Microsoft.Extensions.Logging;

namespace Kiln;

/// <summary>How a <see cref="GpuContext"/> is created. Every field has a sensible default.</summary>
public sealed record ContextOptions
{
    /// <summary>
    /// Turn on VK_LAYER_KHRONOS_validation with a debug messenger. Null means: on when the environment
    /// variable KILN_VALIDATION is 1.
    /// </summary>
    public bool? Validation { get; init; }

    /// <summary>Also turn on the layer's synchronization validation (slower; tests use it).</summary>
    public bool SynchronizationValidation { get; init; }

    /// <summary>
    /// Device to use: an index into the enumerated devices or a substring of the device name. Null means:
    /// the KILN_DEVICE environment variable, else a discrete GPU, then an integrated one, then a CPU device.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>A memory limit of Kiln's own, below the device's: allocations past it throw <see cref="GpuOutOfMemoryException"/>.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Size of the device-local blocks buffers are carved from. Default 64 MiB.</summary>
    public long BlockBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Folder for the pipeline cache file; null means KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln or ~/.cache/kiln.
    /// An empty string turns the disk cache off.
    /// </summary>
    public string? PipelineCacheDirectory { get; init; }

    /// <summary>
    /// How long this context may spend timing kernels for <see cref="Kiln.CompileOptions.Autotune"/> (wall clock, all
    /// compiles together); null (the default): no limit. Once spent, a shape not yet tuned keeps the kernel chosen without
    /// tuning and is not remembered, so a later context times it: a cap on how long a first compile on a new device takes.
    /// Null here takes KILN_TUNING_BUDGET (seconds) where that is set.
    /// </summary>
    public TimeSpan? TuningBudget { get; init; }

    /// <summary>Record GPU timestamps around dispatches (off in the fast path).</summary>
    public bool Profiling { get; init; }

    /// <summary>Receives validation and Kiln warnings (e.g. an ignored pipeline cache file). Default: standard error.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// The host's logger (Microsoft.Extensions.Logging): Kiln's warnings and validation messages go to it at
    /// Warning level, under the "Kiln" category the host gave it. Used when <see cref="Log"/> is null.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// For a host that shares its queue with Kiln (<see cref="GpuContext.Adopt"/>): Kiln calls this around each of
    /// its own queue submissions, passing the submission as an action; the host runs it while holding whatever
    /// lock guards its queue (vkQueueSubmit needs the queue externally synchronized). Null: Kiln only takes its
    /// own lock, and the host must not submit to the queue from another thread at the same time.
    /// </summary>
    public Action<Action>? QueueAccess { get; init; }
}
