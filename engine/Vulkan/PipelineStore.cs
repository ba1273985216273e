using System.Reflection;
using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// Creates compute pipelines from the SPIR-V embedded in the assembly when they are first needed (one at a time, or a
/// set at once on several threads: <see cref="Warm"/>, which a compiled network and the tuner call), keeps each once
/// per <see cref="KernelSpec"/>, and keeps a VkPipelineCache that is loaded from and saved to disk.
/// </summary>
internal sealed unsafe class PipelineStore : IDisposable
{
    const string ResourcePrefix = "Kiln.Shaders/";
    readonly GpuContext context;
    readonly string? cacheDirectory;
    readonly Dictionary<string, ComputeKernel> kernels = new();
    readonly Dictionary<string, ShaderModule> modules = new();
    readonly object gate = new();
    readonly PipelineCache cache;

    /// <summary>The folder of the pipeline cache file (and of the kernel tuning file), or null when the disk cache is off.</summary>
    public string? CacheDirectory => cacheDirectory;

    public PipelineStore(GpuContext context, string? cacheDirectory)
    {
        this.context = context;
        this.cacheDirectory = cacheDirectory;
        cache = CreateCache(LoadCacheData());
    }

    /// <summary>Names of every embedded SPIR-V module ("conv2d/conv2d.fwd").</summary>
    public static IReadOnlyList<string> ModuleNames() =>
        typeof(PipelineStore).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix) && n.EndsWith(".spv"))
            .Select(n => n[ResourcePrefix.Length..^4]).OrderBy(n => n).ToList();

    static readonly Lazy<HashSet<string>> moduleSet = new(() => ModuleNames().ToHashSet());

    /// <summary>Whether a SPIR-V module of this name is embedded.</summary>
    public static bool HasModule(string module) => moduleSet.Value.Contains(module);

    public static byte[] ReadModule(string module)
    {
        using var s = typeof(PipelineStore).Assembly.GetManifestResourceStream(ResourcePrefix + module + ".spv")
            ?? throw new KilnException($"No shader module '{module}' is embedded in Kiln; the build compiles shaders/{module}.comp.");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    public int Count
    {
        get { lock (gate) return kernels.Count; }
    }

    public ComputeKernel Get(KernelSpec spec)
    {
        context.ThrowIfDisposed();
        lock (gate)
        {
            if (kernels.TryGetValue(spec.Key, out var k)) return k;
            k = new ComputeKernel(context, spec, Module(spec.Module), cache);
            kernels[spec.Key] = k;
            return k;
        }
    }

    /// <summary>
    /// Creates the pipelines of <paramref name="specs"/> that do not exist yet, on several threads at once (the driver's
    /// compiler is the slow part, and the pipeline cache takes concurrent creations): the tuner's candidates.
    /// </summary>
    public void Warm(IEnumerable<KernelSpec> specs)
    {
        context.ThrowIfDisposed();
        List<(KernelSpec Spec, ShaderModule Module)> missing;
        lock (gate)
            missing = specs.DistinctBy(s => s.Key).Where(s => !kernels.ContainsKey(s.Key)).Select(s => (s, Module(s.Module))).ToList();
        if (missing.Count < 2) return;
        var made = new ComputeKernel?[missing.Count];
        var errors = new Exception?[missing.Count];
        Parallel.For(0, missing.Count, i =>
        {
            try { made[i] = new ComputeKernel(context, missing[i].Spec, missing[i].Module, cache); }
            catch (KilnException e) { errors[i] = e; }
        });
        lock (gate)
            for (int i = 0; i < made.Length; i++)
            {
                if (made[i] is not { } k) continue;
                if (kernels.TryAdd(k.Spec.Key, k)) continue;
                k.Destroy(context); // made meanwhile by Get on another thread
            }
        if (errors.FirstOrDefault(e => e != null) is { } first) throw first;
    }

    ShaderModule Module(string name)
    {
        if (modules.TryGetValue(name, out var m)) return m;
        var code = ReadModule(name);
        fixed (byte* p = code)
        {
            var info = new ShaderModuleCreateInfo
            {
                SType = StructureType.ShaderModuleCreateInfo,
                CodeSize = (nuint)code.Length,
                PCode = (uint*)p,
            };
            VulkanException.Check(context.Vk.CreateShaderModule(context.Device, &info, null, &m), $"vkCreateShaderModule ({name})");
        }
        modules[name] = m;
        return m;
    }

    string? CachePath => cacheDirectory == null ? null : Path.Combine(cacheDirectory, PipelineCacheFile.FileName(context.Info));

    byte[]? LoadCacheData()
    {
        var path = CachePath;
        if (path == null || !File.Exists(path)) return null;
        try
        {
            var data = PipelineCacheFile.Unwrap(context.Info, File.ReadAllBytes(path), out var why);
            if (data == null) context.Log($"ignoring pipeline cache {path}: {why}");
            return data;
        }
        catch (IOException e)
        {
            context.Log($"ignoring pipeline cache {path}: {e.Message}");
            return null;
        }
    }

    PipelineCache CreateCache(byte[]? data)
    {
        fixed (byte* p = data)
        {
            var info = new PipelineCacheCreateInfo
            {
                SType = StructureType.PipelineCacheCreateInfo,
                InitialDataSize = (nuint)(data?.Length ?? 0),
                PInitialData = p,
            };
            PipelineCache c;
            var r = context.Vk.CreatePipelineCache(context.Device, &info, null, &c);
            if (r != Result.Success && data != null)
            {
                context.Log($"the driver rejected the pipeline cache file ({r}); starting empty");
                return CreateCache(null);
            }
            VulkanException.Check(r, "vkCreatePipelineCache");
            return c;
        }
    }

    /// <summary>The driver's cache data as it stands now.</summary>
    public byte[] CacheData()
    {
        nuint size = 0;
        context.Vk.GetPipelineCacheData(context.Device, cache, &size, null);
        var data = new byte[(int)size];
        fixed (byte* p = data) context.Vk.GetPipelineCacheData(context.Device, cache, &size, p);
        return data[..(int)size];
    }

    void Save()
    {
        var path = CachePath;
        if (path == null || kernels.Count == 0) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = PipelineCacheFile.Wrap(context.Info, CacheData());
            Kiln.IO.AtomicFile.Write(path, s => s.Write(data), perProcess: true); // a crash mid-write never leaves a torn cache
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Log($"could not save the pipeline cache to {path}: {e.Message}");
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            Save();
            foreach (var k in kernels.Values) k.Destroy(context);
            foreach (var m in modules.Values) context.Vk.DestroyShaderModule(context.Device, m, null);
            kernels.Clear();
            modules.Clear();
            context.Vk.DestroyPipelineCache(context.Device, cache, null);
        }
    }
}
