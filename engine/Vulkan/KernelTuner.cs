using System.Diagnostics;
using System.Text.Json;

namespace Kiln.Vulkan;

/// <summary>One way to run a kernel (a tile size, say) that <see cref="KernelTuner"/> can time.</summary>
internal sealed record TuneCandidate(string Name, KernelSpec Spec, (uint X, uint Y, uint Z) Groups, byte[] Push);

/// <summary>
/// Picks the fastest of a kernel's candidates for one shape on this device by running each on scratch buffers of the
/// real sizes, and remembers the choice: in memory for the context, and on disk beside the pipeline cache
/// (tuning-UUID-DRIVER.json, written atomically), so the next process skips the timing. A file that can't be read or
/// parsed is ignored with a warning. Choices change tile sizes only, never the order of a sum: results are the same
/// whichever candidate wins.
/// </summary>
internal sealed class KernelTuner
{
    const string Format = "kiln-tuning-1";
    const int DispatchesPerRun = 4, Runs = 3;
    readonly GpuContext context;
    readonly string? path;
    readonly Dictionary<string, string> choices;
    readonly object gate = new();

    public KernelTuner(GpuContext context, string? directory)
    {
        this.context = context;
        var d = context.Info;
        path = directory == null ? null : Path.Combine(directory, $"tuning-{d.PipelineCacheUuid:N}-{d.DriverVersion:x8}.json");
        choices = Load();
    }

    /// <summary>Shapes timed in this context (not found in memory or on disk): for tests and reports.</summary>
    public int Timed { get; private set; }

    /// <summary>Where the choices are kept on disk, or null when the disk cache is off.</summary>
    public string? FilePath => path;

    /// <summary>
    /// The index of the candidate to use for <paramref name="key"/> (a description of the operation and its shape):
    /// the remembered one, else the fastest after timing all of them on buffers of <paramref name="bindingBytes"/>.
    /// </summary>
    public int Choose(string key, IReadOnlyList<TuneCandidate> candidates, IReadOnlyList<long> bindingBytes)
    {
        if (candidates.Count == 0) throw new ArgumentException("no candidates to tune", nameof(candidates));
        if (candidates.Count == 1) return 0;
        lock (gate)
        {
            if (choices.TryGetValue(key, out var name))
            {
                for (int i = 0; i < candidates.Count; i++)
                    if (candidates[i].Name == name) return i;
            }
            int best = Time(key, candidates, bindingBytes);
            choices[key] = candidates[best].Name;
            Timed++;
            Save();
            return best;
        }
    }

    int Time(string key, IReadOnlyList<TuneCandidate> candidates, IReadOnlyList<long> bindingBytes)
    {
        // A candidate the driver can't build is skipped below (its error logged), not fatal: the others still run.
        try { context.Pipelines.Warm(candidates.Select(c => c.Spec)); }
        catch (KilnException e) when (!Lost(e)) { context.Log($"tuning {key}: {e.Message}"); }
        var scratch = new List<BufferAllocation>();
        try
        {
            foreach (var bytes in bindingBytes)
            {
                var b = context.Allocator.Allocate(Math.Max(16, (bytes + 15) / 16 * 16), $"tuning scratch ({key})");
                scratch.Add(b);
            }
            using (var fill = context.CreateCommandList("tuning scratch fill"))
            {
                foreach (var b in scratch) fill.Recorder.Fill(b, 0);
                fill.Run();
            }
            var bindings = scratch.Select(b => Binding.Range(b, 0, b.Size)).ToArray();
            int best = -1;
            double bestMs = double.PositiveInfinity;
            KilnException? failed = null;
            for (int i = 0; i < candidates.Count; i++)
            {
                double ms;
                try { ms = Measure(candidates[i], bindings); }
                catch (KilnException e) when (!Lost(e))
                {
                    context.Log($"tuning {key}: candidate {candidates[i].Name} skipped: {e.Message}");
                    failed = e;
                    continue;
                }
                if (ms < bestMs) (best, bestMs) = (i, ms);
            }
            return best >= 0 ? best : throw new KilnException($"tuning {key}: no candidate ran ({failed?.Message}).");
        }
        finally
        {
            foreach (var b in scratch) b.Dispose();
        }
    }

    /// <summary>The fastest of <see cref="Runs"/> replays of <see cref="DispatchesPerRun"/> dispatches, after one warm-up.</summary>
    double Measure(TuneCandidate c, Binding[] bindings)
    {
        using var list = context.CreateCommandList($"tuning {c.Name}");
        for (int k = 0; k < DispatchesPerRun; k++)
        {
            list.Recorder.Dispatch(c.Spec, bindings, c.Push, c.Groups.X, c.Groups.Y, c.Groups.Z, $"tuning {c.Name}");
            list.Recorder.Barrier(BarrierKind.Full);
        }
        list.Run(); // warm-up: caches, clocks
        double ms = double.PositiveInfinity;
        for (int r = 0; r < Runs; r++)
        {
            var sw = Stopwatch.StartNew();
            list.Run();
            sw.Stop();
            ms = Math.Min(ms, list.TimedSpanMilliseconds() ?? sw.Elapsed.TotalMilliseconds);
        }
        return ms;
    }

    /// <summary>A lost device ends the context: never swallowed as one candidate's failure.</summary>
    static bool Lost(KilnException e) => e is VulkanException { ResultName: "ErrorDeviceLost" };

    Dictionary<string, string> Load()
    {
        var empty = new Dictionary<string, string>();
        if (path == null || !File.Exists(path)) return empty;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.GetString() != Format ||
                !root.TryGetProperty("choices", out var c) || c.ValueKind != JsonValueKind.Object)
            {
                context.Log($"ignoring kernel tuning file {path}: not a {Format} file");
                return empty;
            }
            var result = new Dictionary<string, string>();
            foreach (var p in c.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) result[p.Name] = p.Value.GetString()!;
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            context.Log($"ignoring kernel tuning file {path}: {e.Message}");
            return empty;
        }
    }

    void Save()
    {
        if (path == null) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var json = JsonSerializer.Serialize(new
            {
                format = Format,
                device = context.Info.Name,
                driver = context.Info.DriverInfo,
                choices = new SortedDictionary<string, string>(choices, StringComparer.Ordinal),
            }, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            var bytes = System.Text.Encoding.UTF8.GetBytes(json);
            Kiln.IO.AtomicFile.Write(path, s => s.Write(bytes), perProcess: true); // a crash mid-write never leaves a torn file
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Log($"could not write kernel tuning file {path}: {e.Message}");
        }
    }
}
