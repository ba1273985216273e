using Kiln.IO;

namespace Kiln.Cli;

/// <summary>
/// `kiln export CHECKPOINT [--onnx FILE [--batch N]] [--f16 FILE]`: --onnx writes a checkpoint of `kiln train` as an ONNX
/// model (opset 17) for other runtimes: the preset's inference graph (loss left out) with the trained parameters, its
/// input "x" of [N, shape trained on] (N = 1 unless --batch), outputs as Kiln names them ("y", and "latent" for
/// autoencoders). --f16 writes its parameters alone (no optimizer state) as F16 safetensors with the checkpoint's
/// metadata: the small weights files the demos ship (demos/weights).
/// </summary>
internal static class ExportCommand
{
    public static int Run(string[] args) => TensorFiles.OneLineErrors(() => Execute(args));

    static int Execute(string[] args)
    {
        string? checkpoint = null, onnx = null, f16 = null;
        int batch = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"export: {args[i]} needs a value");
            switch (args[i])
            {
                case "--onnx": onnx = Next(); break;
                case "--f16": f16 = Next(); break;
                case "--batch":
                    batch = int.TryParse(Next(), out var b) && b > 0 ? b : throw new ArgumentException($"export: --batch takes a positive integer, got '{args[i]}'");
                    break;
                default:
                    if (args[i].StartsWith('-') || checkpoint != null) return CliApp.Fail($"export: unexpected argument '{args[i]}'");
                    checkpoint = args[i];
                    break;
            }
        }
        if (checkpoint == null) return CliApp.Fail("export: name a checkpoint of kiln train");
        if (onnx == null && f16 == null) return CliApp.Fail("export: --onnx FILE or --f16 FILE is required");
        if (!CheckpointModel.IsCheckpoint(checkpoint)) return CliApp.Fail($"export: {checkpoint} is an ONNX model already; export takes a checkpoint of kiln train");
        if (f16 != null)
        {
            var read = Training.Checkpoint.Read(checkpoint);
            read.SaveParameters(f16, half: true);
            Console.WriteLine($"{f16}: {read.Tensors.Keys.Count(k => !k.StartsWith(Training.Checkpoint.OptimizerPrefix, StringComparison.Ordinal))} parameter tensors as F16, {new FileInfo(f16).Length} bytes");
        }
        if (onnx == null) return 0;
        using var gpu = GpuContext.Create();
        var example = Training.Checkpoint.Read(checkpoint).InputShape;
        using var model = CheckpointModel.Load(gpu, checkpoint, example == null ? null : new Shape(new[] { batch }.Concat(example).ToArray()));
        OnnxExporter.Save(model.Network, model.Compiled, onnx);
        Console.WriteLine($"{onnx}: {model.Preset.Name}, input x {model.InputShape}, outputs {string.Join(", ", model.OutputNames)}");
        return 0;
    }
}
