using System.Text.Json;
using NUnit.Framework;

namespace Kiln.Tests.Reference;

/// <summary>
/// A case computed by PyTorch (tests/fixtures/make_fixtures.py), read from Fixtures/&lt;name&gt;.json next to the test
/// assembly: {"op": ..., "attrs": {...}, "tensors": {name: {"shape": [...], "data": [...]}}}. Inputs are x (x0, x1, …
/// for concat and add; pred, target, mask for losses), weight, bias; the output is y, the upstream gradient grad_y,
/// and grad_&lt;name&gt; is the gradient of input or parameter &lt;name&gt;.
/// </summary>
public sealed class Fixture
{
    /// <summary>File name without extension, e.g. "conv2d_grouped".</summary>
    public string Name { get; }
    /// <summary>The op, e.g. "conv2d".</summary>
    public string Op { get; }
    /// <summary>The raw attributes object.</summary>
    public JsonElement Attrs { get; }
    /// <summary>All tensors by name.</summary>
    public IReadOnlyDictionary<string, FixtureTensor> Tensors { get; }

    Fixture(string name, string op, JsonElement attrs, IReadOnlyDictionary<string, FixtureTensor> tensors)
    {
        Name = name;
        Op = op;
        Attrs = attrs;
        Tensors = tensors;
    }

    /// <summary>The folder holding the fixture files: Fixtures/ under the test directory.</summary>
    public static string FolderPath
    {
        get
        {
            var folder = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures");
            // At discovery (TestCaseSource) there is no current test; then the test assembly's folder is the one.
            return Directory.Exists(folder)
                ? folder
                : Path.Combine(Path.GetDirectoryName(typeof(Fixture).Assembly.Location)!, "Fixtures");
        }
    }

    /// <summary>Reads Fixtures/<paramref name="name"/>.json.</summary>
    public static Fixture Load(string name)
    {
        string path = Path.Combine(FolderPath, name + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var tensors = new Dictionary<string, FixtureTensor>();
        foreach (var t in root.GetProperty("tensors").EnumerateObject())
        {
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var data = t.Value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var tensor = new FixtureTensor(shape, data);
            if (tensor.Elements != data.Length)
                throw new InvalidDataException($"{path}: tensor {t.Name} has {data.Length} values for shape [{string.Join(",", shape)}]");
            tensors[t.Name] = tensor;
        }
        var attrs = root.TryGetProperty("attrs", out var a) ? a.Clone() : JsonDocument.Parse("{}").RootElement.Clone();
        return new Fixture(name, root.GetProperty("op").GetString()!, attrs, tensors);
    }

    /// <summary>Names of all fixtures of <paramref name="op"/>, sorted.</summary>
    public static IReadOnlyList<string> Names(string op)
    {
        var names = Directory.EnumerateFiles(FolderPath, "*.json")
            .Select(p => Path.GetFileNameWithoutExtension(p))
            .Where(n => OpOf(n) == op)
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToList();
        if (names.Count == 0) throw new InvalidOperationException($"no fixtures for op '{op}' in {FolderPath}");
        return names;
    }

    /// <summary>For [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "conv2d" })]: one case per fixture, named after it.</summary>
    public static IEnumerable<TestCaseData> All(string op) =>
        Names(op).Select(n => new TestCaseData(Load(n)).SetArgDisplayNames(n));

    /// <summary>Tensor by name; throws if absent.</summary>
    public FixtureTensor this[string tensor] =>
        Tensors.TryGetValue(tensor, out var t) ? t : throw new KeyNotFoundException($"fixture {Name} has no tensor '{tensor}'");

    /// <summary>Whether the fixture has the tensor (e.g. "bias" is absent for a bias-free conv).</summary>
    public bool Has(string tensor) => Tensors.ContainsKey(tensor);

    /// <summary>The tensor's data, or null if absent.</summary>
    public double[]? DataOrNull(string tensor) => Tensors.TryGetValue(tensor, out var t) ? t.Data : null;

    /// <summary>Integer attribute, or <paramref name="fallback"/> when absent (throws if absent without one).</summary>
    public int Int(string attr, int? fallback = null) =>
        Attr(attr, fallback.HasValue) is { } e ? e.GetInt32() : fallback!.Value;

    /// <summary>Pair or list attribute such as "stride": [sh, sw]; a single number n reads as [n, n].</summary>
    public int[] Ints(string attr, int[]? fallback = null)
    {
        if (Attr(attr, fallback != null) is not { } e) return fallback!;
        return e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(v => v.GetInt32()).ToArray() : new[] { e.GetInt32(), e.GetInt32() };
    }

    /// <summary>Floating-point attribute, or <paramref name="fallback"/> when absent.</summary>
    public double Double(string attr, double? fallback = null) =>
        Attr(attr, fallback.HasValue) is { } e ? e.GetDouble() : fallback!.Value;

    /// <summary>String attribute, or <paramref name="fallback"/> when absent.</summary>
    public string Str(string attr, string? fallback = null) =>
        Attr(attr, fallback != null) is { } e ? e.GetString()! : fallback!;

    /// <summary>Boolean attribute, or <paramref name="fallback"/> when absent.</summary>
    public bool Bool(string attr, bool? fallback = null) =>
        Attr(attr, fallback.HasValue) is { } e ? e.GetBoolean() : fallback!.Value;

    /// <inheritdoc/>
    public override string ToString() => Name;

    JsonElement? Attr(string attr, bool optional)
    {
        if (Attrs.ValueKind == JsonValueKind.Object && Attrs.TryGetProperty(attr, out var e)) return e;
        if (optional) return null;
        throw new KeyNotFoundException($"fixture {Name} has no attribute '{attr}'");
    }

    // The op comes from the file itself, not from its name.
    static string OpOf(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(FolderPath, name + ".json")));
        return doc.RootElement.GetProperty("op").GetString()!;
    }
}
