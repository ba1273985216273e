using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Kiln.Vulkan;

/// <summary>
/// One way to run a kernel (a tile size, say) that <see cref="KernelTuner"/> can time: one dispatch on the bindings; with
/// <see cref="Prepare"/>, after a pass that rewrites one of its inputs into a scratch buffer the kernel binds in its
/// place (a weight packed into the layout the kernel loads); with <see cref="Finish"/>, a split reduction: the kernel
/// writes partial results into a scratch buffer in place of its last written binding (the output; a .concat weight
/// gradient binds its second input after it), and the finish adds them into that output.
/// </summary>
internal sealed record TuneCandidate(string Name, KernelSpec Spec, (uint X, uint Y, uint Z) Groups, byte[] Push)
{
    public TunePrepare? Prepare { get; init; }
    public TuneFinish? Finish { get; init; }
    /// <summary>Its arithmetic (2 per multiply-add) where it does fewer products than the layer's direct form and says so
    /// (the sub-pixel decoder convolutions); null: the layer's.</summary>
    public double? Flops { get; init; }

    /// <summary>
    /// This candidate in its module's "<paramref name="suffix"/>" variant, which binds one storage buffer more after its
    /// own (a fused epilogue's extra operand: the ".dact" input gradients' activation output, the ".bias" weight
    /// gradients' bias gradient), where the module has that variant; else null. Tiles, groups and push constants stay.
    /// </summary>
    public TuneCandidate? WithBufferVariant(string suffix) => PipelineStore.HasModule(Spec.Module + suffix)
        ? this with { Spec = Spec with { Module = Spec.Module + suffix, Bindings = Spec.Bindings.Append(BindingKind.StorageBuffer).ToArray() } }
        : null;
}

/// <summary>
/// The first pass of a <see cref="TuneCandidate"/> that reads one input in a layout of its own: a dispatch binding
/// (input <paramref name="Input"/>, scratch) that writes <paramref name="Elements"/> values of <paramref name="Type"/>
/// into the scratch, which the candidate then binds in place of that input. Part of the candidate's cost: timed with it,
/// and emitted before it in the graph (the scratch a value of its own, <see cref="Kiln.Graph.ValueKind.Derived"/>).
/// </summary>
internal sealed record TunePrepare(KernelSpec Spec, (uint X, uint Y, uint Z) Groups, byte[] Push, int Input, int Elements, ElementType Type)
{
    public long Bytes => (long)Elements * Type.SizeInBytes();
}

/// <summary>
/// The second pass of a split-reduction <see cref="TuneCandidate"/>: a dispatch binding (partials, bias, output), as
/// shaders/reduce/partials.comp does (without a bias its bias slot bound to the partials), over <paramref name="Splits"/>
/// f32 partials of <paramref name="Count"/> values each.
/// </summary>
internal sealed record TuneFinish(KernelSpec Spec, (uint X, uint Y, uint Z) Groups, int Splits, long Count)
{
    public long PartialBytes => Splits * Count * sizeof(float);
    /// <summary>The candidate's binding that the finish binds as its bias (its second slot), or null: none.</summary>
    public int? Bias { get; init; }

    /// <summary>The candidate's binding whose place the partials take and which the finish writes: its last written one
    /// (0 where none is written).</summary>
    public static int Output(IEnumerable<bool> written) => Math.Max(0, written.ToList().FindLastIndex(w => w));

    /// <summary>The finish's bindings: the partials, the bias (the candidate's binding <see cref="Bias"/>, else the partials
    /// again), the output; <paramref name="binding"/> gives the candidate's binding of an index.</summary>
    public T[] Bindings<T>(T partials, T output, Func<int, T> binding) => new[] { partials, Bias is { } b ? binding(b) : partials, output };
}

/// <summary>
/// One binding of the kernels a <see cref="KernelTuner"/> times: its size, the width of its floats (4: f32, 2: f16) and
/// whether the kernels write it (their result, compared between candidates) or only read it (filled with random values).
/// </summary>
internal readonly record struct TuneBinding(long Bytes, int FloatBytes, bool Written);

/// <summary>
/// Picks the fastest of a kernel's candidates for one shape on this device by running each on scratch buffers of the
/// real sizes (the GPU kept busy for 100 ms first; each candidate after a few milliseconds of untimed replays, the
/// fastest of three replays; the contenders within 2x of the fastest timed a second time, each keeping its faster
/// time), and remembers the choice: in memory for the context, and on disk beside the pipeline cache
/// (tuning-UUID-DRIVER.json, written atomically), so the next process skips the timing. A file that can't be read or
/// parsed is ignored with a warning. Candidates run on random inputs, each on outputs filled with NaN first, and each
/// one's result is compared with the first candidate's (the kernel the registry picks untuned, which the test suite
/// covers): one that differs by more than the caller's tolerance of the largest value, or leaves or writes a NaN where
/// the first does not, is rejected with a warning, so a kernel that is wrong on this device or driver is never chosen,
/// however fast.
/// </summary>
internal sealed class KernelTuner
{
    const string Format = "kiln-tuning-1";
    const int DispatchesPerRun = 4, Runs = 3;
    /// <summary>Candidates within this ratio of the fastest (at most <see cref="Contenders"/>) are timed a second time.</summary>
    const double ContenderRatio = 2;
    const int Contenders = 8;
    /// <summary>Each candidate's untimed replays last at least this long (see <see cref="Measure"/>).</summary>
    static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(5);
    /// <summary>
    /// The first candidate's untimed replays before a shape's first round: on the H200 the GPU's clocks rose over a
    /// few hundred milliseconds of load after the host's work of building a shape's pipelines, so the first candidates
    /// of a shape measured up to 3 times slower than the same kernels timed at its end (and every candidate of a small
    /// shape, whose whole round is a few milliseconds of work, up to 5 times).
    /// </summary>
    static readonly TimeSpan ShapeWarmup = TimeSpan.FromMilliseconds(100);
    readonly GpuContext context;
    readonly string? path;
    // KILN_TUNING_TRACE=1: each timed shape's candidates with their times go to the context's log (the data behind a
    // choice, for a device run; the file keeps only the choice).
    readonly bool trace = Environment.GetEnvironmentVariable("KILN_TUNING_TRACE") == "1";
    readonly Dictionary<string, string> choices;
    // For each key Choose timed: a fingerprint of the candidates' names then (the file's "among"). A remembered choice is
    // followed only among the same candidates; where they changed (a Kiln that offers other tiles, or a file written
    // before fingerprints) the shape is timed again. Whole-plan choices (Record, Recall) have none.
    readonly Dictionary<string, string> among;
    readonly object gate = new();
    TimeSpan? budget;
    bool warnedBudget;

    public KernelTuner(GpuContext context, string? directory)
    {
        this.context = context;
        var d = context.Info;
        path = directory == null ? null : Path.Combine(directory, $"tuning-{d.PipelineCacheUuid:N}-{d.DriverVersion:x8}.json");
        (choices, among) = Load();
    }

    /// <summary>Shapes timed in this context (not found in memory or on disk): for tests and reports.</summary>
    public int Timed { get; private set; }

    /// <summary>Where the choices are kept on disk, or null when the disk cache is off.</summary>
    public string? FilePath => path;

    /// <summary>Candidates rejected in this context because their results differed from the first candidate's.</summary>
    public int Rejected { get; private set; }

    /// <summary>
    /// The index of the candidate to use for <paramref name="key"/> (a description of the operation and its shape):
    /// the remembered one where it was chosen among candidates of the same names, else the fastest of those whose results
    /// agree with candidate 0's within <paramref name="tolerance"/> (max |difference| / max |candidate 0's|), timed on scratch buffers of <paramref name="bindings"/>;
    /// candidate 0, unremembered, where those buffers don't fit in memory or the budget is spent.
    /// </summary>
    public int Choose(string key, IReadOnlyList<TuneCandidate> candidates, IReadOnlyList<TuneBinding> bindings, double tolerance)
    {
        if (candidates.Count == 0) throw new ArgumentException("no candidates to tune", nameof(candidates));
        if (candidates.Count == 1) return 0;
        lock (gate)
        {
            string set = Fingerprint(candidates);
            if (choices.TryGetValue(key, out var name) && among.GetValueOrDefault(key) == set)
            {
                for (int i = 0; i < candidates.Count; i++)
                    if (candidates[i].Name == name) return i;
            }
            if (BudgetSpent)
            {
                Skipped++;
                return 0;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                if (Time(key, candidates, bindings, tolerance) is not { } best) return 0;
                choices[key] = candidates[best].Name;
                among[key] = set;
                Timed++;
                Save();
                return best;
            }
            finally { Seconds += clock.Elapsed.TotalSeconds; }
        }
    }

    /// <summary>
    /// The wall-clock time this context may spend timing (<see cref="Choose"/>, and the layout choice's plan timings
    /// that <see cref="Charge"/> adds); null: no limit. Once spent, a shape not yet remembered takes candidate 0 (the
    /// registry's untuned choice), unremembered, so a later context times it: a cap on how long a first compile takes.
    /// A shape being timed when the budget runs out is finished.
    /// </summary>
    public TimeSpan? Budget
    {
        get { lock (gate) return budget; }
        set
        {
            if (value is { } v && v < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(value), $"A tuning budget can't be negative, got {v}.");
            lock (gate)
            {
                budget = value;
                warnedBudget = false;
            }
        }
    }

    /// <summary>Seconds spent timing in this context: for reports (`kiln bench` prints them).</summary>
    public double Seconds { get; private set; }

    /// <summary>Shapes that took the untuned choice because <see cref="Budget"/> was spent.</summary>
    public int Skipped { get; private set; }

    /// <summary>Whether <see cref="Budget"/> is spent: logged the first time it is found so.</summary>
    public bool BudgetSpent
    {
        get
        {
            lock (gate)
            {
                if (budget is not { } b || Seconds < b.TotalSeconds) return false;
                if (!warnedBudget)
                    context.Log($"kernel tuning: its time budget is spent ({Seconds:0.#} s timed, up to {b.TotalSeconds:0.#} s); shapes not yet timed take their untuned kernels (not remembered: a later run times them)");
                warnedBudget = true;
                return true;
            }
        }
    }

    /// <summary>Logs <paramref name="message"/> where KILN_TUNING_TRACE=1 asks for the times behind the choices.</summary>
    public void Trace(string message)
    {
        if (trace) context.Log(message);
    }

    /// <summary>Adds <paramref name="seconds"/> of timing done outside <see cref="Choose"/> (whole plans) to <see cref="Seconds"/>.</summary>
    public void Charge(double seconds)
    {
        lock (gate) Seconds += seconds;
    }

    /// <summary>The choice remembered for <paramref name="key"/> (in memory or on disk), or null: for choices timed on
    /// whole plans rather than kernels (<see cref="Graph.ActivationLayouts.Choose"/>), which <see cref="Record"/> keeps.</summary>
    public string? Recall(string key)
    {
        lock (gate) return choices.GetValueOrDefault(key);
    }

    /// <summary>Remembers <paramref name="name"/> as the choice for <paramref name="key"/>, in memory and on disk, counted in
    /// <see cref="Timed"/>.</summary>
    public void Record(string key, string name)
    {
        lock (gate)
        {
            choices[key] = name;
            Timed++;
            Save();
        }
    }

    /// <summary>The fastest candidate that agrees with the first; null where there is no memory to time them in.</summary>
    int? Time(string key, IReadOnlyList<TuneCandidate> candidates, IReadOnlyList<TuneBinding> bindingInfo, double tolerance)
    {
        // A candidate the driver can't build is skipped below (its error logged), not fatal: the others still run.
        try
        {
            context.Pipelines.Warm(candidates.Select(c => c.Spec)
                .Concat(candidates.Where(c => c.Prepare != null).Select(c => c.Prepare!.Spec))
                .Concat(candidates.Where(c => c.Finish != null).Select(c => c.Finish!.Spec)));
        }
        catch (KilnException e) when (!Lost(e)) { context.Log($"tuning {key}: {e.Message}"); }
        var scratch = new List<BufferAllocation>();
        try
        {
            try
            {
                foreach (var info in bindingInfo)
                    scratch.Add(context.Allocator.Allocate(Math.Max(16, (info.Bytes + 15) / 16 * 16), $"tuning scratch ({key})"));
            }
            catch (GpuOutOfMemoryException e)
            {
                // The plan itself may still fit: its buffers are shared between values, the scratch is not.
                context.Log($"tuning {key}: no memory for the scratch buffers to time it on ({e.Message}); it keeps its untuned kernel, not remembered");
                return null;
            }
            FillInputs(scratch, bindingInfo);
            var bindings = scratch.Select(b => Binding.Range(b, 0, b.Size)).ToArray();
            // The binding the kernels write: a split candidate's partials take its place and its finish writes it (not
            // always the last: a .concat weight gradient binds the concatenation's second part after it).
            int output = TuneFinish.Output(bindingInfo.Select(b => b.Written));
            int best = -1;
            double bestMs = double.PositiveInfinity;
            KilnException? failed = null;
            byte[][]? reference = null;
            var timed = trace ? new List<string>() : null;
            var agreeing = new List<(int Index, double Ms)>();
            var widths = bindingInfo.Where(b => b.Written).Select(b => b.FloatBytes).ToArray();
            try { Measure(candidates[0], bindings, output, ShapeWarmup); }
            catch (KilnException e) when (!Lost(e)) { } // the round below reports it
            for (int i = 0; i < candidates.Count; i++)
            {
                double ms;
                byte[][] results;
                try
                {
                    PoisonOutputs(scratch, bindingInfo);
                    ms = Measure(candidates[i], bindings, output);
                    results = ReadResults(scratch, bindingInfo);
                }
                catch (KilnException e) when (!Lost(e))
                {
                    context.Log($"tuning {key}: candidate {candidates[i].Name} skipped: {e.Message}");
                    failed = e;
                    continue;
                }
                if (i == 0) reference = results;
                else if (reference == null)
                    context.Log($"tuning {key}: candidate {candidates[i].Name} unchecked: the first candidate did not run");
                else if (Disagreement(results, reference, widths) is { } error && !(error <= tolerance))
                {
                    context.Log($"tuning {key}: candidate {candidates[i].Name} rejected: its result differs from {candidates[0].Name}'s by {error:G3} of the largest value (tolerance {tolerance:G3})");
                    Rejected++;
                    continue;
                }
                timed?.Add($"{candidates[i].Name} {ms:0.####}");
                agreeing.Add((i, ms));
                if (ms < bestMs) (best, bestMs) = (i, ms);
            }
            // A second round for the contenders, each timed again after the others (back to back: no results read
            // between them) and its faster time kept, so a slowdown that caught one in the first round (the GPU's clocks
            // still rising, the host's work between candidates) does not decide the choice alone.
            var contenders = agreeing.Where(a => a.Ms <= bestMs * ContenderRatio).OrderBy(a => a.Ms).Take(Contenders).ToList();
            if (contenders.Count > 1)
            {
                var again = new List<string>();
                foreach (var (i, _) in contenders)
                {
                    double ms;
                    try { ms = Measure(candidates[i], bindings, output); }
                    catch (KilnException e) when (!Lost(e)) { continue; }
                    again.Add($"{candidates[i].Name} {ms:0.####}");
                    if (ms < bestMs) (best, bestMs) = (i, ms);
                }
                timed?.Add($"again: {string.Join(", ", again)}");
            }
            if (timed != null && best >= 0) Trace($"tuning {key}: ms {string.Join(", ", timed)}; chose {candidates[best].Name}");
            return best >= 0 ? best : throw new KilnException($"tuning {key}: no candidate ran ({failed?.Message}).");
        }
        finally
        {
            foreach (var b in scratch) b.Dispose();
        }
    }

    /// <summary>
    /// Random values in [-1, 1) in every binding the kernels only read: each element a hash of its binding and index
    /// (SplitMix64), so the values are the same on every run and filled in parallel (the full-size shapes are hundreds of
    /// MB). The written bindings are poisoned before each candidate instead.
    /// </summary>
    void FillInputs(List<BufferAllocation> scratch, IReadOnlyList<TuneBinding> info)
    {
        for (int i = 0; i < scratch.Count; i++)
        {
            if (info[i].Written) continue;
            var bytes = new byte[scratch[i].Size];
            ulong seed = 12345UL + (ulong)i * 0x632BE59BD9B4E019UL;
            bool halves = info[i].FloatBytes == 2;
            long count = bytes.Length / info[i].FloatBytes;
            Parallel.For(0, (count + Chunk - 1) / Chunk, chunk =>
            {
                long start = chunk * Chunk, end = Math.Min(count, start + Chunk);
                if (halves)
                {
                    var h = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                    for (long k = start; k < end; k++) h[(int)k] = (Half)Uniform(seed, k);
                }
                else
                {
                    var f = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
                    for (long k = start; k < end; k++) f[(int)k] = Uniform(seed, k);
                }
            });
            context.Transfers.Upload(scratch[i], bytes);
        }
    }

    const long Chunk = 1 << 18;

    /// <summary>A value in [-1, 1) that depends only on <paramref name="seed"/> and <paramref name="index"/> (SplitMix64's mix; 24 bits).</summary>
    static float Uniform(ulong seed, long index)
    {
        ulong z = seed + (ulong)index * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (2f / (1 << 24)) - 1f;
    }

    /// <summary>
    /// NaN (all bits set, in f32 and f16 alike) in every binding the kernels write, before each candidate (a fill on the
    /// GPU): an output element a candidate leaves unwritten then reads as NaN where the first candidate's does not, and
    /// rejects it.
    /// </summary>
    void PoisonOutputs(List<BufferAllocation> scratch, IReadOnlyList<TuneBinding> info)
    {
        using var list = context.CreateCommandList("tuning poison");
        for (int i = 0; i < scratch.Count; i++)
            if (info[i].Written) list.Recorder.Fill(scratch[i], 0xFFFFFFFFu);
        list.Run();
    }

    /// <summary>The bindings the kernels write, as they lie in memory (f32 or f16 by <see cref="TuneBinding.FloatBytes"/>).</summary>
    byte[][] ReadResults(List<BufferAllocation> scratch, IReadOnlyList<TuneBinding> info)
    {
        var results = new List<byte[]>();
        for (int i = 0; i < scratch.Count; i++)
        {
            if (!info[i].Written) continue;
            var bytes = new byte[info[i].Bytes];
            context.Transfers.Download(scratch[i], bytes);
            results.Add(bytes);
        }
        return results.ToArray();
    }

    /// <summary>
    /// max |a - b| / max |b| over the written bindings (<paramref name="floatBytes"/>: each one's width), in parallel
    /// chunks; infinity where a is NaN or infinite and b is not.
    /// </summary>
    static double Disagreement(byte[][] a, byte[][] b, int[] floatBytes)
    {
        double worst = 0;
        for (int t = 0; t < b.Length; t++)
        {
            var (x, y, halves) = (a[t], b[t], floatBytes[t] == 2);
            long count = y.Length / floatBytes[t];
            double scale = 0, diff = 0;
            bool broken = false;
            var gate = new object();
            Parallel.For(0, (count + Chunk - 1) / Chunk, chunk =>
            {
                long start = chunk * Chunk, end = Math.Min(count, start + Chunk);
                double s = 0, d = 0;
                bool nan = false;
                for (long k = start; k < end && !nan; k++)
                {
                    float u = Element(x, k, halves), v = Element(y, k, halves);
                    if (!float.IsFinite(u) && float.IsFinite(v)) nan = true;
                    if (!float.IsFinite(v)) continue;
                    s = Math.Max(s, Math.Abs(v));
                    d = Math.Max(d, Math.Abs((double)u - v));
                }
                lock (gate) (scale, diff, broken) = (Math.Max(scale, s), Math.Max(diff, d), broken || nan);
            });
            if (broken) return double.PositiveInfinity;
            worst = Math.Max(worst, diff / Math.Max(scale, 1e-30));
        }
        return worst;
    }

    /// <summary>Element <paramref name="k"/> of a binding's bytes, as f16 where <paramref name="halves"/>, else f32.</summary>
    static float Element(byte[] bytes, long k, bool halves) =>
        halves ? (float)MemoryMarshal.Read<Half>(bytes.AsSpan((int)(k * 2))) : MemoryMarshal.Read<float>(bytes.AsSpan((int)(k * 4)));

    /// <summary>
    /// The fastest of <see cref="Runs"/> replays of <see cref="DispatchesPerRun"/> runs of the candidate (its prepare pass
    /// where it has one, into a scratch buffer of its own; its dispatch; its finish where it has one, the partials in a
    /// buffer of their own bound in the place of the written binding <paramref name="output"/>, which the finish then
    /// writes), after one warm-up.
    /// </summary>
    double Measure(TuneCandidate c, Binding[] bindings, int output, TimeSpan? warmup = null)
    {
        using var prepared = c.Prepare == null ? null : context.Allocator.Allocate(Math.Max(16, (c.Prepare.Bytes + 15) / 16 * 16), $"tuning prepared input ({c.Name})");
        using var partials = c.Finish == null ? null : context.Allocator.Allocate(Math.Max(16, (c.Finish.PartialBytes + 15) / 16 * 16), $"tuning partials ({c.Name})");
        var first = (Binding[])bindings.Clone();
        Binding[]? prepare = null, finish = null;
        if (prepared != null)
        {
            var p = Binding.Range(prepared, 0, prepared.Size);
            prepare = new[] { bindings[c.Prepare!.Input], p };
            first[c.Prepare.Input] = p;
        }
        if (partials != null)
        {
            var p = Binding.Range(partials, 0, partials.Size);
            first[output] = p;
            finish = c.Finish!.Bindings(p, bindings[output], i => bindings[i]);
        }
        using var list = context.CreateCommandList($"tuning {c.Name}");
        for (int k = 0; k < DispatchesPerRun; k++)
        {
            if (prepare != null)
            {
                list.Recorder.Dispatch(c.Prepare!.Spec, prepare, c.Prepare.Push, c.Prepare.Groups.X, c.Prepare.Groups.Y, c.Prepare.Groups.Z, $"tuning {c.Name} prepare");
                list.Recorder.Barrier(BarrierKind.Full);
            }
            list.Recorder.Dispatch(c.Spec, first, c.Push, c.Groups.X, c.Groups.Y, c.Groups.Z, $"tuning {c.Name}");
            list.Recorder.Barrier(BarrierKind.Full);
            if (finish == null) continue;
            list.Recorder.Dispatch(c.Finish!.Spec, finish, Array.Empty<byte>(), c.Finish.Groups.X, c.Finish.Groups.Y, c.Finish.Groups.Z, $"tuning {c.Name} finish");
            list.Recorder.Barrier(BarrierKind.Full);
        }
        // A GPU raises its clocks under load, and the host's work before a candidate (building pipelines, reading and
        // comparing the last one's results) leaves it idle: replays before the timed ones, for a few milliseconds.
        return list.FastestReplayMilliseconds(Runs, warmup ?? Warmup);
    }

    /// <summary>A lost device ends the context: never swallowed as one candidate's failure.</summary>
    static bool Lost(KilnException e) => e is VulkanException { ResultName: "ErrorDeviceLost" };

    /// <summary>16 hex digits of a SHA-256 of the candidates' names, in order.</summary>
    static string Fingerprint(IReadOnlyList<TuneCandidate> candidates) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(string.Join("\n", candidates.Select(c => c.Name)))), 0, 8).ToLowerInvariant();

    (Dictionary<string, string> Choices, Dictionary<string, string> Among) Load()
    {
        var empty = (new Dictionary<string, string>(), new Dictionary<string, string>());
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
            static Dictionary<string, string> Strings(JsonElement o)
            {
                var result = new Dictionary<string, string>();
                if (o.ValueKind == JsonValueKind.Object)
                    foreach (var p in o.EnumerateObject())
                        if (p.Value.ValueKind == JsonValueKind.String) result[p.Name] = p.Value.GetString()!;
                return result;
            }
            return (Strings(c), root.TryGetProperty("among", out var a) ? Strings(a) : new Dictionary<string, string>());
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
                among = new SortedDictionary<string, string>(among, StringComparer.Ordinal),
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
