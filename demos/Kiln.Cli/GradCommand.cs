using Kiln.IO;

namespace Kiln.Cli;

/// <summary>
/// `kiln grad MODEL.onnx --input FILE --target FILE --loss mse|l1 --output FILE`: one forward and backward pass of
/// the model exactly as defined (BatchNormalization and Dropout in inference behaviour) with the loss between its
/// output and the target. Writes `loss`, the gradient of every initializer (by its ONNX name and shape) and of
/// every input (by input name).
/// </summary>
internal static class GradCommand
{
    public static int Run(string[] args) => TensorFiles.OneLineErrors(() => Execute(args));

    static int Execute(string[] args)
    {
        if (TensorFiles.Options("grad", args, new[] { "input", "target", "loss", "output" }, out var modelPath, out var o) is { } error) return CliApp.Fail(error);
        Layer loss = o.GetValueOrDefault("loss", "mse") switch
        {
            "mse" => new MseLoss(),
            "l1" => new L1Loss(),
            var other => throw new ArgumentException($"grad: --loss takes mse or l1, got '{other}'"),
        };
        var model = RunCommand.LoadWithInputs(modelPath!, o["input"], out var inputs);
        if (model.OutputNames.Count != 1) throw new KilnException($"{modelPath}: grad needs a model with one output, it has {model.OutputNames.Count}.");
        var outputName = model.OutputNames[0];
        var (targetShape, target) = TensorFiles.Read(o["target"], new[] { outputName }, "the target for the model's output")[outputName];
        if (targetShape != model.OutputShapes[outputName])
            throw new KilnException($"{o["target"]}: target '{outputName}' is {targetShape}, the model's output is {model.OutputShapes[outputName]}.");
        var clash = model.TrainableNames.Concat(model.InputShapes.Keys).FirstOrDefault(n => n == "loss");
        if (clash != null) throw new KilnException($"{modelPath}: a tensor named 'loss' would clash with the loss in the output file.");

        using var gpu = GpuContext.Create();
        using var net = model.CompileGradients(gpu, loss);
        foreach (var (name, (_, data)) in inputs) net.SetInput(name, data);
        net.SetInput(OnnxModel.TargetInput, target);
        net.Run();
        var grads = model.ParameterGradients(net);
        var dims = model.Parameters.GroupBy(p => p.OnnxName).ToDictionary(g => g.Key, g => g.First().Dims.Select(d => (int)d).ToArray());
        var tensors = new List<(string, int[], float[])> { ("loss", new[] { 1 }, net.GetOutput("loss")) };
        tensors.AddRange(model.TrainableNames.Select(n => (n, dims[n], grads[n])));
        tensors.AddRange(model.InputShapes.Keys.Select(n => (n, model.InputShapes[n].ToArray(), net.InputGradients[n].ToArray())));
        TensorFiles.Write(o["output"], tensors);
        return 0;
    }
}
