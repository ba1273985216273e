using System.Text.Json;

namespace Kiln.Cli.Bench;

/// <summary>
/// The PyTorch peer's results (shared/peers/torch_peer.py): its torch_peer.json ({"info": {...}, "results": [...]})
/// or its standard output (one JSON object per line). Each result has "workload", "config" (fp32, tf32,
/// fp16-nhwc, fp32-eager, fp16-nhwc-cudagraph, fp16-amp, ...) and "median_ms".
/// </summary>
internal sealed class PeerResults
{
    readonly List<(string Workload, string Config, double Ms)> rows;

    PeerResults(List<(string, string, double)> rows, string gpu)
    {
        this.rows = rows;
        Gpu = gpu;
    }

    /// <summary>The peer's GPU name ("info.gpu"), or "" when the file does not say.</summary>
    public string Gpu { get; }
    public int Count => rows.Count;

    public static PeerResults Load(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"bench: peer file '{path}' does not exist");
        return Parse(File.ReadAllText(path), path);
    }

    public static PeerResults Parse(string text, string source)
    {
        var rows = new List<(string, string, double)>();
        string gpu = "";
        void Take(JsonElement r, string where)
        {
            if (r.ValueKind != JsonValueKind.Object) throw new ArgumentException($"bench: peer file '{source}' {where}: expected an object");
            if (!r.TryGetProperty("workload", out var w) || w.ValueKind != JsonValueKind.String)
            {
                if (r.TryGetProperty("gpu", out var g) && g.ValueKind == JsonValueKind.String) gpu = g.GetString()!; // the info line
                return;
            }
            if (!r.TryGetProperty("median_ms", out var ms) || ms.ValueKind != JsonValueKind.Number || !double.IsFinite(ms.GetDouble()) || ms.GetDouble() <= 0)
                throw new ArgumentException($"bench: peer file '{source}' {where}: workload '{w.GetString()}' has no positive median_ms");
            string config = r.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "fp32";
            rows.Add((w.GetString()!, config, ms.GetDouble()));
        }
        try
        {
            var trimmed = text.TrimStart();
            using var whole = TryParse(trimmed);
            if (whole != null && whole.RootElement.ValueKind == JsonValueKind.Object && whole.RootElement.TryGetProperty("results", out var results))
            {
                if (results.ValueKind != JsonValueKind.Array) throw new ArgumentException($"bench: peer file '{source}': \"results\" is not an array");
                int i = 0;
                foreach (var r in results.EnumerateArray()) Take(r, $"results[{i++}]");
                if (whole.RootElement.TryGetProperty("info", out var info)) Take(info, "info");
            }
            else
            {
                int line = 0;
                foreach (var l in text.Split('\n'))
                {
                    line++;
                    if (string.IsNullOrWhiteSpace(l) || !l.TrimStart().StartsWith('{')) continue; // the peer's other output
                    using var doc = JsonDocument.Parse(l);
                    Take(doc.RootElement, $"line {line}");
                }
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"bench: peer file '{source}' is not the peer's JSON: {e.Message}");
        }
        if (rows.Count == 0) throw new ArgumentException($"bench: peer file '{source}' has no results (expected torch_peer.py's torch_peer.json)");
        return new PeerResults(rows, gpu);
    }

    static JsonDocument? TryParse(string text)
    {
        try { return JsonDocument.Parse(text); }
        catch (JsonException) { return null; }
    }

    /// <summary>
    /// The peer's time for <paramref name="workload"/> at a precision: among its configs that start with
    /// "fp32" (strict fp32, TF32 off) or "fp16", the fastest. Null when the peer did not run it.
    /// </summary>
    public (double Ms, string Config)? Find(string workload, string precision) =>
        Find(workload, config => config.StartsWith(precision, StringComparison.Ordinal));

    /// <summary>The peer's fastest time for <paramref name="workload"/> among the configs <paramref name="config"/> takes; null where none.</summary>
    public (double Ms, string Config)? Find(string workload, Func<string, bool> config)
    {
        var match = rows.Where(r => r.Workload == workload && config(r.Config)).OrderBy(r => r.Ms).ToList();
        return match.Count == 0 ? null : (match[0].Ms, match[0].Config);
    }
}
