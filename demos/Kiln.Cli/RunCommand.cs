using Kiln.IO;

namespace Kiln.Cli;

/// <summary>
/// `kiln run MODEL --input FILE --output FILE [--mask FILE]`: runs an ONNX model or a checkpoint of `kiln train`
/// (told apart by content) on the GPU. A .safetensors input holds one f32 tensor per model input, named as the
/// model names them ("x" for a checkpoint; its shape sets the shape compiled); the output file gets one tensor per
/// model output. An image input (PNG, JPEG) feeds a model with one input, converted to its channels (grey, RGB, or
/// RGB + --mask for inpainting); an image output (.png) saves the first output.
/// </summary>
internal static class RunCommand
{
    public static int Run(string[] args) => TensorFiles.OneLineErrors(() => Execute(args));

    static int Execute(string[] args)
    {
        if (TensorFiles.Options("run", args, new[] { "input", "output", "mask" }, out var modelPath, out var o) is { } error) return CliApp.Fail(error);
        var mask = o.GetValueOrDefault("mask");
        if (mask != null && !ImageTensors.IsImage(o["input"])) return CliApp.Fail("run: --mask goes with an image --input");
        List<(string Name, Shape Shape, float[] Data)> outputs;
        if (CheckpointModel.IsCheckpoint(modelPath!)) outputs = RunCheckpoint(modelPath!, o["input"], mask);
        else outputs = RunOnnx(modelPath!, o["input"], mask);
        if (ImageTensors.IsImage(o["output"]))
        {
            if (!o["output"].EndsWith(".png", StringComparison.OrdinalIgnoreCase)) return CliApp.Fail("run: image outputs are written as .png");
            ImageTensors.Write(o["output"], outputs[0].Name, outputs[0].Shape, outputs[0].Data);
        }
        else TensorFiles.Write(o["output"], outputs.Select(t => (t.Name, t.Shape.ToArray(), t.Data)));
        return 0;
    }

    static List<(string, Shape, float[])> RunCheckpoint(string path, string inputFile, string? mask)
    {
        using var gpu = GpuContext.Create();
        (Shape Shape, float[] Data) x;
        if (ImageTensors.IsImage(inputFile))
        {
            var preset = Training.Presets.PresetCatalog.FromCheckpoint(Training.Checkpoint.Read(path));
            if (preset.InputShape.Rank != 3) throw new KilnException($"{path}: the {preset.Name} network takes [batch,{string.Join(",", preset.InputShape)}], not an image.");
            x = ImageTensors.Read(inputFile, preset.InputShape[0], mask);
        }
        else x = TensorFiles.Read(inputFile, new[] { "x" }, "the checkpoint's input")["x"];
        using var model = CheckpointModel.Load(gpu, path, x.Shape);
        model.Compiled.SetInput("x", x.Data);
        model.Compiled.Run();
        return model.OutputNames.Select(n => (n, model.Compiled.Outputs[n].Shape, model.Compiled.GetOutput(n))).ToList();
    }

    static List<(string, Shape, float[])> RunOnnx(string path, string inputFile, string? mask)
    {
        OnnxModel model;
        Dictionary<string, (Shape Shape, float[] Data)> inputs;
        if (ImageTensors.IsImage(inputFile))
        {
            var declared = OnnxImporter.Load(path);
            if (declared.InputShapes.Count != 1 || declared.InputShapes.Single().Value.Rank != 4)
                throw new KilnException($"{path}: an image input feeds a model with one [N,C,H,W] input; this one takes {string.Join(", ", declared.InputShapes.Select(kv => $"{kv.Key} {kv.Value}"))}.");
            var (name, shape) = declared.InputShapes.Single();
            var image = ImageTensors.Read(inputFile, shape[1], mask);
            if (image.Shape[2] != shape[2] || image.Shape[3] != shape[3])
                throw new KilnException($"{inputFile}: the image is {image.Shape[3]}x{image.Shape[2]}; the model takes {shape[3]}x{shape[2]}.");
            inputs = new() { [name] = image };
            model = declared;
        }
        else model = LoadWithInputs(path, inputFile, out inputs);
        using var gpu = GpuContext.Create();
        using var net = model.Compile(gpu);
        foreach (var (name, (_, data)) in inputs) net.SetInput(name, data);
        net.Run();
        return model.OutputNames.Select(n => (n, model.OutputShapes[n], net.GetOutput(n))).ToList();
    }

    /// <summary>Imports the model with the shapes of its inputs as found in <paramref name="inputFile"/>.</summary>
    internal static OnnxModel LoadWithInputs(string modelPath, string inputFile, out Dictionary<string, (Shape Shape, float[] Data)> inputs)
    {
        var names = OnnxImporter.InputNames(modelPath);
        inputs = TensorFiles.Read(inputFile, names, "a model input");
        return OnnxImporter.Load(modelPath, inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));
    }
}
