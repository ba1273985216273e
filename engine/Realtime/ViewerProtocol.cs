using System.Text.Json;

namespace Kiln.Realtime;

/// <summary>A message from the viewer page, validated.</summary>
internal abstract record ViewerCommand;
internal sealed record StrokeCommand(IReadOnlyList<(float X, float Y)> Points, float Radius) : ViewerCommand;
internal sealed record ClearCommand : ViewerCommand;
internal sealed record TrainingCommand(bool On) : ViewerCommand;

/// <summary>
/// The viewer's messages from the page, as JSON text: {"type":"stroke","points":[[x,y],...],"radius":r} (pixels of
/// the first panel), {"type":"clear"}, {"type":"training","on":true|false}. Everything is checked (types, counts,
/// finite values inside the frame, brush radius); a bad message is refused with a reason and changes nothing.
/// </summary>
internal static class ViewerProtocol
{
    public const int MaxMessageBytes = 8192, MaxPoints = 64;
    public const float MinRadius = 0.5f, MaxRadius = 32f;

    /// <summary>The command in <paramref name="json"/>, or null with <paramref name="error"/> saying what is wrong.</summary>
    public static ViewerCommand? Parse(string json, int width, int height, out string error)
    {
        error = "";
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                return Fail("a message is a JSON object with a string \"type\"", out error);
            switch (type.GetString())
            {
                case "clear": return new ClearCommand();
                case "training":
                    if (!root.TryGetProperty("on", out var on) || on.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        return Fail("training needs \"on\": true or false", out error);
                    return new TrainingCommand(on.GetBoolean());
                case "stroke":
                    if (!root.TryGetProperty("radius", out var r) || r.ValueKind != JsonValueKind.Number || !r.TryGetSingle(out float radius)
                        || !(radius >= MinRadius && radius <= MaxRadius))
                        return Fail($"stroke needs a \"radius\" in [{MinRadius}, {MaxRadius}] pixels", out error);
                    if (!root.TryGetProperty("points", out var pts) || pts.ValueKind != JsonValueKind.Array)
                        return Fail("stroke needs \"points\": [[x, y], ...]", out error);
                    int n = pts.GetArrayLength();
                    if (n < 1 || n > MaxPoints) return Fail($"stroke has {n} points; 1 to {MaxPoints} allowed", out error);
                    var points = new List<(float, float)>(n);
                    foreach (var p in pts.EnumerateArray())
                    {
                        if (p.ValueKind != JsonValueKind.Array || p.GetArrayLength() != 2
                            || p[0].ValueKind != JsonValueKind.Number || p[1].ValueKind != JsonValueKind.Number
                            || !p[0].TryGetSingle(out float x) || !p[1].TryGetSingle(out float y))
                            return Fail("each stroke point is [x, y] with two numbers", out error);
                        if (!(x >= 0 && x < width && y >= 0 && y < height))
                            return Fail($"stroke point ({x}, {y}) is outside the {width}x{height} image", out error);
                        points.Add((x, y));
                    }
                    return new StrokeCommand(points, radius);
                default:
                    return Fail($"unknown message type '{Truncate(type.GetString())}'", out error);
            }
        }
        catch (JsonException)
        {
            return Fail("the message is not valid JSON", out error);
        }
    }

    static string Truncate(string? s) => s == null ? "" : s.Length <= 32 ? s : s[..32] + "...";

    static ViewerCommand? Fail(string message, out string error)
    {
        error = message;
        return null;
    }
}
