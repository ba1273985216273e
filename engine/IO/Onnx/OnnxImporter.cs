using Google.Protobuf;
using Onnx;

namespace Kiln.IO;

/// <summary>
/// Imports an ONNX model (a file written by torch.onnx.export or any exporter) as a Kiln <see cref="Network"/>
/// for concrete input shapes: each node becomes a Kiln layer, initializers become parameters loaded from the
/// file, and shape arithmetic (Shape, Gather, Slice, Concat of constants, ...) is folded at import.
/// Unsupported ops, malformed or truncated files give a <see cref="KilnException"/> naming what and where.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Largest model file read (protobuf's own 2 GiB limit).</summary>
    public const long MaxModelBytes = int.MaxValue;

    /// <summary>
    /// Reads <paramref name="path"/>. Input shapes come from <paramref name="inputShapes"/> where given, else from
    /// the model (every dimension must then be fixed). The graph keeps inference behaviour in every compile
    /// (BatchNormalization on its running statistics, Dropout a copy), so <see cref="OnnxModel.CompileGradients"/>
    /// differentiates the model as defined.
    /// </summary>
    public static OnnxModel Load(string path, IReadOnlyDictionary<string, Shape>? inputShapes = null)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new KilnException($"{path}: no such file.");
            if (info.Length > MaxModelBytes) throw new KilnException($"{path}: {info.Length} bytes, over the {MaxModelBytes}-byte limit of an ONNX file.");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KilnException($"{path}: {e.Message}");
        }
        return Parse(bytes, Path.GetDirectoryName(Path.GetFullPath(path))!, path, inputShapes);
    }

    /// <summary>The names of the model's inputs (graph inputs that are not initializers), without importing it.</summary>
    public static IReadOnlyList<string> InputNames(string path)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException)
        {
            throw new KilnException(e is InvalidProtocolBufferException ? $"{path}: not a valid ONNX file ({e.Message.Split('\n')[0].TrimEnd('.')})." : $"{path}: {e.Message}");
        }
        var g = model.Graph ?? throw new KilnException($"{path}: the model has no graph (not an ONNX model, or an empty file).");
        var initializers = g.Initializer.Select(t => t.Name).ToHashSet();
        return g.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToList();
    }

    /// <summary>Imports a model held in memory; external data is read from <paramref name="modelFolder"/>.</summary>
    public static OnnxModel Parse(byte[] bytes, string modelFolder, string where = "onnx", IReadOnlyDictionary<string, Shape>? inputShapes = null)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new KilnException($"{where}: not a valid ONNX file ({e.Message.Split('\n')[0].TrimEnd('.')}).");
        }
        try
        {
            return new OnnxImport(model, modelFolder, where, inputShapes ?? new Dictionary<string, Shape>()).Run();
        }
        catch (KilnException e) when (e.Message.Any(char.IsControl))
        {
            // Names come from the file and may hold anything: messages stay one line.
            throw new KilnException(new string(e.Message.Select(c => char.IsControl(c) ? '?' : c).ToArray()));
        }
    }
}
