using Kiln.IO;
using Kiln.Training;
using Kiln.Training.Presets;

namespace Kiln.Cli;

/// <summary>
/// A preset checkpoint written by `kiln train`, rebuilt for inference: the preset's network (from the file's
/// <c>__metadata__</c>) compiled for a batch of inputs "x", with the checkpoint's parameters loaded. The loss stays
/// in the network, so a zero "target" of the output's shape is bound; its outputs ("y", and "latent" for
/// autoencoders) are the model's.
/// </summary>
internal sealed class CheckpointModel : IDisposable
{
    CheckpointModel(Preset preset, Network network, CompiledNetwork compiled, Shape inputShape)
    {
        Preset = preset;
        Network = network;
        Compiled = compiled;
        InputShape = inputShape;
    }

    public Preset Preset { get; }
    public Network Network { get; }
    public CompiledNetwork Compiled { get; }
    /// <summary>The batch shape compiled for "x".</summary>
    public Shape InputShape { get; }
    public IEnumerable<string> OutputNames => Network.Outputs.Select(o => o.Name);

    /// <summary>True when the file is a safetensors file (an 8-byte header length then '{'); false when it looks like ONNX; an error when neither.</summary>
    public static bool IsCheckpoint(string path)
    {
        if (!File.Exists(path)) throw new KilnException($"{path}: no such file.");
        var head = new byte[9];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n == 9 && head[8] == (byte)'{' && BitConverter.ToUInt64(head, 0) < 100_000_000) return true;
        // An ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08.
        if (n > 0 && head[0] == 0x08) return false;
        throw new KilnException($"{path}: neither a Kiln checkpoint (safetensors) nor an ONNX model.");
    }

    /// <summary>
    /// Rebuilds the checkpoint's network for an input "x" of <paramref name="inputShape"/> (batch first; null: one
    /// example of the shape trained on). Shapes the network can't take are refused naming the shape it was trained on.
    /// </summary>
    public static CheckpointModel Load(GpuContext gpu, string path, Shape? inputShape = null)
    {
        var checkpoint = Checkpoint.Read(path);
        var preset = PresetCatalog.FromCheckpoint(checkpoint);
        var example = checkpoint.InputShape ?? preset.InputShape;
        var shape = inputShape ?? new Shape(new[] { 1 }.Concat(example).ToArray());
        bool sizeFree = preset.Kind == PresetKind.ImageToImage; // the UNets are fully convolutional
        if (shape.Rank != example.Rank + 1 || shape[1] != example[0] || (!sizeFree && !shape.Skip(1).SequenceEqual(example)))
            throw new KilnException($"{path}: the {preset.Name} network takes an input [batch,{string.Join(",", example)}]{(sizeFree ? " (any height and width its levels divide)" : "")}, not {shape}.");
        var target = preset.Kind switch
        {
            PresetKind.Playground => new Shape(shape[0], 1),
            PresetKind.Autoencoder => shape,
            _ => new Shape(shape[0], 3, shape[2], shape[3]),
        };
        var network = preset.Build();
        var compiled = network.Compile(gpu, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = shape, ["target"] = target } });
        try
        {
            checkpoint.LoadInto(compiled);
            compiled.SetInput("target", new float[target.Elements]);
        }
        catch
        {
            compiled.Dispose();
            throw;
        }
        return new CheckpointModel(preset, network, compiled, shape);
    }

    public void Dispose() => Compiled.Dispose();
}
