using Onnx;

namespace Kiln.IO;

/// <summary>
/// Finds GELU as PyTorch exports it, x * 0.5 * (1 + erf(x / sqrt(2))): Div(x, sqrt2) or Mul(x, 1/sqrt2), Erf,
/// Add(·, 1), then Mul(Mul(x, ·), 0.5) or Mul(Mul(x, 0.5), ·). Each match becomes one <see cref="Gelu"/> layer;
/// intermediate values used anywhere else leave the match out (the Erf then reports itself unsupported).
/// </summary>
internal static class OnnxGeluPattern
{
    const double Tolerance = 1e-5;

    public sealed record Matches(HashSet<NodeProto> Skipped, Dictionary<NodeProto, string> Final);

    public static Matches Find(GraphProto g, IReadOnlyDictionary<string, OnnxValue> initializers, string modelFolder)
    {
        var result = new Matches(new HashSet<NodeProto>(), new Dictionary<NodeProto, string>());
        var producer = new Dictionary<string, NodeProto>();
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var n in g.Node)
        {
            foreach (var o in n.Output) producer[o] = n;
            foreach (var i in n.Input)
            {
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<NodeProto>();
                list.Add(n);
            }
        }
        var graphOutputs = g.Output.Select(o => o.Name).ToHashSet();

        double? Scalar(string name)
        {
            if (initializers.TryGetValue(name, out var v) && v.Constant is { Count: 1 } t) return t.Values[0];
            if (producer.TryGetValue(name, out var p) && p.OpType == "Constant" && p.Attribute.Count == 1)
            {
                var a = p.Attribute[0];
                if (a.Name == "value_float") return a.F;
                if (a.Name == "value" && a.T is { } tensor)
                    try { return OnnxTensorReader.Read(tensor, modelFolder, "gelu") is { Count: 1 } c ? c.Values[0] : null; }
                    catch (KilnException) { return null; }
            }
            return null;
        }
        bool Is(string name, double value) => Scalar(name) is { } s && Math.Abs(s - value) <= Tolerance * Math.Max(1, Math.Abs(value));
        // The other operand of a two-input node, when one of them is `name`.
        string? Other(NodeProto n, string name) => n.Input.Count == 2 ? (n.Input[0] == name ? n.Input[1] : n.Input[1] == name ? n.Input[0] : null) : null;
        NodeProto? OnlyConsumer(string value, string op) =>
            !graphOutputs.Contains(value) && consumers.TryGetValue(value, out var c) && c.Count == 1 && c[0].OpType == op ? c[0] : null;

        foreach (var erf in g.Node.Where(n => n.OpType == "Erf" && n.Input.Count == 1 && n.Output.Count == 1))
        {
            if (!producer.TryGetValue(erf.Input[0], out var scaled) || OnlyConsumer(scaled.Output[0], "Erf") == null) continue;
            string? x = scaled.OpType switch
            {
                "Div" when scaled.Input.Count == 2 && Is(scaled.Input[1], Math.Sqrt(2)) => scaled.Input[0],
                "Mul" when scaled.Input.Count == 2 && Is(scaled.Input[1], 1 / Math.Sqrt(2)) => scaled.Input[0],
                "Mul" when scaled.Input.Count == 2 && Is(scaled.Input[0], 1 / Math.Sqrt(2)) => scaled.Input[1],
                _ => null,
            };
            if (x == null) continue;
            var plusOne = OnlyConsumer(erf.Output[0], "Add");
            if (plusOne == null || Other(plusOne, erf.Output[0]) is not { } one || !Is(one, 1)) continue;
            var m1 = OnlyConsumer(plusOne.Output[0], "Mul");
            if (m1 == null || Other(m1, plusOne.Output[0]) is not { } left) continue;
            NodeProto? final = null;
            var nodes = new List<NodeProto> { scaled, erf, plusOne, m1 };
            if (left == x)
            {
                // Mul(Mul(x, 1 + erf), 0.5)
                var m2 = OnlyConsumer(m1.Output[0], "Mul");
                if (m2 != null && Other(m2, m1.Output[0]) is { } half && Is(half, 0.5)) { final = m2; nodes.Add(m2); }
            }
            else if (producer.TryGetValue(left, out var halfX) && halfX.OpType == "Mul" && OnlyConsumer(left, "Mul") == m1
                     && Other(halfX, x) is { } half && Is(half, 0.5))
            {
                // Mul(Mul(x, 0.5), 1 + erf)
                final = m1;
                nodes.Add(halfX);
            }
            if (final == null) continue;
            foreach (var n in nodes.Where(n => n != final)) result.Skipped.Add(n);
            result.Final[final] = x;
        }
        return result;
    }
}
