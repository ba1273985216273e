using Kiln.IO;

namespace Kiln.Cli;

/// <summary>
/// `kiln run MODEL.onnx --input FILE --output FILE`: runs an ONNX model on the GPU. The input file holds one f32
/// tensor per model input, named as the model names it (its shape sets the shape compiled); the output file gets
/// one tensor per model output.
/// </summary>
internal static class RunCommand
{
    public static int Run(string[] args) => TensorFiles.OneLineErrors(() => Execute(args));

    static int Execute(string[] args)
    {
        if (TensorFiles.Options("run", args, new[] { "input", "output" }, out var modelPath, out var o) is { } error) return CliApp.Fail(error);
        var model = LoadWithInputs(modelPath!, o["input"], out var inputs);
        using var gpu = GpuContext.Create();
        using var net = model.Compile(gpu);
        foreach (var (name, (_, data)) in inputs) net.SetInput(name, data);
        net.Run();
        TensorFiles.Write(o["output"], model.OutputNames.Select(n => (n, model.OutputShapes[n].ToArray(), net.GetOutput(n))));
        return 0;
    }

    /// <summary>Imports the model with the shapes of its inputs as found in <paramref name="inputFile"/>.</summary>
    internal static OnnxModel LoadWithInputs(string modelPath, string inputFile, out Dictionary<string, (Shape Shape, float[] Data)> inputs)
    {
        var names = OnnxImporter.InputNames(modelPath);
        inputs = TensorFiles.Read(inputFile, names, "a model input");
        return OnnxImporter.Load(modelPath, inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));
    }
}
